//! Cucumber's standard JSON report (`schemas/cucumber-json.schema.json`), the format
//! cucumber-html-reporter, Allure and ReportPortal read: features, their elements
//! (scenarios), their steps with `result.status` and `result.duration` in nanoseconds.
//!
//! cucumber-rs's own JSON writer makes it during the run ([`RunSummary::cucumber_json`]);
//! this module only writes its tags the way every other Cucumber writes them and the
//! published schema requires (`@SD-01`, where cucumber-rs leaves out the `@`).
//!
//! [`RunSummary::cucumber_json`]: crate::harness::RunSummary::cucumber_json

use serde_json::Value;

/// The report from what cucumber-rs's JSON writer wrote, as pretty JSON.
pub fn render(written: &str) -> Result<String, serde_json::Error> {
    let mut features: Value = serde_json::from_str(written)?;
    for feature in features.as_array_mut().into_iter().flatten() {
        mark_tags(feature);
        let elements = feature.get_mut("elements").and_then(Value::as_array_mut);
        for element in elements.into_iter().flatten() {
            mark_tags(element);
        }
    }
    serde_json::to_string_pretty(&features)
}

/// Puts the `@` in front of each tag of a feature or an element that lacks one.
fn mark_tags(node: &mut Value) {
    let tags = node.get_mut("tags").and_then(Value::as_array_mut);
    for tag in tags.into_iter().flatten() {
        if let Some(Value::String(name)) = tag.get_mut("name")
            && !name.starts_with('@')
        {
            name.insert(0, '@');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_get_their_at_sign_once() {
        let written = json!([{
            "uri": "features/x.feature", "keyword": "Feature", "name": "X",
            "tags": [{"name": "mock-only", "line": 1}],
            "elements": [{"keyword": "Scenario", "type": "scenario", "name": "s", "line": 4,
                          "tags": [{"name": "SD-01", "line": 3}, {"name": "@writes", "line": 3}],
                          "steps": []}]
        }]);
        let report: Value = serde_json::from_str(&render(&written.to_string()).unwrap()).unwrap();
        assert_eq!(report[0]["tags"][0]["name"], "@mock-only");
        assert_eq!(report[0]["elements"][0]["tags"][0]["name"], "@SD-01");
        assert_eq!(report[0]["elements"][0]["tags"][1]["name"], "@writes");
    }

    #[test]
    fn what_is_not_json_is_an_error() {
        assert!(render("[{").is_err());
    }
}
