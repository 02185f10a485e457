//! Steps about lists longer than one page: ConnectWise holding more records than one page
//! gives, the result holding every one of them, and the integration asking for every
//! page. An integration that reads only the first page, stops before `Link` says the list
//! ends, or asks for more a page than ConnectWise gives would silently truncate an import.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cucumber::{given, then};

use super::journal::collection_for;
use super::outcomes::records;
use super::{Keyword, Pattern, StepDoc, param};
use crate::harness::mistake;
use crate::harness::world::ConformanceWorld;
use crate::mock::Shortfall;
use crate::mock::journal::{self, JournalEntry};

/// The listing of these steps for `cw-conform steps`.
pub(super) const STEPS: &[StepDoc] = &[
    StepDoc {
        keyword: Keyword::Given,
        pattern: Pattern::Regex(
            r"^ConnectWise holds ([0-9,]+) ([[:word:]][[:word:] ]*?)(, more than fit on one page)?$",
        ),
        form: "ConnectWise holds <count> <records>[, more than fit on one page]",
        description: "The mock holds that many records of the kind (seed records and copies \
                      of them); the claim is checked against the most records ConnectWise \
                      gives a page. Mock only.",
        parameters: &[
            param("<count>", "a whole number (1200 or 1,200)"),
            param(
                "<records>",
                "a kind of record: companies, contacts, tickets, …",
            ),
        ],
        example: "ConnectWise holds 1,200 contacts, more than fit on one page",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^the result includes every ([[:word:]][[:word:] ]*?) ConnectWise holds$",
        ),
        form: "the result includes every <record> ConnectWise holds",
        description: "The result holds every record of the kind the mock holds: none \
                      missing, none twice, none extra.",
        parameters: &[param("<record>", "a kind of record: company, contact, …")],
        example: "the result includes every contact ConnectWise holds",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^ConnectWise was asked for every page of (?:the )?([[:word:]][[:word:] ]*?), at most ([0-9,]+) a page$",
        ),
        form: "ConnectWise was asked for every page of [the] <records>, at most <count> a page",
        description: "The last action's list requests, read from the journal, asked for no \
                      more than <count> a page, filtered nothing, and left no record on no \
                      page.",
        parameters: &[
            param("<records>", "a kind of record: companies, contacts, …"),
            param("<count>", "a whole number (1000 or 1,000)"),
        ],
        example: "ConnectWise was asked for every page of the contacts, at most 1,000 a page",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^a client asking for page 0 of the ([[:word:]][[:word:] ]*?) (gets the first page|is refused with 400, naming the page)$",
        ),
        form: "a client asking for page 0 of the <records> gets the first page|is refused with \
               400, naming the page",
        description: "Asks ConnectWise for page 0 of the list (of the records the scenario \
                      arranged, when it arranged some), 25 a page, as connectwise-rest \
                      starts its paging, and checks the answer: the records of page 1 (and \
                      its `Link`), or 400 in ConnectWise's error shape naming the page.",
        parameters: &[param(
            "<records>",
            "a kind of record: companies, contacts, …",
        )],
        example: "a client asking for page 0 of the companies gets the first page",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r#"^the result includes each of the ([[:word:]][[:word:] ]*?) "([^"]+)", once$"#,
        ),
        form: "the result includes each of the <records> \"<name>\", once",
        description: "Every record of the group the scenario arranged (`<count> <records> \
                      \"<name>\", …`) is in the result exactly once: none missing, none twice.",
        parameters: &[
            param(
                "<records>",
                "the kind of record, as the arranging step says it",
            ),
            param("<name>", "the group's name"),
        ],
        example: "the result includes each of the contacts \"Paged\", once",
        table: None,
    },
    StepDoc {
        keyword: Keyword::Then,
        pattern: Pattern::Regex(
            r"^ConnectWise was asked for page after page of (?:the )?([[:word:]][[:word:] ]*?), at most ([0-9,]+) a page$",
        ),
        form: "ConnectWise was asked for page after page of [the] <records>, at most <count> a page",
        description: "The last action's list requests of the kind (those ConnectWise answered \
                      200) each asked for at most <count> records a page, and there were more \
                      than one: pages of that size were followed. Runs on a sandbox too.",
        parameters: &[
            param("<records>", "a kind of record: contacts, companies, …"),
            param("<count>", "a whole number"),
        ],
        example: "ConnectWise was asked for page after page of the contacts, at most 5 a page",
        table: None,
    },
];

/// The list requests of `path` since the last action began that ConnectWise answered 200:
/// the pages the integration read.
fn pages_answered(world: &ConformanceWorld, path: &str) -> Vec<JournalEntry> {
    world
        .since_mark()
        .into_iter()
        .filter(|e| {
            e.method == "GET"
                && e.status == 200
                && e.path.trim_end_matches('/').eq_ignore_ascii_case(path)
        })
        .collect()
}

/// How many times the last result lists each record, by id.
fn times_listed(world: &ConformanceWorld) -> BTreeMap<i64, usize> {
    let mut listed: BTreeMap<i64, usize> = BTreeMap::new();
    for id in records(world).ids() {
        *listed.entry(id).or_default() += 1;
    }
    listed
}

/// The collection a step's `<records>` name, and the path ConnectWise pages it under.
fn paged_list(world: &ConformanceWorld, noun: &str) -> (String, String) {
    let collection = collection_for(world, noun);
    let path = world
        .fixtures
        .permissions
        .endpoint_for(&collection)
        .map_or_else(
            || mistake!("{noun} are not a list ConnectWise pages"),
            |e| e.path.clone(),
        );
    (collection, path)
}

/// A number as a feature writes it: `1200` or `1,200`.
pub(super) fn number(text: &str) -> usize {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|e| mistake!("\"{text}\" is not a whole number: {e}"))
}

/// `Given ConnectWise holds 1,200 contacts, more than fit on one page`: the mock holds that
/// many records of the kind (the seed records and copies of them, each with its own id,
/// name, identifier and e-mail address). The optional claim is checked against the most
/// records ConnectWise gives a page.
#[given(
    regex = r"^ConnectWise holds ([0-9,]+) ([[:word:]][[:word:] ]*?)(, more than fit on one page)?$"
)]
async fn holds(world: &mut ConformanceWorld, count: String, noun: String, claim: String) {
    let count = number(&count);
    let collection = collection_for(world, &noun);
    let most_a_page = world.fixtures.permissions.settings.max_page_size;
    if !claim.is_empty() && count <= most_a_page {
        mistake!("{count} {noun} fit on one page: ConnectWise gives up to {most_a_page} a page");
    }
    let grown = Arc::clone(world.grown());
    match world.mock().await.hold(&collection, count, &grown) {
        Ok(()) => {}
        Err(Shortfall::NothingToCopy) => mistake!("the seed data has no {noun} to copy"),
        Err(Shortfall::HoldsMore(held)) => {
            mistake!("ConnectWise already holds {held} {noun}, more than {count}")
        }
    }
}

/// The ids of the records of a collection ConnectWise (the mock) holds now.
async fn held_ids(world: &mut ConformanceWorld, collection: &str) -> Vec<i64> {
    world.mock().await.ids(collection)
}

/// `Then the result includes every contact ConnectWise holds`: each record ConnectWise
/// holds of the kind is in the result once, and nothing else is.
#[then(regex = r"^the result includes every ([[:word:]][[:word:] ]*?) ConnectWise holds$")]
async fn includes_every(world: &mut ConformanceWorld, noun: String) {
    let collection = collection_for(world, &noun);
    let held: BTreeSet<i64> = held_ids(world, &collection).await.into_iter().collect();
    let listed = times_listed(world);
    let missing: Vec<i64> = held
        .iter()
        .filter(|id| !listed.contains_key(id))
        .copied()
        .collect();
    let twice: Vec<i64> = listed
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    let extra: Vec<i64> = listed
        .keys()
        .filter(|id| !held.contains(id))
        .copied()
        .collect();
    assert!(
        missing.is_empty() && twice.is_empty() && extra.is_empty(),
        "ConnectWise holds {} {noun} records; the result lists {} of them, leaves out {} ({}), \
         lists {} more than once ({}) and {} it does not hold ({})\n{}",
        held.len(),
        held.len() - missing.len(),
        missing.len(),
        shown_ids(&missing),
        twice.len(),
        shown_ids(&twice),
        extra.len(),
        shown_ids(&extra),
        world.evidence()
    );
}

/// The first few ids of a list, for a message.
pub(super) fn shown_ids(ids: &[i64]) -> String {
    const SHOWN: usize = 10;
    let mut text: Vec<String> = ids.iter().take(SHOWN).map(|id| format!("#{id}")).collect();
    if ids.len() > SHOWN {
        text.push(format!("and {} more", ids.len() - SHOWN));
    }
    if text.is_empty() {
        "none".to_owned()
    } else {
        text.join(", ")
    }
}

/// One list request's paging, as ConnectWise reads it.
struct PageAsked {
    /// The records asked for a page (`pageSize`, or ConnectWise's default).
    asked: usize,
    /// Navigable paging: the page number (`page`, from 1).
    page: usize,
    /// Forward-only paging: the records after this id (`pageId`).
    after: Option<i64>,
    /// Conditions that narrow the list.
    filtered: Option<String>,
}

impl PageAsked {
    fn of(entry: &JournalEntry, default_size: usize) -> Self {
        let mut asked = PageAsked {
            asked: default_size,
            page: 1,
            after: None,
            filtered: None,
        };
        for (key, value) in url::form_urlencoded::parse(entry.query.as_bytes()) {
            match key.to_ascii_lowercase().as_str() {
                "pagesize" => asked.asked = value.trim().parse().unwrap_or(default_size),
                "page" => asked.page = value.trim().parse().unwrap_or(1),
                "pageid" => asked.after = value.trim().parse().ok(),
                "conditions" | "childconditions" | "customfieldconditions"
                    if !value.trim().is_empty() =>
                {
                    asked.filtered = Some(format!("{key}={value}"));
                }
                _ => {}
            }
        }
        asked
    }
}

/// The records (ids, in the order ConnectWise lists them) on no page asked for: a page
/// number covers its slice of the list, a `pageId` the records after that id, each at most
/// `max_page_size` records whatever was asked.
fn left_out(held: &[i64], pages: &[PageAsked], max_page_size: usize) -> Vec<i64> {
    let mut by_id = held.to_vec();
    by_id.sort_unstable();
    let mut covered: BTreeSet<i64> = BTreeSet::new();
    for asked in pages {
        let size = asked.asked.min(max_page_size);
        match asked.after {
            Some(after) => covered.extend(by_id.iter().filter(|id| **id > after).take(size)),
            None => covered.extend(
                held.iter()
                    .skip(asked.page.saturating_sub(1).saturating_mul(size))
                    .take(size),
            ),
        }
    }
    held.iter()
        .filter(|id| !covered.contains(id))
        .copied()
        .collect()
}

/// `Then ConnectWise was asked for every page of the contacts, at most 1,000 a page`: the
/// last action's list requests of that kind (those ConnectWise answered 200) asked for at
/// most that many records a page, narrowed the list by no condition, and together cover
/// every record ConnectWise holds: no page was left out, the last one included. Needs more
/// records than one page holds, or it would prove nothing about paging.
#[then(
    regex = r"^ConnectWise was asked for every page of (?:the )?([[:word:]][[:word:] ]*?), at most ([0-9,]+) a page$"
)]
async fn every_page_asked(world: &mut ConformanceWorld, noun: String, at_most: String) {
    let at_most = number(&at_most);
    let (collection, path) = paged_list(world, &noun);
    let settings = world.fixtures.permissions.settings.clone();
    let held: Vec<i64> = held_ids(world, &collection).await;
    if held.len() <= at_most {
        mistake!(
            "ConnectWise holds {} {noun}, which fit on one page of {at_most}: hold more to check paging",
            held.len()
        );
    }
    let lists = pages_answered(world, &path);
    let mut problems = Vec::new();
    let mut pages = Vec::new();
    for entry in &lists {
        let asked = PageAsked::of(entry, settings.default_page_size);
        if asked.asked > at_most {
            problems.push(format!(
                "{entry} asks for {} a page, more than {at_most}",
                asked.asked
            ));
        }
        if let Some(filter) = &asked.filtered {
            problems.push(format!("{entry} narrows the list ({filter})"));
        }
        pages.push(asked);
    }
    let left_out = left_out(&held, &pages, settings.max_page_size);
    if !left_out.is_empty() {
        problems.push(format!(
            "{} of the {} {noun} ConnectWise holds are on no page asked for ({})",
            left_out.len(),
            held.len(),
            shown_ids(&left_out)
        ));
    }
    assert!(
        problems.is_empty(),
        "not every page of the {noun} was asked for:\n  {}\nthe list requests ConnectWise answered:\n{}",
        problems.join("\n  "),
        world.shown(journal::render(&lists))
    );
}

/// `Then the result includes each of the contacts "Paged", once`: each record of the group
/// the scenario arranged is in the result exactly once.
#[then(regex = r#"^the result includes each of the ([[:word:]][[:word:] ]*?) "([^"]+)", once$"#)]
async fn includes_each_once(world: &mut ConformanceWorld, noun: String, group: String) {
    let arranged: Vec<i64> = crate::harness::arrange::group(&world.arranged, &group)
        .iter()
        .map(|record| record.id)
        .collect();
    let listed = times_listed(world);
    let missing: Vec<i64> = arranged
        .iter()
        .filter(|id| !listed.contains_key(id))
        .copied()
        .collect();
    let twice: Vec<i64> = arranged
        .iter()
        .filter(|id| listed.get(id).is_some_and(|n| *n > 1))
        .copied()
        .collect();
    assert!(
        missing.is_empty() && twice.is_empty(),
        "the scenario arranged {} {noun} \"{group}\"; the result leaves out {} ({}) and lists {} more than once ({})\n{}",
        arranged.len(),
        missing.len(),
        shown_ids(&missing),
        twice.len(),
        shown_ids(&twice),
        world.evidence()
    );
}

/// `Then ConnectWise was asked for page after page of the contacts, at most 5 a page`: the
/// last action's list requests of that kind asked at most that many a page, and more than
/// one page was asked for.
#[then(
    regex = r"^ConnectWise was asked for page after page of (?:the )?([[:word:]][[:word:] ]*?), at most ([0-9,]+) a page$"
)]
async fn page_after_page(world: &mut ConformanceWorld, noun: String, at_most: String) {
    let at_most = number(&at_most);
    let (_, path) = paged_list(world, &noun);
    let default_size = world.fixtures.permissions.settings.default_page_size;
    let lists = pages_answered(world, &path);
    let mut problems: Vec<String> = lists
        .iter()
        .filter_map(|entry| {
            let asked = PageAsked::of(entry, default_size).asked;
            (asked > at_most)
                .then(|| format!("{entry} asks for {asked} a page, more than {at_most}"))
        })
        .collect();
    if lists.len() < 2 {
        problems.push(format!(
            "{} asked for: the list was not followed past its first page",
            crate::report::count(lists.len(), "page was", "pages were")
        ));
    }
    assert!(
        problems.is_empty(),
        "the {noun} were not asked for page after page:\n  {}\nthe list requests ConnectWise answered:\n{}",
        problems.join("\n  "),
        world.shown(journal::render(&lists))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(query: &str) -> PageAsked {
        let entry = JournalEntry {
            method: "GET".into(),
            path: "/company/contacts".into(),
            query: query.into(),
            status: 200,
            member: None,
            body: None,
            answer: None,
        };
        PageAsked::of(&entry, 25)
    }

    #[test]
    fn reads_the_paging_a_request_asks_for_in_any_case() {
        let page = asked("PageSize=1000&page=3&conditions=inactiveFlag%3Dfalse");
        assert_eq!((page.asked, page.page, page.after), (1000, 3, None));
        assert_eq!(
            page.filtered.as_deref(),
            Some("conditions=inactiveFlag=false")
        );
        let first = asked("");
        assert_eq!((first.asked, first.page, first.after), (25, 1, None));
        assert_eq!(asked("pageid=1108&pagesize=999").after, Some(1108));
    }

    #[test]
    fn finds_the_records_on_no_page_asked_for() {
        let held: Vec<i64> = (1..=2500).collect();
        let pages = |queries: &[&str]| queries.iter().map(|q| asked(q)).collect::<Vec<_>>();
        let every = pages(&[
            "pageSize=1000&page=1",
            "pageSize=1000&page=2",
            "pageSize=1000&page=3",
        ]);
        assert!(left_out(&held, &every, 1000).is_empty());
        let skipped = left_out(
            &held,
            &pages(&["pageSize=1000&page=1", "pageSize=1000&page=3"]),
            1000,
        );
        assert_eq!((skipped.len(), skipped.first()), (1000, Some(&1001)));
        // ConnectWise gives at most 1,000 a page, whatever was asked.
        let capped = left_out(
            &held,
            &pages(&["pageSize=2000&page=1", "pageSize=2000&page=2"]),
            1000,
        );
        assert_eq!(capped, (2001..=2500).collect::<Vec<_>>());
        let forward = pages(&[
            "pageSize=1000",
            "pageSize=1000&pageId=1000",
            "pageSize=1000&pageId=2000",
        ]);
        assert!(left_out(&held, &forward, 1000).is_empty());
        assert_eq!(left_out(&held, &forward[..2], 1000).len(), 500);
    }
}

/// `Then a client asking for page 0 of the companies gets the first page`: page 0, 25 a page,
/// as connectwise-rest asks first (of the records the scenario arranged, when it arranged
/// some), answered as the `page_zero` setting says.
#[then(
    regex = r"^a client asking for page 0 of the ([[:word:]][[:word:] ]*?) (gets the first page|is refused with 400, naming the page)$"
)]
async fn page_zero(world: &mut ConformanceWorld, noun: String, answer: String) {
    let (collection, path) = paged_list(world, &noun);
    // Only the records the scenario arranged, when it arranged some: on a sandbox other
    // scenarios create and remove records of the same kind between the two reads.
    let arranged: Vec<String> = world
        .arranged
        .values()
        .filter(|a| a.collection == collection)
        .map(|a| a.id.to_string())
        .collect();
    let client = world.client().await;
    let page = |number: &str| {
        let mut query = vec![
            ("page", number.to_owned()),
            ("pageSize", "25".to_owned()),
            ("orderBy", "id asc".to_owned()),
        ];
        if !arranged.is_empty() {
            query.push(("conditions", format!("id in ({})", arranged.join(", "))));
        }
        query
    };
    let zero = client
        .get(&path, &page("0"))
        .await
        .unwrap_or_else(|e| panic!("page 0 of {noun}: {e}\n{}", world.evidence()));
    if answer == "gets the first page" {
        let first = client
            .get(&path, &page("1"))
            .await
            .unwrap_or_else(|e| panic!("page 1 of {noun}: {e}\n{}", world.evidence()));
        let ids = |r: &crate::connectwise::Response| -> Vec<i64> {
            r.body
                .as_array()
                .map(|a| a.iter().filter_map(|v| v["id"].as_i64()).collect())
                .unwrap_or_default()
        };
        assert!(
            zero.status == 200 && first.status == 200,
            "expected page 0 of {noun} answered as page 1, observed {} (page 1: {}): {}\n{}",
            zero.status,
            first.status,
            zero.body,
            world.evidence()
        );
        assert!(
            !ids(&first).is_empty() && ids(&zero) == ids(&first) && zero.link == first.link,
            "expected page 0 of {noun} to be page 1 ({:?}, Link {:?}), observed {:?}, Link {:?}\n{}",
            ids(&first),
            first.link,
            ids(&zero),
            zero.link,
            world.evidence()
        );
    } else {
        let message = zero.error_message().unwrap_or_default().to_owned();
        assert!(
            zero.status == 400
                && zero.body["code"].as_str().is_some_and(|c| !c.is_empty())
                && message.contains("page \"0\""),
            "expected page 0 of {noun} refused with 400 in ConnectWise's error shape (code, \
             message naming page \"0\"), observed {}: {}\n{}",
            zero.status,
            zero.body,
            world.evidence()
        );
    }
}
