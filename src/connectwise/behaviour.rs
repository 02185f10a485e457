//! ConnectWise's documented behaviours: where the documents disagree or leave a behaviour
//! open, each possibility is one value of a `[settings]` switch of
//! `fixtures/connectwise/permissions.toml`. A [`Behaviour`] is one switch set to one
//! value, named as the fixture names it (`setup_table_reads = "table-setup"`).
//!
//! [`fit`] says whether a site that follows one behaviour can show a scenario another:
//! the same, by answering as the other would where it is a reshaping of the site's answer
//! or stricter than the site, or not at all where it is more permissive.

use super::security::{BadCredentials, CloseRuleSource, PageZero, Settings, SetupTableReads};

/// One of ConnectWise's documented behaviours: a `[settings]` switch and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Which document governs closing a ticket.
    CloseRule(CloseRuleSource),
    /// Who may read a setup table.
    SetupTableReads(SetupTableReads),
    /// What `page=0` gets.
    PageZero(PageZero),
    /// How credentials ConnectWise does not accept are refused.
    BadCredentials(BadCredentials),
}

/// The switches, as `permissions.toml` and a profiles file's `[behaviour]` name them.
pub const SWITCHES: [&str; 4] = [
    "close_rule",
    "setup_table_reads",
    "page_zero",
    "bad_credentials",
];

/// Every behaviour, by switch and value as the fixture writes them.
const ALL: [(&str, &str, Behaviour); 10] = [
    (
        "close_rule",
        "older-table",
        Behaviour::CloseRule(CloseRuleSource::OlderTable),
    ),
    (
        "close_rule",
        "newer-document",
        Behaviour::CloseRule(CloseRuleSource::NewerDocument),
    ),
    (
        "setup_table_reads",
        "open",
        Behaviour::SetupTableReads(SetupTableReads::Open),
    ),
    (
        "setup_table_reads",
        "table-setup",
        Behaviour::SetupTableReads(SetupTableReads::TableSetup),
    ),
    (
        "setup_table_reads",
        "service-desk",
        Behaviour::SetupTableReads(SetupTableReads::ServiceDesk),
    ),
    (
        "page_zero",
        "first-page",
        Behaviour::PageZero(PageZero::FirstPage),
    ),
    (
        "page_zero",
        "bad-request",
        Behaviour::PageZero(PageZero::BadRequest),
    ),
    (
        "bad_credentials",
        "unauthorized",
        Behaviour::BadCredentials(BadCredentials::Unauthorized),
    ),
    (
        "bad_credentials",
        "user-not-authenticated",
        Behaviour::BadCredentials(BadCredentials::UserNotAuthenticated),
    ),
    (
        "bad_credentials",
        "not-found",
        Behaviour::BadCredentials(BadCredentials::NotFound),
    ),
];

/// What a site that follows one behaviour can show of another a scenario chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// The site behaves as chosen.
    Same,
    /// The harness answers as ConnectWise would under the chosen behaviour: a reshaping of
    /// the site's answer, or a refusal where the chosen behaviour is stricter.
    Emulated,
    /// The chosen behaviour is more permissive than the site's (or otherwise not a
    /// reshaping of its answers): no harness can show it there.
    Impossible,
}

/// Whether a site whose own behaviour is `own` can show the scenario's `chosen` one; both
/// name the same switch (`Impossible` otherwise).
///
/// - close rule: each document lets some role close what the other refuses it, so
///   neither is stricter than the other;
/// - setup-table reads: "open" lets every role read, so each stricter rule is a refusal
///   the harness adds; between the two stricter rules each refuses some role the other
///   lets read;
/// - page 0: "bad-request" is stricter than serving it;
/// - bad credentials: a 401 refusal can be reshaped into any other form, but a 404 cannot
///   be told from a missing record, so it cannot be reshaped into a 401.
pub fn fit(own: Behaviour, chosen: Behaviour) -> Fit {
    use Behaviour as B;
    if own == chosen {
        return Fit::Same;
    }
    match (own, chosen) {
        (B::SetupTableReads(SetupTableReads::Open), B::SetupTableReads(_))
        | (B::PageZero(PageZero::FirstPage), B::PageZero(PageZero::BadRequest))
        | (
            B::BadCredentials(BadCredentials::Unauthorized | BadCredentials::UserNotAuthenticated),
            B::BadCredentials(_),
        ) => Fit::Emulated,
        _ => Fit::Impossible,
    }
}

impl Behaviour {
    /// The switch, as `permissions.toml` names it (`setup_table_reads`).
    pub fn switch(self) -> &'static str {
        self.named().0
    }

    /// The value, as `permissions.toml` writes it (`table-setup`).
    pub fn value(self) -> &'static str {
        self.named().1
    }

    fn named(self) -> (&'static str, &'static str) {
        ALL.iter()
            .find(|(_, _, b)| *b == self)
            .map(|(switch, value, _)| (*switch, *value))
            .expect("every behaviour is listed in ALL")
    }

    /// The behaviour a switch set to `value` is: an error names the switch or value that
    /// is not known, with the nearest known one.
    pub fn from_setting(switch: &str, value: &str) -> Result<Behaviour, String> {
        if !SWITCHES.contains(&switch) {
            return Err(format!(
                "unknown switch \"{switch}\"{} (expected {})",
                crate::model::spelling::did_you_mean(switch, SWITCHES),
                SWITCHES.join(", ")
            ));
        }
        let values = ALL.iter().filter(|(s, _, _)| *s == switch);
        values
            .clone()
            .find(|(_, v, _)| *v == value)
            .map(|(_, _, behaviour)| *behaviour)
            .ok_or_else(|| {
                let known: Vec<&str> = values.map(|(_, v, _)| *v).collect();
                format!(
                    "unknown {switch} \"{value}\"{} (expected {})",
                    crate::model::spelling::did_you_mean(value, known.iter().copied()),
                    known.join(" or ")
                )
            })
    }

    /// What the `switch` of `settings` is set to.
    pub fn of(settings: &Settings, switch: &str) -> Option<Behaviour> {
        Some(match switch {
            "close_rule" => Behaviour::CloseRule(settings.close_rule),
            "setup_table_reads" => Behaviour::SetupTableReads(settings.setup_table_reads),
            "page_zero" => Behaviour::PageZero(settings.page_zero),
            "bad_credentials" => Behaviour::BadCredentials(settings.bad_credentials),
            _ => return None,
        })
    }

    /// Sets this behaviour's switch in `settings`.
    pub fn apply(self, settings: &mut Settings) {
        match self {
            Behaviour::CloseRule(rule) => settings.close_rule = rule,
            Behaviour::SetupTableReads(reads) => settings.setup_table_reads = reads,
            Behaviour::PageZero(page_zero) => settings.page_zero = page_zero,
            Behaviour::BadCredentials(shape) => settings.bad_credentials = shape,
        }
    }
}

impl std::fmt::Display for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = \"{}\"", self.switch(), self.value())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn behaviour(setting: &str) -> Behaviour {
        let (switch, value) = setting.split_once('=').expect("switch=value");
        Behaviour::from_setting(switch, value).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every pair of values of every switch, and what a site following the first can show
    /// of the second.
    #[rstest]
    #[case("close_rule=older-table", "close_rule=older-table", Fit::Same)]
    #[case("close_rule=older-table", "close_rule=newer-document", Fit::Impossible)]
    #[case("close_rule=newer-document", "close_rule=older-table", Fit::Impossible)]
    #[case("setup_table_reads=open", "setup_table_reads=open", Fit::Same)]
    #[case(
        "setup_table_reads=open",
        "setup_table_reads=table-setup",
        Fit::Emulated
    )]
    #[case(
        "setup_table_reads=open",
        "setup_table_reads=service-desk",
        Fit::Emulated
    )]
    #[case(
        "setup_table_reads=table-setup",
        "setup_table_reads=open",
        Fit::Impossible
    )]
    #[case(
        "setup_table_reads=table-setup",
        "setup_table_reads=service-desk",
        Fit::Impossible
    )]
    #[case(
        "setup_table_reads=service-desk",
        "setup_table_reads=open",
        Fit::Impossible
    )]
    #[case(
        "setup_table_reads=service-desk",
        "setup_table_reads=table-setup",
        Fit::Impossible
    )]
    #[case("page_zero=first-page", "page_zero=bad-request", Fit::Emulated)]
    #[case("page_zero=bad-request", "page_zero=first-page", Fit::Impossible)]
    #[case("page_zero=bad-request", "page_zero=bad-request", Fit::Same)]
    #[case(
        "bad_credentials=unauthorized",
        "bad_credentials=user-not-authenticated",
        Fit::Emulated
    )]
    #[case(
        "bad_credentials=unauthorized",
        "bad_credentials=not-found",
        Fit::Emulated
    )]
    #[case(
        "bad_credentials=user-not-authenticated",
        "bad_credentials=unauthorized",
        Fit::Emulated
    )]
    #[case(
        "bad_credentials=not-found",
        "bad_credentials=unauthorized",
        Fit::Impossible
    )]
    #[case(
        "bad_credentials=not-found",
        "bad_credentials=user-not-authenticated",
        Fit::Impossible
    )]
    #[case("bad_credentials=not-found", "bad_credentials=not-found", Fit::Same)]
    #[case("page_zero=first-page", "setup_table_reads=open", Fit::Impossible)]
    fn what_a_site_can_show_of_a_chosen_behaviour(
        #[case] own: &str,
        #[case] chosen: &str,
        #[case] expected: Fit,
    ) {
        assert_eq!(
            fit(behaviour(own), behaviour(chosen)),
            expected,
            "{own} → {chosen}"
        );
    }

    #[test]
    fn every_behaviour_reads_back_from_its_name_and_sets_its_switch() {
        for (switch, value, expected) in ALL {
            let read = Behaviour::from_setting(switch, value).expect("listed");
            assert_eq!(read, expected);
            assert_eq!(read.to_string(), format!("{switch} = \"{value}\""));
            let mut settings = crate::fixtures::Fixtures::shared_builtin()
                .expect("the built-in fixtures load")
                .permissions
                .settings
                .clone();
            read.apply(&mut settings);
            assert_eq!(Behaviour::of(&settings, switch), Some(read));
        }
    }

    #[rstest]
    #[case(
        "page_zero",
        "bad-requets",
        "unknown page_zero \"bad-requets\" (did you mean \"bad-request\"?) (expected first-page or bad-request)"
    )]
    #[case(
        "setup_tables_read",
        "open",
        "unknown switch \"setup_tables_read\" (did you mean \"setup_table_reads\"?) (expected close_rule, setup_table_reads, page_zero, bad_credentials)"
    )]
    fn an_unknown_switch_or_value_is_named_with_the_nearest(
        #[case] switch: &str,
        #[case] value: &str,
        #[case] expected: &str,
    ) {
        assert_eq!(
            Behaviour::from_setting(switch, value),
            Err(expected.to_owned())
        );
    }
}
