//! The two source documents the rules come from, as this project summarises them: each
//! document's sections by heading, so a rule's `source` and `section` lead to what that
//! section says. The documents carry no licence, so the summaries are the project's own
//! words (`fixtures/sources/*.md`), never the documents' text.

use serde::Serialize;

/// One section of a source document, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSection {
    /// The section's heading, as rules cite it (`Service desk actions`).
    pub heading: String,
    /// What the section establishes, in the project's words (Markdown).
    pub summary: String,
}

/// One source document, summarised section by section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceDocument {
    /// The document's file name, as rules cite it (`connectwise-permissions-overview.txt`).
    pub file: String,
    /// A short name for the command line: the file name without its extension.
    pub name: String,
    /// The summary's title.
    pub title: String,
    /// What the document is, and how the summary stands to it (Markdown).
    pub about: String,
    /// The sections in document order.
    pub sections: Vec<SourceSection>,
}

impl SourceDocument {
    /// The section with this heading.
    pub fn section(&self, heading: &str) -> Option<&SourceSection> {
        self.sections.iter().find(|s| s.heading == heading)
    }
}

/// The summarised source documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceCatalog {
    documents: Vec<SourceDocument>,
}

impl SourceCatalog {
    /// A catalog of documents already validated for unique names and headings.
    pub fn new(documents: Vec<SourceDocument>) -> Self {
        SourceCatalog { documents }
    }

    /// The document a rule cites by file name (`x.txt`), or named by its short name (`x`).
    pub fn document(&self, file_or_name: &str) -> Option<&SourceDocument> {
        self.documents
            .iter()
            .find(|d| d.file == file_or_name || d.name == file_or_name)
    }

    /// The summary of the section a rule cites.
    pub fn section(&self, file: &str, heading: &str) -> Option<&SourceSection> {
        self.document(file)?.section(heading)
    }

    /// Every document.
    pub fn iter(&self) -> impl Iterator<Item = &SourceDocument> {
        self.documents.iter()
    }
}

/// What is wrong with a summary file, and on which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong, naming the value.
    pub message: String,
}

/// Reads a summary: a `# title` line, a paragraph saying what the document is, then one
/// `## heading` per section of the document with its summary under it. `file` is the
/// document summarised (`x.txt` for `x.md`).
pub fn parse_summary(file: &str, text: &str) -> Result<SourceDocument, SummaryError> {
    let mut title: Option<String> = None;
    let mut about = String::new();
    let mut sections: Vec<(usize, SourceSection)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(heading) = line.strip_prefix("## ") {
            let heading = heading.trim().to_owned();
            if let Some((first, _)) = sections.iter().find(|(_, s)| s.heading == heading) {
                return Err(SummaryError {
                    line: number,
                    message: format!("duplicate section \"{heading}\" (first at line {first})"),
                });
            }
            sections.push((
                number,
                SourceSection {
                    heading,
                    summary: String::new(),
                },
            ));
        } else if let Some(heading) = line.strip_prefix("# ") {
            if title.is_some() {
                return Err(SummaryError {
                    line: number,
                    message: format!(
                        "a second title \"{}\" (sections are `## heading`)",
                        heading.trim()
                    ),
                });
            }
            title = Some(heading.trim().to_owned());
        } else if title.is_none() && !line.trim().is_empty() {
            return Err(SummaryError {
                line: number,
                message: format!("\"{}\" comes before the `# title` line", line.trim()),
            });
        } else {
            let body = match sections.last_mut() {
                Some((_, section)) => &mut section.summary,
                None => &mut about,
            };
            body.push_str(line);
            body.push('\n');
        }
    }
    let Some(title) = title else {
        return Err(SummaryError {
            line: 1,
            message: "no `# title` line".to_owned(),
        });
    };
    if let Some((line, empty)) = sections.iter().find(|(_, s)| s.summary.trim().is_empty()) {
        return Err(SummaryError {
            line: *line,
            message: format!("the section \"{}\" has no summary", empty.heading),
        });
    }
    if sections.is_empty() {
        return Err(SummaryError {
            line: text.lines().count().max(1),
            message: "no `## heading` section".to_owned(),
        });
    }
    Ok(SourceDocument {
        file: file.to_owned(),
        name: file
            .rsplit_once('.')
            .map_or(file, |(name, _)| name)
            .to_owned(),
        title,
        about: about.trim().to_owned(),
        sections: sections
            .into_iter()
            .map(|(_, mut s)| {
                s.summary = s.summary.trim().to_owned();
                s
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_title_the_about_text_and_each_section() {
        let document = parse_summary(
            "guide.txt",
            "# The guide\n\nWhat it is.\n\n## First\nOne.\nTwo.\n\n## Second\nThree.\n",
        )
        .unwrap();
        assert_eq!(document.name, "guide");
        assert_eq!(document.title, "The guide");
        assert_eq!(document.about, "What it is.");
        assert_eq!(document.section("First").unwrap().summary, "One.\nTwo.");
        assert_eq!(document.section("Second").unwrap().summary, "Three.");
        assert!(document.section("Third").is_none());
    }

    #[test]
    fn a_malformed_summary_names_its_line_and_value() {
        let cases = [
            (
                "# T\n## A\nx\n## A\ny\n",
                4,
                "duplicate section \"A\" (first at line 2)",
            ),
            (
                "# T\n## A\n\n## B\ny\n",
                2,
                "the section \"A\" has no summary",
            ),
            ("text\n# T\n", 1, "\"text\" comes before the `# title` line"),
            ("# T\nabout\n", 2, "no `## heading` section"),
            (
                "# T\n## A\nx\n# U\n",
                4,
                "a second title \"U\" (sections are `## heading`)",
            ),
        ];
        for (text, line, message) in cases {
            assert_eq!(
                parse_summary("x.txt", text),
                Err(SummaryError {
                    line,
                    message: message.to_owned()
                }),
                "{text}"
            );
        }
    }
}
