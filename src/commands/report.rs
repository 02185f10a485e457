//! `cw-conform report merge`: the JSON reports of a partitioned run's shards joined into
//! one report, judged as the unpartitioned run would be (verdicts, coverage gate, baseline),
//! with the exit code `run` would give.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::run::{Format, exit_code};
use super::{CommandError, exit};
use crate::baseline::{Baseline, Scope};
use crate::fixtures::Fixtures;
use crate::report;

/// What `report merge` was asked to do: the command line of `cw-conform report merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// The shards' JSON reports, one per shard.
    #[arg(required = true, value_name = "SHARD.json")]
    pub shards: Vec<PathBuf>,
    /// Report format: pretty (the summary by rule), junit or json.
    #[arg(long, value_enum, default_value_t = Format::Pretty)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Known failures, applied to the merged run (as `run --baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// Merges the shards, prints (or writes) the report, and returns the exit code.
pub fn merge(args: &MergeArgs, fixtures: &Fixtures) -> Result<u8, CommandError> {
    let baseline = args
        .baseline
        .as_deref()
        .map(|path| Baseline::load(path, &fixtures.rules))
        .transpose()?;
    let merged = report::merge::merge(&args.shards)?;
    let mut summary = merged.summary;
    if let Some(baseline) = &baseline {
        baseline.apply(&mut summary, Scope::Whole);
    }
    let whole_suite = summary.whole_suite;
    let gate = whole_suite && summary.not_offered.is_empty();
    let judging = report::Judging {
        catalog: &fixtures.rules,
        whole_suite: gate,
        integration: summary.integration.clone(),
        whole_suite_for_integration: whole_suite,
        required_unchecked: Vec::new(),
    };
    let mut text = report::render_text(&summary, &judging);
    if !merged.missing.is_empty() {
        let shards: Vec<String> = merged
            .missing
            .iter()
            .map(|k| format!("{k}/{}", merged.total))
            .collect();
        let _ = writeln!(
            text,
            "\nMissing shards: {} (the merged run does not cover the whole suite: their scenarios' rules are not checked)",
            shards.join(", ")
        );
    }
    let rendered = match args.format {
        Format::Pretty => text.clone(),
        Format::Junit => report::junit::render(&summary, &judging),
        Format::Json => report::json::render(&summary, &judging),
        Format::Cucumber => {
            return Err(CommandError::Usage(
                "report merge writes pretty, junit or json: Cucumber's JSON of each shard is \
                 complete on its own (`run --format cucumber=PATH`)"
                    .into(),
            ));
        }
    };
    match &args.output {
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(CommandError::io(format!("create {}", parent.display())))?;
            }
            std::fs::write(path, &rendered)
                .map_err(CommandError::io(format!("write {}", path.display())))?;
            print!("{text}");
        }
        None => print!("{rendered}"),
    }
    if !merged.missing.is_empty() {
        eprintln!(
            "error: {} of {} shards missing ({}): the merged run does not cover the whole suite",
            merged.missing.len(),
            merged.total,
            merged
                .missing
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(exit::FAILED);
    }
    let (code, message) = exit_code(&summary, &judging);
    if let Some(message) = message {
        eprintln!("error: {message}");
    }
    Ok(code)
}
