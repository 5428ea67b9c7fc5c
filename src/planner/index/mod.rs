//! Validated views of the inputs: a Track's once per Track ([`TrackIndex`]), and a learner's on
//! top of it for one plan ([`Index`]). Every id is resolved and every number checked, so the
//! planning steps after [`Index::build`] have no error paths.
//!
//! The Track's half is all the work that does not depend on the learner (about half of a plan of
//! the go-engineer Track when it was redone for every learner): the controller keeps it per Track
//! generation and plans every learner of a fan-out against the same one.

use std::sync::OnceLock;

use foldhash::{HashMap, HashSet};

use std::collections::BTreeMap;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::api::{LearningPathSpec, Module, ObservedSignal, Profile, TrackSpec};

use super::Inputs;

use super::invalid::{Invalid, Problem, Reason};

mod graph;
mod learner_checks;
mod track_checks;

/// Which key of a profile gave a module its weight: a module key beats a dimension key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum WeightKey {
    Module,
    Dimension,
}

/// One profile's weight for each module number (`None`: no key, weight 1).
pub(crate) type ProfileWeights = Vec<Option<(WeightKey, f64)>>;

/// Everything about a Track that does not depend on the learner. Lookups only: hash maps (never
/// iterated, so their order cannot leak into a plan).
#[derive(Debug, Default)]
pub(crate) struct TrackIndex {
    /// Count limits the Track exceeds. When there are any, nothing else is built.
    sizes: Vec<Problem>,
    /// Everything else wrong with the Track alone.
    problems: Vec<Problem>,
    /// Prerequisite cycles; only looked for when there are no other problems.
    cycles: Vec<Problem>,
    /// Module number -> position in the Track's module list. Module numbers follow id order.
    order: Vec<usize>,
    pub module_by_id: HashMap<String, usize>,
    /// Prerequisites of each module, as module numbers, sorted.
    pub prerequisites: Vec<Vec<usize>>,
    /// Module numbers, prerequisites before the modules that need them.
    pub topological: Vec<usize>,
    /// Exercise id -> (module number, position in the module's exercise list).
    pub exercise_by_id: HashMap<String, (usize, usize)>,
    /// Where each module's exercises start in a flat numbering of all exercises.
    exercise_base: Vec<usize>,
    /// How many exercises the Track has.
    exercises: usize,
    pub dimension_titles: HashMap<String, String>,
    /// Skills that transfers credit from.
    skills: HashSet<String>,
    /// Sum of each module's exercise hours.
    pub exercise_hours: Vec<u32>,
    /// Positions in the Track's transfer list of the transfers to each module, sorted by skill
    /// (then ratio), so that the chosen source does not depend on the order they are listed in.
    pub transfers_to: Vec<Vec<usize>>,
    /// Each profile's weights, worked out when the first learner with that profile is planned:
    /// a Track may have a hundred profiles, and most learners share a few.
    pub industry_weights: HashMap<String, OnceLock<ProfileWeights>>,
    pub role_weights: HashMap<String, OnceLock<ProfileWeights>>,
    /// How long a failure counts (the struggle rule's window), if the Track sets one.
    pub struggle_window: Option<SignedDuration>,
}

/// Resolved inputs of one plan.
pub(crate) struct Index<'a> {
    pub track: &'a TrackSpec,
    pub spec: &'a LearningPathSpec,
    pub shared: &'a TrackIndex,
    /// Modules by module number (sorted by id).
    pub modules: Vec<&'a Module>,
    pub module_by_id: &'a HashMap<String, usize>,
    pub prerequisites: &'a [Vec<usize>],
    pub exercise_by_id: &'a HashMap<String, (usize, usize)>,
    pub dimension_titles: &'a HashMap<String, String>,
    /// Completed exercises, by flat exercise number.
    completed: Vec<bool>,
    /// The learner's signals: the observed ones overlaid by the spec's own.
    pub signals: BTreeMap<&'a str, f64>,
    /// The observed signals as given.
    pub observed: &'a [ObservedSignal],
    /// The time windows are judged at, if given.
    pub now: Option<Timestamp>,
}

impl TrackIndex {
    /// Resolves and checks a Track on its own, collecting every problem rather than the first:
    /// one pass per concern, each adding what it finds to `problems`.
    pub fn build(track: &TrackSpec) -> Self {
        let mut sizes = Problems::default();
        track_checks::sizes(track, &mut sizes);
        if !sizes.0.is_empty() {
            return TrackIndex {
                sizes: sizes.0,
                ..TrackIndex::default()
            };
        }
        let mut problems = Problems::default();
        let (order, module_by_id) = track_checks::module_ids(track, &mut problems);
        let modules: Vec<&Module> = order.iter().map(|&i| &track.modules[i]).collect();
        let dimension_titles = track_checks::dimensions(track, &module_by_id, &mut problems);
        let parts =
            track_checks::modules(&modules, &module_by_id, &dimension_titles, &mut problems);
        track_checks::rules(track, &module_by_id, &mut problems);
        track_checks::profiles(track, &module_by_id, &dimension_titles, &mut problems);
        track_checks::struggle(track, &module_by_id, &parts.exercise_by_id, &mut problems);
        let (skills, transfers_to) =
            track_checks::transfers(track, &module_by_id, modules.len(), &mut problems);
        track_checks::mastery_threshold(track, &mut problems);
        let struggle_window = track_checks::struggle_window(track, &mut problems);

        // Cycles are only looked for in an otherwise sound Track: their ids must resolve.
        let (cycles, topological) = if problems.0.is_empty() {
            let cycles = graph::cycles(&modules, &parts.prerequisites)
                .into_iter()
                .map(|cycle| Problem {
                    reason: Reason::PrerequisiteCycle,
                    message: format!("prerequisite cycle: {}", cycle.join(" -> ")),
                })
                .collect();
            (cycles, graph::topological(&parts.prerequisites))
        } else {
            (Vec::new(), Vec::new())
        };

        TrackIndex {
            sizes: Vec::new(),
            problems: problems.0,
            cycles,
            order,
            module_by_id,
            prerequisites: parts.prerequisites,
            topological,
            exercise_by_id: parts.exercise_by_id,
            exercise_base: parts.exercise_base,
            exercises: parts.exercises,
            dimension_titles,
            skills,
            exercise_hours: parts.exercise_hours,
            transfers_to,
            industry_weights: lazy_weights(&track.profiles.industries),
            role_weights: lazy_weights(&track.profiles.roles),
            struggle_window,
        }
    }

    /// The Track's own verdict, as a learner with no assessment, profile or signals would see it.
    pub fn verdict(&self) -> Result<(), Invalid> {
        let problems = [&self.sizes, &self.problems, &self.cycles]
            .into_iter()
            .find(|p| !p.is_empty());
        match problems.and_then(|p| Invalid::from_problems(p.clone())) {
            Some(invalid) => Err(invalid),
            None => Ok(()),
        }
    }
}

/// One lazily computed weight table per profile name.
fn lazy_weights(
    profiles: &std::collections::BTreeMap<String, Profile>,
) -> HashMap<String, OnceLock<ProfileWeights>> {
    profiles
        .keys()
        .map(|name| (name.clone(), OnceLock::new()))
        .collect()
}

/// A profile's weight for each module number.
pub(crate) fn profile_weights(profile: &Profile, modules: &[&Module]) -> ProfileWeights {
    modules.iter().map(|m| profile_weight(profile, m)).collect()
}

/// A module key beats a dimension key; no key means no entry (weight 1).
fn profile_weight(profile: &Profile, m: &Module) -> Option<(WeightKey, f64)> {
    if let Some(&w) = profile.weights.get(&m.id) {
        return Some((WeightKey::Module, w));
    }
    let d = m.dimension.as_ref()?;
    profile.weights.get(d).map(|&w| (WeightKey::Dimension, w))
}

impl<'a> Index<'a> {
    /// Checks a learner against an indexed Track, collecting every problem (the Track's too)
    /// rather than the first: one pass per part of the spec.
    pub fn build(
        track: &'a TrackSpec,
        shared: &'a TrackIndex,
        inputs: Inputs<'a>,
    ) -> Result<Self, Invalid> {
        let spec = inputs.spec;
        let mut sizes = Problems(shared.sizes.clone());
        learner_checks::sizes(spec, &mut sizes);
        // Over a count limit, nothing else is checked.
        if let Some(invalid) = Invalid::from_problems(sizes.0) {
            return Err(invalid);
        }
        let mut problems = Problems(shared.problems.clone());
        learner_checks::profiles(track, spec, &mut problems);
        learner_checks::assessment(shared, spec, &mut problems);
        let completed = learner_checks::completed_exercises(shared, spec, &mut problems);
        learner_checks::struggles(shared, spec, &mut problems);
        learner_checks::signals(spec, inputs.observed, &mut problems);
        learner_checks::hours_per_week(spec, &mut problems);
        // A cycle is only reported when nothing else is wrong: other problems may cause it.
        if problems.0.is_empty() {
            problems.0.extend(shared.cycles.iter().cloned());
        }
        if let Some(invalid) = Invalid::from_problems(problems.0) {
            return Err(invalid);
        }
        Ok(Index {
            track,
            spec,
            shared,
            modules: shared.order.iter().map(|&i| &track.modules[i]).collect(),
            module_by_id: &shared.module_by_id,
            prerequisites: &shared.prerequisites,
            exercise_by_id: &shared.exercise_by_id,
            dimension_titles: &shared.dimension_titles,
            completed,
            signals: merged_signals(spec, inputs.observed),
            observed: inputs.observed,
            now: inputs.now,
        })
    }

    /// Whether the learner completed exercise `k` of module `m`.
    pub fn exercise_done(&self, m: usize, k: usize) -> bool {
        self.completed[self.shared.exercise_base[m] + k]
    }

    /// Whether the learner completed the exercise with this id (false for unknown ids).
    pub fn completed(&self, exercise: &str) -> bool {
        self.exercise_by_id
            .get(exercise)
            .is_some_and(|&(m, k)| self.exercise_done(m, k))
    }
}

/// Problems found so far.
#[derive(Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    pub(super) fn add(&mut self, reason: Reason, message: String) {
        self.0.push(Problem { reason, message });
    }
}

/// The observed signals, overlaid by the spec's own: a value a person wrote wins
/// (docs/signals.md §4).
fn merged_signals<'a>(
    spec: &'a LearningPathSpec,
    observed: &'a [ObservedSignal],
) -> BTreeMap<&'a str, f64> {
    let mut signals: BTreeMap<&str, f64> = observed
        .iter()
        .map(|o| (o.name.as_str(), o.value))
        .collect();
    signals.extend(spec.signals.iter().map(|(k, v)| (k.as_str(), *v)));
    signals
}
