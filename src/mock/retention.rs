//! How much of its journal a mock keeps.
//!
//! A scenario's mock lives for one scenario and is read whole afterwards, so it keeps every
//! request ([`Retention::Everything`]). `cw-conform serve` runs for as long as a user likes,
//! so it keeps only the most recent requests ([`Retention::Recent`]): its memory must not
//! grow with the number of requests it has answered.

use std::collections::VecDeque;

use crate::connectwise::journal::JournalEntry;

/// How much of its journal a mock keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Every request, for as long as the mock runs.
    #[default]
    Everything,
    /// The most recent requests, within both bounds; the oldest are dropped first.
    Recent {
        /// How many entries at most.
        entries: usize,
        /// How many bytes of request (path, query and body as sent) at most.
        bytes: usize,
    },
}

impl Retention {
    /// What `cw-conform serve` keeps: the last 1,000 requests, within 16 MiB of request.
    pub const SERVE: Retention = Retention::Recent {
        entries: 1_000,
        bytes: 16 * 1024 * 1024,
    };
}

/// A mock's journal, kept within its [`Retention`].
#[derive(Debug, Default)]
pub(crate) struct Journal {
    retention: Retention,
    /// Each entry with the bytes it counts against the retention.
    entries: VecDeque<(JournalEntry, usize)>,
    /// The sum of the bytes of `entries`.
    bytes: usize,
}

impl Journal {
    pub(crate) fn new(retention: Retention) -> Self {
        Journal {
            retention,
            entries: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Adds an entry for a request whose body was `body_bytes` long (0 when the body was not
    /// kept), dropping the oldest entries beyond the retention.
    pub(crate) fn push(&mut self, entry: JournalEntry, body_bytes: usize) {
        let size = entry.path.len() + entry.query.len() + body_bytes;
        self.bytes += size;
        self.entries.push_back((entry, size));
        if let Retention::Recent { entries, bytes } = self.retention {
            while self.entries.len() > entries || (self.bytes > bytes && !self.entries.is_empty()) {
                if let Some((_, size)) = self.entries.pop_front() {
                    self.bytes -= size;
                }
            }
        }
    }

    /// Copies of the kept entries, oldest first.
    pub(crate) fn entries(&self) -> Vec<JournalEntry> {
        self.entries
            .iter()
            .map(|(entry, _)| entry.clone())
            .collect()
    }

    /// How many entries are kept.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> JournalEntry {
        JournalEntry {
            method: "GET".into(),
            path: format!("/service/tickets/{n:04}"),
            query: String::new(),
            status: 200,
            member: None,
            body: None,
            answer: None,
        }
    }

    #[test]
    fn everything_keeps_every_entry() {
        let mut journal = Journal::new(Retention::Everything);
        for n in 0..5_000 {
            journal.push(entry(n), 1_000_000);
        }
        assert_eq!(journal.len(), 5_000);
        assert_eq!(journal.entries()[0], entry(0));
    }

    #[test]
    fn recent_keeps_the_newest_entries_within_the_count() {
        let mut journal = Journal::new(Retention::Recent {
            entries: 3,
            bytes: usize::MAX,
        });
        for n in 0..10 {
            journal.push(entry(n), 0);
        }
        assert_eq!(journal.entries(), [entry(7), entry(8), entry(9)]);
    }

    #[test]
    fn recent_keeps_the_newest_entries_within_the_bytes() {
        // Each entry counts its 21-byte path plus its body.
        let mut journal = Journal::new(Retention::Recent {
            entries: 100,
            bytes: 250,
        });
        for n in 0..10 {
            journal.push(entry(n), 100);
        }
        assert_eq!(journal.entries(), [entry(8), entry(9)]);
        journal.push(entry(10), 10_000);
        assert_eq!(
            journal.len(),
            0,
            "an entry larger than the bound is not kept"
        );
    }
}
