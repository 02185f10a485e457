//! Reading a tool result as the AI received it: its text, its structured content, and the
//! words with which it refuses.

use serde_json::Value;

/// A tool result as the AI received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolReply {
    /// `isError`.
    pub is_error: bool,
    /// The text blocks, joined (without the block that only repeats the structured content).
    pub text: String,
    /// `structuredContent`.
    pub structured: Option<Value>,
}

impl ToolReply {
    /// Reads an MCP tool result.
    pub fn from_result(result: &rmcp::model::CallToolResult) -> ToolReply {
        let structured = result.structured_content.clone();
        let text = result
            .content
            .iter()
            .filter_map(|block| block.as_text().map(|t| t.text.clone()))
            .filter(|text| {
                // The spec asks servers to repeat structured content as a text block.
                structured
                    .as_ref()
                    .is_none_or(|s| serde_json::from_str::<Value>(text).ok().as_ref() != Some(s))
            })
            .collect::<Vec<_>>()
            .join("\n");
        ToolReply {
            is_error: result.is_error.unwrap_or(false),
            text,
            structured,
        }
    }

    /// The data the result returns: `structuredContent.data`, else the structured content,
    /// else the text if it is JSON.
    pub fn data(&self) -> Value {
        match &self.structured {
            Some(Value::Object(map)) if map.contains_key("data") => map["data"].clone(),
            Some(other) => other.clone(),
            None => serde_json::from_str(self.text.trim()).unwrap_or(Value::Null),
        }
    }

    /// A value in the structured content (or in the text parsed as JSON) by JSON pointer.
    pub fn pointer(&self, pointer: &str) -> Option<Value> {
        let root = match &self.structured {
            Some(value) => value.clone(),
            None => serde_json::from_str::<Value>(self.text.trim()).ok()?,
        };
        root.pointer(pointer).filter(|v| !v.is_null()).cloned()
    }

    pub(crate) fn structured_strings(&self, key: &str) -> Vec<String> {
        self.structured
            .as_ref()
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Words with which a result refuses.
pub(crate) const REFUSALS: [&str; 12] = [
    "refus",
    "not allowed",
    "not permitted",
    "blocked",
    "denied",
    "cannot",
    "can't",
    "unable",
    "nothing was written",
    "nothing was sent",
    "declined",
    "cancelled",
];

/// Words with which a result tells the AI it has no access.
pub(crate) const NO_ACCESS: [&str; 8] = [
    "no access",
    "permission",
    "forbidden",
    "403",
    "not authorized",
    "not authorised",
    "access denied",
    "security role",
];

/// Words with which a result refuses the input itself (rather than the action).
pub(crate) const INVALID_INPUT: [&str; 9] = [
    "invalid",
    "validation",
    "required",
    "missing",
    "not found",
    "does not exist",
    "no such",
    "unknown",
    "i need",
];

/// Words with which a result reports refused credentials.
pub(crate) const AUTHENTICATION: [&str; 5] = ["401", "authenticat", "credential", "unauthori", "api key"];

pub(crate) fn mentions(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w))
}

/// Whether `text` names `word` as a word of its own.
pub fn names_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_text_block_repeating_the_structure_is_not_part_of_the_message() {
        let structured = json!({"outcome": "allowed", "data": [1]});
        let mut result = rmcp::model::CallToolResult::success(vec![
            rmcp::model::ContentBlock::text("Found 1 record(s)."),
            rmcp::model::ContentBlock::text(structured.to_string()),
        ]);
        result.structured_content = Some(structured);
        let reply = ToolReply::from_result(&result);
        assert_eq!(reply.text, "Found 1 record(s).");
        assert_eq!(reply.data(), json!([1]));
    }

    #[test]
    fn fields_count_as_named_only_as_whole_words() {
        assert!(names_word("Fields: name, type, company.", "company"));
        assert!(!names_word("Fields: companyType.", "company"));
        assert!(!names_word("confirm to proceed", "id"));
    }
}
