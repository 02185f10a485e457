//! An answer on its way out of the mock: status, JSON body and extra headers.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::mock::store::Stored;

use crate::connectwise::error::ErrorBody;
use crate::connectwise::journal::Answered;

/// The `Content-Type` of every answer with a body.
pub(crate) const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// An answer on its way out: status, JSON body and extra headers.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Option<String>,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Its shape, for the journal, which takes it (boxed: an answer travels in every
    /// `Err` of the responder).
    pub(crate) answered: Box<Answered>,
}

impl Answer {
    /// An answer with a JSON body, written compactly as ConnectWise writes it.
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Answer::written(status, value, Answered::of(status, value))
    }

    /// A list of records (those shown as stored, from the store, as it keeps them written),
    /// written without copying them into one value.
    pub(crate) fn records(status: u16, records: &[Shown<'_>]) -> Self {
        Answer::with_body(status, list_body(records), summary(records))
    }

    fn written(status: u16, value: &(impl Serialize + ?Sized), answered: Answered) -> Self {
        // Written straight into bytes: a `Value`'s `Display` goes through a formatter, which
        // costs a serving mock a sixth of its time.
        Answer::with_body(status, serde_json::to_string(value), answered)
    }

    fn with_body(status: u16, body: serde_json::Result<String>, answered: Answered) -> Self {
        match body {
            Ok(body) => Answer {
                status,
                body: Some(body),
                headers: Vec::new(),
                answered: Box::new(answered),
            },
            // Only JSON values are answered, and they always serialise.
            Err(e) => Answer::error(
                500,
                &ErrorBody::new(
                    "InternalError",
                    format!("The mock could not write its answer: {e}."),
                ),
            ),
        }
    }

    pub(crate) fn error(status: u16, body: &ErrorBody) -> Self {
        Answer {
            status,
            body: Some(body.to_wire()),
            headers: Vec::new(),
            answered: Box::new(Answered::of(
                status,
                &serde_json::to_value(body).unwrap_or(Value::Null),
            )),
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Answer {
            status,
            body: None,
            headers: Vec::new(),
            answered: Box::new(Answered::Nothing),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Answer::error(400, &ErrorBody::new("BadRequest", message))
    }

    /// 414 for a request target (path and query) of `length` bytes, beyond `limit`.
    pub(crate) fn uri_too_long(length: usize, limit: usize) -> Self {
        Answer::error(
            414,
            &ErrorBody::new(
                "UriTooLong",
                format!("The request URL is {length} bytes long; at most {limit} are allowed."),
            ),
        )
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Answer::error(404, &ErrorBody::new("NotFound", message))
    }
}

/// A record of a list answer: one the store holds, shown as stored, or one made for the
/// answer (projected to the fields asked for, or with guarded fields hidden).
pub(crate) enum Shown<'a> {
    Stored(&'a Stored),
    Made(Value),
}

impl Shown<'_> {
    /// Appends the record written compactly to `body`: a stored one as the store keeps it
    /// written.
    fn write_to(&self, body: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Shown::Stored(record) => {
                body.extend_from_slice(record.wire().as_bytes());
                Ok(())
            }
            Shown::Made(value) => serde_json::to_writer(body, value),
        }
    }
}

/// A list of records written compactly, as `serde_json::to_string` writes it, into one
/// buffer sized once: after the first record the rest are taken to be about its size
/// ([`list_capacity`]), so a page of a thousand records is not copied through ten doublings
/// (each a fresh allocation the size of the page so far).
fn list_body(records: &[Shown<'_>]) -> serde_json::Result<String> {
    let mut body = Vec::new();
    body.push(b'[');
    for (index, record) in records.iter().enumerate() {
        if index == 0 {
            record.write_to(&mut body)?;
            let capacity = list_capacity(body.len() - 1, records.len());
            body.reserve_exact(capacity.saturating_sub(body.len()));
        } else {
            body.push(b',');
            record.write_to(&mut body)?;
        }
    }
    body.push(b']');
    // serde_json writes only UTF-8.
    String::from_utf8(body).map_err(serde::ser::Error::custom)
}

/// What the journal keeps of a list answer: how many records, and the field names any of
/// them carries, sorted. Records served together mostly carry the same fields: stored
/// ones then share the one list the store keeps beside them (nothing is built or copied),
/// and a made one is read only when its fields differ from the one made before it.
fn summary(records: &[Shown<'_>]) -> Answered {
    let mut lists: Vec<Arc<[String]>> = Vec::new();
    let mut add = |fields: &Arc<[String]>| {
        if !lists
            .iter()
            .any(|list| Arc::ptr_eq(list, fields) || **list == **fields)
        {
            lists.push(Arc::clone(fields));
        }
    };
    let mut stored_before: Option<&Stored> = None;
    let mut made_before: Option<&Map<String, Value>> = None;
    for record in records {
        match record {
            Shown::Stored(record) => {
                add(record.fields(stored_before));
                stored_before = Some(record);
            }
            Shown::Made(value) => {
                let Some(map) = value.as_object() else {
                    continue;
                };
                if made_before.is_some_and(|before| before.keys().eq(map.keys())) {
                    continue;
                }
                made_before = Some(map);
                let mut fields: Vec<String> = map.keys().cloned().collect();
                fields.sort_unstable();
                add(&fields.into());
            }
        }
    }
    let fields = match lists.len() {
        0 => Arc::from([]),
        1 => lists.swap_remove(0),
        _ => union(lists),
    };
    Answered::Records {
        count: records.len(),
        fields,
    }
}

/// Sorted field names, shared.
type Fields = Arc<[String]>;

thread_local! {
    /// The last union [`union`] made on this thread, and the lists it was made of.
    static LAST_UNION: RefCell<Option<(Vec<Fields>, Fields)>> = const { RefCell::new(None) };
}

/// The field names of any of `lists`, sorted. A page of the same records, asked for again
/// (a client polling, a load test), has the same lists as the page before: the union made
/// for it is shared, not made again. One union is kept per thread, so nothing grows.
fn union(lists: Vec<Arc<[String]>>) -> Arc<[String]> {
    LAST_UNION.with_borrow_mut(|last| {
        if let Some((made_of, union)) = last.as_ref()
            && made_of.len() == lists.len()
            && made_of.iter().zip(&lists).all(|(a, b)| Arc::ptr_eq(a, b))
        {
            return Arc::clone(union);
        }
        let every: BTreeSet<&String> = lists.iter().flat_map(|list| list.iter()).collect();
        let union: Arc<[String]> = every.into_iter().cloned().collect();
        *last = Some((lists, Arc::clone(&union)));
        union
    })
}

/// The bytes to set aside for a list of `count` records whose first is `first` bytes long:
/// the brackets and commas, and each record an eighth longer than the first (records of a
/// kind differ in the lengths of their names and numbers). At least what the first record
/// and the brackets take, so a list of one is never copied.
fn list_capacity(first: usize, count: usize) -> usize {
    let rest = count.saturating_sub(1);
    let each = first + first / 8 + 1;
    2 + first + rest.saturating_mul(each)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Records of one kind whose names grow with their serial, as grown collections' do.
    fn records(count: usize) -> Vec<Value> {
        (0..count)
            .map(|serial| {
                json!({
                    "id": serial,
                    "name": format!("Acme \"Paged\" {serial:04}"),
                    "types": [{"id": 1, "name": "Client"}],
                    "note": "caf\u{e9} \u{1f600}",
                })
            })
            .collect()
    }

    /// The records as a store keeps them.
    fn kept(records: &[Value]) -> Vec<Stored> {
        records.iter().cloned().map(Stored::new).collect()
    }

    /// Each record shown as stored, but every `made`th one made for the answer (0: none).
    fn shown(kept: &[Stored], made: usize) -> Vec<Shown<'_>> {
        kept.iter()
            .enumerate()
            .map(|(index, record)| {
                if made > 0 && index % made == 0 {
                    Shown::Made(record.value().clone())
                } else {
                    Shown::Stored(record)
                }
            })
            .collect()
    }

    #[test]
    fn a_list_is_written_as_serde_json_writes_it() {
        for count in [0, 1, 2, 1000] {
            let records = records(count);
            let kept = kept(&records);
            for made in [0, 1, 3] {
                let body = list_body(&shown(&kept, made)).unwrap();
                assert_eq!(
                    body,
                    serde_json::to_string(&records).unwrap(),
                    "{count} records, every {made}th made"
                );
            }
        }
    }

    #[test]
    fn a_stored_record_is_written_once_and_served_as_written() {
        let kept = kept(&records(3));
        let first = list_body(&shown(&kept, 0)).unwrap();
        let written: Vec<*const u8> = kept.iter().map(|r| r.wire().as_ptr()).collect();
        let again = list_body(&shown(&kept, 0)).unwrap();
        assert_eq!(first, again);
        let still: Vec<*const u8> = kept.iter().map(|r| r.wire().as_ptr()).collect();
        assert_eq!(
            written, still,
            "each record's JSON is written the first time only"
        );
    }

    /// The count and field names of `answered`, a list's summary.
    fn fields_of(answered: &Answered) -> (usize, Arc<[String]>) {
        match answered {
            Answered::Records { count, fields } => (*count, Arc::clone(fields)),
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn a_list_is_summarised_as_the_journal_summarises_any_list() {
        let mut records = records(6);
        records[2] = json!({"id": 2, "extra": true});
        records[4] = json!(null);
        records[5] = json!({"name": "last", "id": 5, "zeta": 1});
        let kept = kept(&records);
        for made in [0, 1, 2] {
            assert_eq!(
                summary(&shown(&kept, made)),
                Answered::of_records(records.iter()),
                "every {made}th made"
            );
        }
        assert_eq!(
            fields_of(&summary(&[])),
            (0, Arc::from([])),
            "an empty list has no fields"
        );
    }

    #[test]
    fn records_served_together_with_the_same_fields_share_one_list_of_them() {
        let kept = kept(&records(50));
        let (count, fields) = fields_of(&summary(&shown(&kept, 0)));
        assert_eq!(count, 50);
        assert_eq!(*fields, ["id", "name", "note", "types"].map(String::from));
        for record in &kept {
            assert!(
                Arc::ptr_eq(record.fields(None), &fields),
                "one list for every record of the page"
            );
        }
        let (_, again) = fields_of(&summary(&shown(&kept, 0)));
        assert!(Arc::ptr_eq(&again, &fields), "and for the next answer");
    }

    #[test]
    fn a_page_of_records_of_different_fields_asked_again_shares_their_union() {
        let mut records = records(4);
        records[1] = json!({"id": 1, "extra": true});
        let kept = kept(&records);
        let (_, fields) = fields_of(&summary(&shown(&kept, 0)));
        assert_eq!(
            *fields,
            ["extra", "id", "name", "note", "types"].map(String::from)
        );
        let (_, again) = fields_of(&summary(&shown(&kept, 0)));
        assert!(
            Arc::ptr_eq(&again, &fields),
            "the same page, the same union"
        );
        let (_, other) = fields_of(&summary(&shown(&kept[1..], 0)));
        assert_eq!(other, fields, "another page of the same fields");
        let (_, fewer) = fields_of(&summary(&shown(&kept[2..], 0)));
        assert_eq!(*fewer, ["id", "name", "note", "types"].map(String::from));
    }

    #[test]
    fn a_page_of_a_kind_fits_the_room_set_aside_after_its_first_record() {
        let records = records(1000);
        let kept = kept(&records);
        let shown = shown(&kept, 0);
        let first = serde_json::to_string(&records[0]).unwrap().len();
        let capacity = list_capacity(first, records.len());
        let body = list_body(&shown).unwrap();
        assert!(
            body.len() <= capacity,
            "{} bytes written, {capacity} set aside",
            body.len()
        );
        assert!(
            capacity < body.len() + body.len() / 4,
            "{capacity} bytes set aside for {} written",
            body.len()
        );
        assert_eq!(body.capacity(), capacity, "the buffer never grew");
        assert_eq!(list_capacity(first, 1), first + 2, "a list of one");
        assert_eq!(list_capacity(0, 0), 2, "an empty list");
    }
}
