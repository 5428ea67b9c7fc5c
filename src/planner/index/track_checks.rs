//! The checks and lookups of a Track on its own, one pass per concern. Each adds what it finds
//! wrong to `problems` and returns what later passes and the planner look up.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use k8s_openapi::jiff::SignedDuration;

use crate::api::{Module, TrackSpec, limits, parse_duration};

use super::super::invalid::Reason;
use super::Problems;

/// Count limits (docs/planner.md §2.1): over any of them, nothing else is checked.
pub(super) fn sizes(track: &TrackSpec, problems: &mut Problems) {
    let mut too_large = |what: &str, len: usize, max: usize| {
        if len > max {
            problems.add(
                Reason::TooLarge,
                format!("{what} has {len} entries (at most {max})"),
            );
        }
    };
    too_large("spec.modules", track.modules.len(), limits::MODULES);
    too_large(
        "spec.dimensions",
        track.dimensions.len(),
        limits::DIMENSIONS,
    );
    too_large("spec.rules", track.rules.len(), limits::RULES);
    too_large(
        "spec.profiles.industries",
        track.profiles.industries.len(),
        limits::PROFILES,
    );
    too_large(
        "spec.profiles.roles",
        track.profiles.roles.len(),
        limits::PROFILES,
    );
    // The module is named, but its message only built when it is over a limit.
    for m in &track.modules {
        if m.exercises.len() > limits::EXERCISES {
            too_large(
                &format!("module {}: exercises", m.id),
                m.exercises.len(),
                limits::EXERCISES,
            );
        }
        if m.prerequisites.len() > limits::PREREQUISITES {
            too_large(
                &format!("module {}: prerequisites", m.id),
                m.prerequisites.len(),
                limits::PREREQUISITES,
            );
        }
    }
    if track.modules.is_empty() {
        problems.add(
            Reason::TooLarge,
            "spec.modules is empty (at least one module)".to_string(),
        );
    }
}

/// Module numbers follow id order: (module number -> position in the Track's list, id -> number).
pub(super) fn module_ids(
    track: &TrackSpec,
    problems: &mut Problems,
) -> (Vec<usize>, HashMap<String, usize>) {
    let mut order: Vec<usize> = (0..track.modules.len()).collect();
    order.sort_by(|&a, &b| track.modules[a].id.cmp(&track.modules[b].id));
    let mut module_by_id = HashMap::with_capacity(order.len());
    for (i, &at) in order.iter().enumerate() {
        let m = &track.modules[at];
        if module_by_id.insert(m.id.clone(), i).is_some() {
            problems.add(
                Reason::DuplicateId,
                format!("module id {:?} is used more than once", m.id),
            );
        }
    }
    (order, module_by_id)
}

/// Dimension id -> title; a dimension id must differ from every other dimension and module id.
pub(super) fn dimensions(
    track: &TrackSpec,
    module_by_id: &HashMap<String, usize>,
    problems: &mut Problems,
) -> HashMap<String, String> {
    let mut dimension_titles = HashMap::with_capacity(track.dimensions.len());
    for d in &track.dimensions {
        if dimension_titles
            .insert(d.id.clone(), d.title.clone())
            .is_some()
        {
            problems.add(
                Reason::DuplicateId,
                format!("dimension id {:?} is used more than once", d.id),
            );
        }
        if module_by_id.contains_key(d.id.as_str()) {
            problems.add(
                Reason::DuplicateId,
                format!("{:?} is both a module id and a dimension id, so weights and scores for it are ambiguous", d.id),
            );
        }
    }
    dimension_titles
}

/// What [`modules`] resolves for each module number.
pub(super) struct ModuleParts {
    /// Prerequisites as module numbers, sorted and deduplicated.
    pub prerequisites: Vec<Vec<usize>>,
    /// Exercise id -> (module number, position in the module's exercise list).
    pub exercise_by_id: HashMap<String, (usize, usize)>,
    /// Where each module's exercises start in a flat numbering of all exercises.
    pub exercise_base: Vec<usize>,
    /// How many exercises the Track has.
    pub exercises: usize,
    /// Sum of each module's exercise hours.
    pub exercise_hours: Vec<u32>,
}

/// Each module's dimension, hours, prerequisites and exercises.
pub(super) fn modules(
    modules: &[&Module],
    module_by_id: &HashMap<String, usize>,
    dimension_titles: &HashMap<String, String>,
    problems: &mut Problems,
) -> ModuleParts {
    let mut parts = ModuleParts {
        prerequisites: Vec::with_capacity(modules.len()),
        exercise_by_id: HashMap::with_capacity(modules.iter().map(|m| m.exercises.len()).sum()),
        exercise_base: Vec::with_capacity(modules.len()),
        exercises: 0,
        exercise_hours: Vec::with_capacity(modules.len()),
    };
    for (i, m) in modules.iter().enumerate() {
        if let Some(dim) = &m.dimension
            && !dimension_titles.contains_key(dim.as_str())
        {
            problems.add(
                Reason::UnknownDimension,
                format!("module {:?} names unknown dimension {:?}", m.id, dim),
            );
        }
        if m.hours > limits::MODULE_HOURS {
            problems.add(
                Reason::InvalidValue,
                format!(
                    "module {:?} has {} hours (at most {})",
                    m.id,
                    m.hours,
                    limits::MODULE_HOURS
                ),
            );
        }
        parts
            .prerequisites
            .push(prerequisites(m, module_by_id, problems));
        parts.exercise_base.push(parts.exercises);
        parts.exercises += m.exercises.len();
        // Saturating: out-of-range hours are reported below, and this must not overflow
        // before they are.
        parts.exercise_hours.push(
            m.exercises
                .iter()
                .fold(0u32, |sum, e| sum.saturating_add(e.hours)),
        );
        exercises(modules, i, &mut parts.exercise_by_id, problems);
    }
    parts
}

fn prerequisites(
    m: &Module,
    module_by_id: &HashMap<String, usize>,
    problems: &mut Problems,
) -> Vec<usize> {
    let mut prereqs = Vec::with_capacity(m.prerequisites.len());
    for p in &m.prerequisites {
        match module_by_id.get(p.as_str()) {
            Some(&j) => prereqs.push(j),
            None => problems.add(
                Reason::UnknownModule,
                format!("module {:?} needs unknown module {:?}", m.id, p),
            ),
        }
    }
    prereqs.sort_unstable();
    prereqs.dedup();
    prereqs
}

/// Registers module `i`'s exercises by id; an id is unique in the whole Track.
fn exercises(
    modules: &[&Module],
    i: usize,
    exercise_by_id: &mut HashMap<String, (usize, usize)>,
    problems: &mut Problems,
) {
    let m = modules[i];
    for (k, e) in m.exercises.iter().enumerate() {
        // The schema's range; the planner sums hours in u32 and must not overflow on a
        // file `learnpath plan` reads without the API server (found by fuzzing).
        if !(1..=limits::EXERCISE_HOURS).contains(&e.hours) {
            problems.add(
                Reason::InvalidValue,
                format!(
                    "exercise {:?} of module {:?} has {} hours (1 to {})",
                    e.id,
                    m.id,
                    e.hours,
                    limits::EXERCISE_HOURS
                ),
            );
        }
        if let Some((other, _)) = exercise_by_id.insert(e.id.clone(), (i, k)) {
            let where_ = if other == i {
                format!("twice in module {:?}", m.id)
            } else {
                format!("in modules {:?} and {:?}", modules[other].id, m.id)
            };
            problems.add(
                Reason::DuplicateId,
                format!("exercise id {:?} is used {where_}", e.id),
            );
        }
    }
}

/// Rule ids are unique, values finite, targets known modules, factors positive.
pub(super) fn rules(
    track: &TrackSpec,
    module_by_id: &HashMap<String, usize>,
    problems: &mut Problems,
) {
    let mut rule_ids = BTreeSet::new();
    for rule in &track.rules {
        if !rule_ids.insert(rule.id.as_str()) {
            problems.add(
                Reason::DuplicateId,
                format!("rule id {:?} is used more than once", rule.id),
            );
        }
        for c in &rule.when {
            if !c.value.is_finite() {
                problems.add(
                    Reason::InvalidValue,
                    format!(
                        "rule {:?} compares {:?} with a value that is not a finite number",
                        rule.id, c.signal
                    ),
                );
            }
        }
        let targets = [
            rule.then.boost.as_ref().map(|b| &b.module),
            rule.then.prioritize.as_ref().map(|p| &p.module),
        ];
        for module in targets.into_iter().flatten() {
            if !module_by_id.contains_key(module.as_str()) {
                problems.add(
                    Reason::UnknownModule,
                    format!("rule {:?} names unknown module {:?}", rule.id, module),
                );
            }
        }
        if let Some(b) = &rule.then.boost
            && !(b.factor.is_finite() && b.factor > 0.0)
        {
            problems.add(
                Reason::InvalidValue,
                format!(
                    "rule {:?} boosts by {}, which is not a positive finite number",
                    rule.id, b.factor
                ),
            );
        }
    }
}

/// Weight keys name modules or dimensions; weights are finite and not negative.
pub(super) fn profiles(
    track: &TrackSpec,
    module_by_id: &HashMap<String, usize>,
    dimension_titles: &HashMap<String, String>,
    problems: &mut Problems,
) {
    for (kind, profiles) in [
        ("industries", &track.profiles.industries),
        ("roles", &track.profiles.roles),
    ] {
        for (name, profile) in profiles {
            for (key, w) in &profile.weights {
                if !module_by_id.contains_key(key.as_str())
                    && !dimension_titles.contains_key(key.as_str())
                {
                    problems.add(Reason::UnknownModule, format!("profile {kind}.{name} weighs {key:?}, which is neither a module nor a dimension"));
                }
                if !(w.is_finite() && *w >= 0.0) {
                    problems.add(Reason::InvalidValue, format!("profile {kind}.{name} gives {key:?} weight {w}, which is not a finite number >= 0"));
                }
            }
        }
    }
}

/// Every remedial entry names an exercise, and a remedy that is an exercise or a module.
pub(super) fn struggle(
    track: &TrackSpec,
    module_by_id: &HashMap<String, usize>,
    exercise_by_id: &HashMap<String, (usize, usize)>,
    problems: &mut Problems,
) {
    let Some(struggle) = &track.struggle else {
        return;
    };
    for (exercise, remedy) in &struggle.remedial {
        if !exercise_by_id.contains_key(exercise.as_str()) {
            problems.add(
                Reason::UnknownExercise,
                format!("struggle.remedial names unknown exercise {exercise:?}"),
            );
        }
        if !exercise_by_id.contains_key(remedy.as_str())
            && !module_by_id.contains_key(remedy.as_str())
        {
            problems.add(Reason::UnknownModule, format!("struggle.remedial remedy {remedy:?} for {exercise:?} is neither an exercise nor a module"));
        }
    }
}

/// The skills transfers credit from, and the transfers to each module sorted by skill (then
/// ratio), so that the chosen source does not depend on the order they are listed in.
pub(super) fn transfers(
    track: &TrackSpec,
    module_by_id: &HashMap<String, usize>,
    modules: usize,
    problems: &mut Problems,
) -> (HashSet<String>, Vec<Vec<usize>>) {
    let mut skills = HashSet::new();
    let mut transfers_to = vec![Vec::new(); modules];
    for (k, t) in track.transfers.iter().enumerate() {
        skills.insert(t.from.clone());
        match module_by_id.get(t.to.as_str()) {
            Some(&m) => transfers_to[m].push(k),
            None => problems.add(
                Reason::UnknownModule,
                format!(
                    "transfer from {:?} credits unknown module {:?}",
                    t.from, t.to
                ),
            ),
        }
        if !(t.ratio.is_finite() && (0.0..=1.0).contains(&t.ratio)) {
            problems.add(
                Reason::InvalidValue,
                format!(
                    "transfer {:?} -> {:?} has ratio {}, which is not between 0 and 1",
                    t.from, t.to, t.ratio
                ),
            );
        }
    }
    let t = &track.transfers;
    for list in &mut transfers_to {
        list.sort_by(|&x, &y| {
            t[x].from
                .cmp(&t[y].from)
                .then(t[x].ratio.total_cmp(&t[y].ratio))
        });
    }
    (skills, transfers_to)
}

pub(super) fn mastery_threshold(track: &TrackSpec, problems: &mut Problems) {
    if track.mastery_threshold > 100 {
        problems.add(
            Reason::InvalidValue,
            format!("masteryThreshold {} is above 100", track.mastery_threshold),
        );
    }
}

/// The struggle rule's window, when the Track sets a valid one.
pub(super) fn struggle_window(
    track: &TrackSpec,
    problems: &mut Problems,
) -> Option<SignedDuration> {
    let text = track.struggle.as_ref()?.window.as_ref()?;
    match parse_duration(text) {
        Ok(window) => Some(window),
        Err(e) => {
            problems.add(Reason::InvalidValue, format!("struggle.window: {e}"));
            None
        }
    }
}
