//! Scenarios spread over threads. cucumber's runner polls every scenario it runs, with its
//! steps and hooks, on the one task that polls its event stream, so one runner keeps one
//! core busy however many scenarios it runs at once. A run therefore splits its scenarios
//! over several runners ("lanes"), each polled by a thread of its own.
//!
//! Where the tasks the scenarios spawn (mock servers, connections) run is the lane's
//! [`LaneRuntime`]. On the shared runtime, every request crosses threads four times: the
//! lane's step hands it to the client's connection task on a worker, the mock's server
//! task answers it on a worker, and the answer wakes the lane again. On a runtime of the
//! lane's own, a scenario's client, mock and steps take turns on one thread, with no
//! hand-over between threads; it is the choice when nothing a scenario spawns outlives
//! it (a run against the mock with the reference integration).
//!
//! The lanes' events are merged into the one stream a single runner would have produced,
//! for the writers: one `Started`, each feature and rule started once (before its first
//! scenario) and finished once (after its last), and the scenarios released in the order
//! they were written, so a run's output and reports do not depend on which lane was faster.
//!
//! cucumber's events cannot cross threads as they are (a panic's payload is an
//! `Arc<dyn Any + Send>`), so a lane passes on a [`Portable`] copy: the same event with the
//! panic's message as text, which is all the writers read of it, and without the World
//! (shown only at a verbosity this harness does not use).

use std::collections::HashMap;
use std::path::PathBuf;
use std::thread;

use std::sync::Arc;

use cucumber::event::{
    Cucumber, Feature, Hook, HookType, Metadata, Retries, RetryableScenario, Rule, Scenario,
    Source, Step, StepError,
};
use cucumber::feature::Ext as _;
use cucumber::{Event, gherkin, parser, step};
use futures::StreamExt as _;
use futures::stream::LocalBoxStream;
use tokio::sync::{mpsc, watch};

/// An event of cucumber's runner.
pub(super) type LaneEvent<W> = parser::Result<Event<Cucumber<W>>>;

/// A lane's event, in a form that can be passed to another thread. The run-wide events and
/// the `Started` of features and rules are not passed on: the merger writes its own.
#[derive(Debug)]
pub(super) enum Portable {
    /// A feature file the runner could not use.
    Error(parser::Error),
    /// The lane ran its last scenario of a feature.
    FeatureFinished(Source<gherkin::Feature>),
    /// The lane ran its last scenario of a rule.
    RuleFinished(Source<gherkin::Feature>, Source<gherkin::Rule>),
    /// Something happened in a scenario.
    Scenario {
        meta: Metadata,
        feature: Source<gherkin::Feature>,
        rule: Option<Source<gherkin::Rule>>,
        scenario: Source<gherkin::Scenario>,
        retries: Option<Retries>,
        event: PortableScenario,
    },
}

/// [`Scenario`], portable.
#[derive(Debug)]
pub(super) enum PortableScenario {
    Started,
    Hook(HookType, PortableHook),
    Background(Source<gherkin::Step>, PortableStep),
    Step(Source<gherkin::Step>, PortableStep),
    Log(String),
    Finished,
}

/// [`Hook`], portable.
#[derive(Debug)]
pub(super) enum PortableHook {
    Started,
    Passed,
    Failed(Payload),
}

/// [`Step`], portable.
#[derive(Debug)]
pub(super) enum PortableStep {
    Started,
    Skipped,
    Passed(regex::CaptureLocations, Option<step::Location>),
    Failed(
        Option<regex::CaptureLocations>,
        Option<step::Location>,
        PortableError,
    ),
}

/// [`StepError`], portable.
#[derive(Debug)]
pub(super) enum PortableError {
    NotFound,
    AmbiguousMatch(step::AmbiguousMatchError),
    Panic(Payload),
}

/// A panic's payload: its message when it was text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Payload(Option<String>);

impl Payload {
    fn of(info: &cucumber::event::Info) -> Self {
        Payload(
            info.downcast_ref::<String>()
                .cloned()
                .or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned())),
        )
    }

    fn info(self) -> cucumber::event::Info {
        match self.0 {
            Some(text) => Arc::new(text),
            None => Arc::new(()),
        }
    }
}

impl Portable {
    /// The portable copy of a lane's event, if the merger needs it.
    pub(super) fn of<W>(event: LaneEvent<W>) -> Option<Self> {
        let (value, meta) = match event {
            Err(error) => return Some(Portable::Error(error)),
            Ok(event) => event.split(),
        };
        let Cucumber::Feature(feature, event) = value else {
            return None;
        };
        let (rule, scenario, RetryableScenario { event, retries }) = match event {
            Feature::Started | Feature::Rule(_, Rule::Started) => return None,
            Feature::Finished => return Some(Portable::FeatureFinished(feature)),
            Feature::Scenario(scenario, event) => (None, scenario, event),
            Feature::Rule(rule, Rule::Finished) => {
                return Some(Portable::RuleFinished(feature, rule));
            }
            Feature::Rule(rule, Rule::Scenario(scenario, event)) => (Some(rule), scenario, event),
        };
        let step = |step: Step<W>| match step {
            Step::Started => PortableStep::Started,
            Step::Skipped => PortableStep::Skipped,
            Step::Passed(captures, location) => PortableStep::Passed(captures, location),
            Step::Failed(captures, location, _world, error) => PortableStep::Failed(
                captures,
                location,
                match error {
                    StepError::NotFound => PortableError::NotFound,
                    StepError::AmbiguousMatch(e) => PortableError::AmbiguousMatch(e),
                    StepError::Panic(info) => PortableError::Panic(Payload::of(&info)),
                },
            ),
        };
        let event = match event {
            Scenario::Started => PortableScenario::Started,
            Scenario::Hook(kind, hook) => PortableScenario::Hook(
                kind,
                match hook {
                    Hook::Started => PortableHook::Started,
                    Hook::Passed => PortableHook::Passed,
                    Hook::Failed(_world, info) => PortableHook::Failed(Payload::of(&info)),
                },
            ),
            Scenario::Background(source, event) => {
                PortableScenario::Background(source, step(event))
            }
            Scenario::Step(source, event) => PortableScenario::Step(source, step(event)),
            Scenario::Log(text) => PortableScenario::Log(text),
            Scenario::Finished => PortableScenario::Finished,
        };
        Some(Portable::Scenario {
            meta,
            feature,
            rule,
            scenario,
            retries,
            event,
        })
    }
}

impl PortableScenario {
    /// The scenario event again, for the writers.
    fn event<W>(self) -> Scenario<W> {
        let step = |step: PortableStep| match step {
            PortableStep::Started => Step::Started,
            PortableStep::Skipped => Step::Skipped,
            PortableStep::Passed(captures, location) => Step::Passed(captures, location),
            PortableStep::Failed(captures, location, error) => Step::Failed(
                captures,
                location,
                None,
                match error {
                    PortableError::NotFound => StepError::NotFound,
                    PortableError::AmbiguousMatch(e) => StepError::AmbiguousMatch(e),
                    PortableError::Panic(payload) => StepError::Panic(payload.info()),
                },
            ),
        };
        match self {
            PortableScenario::Started => Scenario::Started,
            PortableScenario::Hook(kind, hook) => Scenario::Hook(
                kind,
                match hook {
                    PortableHook::Started => Hook::Started,
                    PortableHook::Passed => Hook::Passed,
                    PortableHook::Failed(payload) => Hook::Failed(None, payload.info()),
                },
            ),
            PortableScenario::Background(source, event) => {
                Scenario::Background(source, step(event))
            }
            PortableScenario::Step(source, event) => Scenario::Step(source, step(event)),
            PortableScenario::Log(text) => Scenario::Log(text),
            PortableScenario::Finished => Scenario::Finished,
        }
    }
}

/// How many lanes a run uses: one per core, but never more than the scenarios that may run
/// at once, nor than the scenarios there are.
pub(super) fn count(concurrency: usize, scenarios: usize, cores: usize) -> usize {
    concurrency.min(cores).min(scenarios).max(1)
}

/// The scenarios that may run at once in each of `lanes` lanes: `concurrency` in all, as
/// evenly as it divides.
pub(super) fn concurrency_of_each(concurrency: usize, lanes: usize) -> Vec<usize> {
    let lanes = lanes.max(1);
    (0..lanes)
        .map(|lane| (concurrency / lanes + usize::from(lane < concurrency % lanes)).max(1))
        .collect()
}

/// Which feature an event is about, as its lane's copy of it says: a lane's copy holds
/// only that lane's scenarios, so it is known by its file, name and line.
type FeatureKey = (Option<PathBuf>, String, usize);

fn key_of(feature: &gherkin::Feature) -> FeatureKey {
    (
        feature.path.clone(),
        feature.name.clone(),
        feature.position.line,
    )
}

/// A copy of `feature` without its scenarios (its rules too), for a lane to fill: copied
/// without them, since a feature may hold thousands.
fn shell(feature: &mut gherkin::Feature) -> gherkin::Feature {
    let scenarios = std::mem::take(&mut feature.scenarios);
    let ruled: Vec<Vec<gherkin::Scenario>> = feature
        .rules
        .iter_mut()
        .map(|rule| std::mem::take(&mut rule.scenarios))
        .collect();
    let shell = feature.clone();
    feature.scenarios = scenarios;
    for (rule, scenarios) in feature.rules.iter_mut().zip(ruled) {
        rule.scenarios = scenarios;
    }
    shell
}

/// A scenario's place in the run: its feature, its rule (by index in the feature) and its
/// index among all scenarios in the order they are written (a feature's own scenarios, then
/// each rule's).
#[derive(Debug, Clone, Copy)]
struct Place {
    feature: usize,
    rule: Option<usize>,
}

/// Splits `features` over `lanes` lanes, and sets up the merging of their events.
#[derive(Debug)]
pub(super) struct Plan<W> {
    /// Each lane's features, holding only that lane's scenarios (a feature or rule with
    /// none of them is left out of the lane).
    pub shares: Vec<Vec<gherkin::Feature>>,
    /// Merges the lanes' events.
    pub merger: Merger<W>,
}

/// Scenario i, in the order written, goes to lane i mod `lanes`. Features with no
/// scenario are dropped (a runner reports nothing of them either). The features are told
/// apart by file, name and line: a run reads each file once.
pub(super) fn plan<W>(features: Vec<gherkin::Feature>, lanes: usize) -> Plan<W> {
    let mut features: Vec<gherkin::Feature> = features
        .into_iter()
        .filter(|f| f.count_scenarios() > 0)
        .collect();
    let index: HashMap<FeatureKey, usize> = features
        .iter()
        .enumerate()
        .map(|(i, feature)| (key_of(feature), i))
        .collect();
    assert_eq!(
        index.len(),
        features.len(),
        "a run reads each feature file once"
    );
    let lanes = lanes.max(1);
    let mut shares: Vec<Vec<gherkin::Feature>> = vec![Vec::new(); lanes];
    let mut places = Vec::new();
    let mut slots = HashMap::new();
    let mut feature_lanes = Vec::new();
    let mut rule_lanes = HashMap::new();
    let mut feature_last = Vec::new();
    let mut rule_last = HashMap::new();
    let mut next_lane = 0;
    for (f, feature) in features.iter_mut().enumerate() {
        let mut copies = vec![shell(feature); lanes];
        let feature = &*feature;
        let written = feature.scenarios.iter().map(|s| (None, s)).chain(
            feature
                .rules
                .iter()
                .enumerate()
                .flat_map(|(r, rule)| rule.scenarios.iter().map(move |s| (Some(r), s))),
        );
        for (rule, scenario) in written {
            let lane = next_lane;
            next_lane = (next_lane + 1) % lanes;
            let copy = &mut copies[lane];
            match rule {
                None => copy.scenarios.push(scenario.clone()),
                Some(r) => copy.rules[r].scenarios.push(scenario.clone()),
            }
            let slot = places.len();
            slots.insert((f, scenario.position.line), slot);
            places.push(Place { feature: f, rule });
            if let Some(r) = rule {
                rule_last.insert((f, r), slot);
            }
        }
        feature_last.push(places.len() - 1);
        let mut lanes_with_it = 0;
        for (lane, mut copy) in copies.into_iter().enumerate() {
            if copy.count_scenarios() == 0 {
                continue;
            }
            lanes_with_it += 1;
            for (r, rule) in copy.rules.iter().enumerate() {
                if !rule.scenarios.is_empty() {
                    *rule_lanes.entry((f, r)).or_insert(0) += 1;
                }
            }
            copy.rules.retain(|rule| !rule.scenarios.is_empty());
            shares[lane].push(copy);
        }
        feature_lanes.push(lanes_with_it);
    }
    let every_rule = || {
        features.iter().enumerate().flat_map(|(f, feature)| {
            feature
                .rules
                .iter()
                .enumerate()
                .map(move |(r, rule)| (f, r, rule))
        })
    };
    let rules = every_rule()
        .map(|(f, r, rule)| ((f, r), Source::new(rule.clone())))
        .collect();
    let rule_index = every_rule()
        .map(|(f, r, rule)| ((f, rule.position.line), r))
        .collect();
    let totals = (
        features.len(),
        features.iter().map(|f| f.rules.len()).sum(),
        features.iter().map(gherkin::Feature::count_scenarios).sum(),
        features.iter().map(gherkin::Feature::count_steps).sum(),
    );
    let held = places.iter().map(|_| Vec::new()).collect();
    let started = vec![false; places.len()];
    Plan {
        shares,
        merger: Merger {
            features: features.into_iter().map(Source::new).collect(),
            rules,
            index,
            rule_index,
            slots,
            places,
            started,
            held,
            next: 0,
            feature_lanes,
            rule_lanes,
            feature_last,
            rule_last,
            opened: Vec::new(),
            totals,
        },
    }
}

/// An event to write, or a marker that a feature or rule begins (written when the first
/// of its scenarios is released).
#[derive(Debug)]
enum Held<W> {
    Event(Event<Cucumber<W>>),
    Finished(usize, Option<usize>),
}

/// Merges the lanes' events into one stream, as [`plan`] split them.
#[derive(Debug)]
pub(super) struct Merger<W> {
    /// Every feature, whole: the events name these.
    features: Vec<Source<gherkin::Feature>>,
    /// Every rule, whole, by feature and index.
    rules: HashMap<(usize, usize), Source<gherkin::Rule>>,
    index: HashMap<FeatureKey, usize>,
    /// A rule's index in its feature, by its line.
    rule_index: HashMap<(usize, usize), usize>,
    /// A scenario's slot, by feature and line.
    slots: HashMap<(usize, usize), usize>,
    places: Vec<Place>,
    /// Whether each slot's scenario has started.
    started: Vec<bool>,
    /// Each slot's events that wait for an earlier scenario to start.
    held: Vec<Vec<Held<W>>>,
    /// The first slot not released: every earlier one has started, and its events are
    /// written as they come.
    next: usize,
    /// How many lanes have yet to finish each feature, and each rule.
    feature_lanes: Vec<usize>,
    rule_lanes: HashMap<(usize, usize), usize>,
    /// The last slot of each feature, and of each rule.
    feature_last: Vec<usize>,
    rule_last: HashMap<(usize, usize), usize>,
    /// The features and rules whose `Started` has been written.
    opened: Vec<(usize, Option<usize>)>,
    /// Features, rules, scenarios and steps, as the runner counts them.
    totals: (usize, usize, usize, usize),
}

impl<W> Merger<W> {
    /// What a run begins with: `Started`, then `ParsingFinished` with the whole run's counts.
    pub(super) fn opening(&self) -> Vec<LaneEvent<W>> {
        let (features, rules, scenarios, steps) = self.totals;
        vec![
            Ok(Event::new(Cucumber::Started)),
            Ok(Event::new(Cucumber::ParsingFinished {
                features,
                rules,
                scenarios,
                steps,
                parser_errors: 0,
            })),
        ]
    }

    /// What a run ends with, once every lane has ended.
    pub(super) fn closing() -> Vec<LaneEvent<W>> {
        vec![Ok(Event::new(Cucumber::Finished))]
    }

    /// Takes one lane's event; returns the events now ready to write, in order.
    pub(super) fn accept(&mut self, event: Portable) -> Vec<LaneEvent<W>> {
        let mut ready = Vec::new();
        let (meta, lane_feature, lane_rule, scenario, retries, event) = match event {
            Portable::Error(error) => return vec![Err(error)],
            Portable::FeatureFinished(lane_feature) => {
                let f = self.feature(&lane_feature);
                self.feature_lanes[f] -= 1;
                if self.feature_lanes[f] == 0 {
                    self.hold(self.feature_last[f], Held::Finished(f, None), &mut ready);
                }
                return ready;
            }
            Portable::RuleFinished(lane_feature, lane_rule) => {
                let f = self.feature(&lane_feature);
                let r = self.rule_index[&(f, lane_rule.position.line)];
                let left = self
                    .rule_lanes
                    .get_mut(&(f, r))
                    .expect("a rule with scenarios is in a lane");
                *left -= 1;
                if *left == 0 {
                    let last = self.rule_last[&(f, r)];
                    self.hold(last, Held::Finished(f, Some(r)), &mut ready);
                }
                return ready;
            }
            Portable::Scenario {
                meta,
                feature,
                rule,
                scenario,
                retries,
                event,
            } => (meta, feature, rule, scenario, retries, event),
        };
        let f = self.feature(&lane_feature);
        let slot = self.slots[&(f, scenario.position.line)];
        let starts = matches!(event, PortableScenario::Started) && !self.started[slot];
        let event = RetryableScenario {
            event: event.event(),
            retries,
        };
        let feature = self.features[f].clone();
        let value = match lane_rule {
            None => Cucumber::Feature(feature, Feature::Scenario(scenario, event)),
            Some(lane_rule) => {
                let r = self.rule_index[&(f, lane_rule.position.line)];
                Cucumber::Feature(
                    feature,
                    Feature::Rule(self.rules[&(f, r)].clone(), Rule::Scenario(scenario, event)),
                )
            }
        };
        self.hold(slot, Held::Event(meta.insert(value)), &mut ready);
        if starts {
            self.started[slot] = true;
            while self.next < self.started.len() && self.started[self.next] {
                self.release(self.next, &mut ready);
                self.next += 1;
            }
        }
        ready
    }

    /// The index of the feature a lane's copy is of.
    fn feature(&self, lane_feature: &gherkin::Feature) -> usize {
        self.index
            .get(&key_of(lane_feature))
            .copied()
            .expect("a lane runs only features the plan gave it")
    }

    /// Writes `held` now if its slot is released, or keeps it with the slot's events.
    fn hold(&mut self, slot: usize, held: Held<W>, ready: &mut Vec<LaneEvent<W>>) {
        if slot < self.next {
            self.write(held, ready);
        } else {
            self.held[slot].push(held);
        }
    }

    /// Releases a slot: its feature and rule begin if this is their first scenario, then
    /// its events so far are written.
    fn release(&mut self, slot: usize, ready: &mut Vec<LaneEvent<W>>) {
        let Place { feature: f, rule } = self.places[slot];
        if !self.opened.contains(&(f, None)) {
            self.opened.push((f, None));
            ready.push(Ok(Event::new(Cucumber::Feature(
                self.features[f].clone(),
                Feature::Started,
            ))));
        }
        if let Some(r) = rule
            && !self.opened.contains(&(f, Some(r)))
        {
            self.opened.push((f, Some(r)));
            ready.push(Ok(Event::new(Cucumber::Feature(
                self.features[f].clone(),
                Feature::Rule(self.rules[&(f, r)].clone(), Rule::Started),
            ))));
        }
        for held in std::mem::take(&mut self.held[slot]) {
            self.write(held, ready);
        }
    }

    fn write(&mut self, held: Held<W>, ready: &mut Vec<LaneEvent<W>>) {
        ready.push(Ok(match held {
            Held::Event(event) => event,
            Held::Finished(f, None) => {
                self.opened.retain(|opened| opened.0 != f);
                Event::new(Cucumber::Feature(
                    self.features[f].clone(),
                    Feature::Finished,
                ))
            }
            Held::Finished(f, Some(r)) => Event::new(Cucumber::Feature(
                self.features[f].clone(),
                Feature::Rule(self.rules[&(f, r)].clone(), Rule::Finished),
            )),
        }));
    }
}

/// A panic hook, as `std::panic` keeps it.
type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The process's panic hook while runs are in progress. cucumber's runner silences panics
/// while it runs (a step's panic is its failure, reported by the writers): it takes the
/// hook and puts it back when done. Runners that overlap (the lanes of a run, or two runs)
/// would put back each other's silence and leave the process without its hook, so every run
/// holds the hook here: the first to start takes it and silences panics, the last to end
/// puts it back.
static HELD_HOOK: std::sync::Mutex<Keeper<PanicHook>> = std::sync::Mutex::new(Keeper::new());

/// What [`HELD_HOOK`] does, apart from the hook itself: the hook taken when the first
/// holder came, given back when the last one leaves.
#[derive(Debug)]
struct Keeper<H> {
    holders: usize,
    kept: Option<H>,
}

impl<H> Keeper<H> {
    const fn new() -> Self {
        Keeper {
            holders: 0,
            kept: None,
        }
    }

    /// One more holder: the first one's `take` is kept.
    fn enter(&mut self, take: impl FnOnce() -> H) {
        if self.holders == 0 {
            self.kept = Some(take());
        }
        self.holders += 1;
    }

    /// One holder less: the kept hook, to put back, when it was the last.
    fn leave(&mut self) -> Option<H> {
        self.holders = self.holders.saturating_sub(1);
        if self.holders == 0 {
            self.kept.take()
        } else {
            None
        }
    }
}

/// Holds the process's panic hook while a run is in progress (see [`HELD_HOOK`]).
pub(super) struct QuietPanics(());

impl QuietPanics {
    pub(super) fn hold() -> Self {
        HELD_HOOK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .enter(|| {
                let hook = std::panic::take_hook();
                std::panic::set_hook(Box::new(|_| {}));
                hook
            });
        QuietPanics(())
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        let hook = HELD_HOOK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .leave();
        // A hook cannot be set while this thread panics (a lane's panic, passed on).
        if let Some(hook) = hook
            && !std::thread::panicking()
        {
            std::panic::set_hook(hook);
        }
    }
}

/// How long the run's thread lets the lanes' events gather before it writes them.
const GATHER: std::time::Duration = std::time::Duration::from_millis(1);

/// The lanes of a run, started: their events arrive on `events`, each lane's in its order.
pub(super) struct Lanes {
    events: mpsc::UnboundedReceiver<Portable>,
    threads: Vec<thread::JoinHandle<()>>,
    cancel: watch::Sender<bool>,
}

/// Where a lane's scenarios, and the tasks they spawn, run.
#[derive(Debug, Clone)]
pub(super) enum LaneRuntime {
    /// On this shared runtime: the lane's thread polls its scenarios, the runtime's workers
    /// run what they spawn. For runs whose scenarios share something that lives on a
    /// runtime across scenarios (the MCP servers a run keeps, a sandbox's connections).
    Shared(tokio::runtime::Handle),
    /// On a single-threaded runtime of each lane's own: the lane's thread runs everything
    /// its scenarios spawn, and nothing crosses threads within a scenario.
    Own,
}

impl LaneRuntime {
    /// What a lane blocks on: a runtime built for it, or the shared one.
    fn for_lane(&self) -> std::io::Result<Blocking> {
        Ok(match self {
            LaneRuntime::Shared(handle) => Blocking::Shared(handle.clone()),
            LaneRuntime::Own => Blocking::Own(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?,
            ),
        })
    }
}

/// A lane's runtime, ready for its thread. A single-threaded runtime is blocked on through
/// itself: through a handle, its I/O and timers would not run.
enum Blocking {
    Shared(tokio::runtime::Handle),
    Own(tokio::runtime::Runtime),
}

impl Blocking {
    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        match self {
            Blocking::Shared(handle) => handle.block_on(future),
            Blocking::Own(runtime) => runtime.block_on(future),
        }
    }
}

impl Lanes {
    /// Starts one thread per share, each polling the stream `run` makes of its share (with
    /// the scenarios it may run at once) on the runtime `runtime` gives it.
    pub(super) fn start<W, R>(
        shares: Vec<(Vec<gherkin::Feature>, usize)>,
        run: R,
        runtime: &LaneRuntime,
    ) -> std::io::Result<Self>
    where
        R: Fn(Vec<gherkin::Feature>, usize) -> LocalBoxStream<'static, LaneEvent<W>>
            + Clone
            + Send
            + 'static,
    {
        let (sender, events) = mpsc::unbounded_channel();
        let (cancel, cancelled) = watch::channel(false);
        let mut threads = Vec::new();
        for (lane, (features, concurrency)) in shares.into_iter().enumerate() {
            // Built here, so that a runtime that cannot be built fails the run's start.
            let blocking = runtime.for_lane()?;
            let (sender, mut cancelled, run) = (sender.clone(), cancelled.clone(), run.clone());
            let thread = thread::Builder::new()
                .name(format!("cw-conform-lane-{lane}"))
                .spawn(move || {
                    blocking.block_on(async move {
                        let mut events = run(features, concurrency);
                        loop {
                            tokio::select! {
                                event = events.next() => match event {
                                    Some(event) => {
                                        if let Some(event) = Portable::of(event)
                                            && sender.send(event).is_err()
                                        {
                                            break;
                                        }
                                    }
                                    None => break,
                                },
                                _ = cancelled.wait_for(|stop| *stop) => break,
                            }
                        }
                        // The lane's scenarios are dropped before its sender is: the run
                        // sees every lane end only once nothing of theirs still runs.
                        drop(events);
                        drop(sender);
                    });
                })?;
            threads.push(thread);
        }
        Ok(Lanes {
            events,
            threads,
            cancel,
        })
    }

    /// The lanes' events that have arrived, at least one, in order; `None` once every lane
    /// has ended. After the first, it waits [`GATHER`] for the ones that follow: waking the
    /// run's thread for each event cost more than the scenarios themselves in a long run
    /// (20,000 scenarios: 192,251 context switches and 17 s of system time, against 15,664
    /// and 3 s before lanes).
    pub(super) async fn arrived(&mut self) -> Option<Vec<Portable>> {
        let first = self.events.recv().await?;
        tokio::time::sleep(GATHER).await;
        let mut arrived = vec![first];
        while let Ok(event) = self.events.try_recv() {
            arrived.push(event);
        }
        Some(arrived)
    }

    /// Stops every lane: the scenarios running are dropped, as an interrupted run drops them.
    pub(super) fn cancel(&self) {
        let _ = self.cancel.send(true);
    }

    /// Waits until every lane has ended (after its events or [`Lanes::cancel`]); a lane's
    /// panic is the run's.
    pub(super) async fn join(mut self) {
        while self.events.recv().await.is_some() {}
        for thread in self.threads {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type World = crate::harness::world::ConformanceWorld;

    fn feature(text: &str) -> gherkin::Feature {
        gherkin::Feature::parse(text, gherkin::GherkinEnv::default()).unwrap()
    }

    /// Feature A: a1, a2, a3; feature B: rule R with b1, b2; feature C: nothing to run.
    fn features() -> Vec<gherkin::Feature> {
        let a = "Feature: A\n\n  Scenario: a1\n    Given x\n\n  Scenario: a2\n    Given x\n\n  Scenario: a3\n    Given x\n";
        let b = "Feature: B\n\n  Rule: R\n\n    Scenario: b1\n      Given x\n\n    Scenario: b2\n      Given x\n";
        let mut c = feature("Feature: C\n\n  Scenario: c1\n    Given x\n");
        c.scenarios.clear();
        vec![feature(a), feature(b), c]
    }

    fn names(features: &[gherkin::Feature]) -> Vec<String> {
        features
            .iter()
            .flat_map(|f| {
                f.scenarios
                    .iter()
                    .chain(f.rules.iter().flat_map(|r| &r.scenarios))
                    .map(move |s| format!("{}/{}", f.name, s.name))
            })
            .collect()
    }

    #[test]
    fn a_run_takes_one_lane_per_core_but_no_more_than_may_run_at_once_or_there_are() {
        assert_eq!(count(16, 387, 2), 2);
        assert_eq!(count(16, 387, 8), 8);
        assert_eq!(count(1, 387, 8), 1);
        assert_eq!(count(16, 3, 8), 3);
        assert_eq!(count(4, 0, 8), 1);
        assert_eq!(concurrency_of_each(16, 3), [6, 5, 5]);
        assert_eq!(concurrency_of_each(16, 2), [8, 8]);
        assert_eq!(concurrency_of_each(1, 1), [1]);
    }

    #[test]
    fn scenarios_are_dealt_to_the_lanes_in_the_order_written() {
        let plan = plan::<World>(features(), 2);
        let lanes: Vec<Vec<String>> = plan.shares.iter().map(|share| names(share)).collect();
        assert_eq!(lanes, [vec!["A/a1", "A/a3", "B/b2"], vec!["A/a2", "B/b1"]]);
        // A lane's copy of a rule holds only its scenarios; the feature with none is in no lane.
        assert_eq!(plan.shares[1][1].rules[0].scenarios.len(), 1);
        assert!(plan.shares.iter().flatten().all(|f| f.name != "C"));
        assert_eq!(plan.merger.totals, (2, 1, 5, 5));
    }

    /// What a lane would send of a scenario's event.
    fn sent(share: &[gherkin::Feature], scenario: &str, event: PortableScenario) -> Portable {
        for feature in share {
            let top = feature.scenarios.iter().map(|s| (None, s));
            let ruled = feature
                .rules
                .iter()
                .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
            if let Some((rule, found)) = top.chain(ruled).find(|(_, s)| s.name == scenario) {
                return Portable::Scenario {
                    meta: Event::new(()),
                    feature: Source::new(feature.clone()),
                    rule: rule.map(|r| Source::new(r.clone())),
                    scenario: Source::new(found.clone()),
                    retries: None,
                    event,
                };
            }
        }
        panic!("no scenario {scenario}");
    }

    fn shown(events: Vec<LaneEvent<World>>) -> Vec<String> {
        events
            .into_iter()
            .map(|event| match event.unwrap().value {
                Cucumber::Feature(f, Feature::Started) => format!("{} started", f.name),
                Cucumber::Feature(f, Feature::Finished) => format!("{} finished", f.name),
                Cucumber::Feature(_, Feature::Rule(r, Rule::Started)) => {
                    format!("{} started", r.name)
                }
                Cucumber::Feature(_, Feature::Rule(r, Rule::Finished)) => {
                    format!("{} finished", r.name)
                }
                Cucumber::Feature(
                    _,
                    Feature::Scenario(s, e) | Feature::Rule(_, Rule::Scenario(s, e)),
                ) => {
                    format!(
                        "{} {}",
                        s.name,
                        match e.event {
                            Scenario::Started => "started",
                            Scenario::Finished => "finished",
                            _ => "other",
                        }
                    )
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// The events of a lane that runs its share one scenario after another.
    fn ran_alone(share: &[gherkin::Feature]) -> Vec<Portable> {
        let ran = |scenario: &gherkin::Scenario| {
            [PortableScenario::Started, PortableScenario::Finished]
                .map(|event| sent(share, &scenario.name, event))
        };
        let mut events = Vec::new();
        for feature in share {
            let source = Source::new(feature.clone());
            for scenario in &feature.scenarios {
                events.extend(ran(scenario));
            }
            for rule in &feature.rules {
                for scenario in &rule.scenarios {
                    events.extend(ran(scenario));
                }
                events.push(Portable::RuleFinished(
                    source.clone(),
                    Source::new(rule.clone()),
                ));
            }
            events.push(Portable::FeatureFinished(source));
        }
        events
    }

    #[test]
    fn the_lanes_events_are_merged_as_one_runner_would_give_them() {
        let Plan { shares, mut merger } = plan::<World>(features(), 2);
        // Lane 1 runs all of its share before lane 0 starts.
        let mut written = Vec::new();
        for event in ran_alone(&shares[1]) {
            written.extend(merger.accept(event));
        }
        assert!(
            written.is_empty(),
            "nothing is written before the first scenario starts"
        );
        for event in ran_alone(&shares[0]) {
            written.extend(merger.accept(event));
        }
        assert_eq!(
            shown(written),
            [
                "A started",
                "a1 started",
                "a2 started",
                "a2 finished",
                "a1 finished",
                "a3 started",
                "B started",
                "R started",
                "b1 started",
                "b1 finished",
                "a3 finished",
                "A finished",
                "b2 started",
                "b2 finished",
                "R finished",
                "B finished",
            ]
        );
    }

    /// Events that arrive together are taken together, not one wake-up each; one sent
    /// later is taken by the next call.
    #[tokio::test]
    async fn the_events_that_have_arrived_are_taken_at_once() {
        let (sender, events) = mpsc::unbounded_channel();
        let (cancel, _) = watch::channel(false);
        let mut lanes = Lanes {
            events,
            threads: Vec::new(),
            cancel,
        };
        let finished = |name: &str| {
            let mut feature = features()[0].clone();
            feature.name = name.to_owned();
            Portable::FeatureFinished(Source::new(feature))
        };
        for name in ["A", "B", "C"] {
            sender.send(finished(name)).unwrap();
        }
        let names = |arrived: Option<Vec<Portable>>| -> Vec<String> {
            arrived
                .unwrap()
                .into_iter()
                .map(|event| match event {
                    Portable::FeatureFinished(feature) => feature.name.clone(),
                    other => format!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(names(lanes.arrived().await), ["A", "B", "C"]);
        sender.send(finished("D")).unwrap();
        assert_eq!(names(lanes.arrived().await), ["D"]);
        drop(sender);
        assert!(lanes.arrived().await.is_none(), "every lane has ended");
    }

    /// Where the task a scenario spawns runs: on its lane's thread when the lane has a
    /// runtime of its own, on the shared runtime's workers otherwise.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lane_with_a_runtime_of_its_own_runs_what_its_scenarios_spawn() {
        async fn threads_spawned_on(runtime: &LaneRuntime) -> Vec<String> {
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let run = {
                let seen = Arc::clone(&seen);
                move |_: Vec<gherkin::Feature>, _: usize| {
                    let seen = Arc::clone(&seen);
                    futures::stream::once(async move {
                        let spawned_on = tokio::spawn(async {
                            thread::current().name().unwrap_or_default().to_owned()
                        });
                        let name = spawned_on.await.unwrap();
                        seen.lock().unwrap().push(name);
                    })
                    .filter_map(|()| async { None::<LaneEvent<World>> })
                    .boxed_local()
                }
            };
            let lanes = Lanes::start(vec![(Vec::new(), 1), (Vec::new(), 1)], run, runtime).unwrap();
            lanes.join().await;
            let mut seen = seen.lock().unwrap().clone();
            seen.sort();
            seen
        }
        assert_eq!(
            threads_spawned_on(&LaneRuntime::Own).await,
            ["cw-conform-lane-0", "cw-conform-lane-1"]
        );
        let shared = LaneRuntime::Shared(tokio::runtime::Handle::current());
        let workers = threads_spawned_on(&shared).await;
        assert_eq!(workers.len(), 2);
        assert!(
            workers
                .iter()
                .all(|name| !name.starts_with("cw-conform-lane")),
            "{workers:?}"
        );
    }

    #[test]
    fn the_hook_taken_by_the_first_run_is_given_back_by_the_last() {
        let mut keeper = Keeper::new();
        keeper.enter(|| "the process's hook");
        keeper.enter(|| "the silence the first run set");
        assert_eq!(keeper.leave(), None, "a run is still in progress");
        keeper.enter(|| "the silence again");
        assert_eq!(keeper.leave(), None);
        assert_eq!(keeper.leave(), Some("the process's hook"));
        assert_eq!(keeper.leave(), None, "nothing is given back twice");
        keeper.enter(|| "a later hook");
        assert_eq!(keeper.leave(), Some("a later hook"));
    }

    #[test]
    fn a_panic_crosses_lanes_as_its_message() {
        let text: cucumber::event::Info = Arc::new("expected denied".to_owned());
        let static_text: cucumber::event::Info = Arc::new("a static message");
        let other: cucumber::event::Info = Arc::new(42_u8);
        let back = |info: &cucumber::event::Info| Payload::of(info).info();
        assert_eq!(
            back(&text).downcast_ref::<String>().map(String::as_str),
            Some("expected denied")
        );
        assert_eq!(
            back(&static_text)
                .downcast_ref::<String>()
                .map(String::as_str),
            Some("a static message")
        );
        let other = back(&other);
        assert!(other.downcast_ref::<String>().is_none() && other.downcast_ref::<&str>().is_none());
    }
}
