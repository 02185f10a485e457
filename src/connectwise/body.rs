//! A ConnectWise answer's body read into a [`Value`], as `serde_json::from_slice` reads it,
//! but with every object's map and every array made at its final size.
//!
//! serde_json grows each map as its fields arrive: the fields' list doubles (copied each
//! time) and the map's index is rebuilt at each doubling, and what is left over stays
//! allocated for as long as the record lives. A page of a thousand records is some
//! seven thousand such maps. Here the fields (and array items) wait on one stack for the
//! whole body, and each object is made from them at once, at the size it has.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON body as a [`Value`], equal to what `serde_json::from_slice` gives, keys in the
/// order they came; `None` when the body is not JSON.
pub fn parse(bytes: &[u8]) -> Option<Value> {
    let mut pending = Pending::default();
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let value = Whole(&mut pending).deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(value)
}

/// The fields and items read whose object or array is not finished yet, innermost last.
#[derive(Default)]
struct Pending {
    fields: Vec<(String, Value)>,
    items: Vec<Value>,
}

/// One JSON value, read with what is pending around it.
struct Whole<'p>(&'p mut Pending);

impl<'de> DeserializeSeed<'de> for Whole<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Whole<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let pending = self.0;
        let start = pending.items.len();
        while let Some(item) = items.next_element_seed(Whole(pending))? {
            pending.items.push(item);
        }
        Ok(Value::Array(pending.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<Value, A::Error> {
        let pending = self.0;
        let start = pending.fields.len();
        while let Some(key) = fields.next_key::<String>()? {
            let value = fields.next_value_seed(Whole(pending))?;
            pending.fields.push((key, value));
        }
        // Collected from an iterator of known length: the map is made at that size, and a
        // key given twice keeps its first place and its last value, as serde_json's does.
        let map: Map<String, Value> = pending.fields.drain(start..).collect();
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reads_as_serde_json_reads_it() {
        let bodies = [
            r#"[{"id":1,"name":"Acme","_info":{"lastUpdated":"2026-11-23T16:04:09Z"},"types":[{"id":1,"name":"Client"}]},{"id":2,"name":"Contoso","types":[]}]"#,
            r#"{"zeta":1,"alpha":2,"mid":{"b":[1,2,{"c":null}],"a":{}}}"#,
            r#"{"a":1,"b":2,"a":3}"#,
            r"[-9223372036854775808,18446744073709551615,123456789012345678901234567890,1e300,-0.5,3.25,true,false,null]",
            r#""caf\u00e9 \ud83d\ude00 \"quoted\" \\ slash""#,
            r#"{"nested":[[[]],[{}],{"deep":[{"deeper":{"deepest":[1]}}]}]}"#,
            "  [ ]  ",
            "{}",
        ];
        for body in bodies {
            let expected: Value = serde_json::from_str(body).unwrap();
            let read = parse(body.as_bytes()).unwrap();
            assert_eq!(read, expected, "{body}");
            assert_eq!(
                serde_json::to_string(&read).unwrap(),
                serde_json::to_string(&expected).unwrap(),
                "the keys keep their order: {body}"
            );
        }
    }

    #[test]
    fn what_is_not_json_reads_as_nothing() {
        for body in [
            "",
            "[1,",
            "{\"a\":}",
            "[1] [2]",
            "<html></html>",
            "{\"a\":1,}",
        ] {
            assert!(serde_json::from_str::<Value>(body).is_err(), "{body}");
            assert_eq!(parse(body.as_bytes()), None, "{body}");
        }
        let too_deep = "[".repeat(200) + &"]".repeat(200);
        assert!(serde_json::from_str::<Value>(&too_deep).is_err());
        assert_eq!(
            parse(too_deep.as_bytes()),
            None,
            "nesting beyond serde_json's limit"
        );
    }
}
