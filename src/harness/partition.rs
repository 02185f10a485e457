//! Sharding a run over several CI jobs (`run --partition K/N`), as cargo-nextest's count
//! partitioning does: the selected scenarios in a stable order (by feature path, then
//! line), the i-th of them (from 0) to shard `i mod N + 1`. Every scenario lands in exactly
//! one shard, whatever the machine; `cw-conform report merge` joins the shards' reports.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One shard of `total`: `shard` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Partition {
    /// This shard, 1 to `total`.
    pub shard: usize,
    /// How many shards the suite is split into.
    pub total: usize,
}

/// A `--partition` value that is not `K/N` with 1 ≤ K ≤ N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid partition \"{value}\": {reason}")]
pub struct PartitionError {
    /// As given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Partition {
    type Err = PartitionError;

    /// `K/N`, or `count:K/N` as cargo-nextest writes it.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| PartitionError {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let spec = value.strip_prefix("count:").unwrap_or(value);
        let (shard, total) = spec
            .split_once('/')
            .ok_or_else(|| invalid("expected K/N, the shard K of N (e.g. 2/4)"))?;
        let number = |text: &str, what: &str| {
            text.trim()
                .parse::<usize>()
                .map_err(|_| invalid(&format!("{what} \"{text}\" is not a whole number")))
        };
        let shard = number(shard, "the shard K")?;
        let total = number(total, "the number of shards N")?;
        if total == 0 {
            return Err(invalid("the number of shards N must be at least 1"));
        }
        if shard == 0 || shard > total {
            return Err(invalid(&format!(
                "the shard K must be between 1 and {total} (shards count from 1)"
            )));
        }
        Ok(Partition { shard, total })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.shard, self.total)
    }
}

impl Partition {
    /// The scenarios of this shard among `selected` (each by feature path and line).
    pub fn select(
        &self,
        selected: impl IntoIterator<Item = (String, usize)>,
    ) -> BTreeSet<(String, usize)> {
        let ordered: BTreeSet<(String, usize)> = selected.into_iter().collect();
        ordered
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % self.total + 1 == self.shard)
            .map(|(_, scenario)| scenario)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_reads_k_of_n_and_names_what_is_wrong() {
        assert_eq!(
            "2/4".parse::<Partition>(),
            Ok(Partition { shard: 2, total: 4 })
        );
        assert_eq!(
            "count:1/3".parse::<Partition>(),
            Ok(Partition { shard: 1, total: 3 })
        );
        let error = |value: &str| value.parse::<Partition>().unwrap_err().to_string();
        assert_eq!(
            error("5/4"),
            "invalid partition \"5/4\": the shard K must be between 1 and 4 (shards count from 1)"
        );
        assert_eq!(
            error("0/4"),
            "invalid partition \"0/4\": the shard K must be between 1 and 4 (shards count from 1)"
        );
        assert_eq!(
            error("1/0"),
            "invalid partition \"1/0\": the number of shards N must be at least 1"
        );
        assert_eq!(
            error("two/4"),
            "invalid partition \"two/4\": the shard K \"two\" is not a whole number"
        );
        assert_eq!(
            error("3"),
            "invalid partition \"3\": expected K/N, the shard K of N (e.g. 2/4)"
        );
    }

    #[test]
    fn every_scenario_lands_in_exactly_one_shard_in_path_then_line_order() {
        let scenarios: Vec<(String, usize)> = [("b", 3), ("a", 20), ("a", 9), ("c", 1), ("b", 40)]
            .iter()
            .map(|(f, l)| (format!("features/{f}.feature"), *l))
            .collect();
        let shards: Vec<BTreeSet<(String, usize)>> = (1..=3)
            .map(|shard| Partition { shard, total: 3 }.select(scenarios.clone()))
            .collect();
        // a:9, a:20, b:3, b:40, c:1 → shard 1 gets the 1st and 4th, shard 2 the 2nd and 5th.
        let lines = |shard: &BTreeSet<(String, usize)>| -> Vec<usize> {
            shard.iter().map(|(_, line)| *line).collect()
        };
        assert_eq!(lines(&shards[0]), vec![9, 40]);
        assert_eq!(lines(&shards[1]), vec![20, 1]);
        assert_eq!(lines(&shards[2]), vec![3]);
        let mut all: Vec<(String, usize)> = shards.into_iter().flatten().collect();
        all.sort();
        let mut expected = scenarios;
        expected.sort();
        assert_eq!(all, expected);
    }
}
