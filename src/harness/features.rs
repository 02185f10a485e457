//! Feature files checked before they run: a file that is not valid Gherkin, or that has a
//! block which would check nothing, is a feature error (`file:line: what is wrong`) and
//! none of its scenarios runs.
//!
//! A feature that cucumber would run "green" while checking nothing is a feature error:
//!
//! - an empty file, or a `Feature` with no scenarios (directly or in a `Rule`);
//! - a `Background` with no steps;
//! - a `Rule` with no scenarios;
//! - a `Scenario` (or `Scenario Outline`) with no steps of its own (a Background's steps
//!   set up, they check nothing);
//! - a `Scenario Outline` (or `Scenario Template`) with no `Examples`, or with an
//!   `Examples` that has no table or no rows under its header;
//! - a `<placeholder>` in an outline's name, steps, doc strings or step tables that a column
//!   of one of its `Examples` tables does not fill.
//!
//! All are errors, not warnings: each is a mistake in the file (a forgotten table, steps
//! never written), and a warning next to a passing run is easily missed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::LazyLock;

use cucumber::feature::Ext as _;
use cucumber::gherkin;

/// A feature file that cannot run as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {problem}", .feature, .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FeatureError {
    /// The feature file, as given (or `features/…` for a built-in one).
    pub feature: String,
    /// The line the problem is on, when it is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

/// Shown as its message (`file:line: what is wrong`), in the JSON report too.
impl serde::Serialize for FeatureError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read back from a report (`report merge`): `file:line: problem` or `file: problem`.
impl<'de> serde::Deserialize<'de> for FeatureError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let shown = String::deserialize(deserializer)?;
        let (place, problem) = shown.split_once(": ").unwrap_or(("", shown.as_str()));
        let (feature, line) = match place.rsplit_once(':') {
            Some((feature, line)) if line.parse::<usize>().is_ok() => {
                (feature, line.parse::<usize>().ok())
            }
            _ => (place, None),
        };
        Ok(FeatureError {
            feature: feature.to_owned(),
            line,
            problem: problem.to_owned(),
        })
    }
}

impl FeatureError {
    /// A feature that cucumber could not read or expand (after [`load`] checked it, this
    /// does not happen; kept so that nothing cucumber reports is lost).
    pub(crate) fn from_cucumber(error: &cucumber::parser::Error) -> FeatureError {
        match error {
            cucumber::parser::Error::Parsing(error) => {
                let path = match error.as_ref() {
                    gherkin::ParseFileError::Reading { path, .. }
                    | gherkin::ParseFileError::Parsing { path, .. } => path,
                };
                FeatureError {
                    feature: path.display().to_string(),
                    line: None,
                    problem: error.to_string(),
                }
            }
            cucumber::parser::Error::ExampleExpansion(error) => FeatureError {
                feature: error
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                line: Some(error.pos.line),
                problem: format!("no Examples column fills the placeholder <{}>", error.name),
            },
        }
    }
}

/// A feature's text with the path it is shown under.
#[derive(Debug, Clone)]
pub(crate) struct FeatureText {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

/// The features that can run (examples expanded), and the errors of those that cannot.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub(crate) features: Vec<gherkin::Feature>,
    pub(crate) errors: Vec<FeatureError>,
}

/// Parses and checks every feature; a feature with an error is left out whole.
pub(crate) fn load(files: Vec<FeatureText>) -> Loaded {
    gather(parse_each(files, parse))
}

/// Parses and checks every feature, leaving Scenario Outlines as written (for the living
/// documentation, which shows an outline with its Examples table): the features that can
/// run, and the errors of those that cannot.
pub(crate) fn load_as_written(files: Vec<FeatureText>) -> Loaded {
    gather(parse_each(files, parse_checked))
}

/// The features parsed and their errors, in the order of the files.
fn gather(parsed: Vec<Result<gherkin::Feature, Vec<FeatureError>>>) -> Loaded {
    let mut loaded = Loaded::default();
    for result in parsed {
        match result {
            Ok(feature) => loaded.features.push(feature),
            Err(errors) => loaded.errors.extend(errors),
        }
    }
    loaded
}

/// Each file parsed with `parse`, in the order of the files, on as many threads as the
/// machine has cores (at most one a file). The Gherkin parser is the larger part of a
/// run's start (it scans its list of line starts at every new line), and the files are
/// independent: a run starts sooner on more cores.
fn parse_each<T: Send>(files: Vec<FeatureText>, parse: fn(FeatureText) -> T) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(files.len());
    if threads <= 1 {
        return files.into_iter().map(parse).collect();
    }
    // The largest files first, each to the thread that is free: the last to finish is
    // then a small one.
    let mut queue: Vec<(usize, FeatureText)> = files.into_iter().enumerate().collect();
    queue.sort_by_key(|(_, file)| std::cmp::Reverse(file.text.len()));
    let count = queue.len();
    let queue = std::sync::Mutex::new(queue.into_iter());
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    let mut parsed: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some((index, file)) = next() {
                        done.push((index, parse(file)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    debug_assert_eq!(parsed.len(), count);
    parsed.sort_by_key(|(index, _)| *index);
    parsed.into_iter().map(|(_, result)| result).collect()
}

/// One feature, parsed, checked and expanded.
fn parse(file: FeatureText) -> Result<gherkin::Feature, Vec<FeatureError>> {
    parse_checked(file)?.expand_examples().map_err(|e| {
        vec![FeatureError::from_cucumber(
            &cucumber::parser::Error::ExampleExpansion(e.into()),
        )]
    })
}

/// One feature, parsed and checked, its outlines not expanded.
fn parse_checked(file: FeatureText) -> Result<gherkin::Feature, Vec<FeatureError>> {
    let shown = file.path.display().to_string();
    let error = |line: Option<usize>, problem: String| FeatureError {
        feature: shown.clone(),
        line,
        problem,
    };
    if is_blank(&file.text) {
        return Err(vec![error(
            None,
            "the file is empty: no Feature, no scenario".to_owned(),
        )]);
    }
    let mut feature = gherkin::Feature::parse(&file.text, gherkin::GherkinEnv::default())
        .map_err(|e| vec![not_gherkin(&shown, &e)])?;
    feature.path = Some(file.path);
    let problems = check(&feature);
    if !problems.is_empty() {
        return Err(problems
            .into_iter()
            .map(|(line, problem)| error(Some(line), problem))
            .collect());
    }
    Ok(feature)
}

/// Whether a text holds no Gherkin at all: only blank lines and comments.
fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#'))
}

/// A gherkin parse error as a feature error, on its line (gherkin shows the position
/// only in its message: `Error at LINE:COLUMN: {expected tokens}`).
fn not_gherkin(path: &str, error: &gherkin::ParseError) -> FeatureError {
    let message = error.to_string();
    let position = message
        .strip_prefix("Error at ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(line, rest)| {
            let (column, _) = rest.split_once(':')?;
            Some((line.parse().ok()?, column.to_owned()))
        });
    match position {
        Some((line, column)) => FeatureError {
            feature: path.to_owned(),
            line: Some(line),
            problem: format!(
                "not valid Gherkin: the parser stopped at column {column} (look at this line and the one before it for a line that is not a keyword, step, table row, doc string, tag or comment)"
            ),
        },
        None => FeatureError {
            feature: path.to_owned(),
            line: None,
            problem: format!("not valid Gherkin: {message}"),
        },
    }
}

/// The problems of a parsed (not yet expanded) feature, each with its line.
fn check(feature: &gherkin::Feature) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    if feature.scenarios.is_empty() && feature.rules.is_empty() {
        problems.push((
            feature.position.line,
            format!("the Feature \"{}\" has no scenarios", feature.name),
        ));
    }
    let backgrounds = feature
        .background
        .iter()
        .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()));
    for background in backgrounds {
        if background.steps.is_empty() {
            problems.push((
                background.position.line,
                format!("the {} has no steps", background.keyword.trim()),
            ));
        }
    }
    for rule in &feature.rules {
        // gherkin reads the line after a Rule with nothing in it (say, the next Rule) as
        // that Rule's description.
        if let Some(line) = keyword_line(rule.description.as_deref()) {
            problems.push((
                rule.position.line,
                format!(
                    "the {} \"{}\" has no scenarios of its own: the line \"{line}\" after it is read as its description",
                    rule.keyword.trim(),
                    rule.name
                ),
            ));
        } else if rule.scenarios.is_empty() {
            problems.push((
                rule.position.line,
                format!(
                    "the {} \"{}\" has no scenarios",
                    rule.keyword.trim(),
                    rule.name
                ),
            ));
        }
    }
    let scenarios = feature
        .scenarios
        .iter()
        .chain(feature.rules.iter().flat_map(|r| &r.scenarios));
    for scenario in scenarios {
        problems.extend(check_scenario(scenario));
    }
    problems.sort_by_key(|(line, _)| *line);
    problems
}

/// A line of a description that starts with a block keyword (`Rule: SD-02 …`).
fn keyword_line(description: Option<&str>) -> Option<&str> {
    const KEYWORDS: [&str; 9] = [
        "Feature:",
        "Rule:",
        "Background:",
        "Scenario:",
        "Scenario Outline:",
        "Scenario Template:",
        "Example:",
        "Examples:",
        "Scenarios:",
    ];
    description?
        .lines()
        .map(str::trim)
        .find(|line| KEYWORDS.iter().any(|k| line.starts_with(k)))
}

/// What cucumber reads as an outline placeholder (the pattern of its own expansion).
static PLACEHOLDER: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"<([^>\s](?:[^>\s]?|[^>\t\n\r\v\f]*[^>\s]))>").ok());

fn check_scenario(scenario: &gherkin::Scenario) -> Vec<(usize, String)> {
    let keyword = scenario.keyword.trim();
    let what = format!("the {keyword} \"{}\"", scenario.name);
    let mut problems = Vec::new();
    if scenario.steps.is_empty() {
        problems.push((scenario.position.line, format!("{what} has no steps")));
    }
    let outline = keyword.contains("Outline") || keyword.contains("Template");
    if outline && scenario.examples.is_empty() {
        problems.push((
            scenario.position.line,
            format!("{what} has no Examples: it would run once with its <placeholders> unfilled"),
        ));
    }
    for examples in &scenario.examples {
        let Some((header, rows)) = examples
            .table
            .as_ref()
            .and_then(|table| table.rows.split_first())
        else {
            problems.push((
                examples.position.line,
                format!(
                    "the {} of {what} have no table: no scenario would run",
                    examples.keyword.trim()
                ),
            ));
            continue;
        };
        if rows.is_empty() {
            problems.push((
                examples.position.line,
                format!(
                    "the {} of {what} have a header but no rows: no scenario would run",
                    examples.keyword.trim()
                ),
            ));
        }
        let columns: BTreeSet<&str> = header.iter().map(String::as_str).collect();
        for (line, placeholder) in placeholders(scenario) {
            if !columns.contains(placeholder.as_str()) {
                problems.push((
                    line,
                    format!(
                        "the placeholder <{placeholder}> of {what} is filled by no column of the {} at line {} (columns: {})",
                        examples.keyword.trim(),
                        examples.position.line,
                        header.join(", ")
                    ),
                ));
            }
        }
    }
    problems
}

/// Every `<placeholder>` of a scenario with the line it is on, once per line.
fn placeholders(scenario: &gherkin::Scenario) -> BTreeSet<(usize, String)> {
    let Some(pattern) = PLACEHOLDER.as_ref() else {
        return BTreeSet::new();
    };
    let texts = std::iter::once((scenario.position.line, &scenario.name)).chain(
        scenario.steps.iter().flat_map(|step| {
            std::iter::once(&step.value)
                .chain(&step.docstring)
                .chain(step.table.iter().flat_map(|t| t.rows.iter().flatten()))
                .map(move |text| (step.position.line, text))
        }),
    );
    texts
        .flat_map(|(line, text)| {
            pattern
                .captures_iter(text)
                .filter_map(|c| c.get(1))
                .map(move |name| (line, name.as_str().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn errors_of(text: &str) -> Vec<String> {
        let loaded = load(vec![FeatureText {
            path: "ours.feature".into(),
            text: text.to_owned(),
        }]);
        assert!(
            loaded.features.is_empty() != loaded.errors.is_empty(),
            "a feature must either run or have errors: {loaded:?}"
        );
        loaded.errors.iter().map(ToString::to_string).collect()
    }

    const STEPS: &str = "    Given an API member with the role \"no-access\"\n    When the AI asks to search companies \"Acme\"\n    Then the outcome is denied\n";

    #[rstest]
    #[case::empty_file("", &["ours.feature: the file is empty: no Feature, no scenario"])]
    #[case::only_comments("# nothing yet\n\n", &["ours.feature: the file is empty: no Feature, no scenario"])]
    #[case::no_scenarios("Feature: F\n", &["ours.feature:1: the Feature \"F\" has no scenarios"])]
    #[case::scenario_without_steps(
        "Feature: F\n\n  Scenario: nothing here\n",
        &["ours.feature:3: the Scenario \"nothing here\" has no steps"]
    )]
    #[case::outline_without_examples(
        "Feature: F\n\n  Scenario Outline: o\n    Given an API member with the role \"<role>\"\n",
        &["ours.feature:3: the Scenario Outline \"o\" has no Examples: it would run once with its <placeholders> unfilled"]
    )]
    #[case::examples_without_rows(
        "Feature: F\n\n  Scenario Outline: o\n    Given an API member with the role \"<role>\"\n\n    Examples:\n      | role |\n",
        &["ours.feature:6: the Examples of the Scenario Outline \"o\" have a header but no rows: no scenario would run"]
    )]
    #[case::placeholder_no_column_fills(
        "Feature: F\n\n  Scenario Outline: o\n    Given an API member with the role \"<role>\"\n    Then the outcome is <outcome>\n\n    Examples:\n      | role      |\n      | no-access |\n",
        &["ours.feature:5: the placeholder <outcome> of the Scenario Outline \"o\" is filled by no column of the Examples at line 7 (columns: role)"]
    )]
    #[case::background_without_steps(
        &format!("Feature: F\n\n  Background:\n\n  Scenario: s\n{STEPS}"),
        &["ours.feature:3: the Background has no steps"]
    )]
    #[case::rule_without_scenarios(
        &format!("Feature: F\n\n  Scenario: s\n{STEPS}\n  Rule: SD-01 nothing\n"),
        &["ours.feature:8: the Rule \"SD-01 nothing\" has no scenarios"]
    )]
    #[case::rule_without_scenarios_before_another(
        &format!("Feature: F\n\n  Rule: SD-01 nothing\n\n  Rule: SD-02 something\n\n    Scenario: s\n{STEPS}"),
        &["ours.feature:3: the Rule \"SD-01 nothing\" has no scenarios of its own: the line \"Rule: SD-02 something\" after it is read as its description"]
    )]
    #[case::not_gherkin(
        "Feature: F\n\n  Scenario: s\n    Given a\n  Blah blah: nope\n",
        &["ours.feature:6: not valid Gherkin: the parser stopped at column 1 (look at this line and the one before it for a line that is not a keyword, step, table row, doc string, tag or comment)"]
    )]
    fn a_feature_that_checks_nothing_is_an_error_on_its_line(
        #[case] text: &str,
        #[case] expected: &[&str],
    ) {
        assert_eq!(errors_of(text), expected);
    }

    #[test]
    fn every_problem_of_a_feature_is_named() {
        let errors = errors_of(
            "Feature: F\n\n  Scenario: empty\n\n  Scenario Outline: o\n    Given an API member with the role \"<role>\"\n",
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("ours.feature:3: "), "{errors:?}");
        assert!(errors[1].starts_with("ours.feature:5: "), "{errors:?}");
    }

    #[test]
    fn a_sound_outline_is_expanded_and_runs() {
        let loaded = load(vec![FeatureText {
            path: "ours.feature".into(),
            text: "Feature: F\n\n  Scenario Outline: <role> is refused\n    Given an API member with the role \"<role>\"\n    Then the outcome is denied\n\n    Examples:\n      | role      |\n      | no-access |\n      | read-only-discovery |\n".to_owned(),
        }]);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let names: Vec<&str> = loaded.features[0]
            .scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["no-access is refused", "read-only-discovery is refused"]
        );
    }

    #[test]
    fn the_builtin_features_have_no_errors() {
        let loaded = load(super::super::runner::builtin_features());
        assert_eq!(loaded.errors, Vec::<FeatureError>::new());
        assert!(!loaded.features.is_empty());
    }

    #[test]
    fn files_parsed_at_once_come_out_in_the_order_given() {
        // Sizes that do not follow the order, so the largest-first queue reorders them;
        // every third file broken, so errors must keep their order too.
        let files: Vec<FeatureText> = (0..13)
            .map(|index| {
                let scenarios = (0..=(index * 7) % 11)
                    .map(|n| format!("  Scenario: s{n}\n{STEPS}\n"))
                    .collect::<Vec<_>>()
                    .concat();
                let text = if index % 3 == 0 {
                    format!("Feature: F{index}\n\n  Scenario: empty\n")
                } else {
                    format!("Feature: F{index}\n\n{scenarios}")
                };
                FeatureText {
                    path: format!("f{index}.feature").into(),
                    text,
                }
            })
            .collect();
        for loaded in [load(files.clone()), load_as_written(files)] {
            let names: Vec<&str> = loaded.features.iter().map(|f| f.name.as_str()).collect();
            let kept: Vec<String> = (0..13)
                .filter(|index| index % 3 != 0)
                .map(|index| format!("F{index}"))
                .collect();
            assert_eq!(names, kept);
            let broken: Vec<&str> = loaded.errors.iter().map(|e| e.feature.as_str()).collect();
            assert_eq!(
                broken,
                [
                    "f0.feature",
                    "f3.feature",
                    "f6.feature",
                    "f9.feature",
                    "f12.feature"
                ]
            );
        }
    }
}
