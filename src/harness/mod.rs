//! Gherkin glue.
