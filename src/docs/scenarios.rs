//! The scenarios of the features as the documentation shows them: as written (an outline
//! with its Examples table, not one copy per row), each run of it (a scenario, or a row of
//! an outline) named by the line and name a run report gives it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use cucumber::feature::Ext as _;
use cucumber::gherkin;

use super::DocsError;
use super::results::ScenarioRun;
use crate::model::RuleId;

/// One step as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDoc {
    /// `Given`, `When`, `Then`, `And`, `But`.
    pub keyword: String,
    /// The step's text.
    pub text: String,
    /// Its data table, header row first.
    pub table: Vec<Vec<String>>,
    /// Its doc string.
    pub docstring: Option<String>,
}

/// One run of a scenario: the scenario itself, or one row of an outline.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The line a run report names it by (an outline row's own line).
    pub line: usize,
    /// The name a run report gives it (placeholders filled for an outline row).
    pub name: String,
    /// The latest result of it in the run reports.
    pub result: Option<ScenarioRun>,
}

/// One row of an Examples table with the run it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleRow {
    /// The row's cells.
    pub cells: Vec<String>,
    /// The run of the outline with this row.
    pub run: Instance,
}

/// An Examples block of an outline.
#[derive(Debug, Clone, PartialEq)]
pub struct ExamplesDoc {
    /// `Examples`, `Scenarios`.
    pub keyword: String,
    /// Its name, if any.
    pub name: String,
    /// Its own tags, without `@`.
    pub tags: Vec<String>,
    /// The header row.
    pub header: Vec<String>,
    /// The rows under it.
    pub rows: Vec<ExampleRow>,
}

/// A scenario (or outline) as written, with where it is and what applies to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioDoc {
    /// The feature file, as given (`features/…` for a built-in one).
    pub feature: String,
    /// The feature's name.
    pub feature_name: String,
    /// The name of the Gherkin `Rule` block it is in, if any.
    pub rule_block: Option<String>,
    /// `Scenario`, `Scenario Outline`, `Example`.
    pub keyword: String,
    /// Its name as written.
    pub name: String,
    /// Its line.
    pub line: usize,
    /// Every tag that applies (feature, rule and scenario), without `@`.
    pub tags: Vec<String>,
    /// Its description, if any.
    pub description: Option<String>,
    /// The Background steps that run before it (the feature's, then its rule block's).
    pub background: Vec<StepDoc>,
    /// Its own steps.
    pub steps: Vec<StepDoc>,
    /// An outline's Examples; empty for a plain scenario.
    pub examples: Vec<ExamplesDoc>,
    /// A plain scenario's run; `None` for an outline (its rows have theirs).
    pub run: Option<Instance>,
}

impl ScenarioDoc {
    /// Every rule ID among its tags and its Examples' tags.
    pub fn rules(&self) -> BTreeSet<RuleId> {
        self.tags
            .iter()
            .chain(self.examples.iter().flat_map(|e| &e.tags))
            .filter_map(|tag| RuleId::from_tag(tag))
            .collect()
    }

    /// The Examples blocks that check a rule: all of them when the scenario's own tags
    /// name it, else those tagged with it.
    pub fn examples_for<'a>(&'a self, rule: &'a RuleId) -> impl Iterator<Item = &'a ExamplesDoc> {
        let whole = self
            .tags
            .iter()
            .any(|t| RuleId::from_tag(t).as_ref() == Some(rule));
        self.examples.iter().filter(move |examples| {
            whole
                || examples
                    .tags
                    .iter()
                    .any(|t| RuleId::from_tag(t).as_ref() == Some(rule))
        })
    }

    /// Every run of it: the scenario's own, or every row's.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.run.iter().chain(
            self.examples
                .iter()
                .flat_map(|e| e.rows.iter().map(|r| &r.run)),
        )
    }

    /// Every run of it, to attach results to.
    pub(super) fn instances_mut(&mut self) -> impl Iterator<Item = &mut Instance> {
        self.run.iter_mut().chain(
            self.examples
                .iter_mut()
                .flat_map(|e| e.rows.iter_mut().map(|r| &mut r.run)),
        )
    }

    /// An anchor unique on a page for this scenario shown under `rule`.
    pub fn anchor(&self, rule: Option<&RuleId>) -> String {
        let file = self
            .feature
            .rsplit('/')
            .next()
            .unwrap_or(&self.feature)
            .trim_end_matches(".feature");
        let mut anchor: String = format!(
            "{}-{file}-{}",
            rule.map_or("scenario", RuleId::as_str),
            self.line
        )
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
        anchor.make_ascii_lowercase();
        anchor
    }
}

/// The scenarios of the features (the built-in ones when `paths` is empty), checked as a
/// run checks them: a feature error stops the documentation, naming file and line.
pub(super) fn read(paths: &[PathBuf]) -> Result<Vec<ScenarioDoc>, DocsError> {
    let (features, errors) = crate::harness::features_as_written(paths)?;
    if !errors.is_empty() {
        return Err(DocsError::Features(errors));
    }
    let mut docs = Vec::new();
    for feature in &features {
        for scenario in &feature.scenarios {
            docs.push(document(feature, None, scenario));
        }
        for rule in &feature.rules {
            for scenario in &rule.scenarios {
                docs.push(document(feature, Some(rule), scenario));
            }
        }
    }
    Ok(docs)
}

fn step(step: &gherkin::Step) -> StepDoc {
    StepDoc {
        keyword: step.keyword.trim().to_owned(),
        text: step.value.clone(),
        table: step
            .table
            .as_ref()
            .map(|t| t.rows.clone())
            .unwrap_or_default(),
        docstring: step.docstring.clone(),
    }
}

fn untagged(tag: &str) -> String {
    tag.trim_start_matches('@').to_owned()
}

fn document(
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> ScenarioDoc {
    let background = feature
        .background
        .iter()
        .flat_map(|b| &b.steps)
        .chain(
            rule.iter()
                .flat_map(|r| r.background.iter().flat_map(|b| &b.steps)),
        )
        .map(step)
        .collect();
    let mut doc = ScenarioDoc {
        feature: feature
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        feature_name: feature.name.clone(),
        rule_block: rule.map(|r| r.name.clone()),
        keyword: scenario.keyword.trim().to_owned(),
        name: scenario.name.clone(),
        line: scenario.position.line,
        tags: crate::harness::tags_of(feature, rule, scenario)
            .map(|t| untagged(t))
            .collect(),
        description: scenario
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        background,
        steps: scenario.steps.iter().map(step).collect(),
        examples: Vec::new(),
        run: None,
    };
    if scenario.examples.is_empty() {
        doc.run = Some(Instance {
            line: doc.line,
            name: doc.name.clone(),
            result: None,
        });
        return doc;
    }
    // The runs of an outline as cucumber makes them (line and name of each row), in the
    // order of its Examples rows.
    let alone = gherkin::Feature {
        scenarios: vec![scenario.clone()],
        rules: Vec::new(),
        ..feature.clone()
    };
    let mut runs = alone
        .expand_examples()
        .map(|expanded| expanded.scenarios)
        .unwrap_or_default()
        .into_iter();
    for examples in &scenario.examples {
        let Some((header, rows)) = examples.table.as_ref().and_then(|t| t.rows.split_first())
        else {
            continue;
        };
        doc.examples.push(ExamplesDoc {
            keyword: examples.keyword.trim().to_owned(),
            name: examples.name.clone().unwrap_or_default(),
            tags: examples.tags.iter().map(|t| untagged(t)).collect(),
            header: header.clone(),
            rows: rows
                .iter()
                .map(|cells| {
                    let expanded = runs.next();
                    ExampleRow {
                        cells: cells.clone(),
                        run: Instance {
                            line: expanded.as_ref().map_or(doc.line, |s| s.position.line),
                            name: expanded.map_or_else(|| doc.name.clone(), |s| s.name),
                            result: None,
                        },
                    }
                })
                .collect(),
        });
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> Vec<ScenarioDoc> {
        let dir = crate::scratch::Scratch::new("docs");
        let path = dir.write(&format!("f{}.feature", text.len()), text);
        read(std::slice::from_ref(&path)).unwrap()
    }

    #[test]
    fn an_outline_is_kept_whole_and_each_row_named_as_a_run_names_it() {
        let docs = written(
            "@SD-01\nFeature: F\n\n  Background:\n    Given an API member with the role \"least-privilege\"\n\n  Scenario Outline: The AI asks to <do>\n    When the AI asks to <do>\n    Then the outcome is <outcome>\n\n    Examples:\n      | do                      | outcome |\n      | create a service ticket | allowed |\n      | delete a service ticket | blocked |\n",
        );
        assert_eq!(docs.len(), 1);
        let outline = &docs[0];
        assert_eq!(outline.name, "The AI asks to <do>");
        assert_eq!(outline.steps[0].text, "the AI asks to <do>");
        assert_eq!(outline.background[0].keyword, "Given");
        assert_eq!(outline.examples[0].header, ["do", "outcome"]);
        let runs: Vec<(usize, &str)> = outline
            .instances()
            .map(|i| (i.line, i.name.as_str()))
            .collect();
        assert_eq!(
            runs,
            [
                (13, "The AI asks to create a service ticket"),
                (14, "The AI asks to delete a service ticket")
            ]
        );
        assert_eq!(
            outline.rules().into_iter().collect::<Vec<_>>(),
            ["SD-01".parse::<RuleId>().unwrap()]
        );
    }

    #[test]
    fn a_feature_error_stops_the_documentation_with_its_file_and_line() {
        let dir = crate::scratch::Scratch::new("docs-err");
        let path = dir.join("empty_scenario.feature");
        std::fs::write(&path, "Feature: F\n\n  Scenario: nothing\n").unwrap();
        let error = read(std::slice::from_ref(&path)).unwrap_err().to_string();
        assert!(
            error.contains("empty_scenario.feature:3: the Scenario \"nothing\" has no steps"),
            "{error}"
        );
    }
}
