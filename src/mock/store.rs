//! The mock's in-memory records, seeded from `fixtures/data`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// Records by collection, each collection shared until it is first changed: a scenario's
/// store starts as the seed itself and copies only the collections it writes to.
pub type Collections = BTreeMap<String, Arc<Vec<Value>>>;

/// Records by collection, in insertion order, with the highest id each collection has
/// ever held: like ConnectWise's, an id is an identity and is never given out twice, even
/// after its record is deleted. A collection is shared with the seed (and every other
/// scenario's store) until this store first changes it.
#[derive(Debug, Clone, Default)]
pub struct Store {
    collections: Collections,
    highest_ids: BTreeMap<String, i64>,
}

impl Store {
    /// A store holding the seed records (shared, copied on first write).
    pub fn seeded(seed: &Collections) -> Self {
        Store {
            collections: seed.clone(),
            highest_ids: BTreeMap::new(),
        }
    }

    /// All records of a collection.
    pub fn all(&self, collection: &str) -> &[Value] {
        self.collections
            .get(collection)
            .map_or(&[], |records| records.as_slice())
    }

    /// One record by id.
    pub fn get(&self, collection: &str, id: i64) -> Option<&Value> {
        self.all(collection)
            .iter()
            .find(|r| record_id(r) == Some(id))
    }

    /// One record by a field compared without regard to case (`identifier`).
    pub fn find_by(&self, collection: &str, field: &str, value: &str) -> Option<&Value> {
        self.all(collection).iter().find(|r| {
            r.get(field)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
    }

    /// Adds a record, giving it an id above every id the collection has held; returns it.
    pub fn insert(&mut self, collection: &str, record: Value) -> i64 {
        self.insert_all(collection, [record])[0]
    }

    /// Adds records, giving each the next id above every id the collection has held (one
    /// pass, however many); returns their ids.
    pub fn insert_all(
        &mut self,
        collection: &str,
        records: impl IntoIterator<Item = Value>,
    ) -> Vec<i64> {
        self.writable(collection);
        let highest = self
            .highest_ids
            .get_mut(collection)
            .expect("a writable collection has its highest id");
        let mut last = *highest;
        let records: Vec<Value> = records
            .into_iter()
            .map(|mut record| {
                last += 1;
                if let Value::Object(map) = &mut record {
                    map.insert("id".into(), Value::from(last));
                }
                record
            })
            .collect();
        *highest = last;
        let first = last - i64::try_from(records.len()).unwrap_or(i64::MAX) + 1;
        self.writable(collection).extend(records);
        (first..=last).collect()
    }

    /// Replaces a record with the same id; returns whether it existed.
    pub fn replace(&mut self, collection: &str, record: Value) -> bool {
        let Some(id) = record_id(&record) else {
            return false;
        };
        let Some(index) = self
            .all(collection)
            .iter()
            .position(|r| record_id(r) == Some(id))
        else {
            return false;
        };
        self.writable(collection)[index] = record;
        true
    }

    /// Removes a record; returns it if it existed.
    pub fn remove(&mut self, collection: &str, id: i64) -> Option<Value> {
        let index = self
            .all(collection)
            .iter()
            .position(|r| record_id(r) == Some(id))?;
        Some(self.writable(collection).remove(index))
    }
}

impl Store {
    /// Removes every record of a collection that `doomed` picks; returns how many.
    pub fn remove_where(&mut self, collection: &str, doomed: impl Fn(&Value) -> bool) -> usize {
        if !self.all(collection).iter().any(&doomed) {
            return 0;
        }
        let records = self.writable(collection);
        let before = records.len();
        records.retain(|r| !doomed(r));
        before - records.len()
    }

    /// A collection to change: this store's own copy, made on its first change, when the
    /// highest id it has held is noted (before any delete can lower the highest present).
    fn writable(&mut self, collection: &str) -> &mut Vec<Value> {
        if !self.highest_ids.contains_key(collection) {
            let highest = self
                .all(collection)
                .iter()
                .filter_map(record_id)
                .max()
                .unwrap_or(0);
            self.highest_ids.insert(collection.to_owned(), highest);
        }
        Arc::make_mut(self.collections.entry(collection.to_owned()).or_default())
    }
}

/// The integer `id` of a record.
pub fn record_id(record: &Value) -> Option<i64> {
    record.get("id").and_then(Value::as_i64)
}

/// The value at a `/`-separated path (`board/id`).
pub fn at_path<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/')
        .try_fold(record, |value, key| value.get(key))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inserts_with_the_next_id_and_finds_by_field() {
        let mut seed = Collections::new();
        seed.insert(
            "members".to_owned(),
            Arc::new(vec![json!({"id": 4, "identifier": "jsmith"})]),
        );
        let mut store = Store::seeded(&seed);
        assert_eq!(store.insert("members", json!({"identifier": "new"})), 5);
        assert_eq!(
            store
                .find_by("members", "identifier", "JSMITH")
                .and_then(record_id),
            Some(4)
        );
        assert_eq!(
            store.insert_all(
                "members",
                [json!({"identifier": "a"}), json!({"identifier": "b"})]
            ),
            vec![6, 7]
        );
        assert!(store.remove("members", 4).is_some());
        assert!(store.get("members", 4).is_none());
    }

    #[test]
    fn never_gives_out_an_id_twice() {
        let mut seed = Collections::new();
        seed.insert("tickets".to_owned(), Arc::new(vec![json!({"id": 7})]));
        let mut store = Store::seeded(&seed);
        let id = store.insert("tickets", json!({}));
        assert_eq!(id, 8);
        store.remove("tickets", 8);
        store.remove("tickets", 7);
        assert_eq!(store.insert("tickets", json!({})), 9);
        assert_eq!(
            store.remove_where("tickets", |r| record_id(r) == Some(9)),
            1
        );
    }

    #[test]
    fn reads_nested_paths() {
        let record = json!({"board": {"id": 1, "name": "Help Desk"}});
        assert_eq!(at_path(&record, "board/name"), Some(&json!("Help Desk")));
        assert_eq!(at_path(&record, "board/missing"), None);
    }
}
