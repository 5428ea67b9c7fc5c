//! Validated views of the inputs: a Track's once per Track ([`TrackIndex`]), and a learner's on
//! top of it for one plan ([`Index`]). Every id is resolved and every number checked, so the
//! planning steps after [`Index::build`] have no error paths.
//!
//! The Track's half is all the work that does not depend on the learner (about half of a plan of
//! the go-engineer Track when it was redone for every learner): the controller keeps it per Track
//! generation and plans every learner of a fan-out against the same one.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::api::{LearningPathSpec, Module, Profile, TrackSpec, limits};

use super::invalid::{Invalid, Problem, Reason};

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
}

impl TrackIndex {
    /// Resolves and checks a Track on its own, collecting every problem rather than the first.
    pub fn build(track: &TrackSpec) -> Self {
        let mut sizes = Problems::default();
        check_track_sizes(track, &mut sizes);
        if !sizes.0.is_empty() {
            return TrackIndex {
                sizes: sizes.0,
                ..TrackIndex::default()
            };
        }
        let mut problems = Problems::default();

        let mut order: Vec<usize> = (0..track.modules.len()).collect();
        order.sort_by(|&a, &b| track.modules[a].id.cmp(&track.modules[b].id));
        let modules: Vec<&Module> = order.iter().map(|&i| &track.modules[i]).collect();
        let mut module_by_id = HashMap::with_capacity(modules.len());
        for (i, m) in modules.iter().enumerate() {
            if module_by_id.insert(m.id.clone(), i).is_some() {
                problems.add(
                    Reason::DuplicateId,
                    format!("module id {:?} is used more than once", m.id),
                );
            }
        }

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

        let mut exercise_by_id =
            HashMap::with_capacity(track.modules.iter().map(|m| m.exercises.len()).sum());
        let mut exercise_base = Vec::with_capacity(modules.len());
        let mut exercise_hours = Vec::with_capacity(modules.len());
        let mut exercises = 0;
        let mut prerequisites = Vec::with_capacity(modules.len());
        for (i, m) in modules.iter().enumerate() {
            if let Some(dim) = &m.dimension
                && !dimension_titles.contains_key(dim.as_str())
            {
                problems.add(
                    Reason::UnknownDimension,
                    format!("module {:?} names unknown dimension {:?}", m.id, dim),
                );
            }
            if m.hours > 10_000 {
                problems.add(
                    Reason::InvalidValue,
                    format!("module {:?} has {} hours (at most 10000)", m.id, m.hours),
                );
            }
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
            prerequisites.push(prereqs);
            exercise_base.push(exercises);
            exercises += m.exercises.len();
            // Saturating: out-of-range hours are reported below, and this must not overflow
            // before they are.
            exercise_hours.push(
                m.exercises
                    .iter()
                    .fold(0u32, |sum, e| sum.saturating_add(e.hours)),
            );
            for (k, e) in m.exercises.iter().enumerate() {
                // The schema's range; the planner sums hours in u32 and must not overflow on a
                // file `learnpath plan` reads without the API server (found by fuzzing).
                if !(1..=1000).contains(&e.hours) {
                    problems.add(
                        Reason::InvalidValue,
                        format!(
                            "exercise {:?} of module {:?} has {} hours (1 to 1000)",
                            e.id, m.id, e.hours
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

        if let Some(struggle) = &track.struggle {
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

        let mut skills = HashSet::new();
        let mut transfers_to = vec![Vec::new(); modules.len()];
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
        for list in &mut transfers_to {
            let t = &track.transfers;
            list.sort_by(|&x, &y| {
                t[x].from
                    .cmp(&t[y].from)
                    .then(t[x].ratio.total_cmp(&t[y].ratio))
            });
        }

        if track.mastery_threshold > 100 {
            problems.add(
                Reason::InvalidValue,
                format!("masteryThreshold {} is above 100", track.mastery_threshold),
            );
        }

        let weights = |profiles: &std::collections::BTreeMap<String, Profile>| {
            profiles
                .keys()
                .map(|name| (name.clone(), OnceLock::new()))
                .collect()
        };
        let industry_weights = weights(&track.profiles.industries);
        let role_weights = weights(&track.profiles.roles);

        let (cycles, topological) = if problems.0.is_empty() {
            let cycles = cycles(&modules, &prerequisites)
                .into_iter()
                .map(|cycle| Problem {
                    reason: Reason::PrerequisiteCycle,
                    message: format!("prerequisite cycle: {}", cycle.join(" -> ")),
                })
                .collect();
            (cycles, topological(&prerequisites))
        } else {
            (Vec::new(), Vec::new())
        };

        TrackIndex {
            sizes: Vec::new(),
            problems: problems.0,
            cycles,
            order,
            module_by_id,
            prerequisites,
            topological,
            exercise_by_id,
            exercise_base,
            exercises,
            dimension_titles,
            skills,
            exercise_hours,
            transfers_to,
            industry_weights,
            role_weights,
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
    /// rather than the first.
    pub fn build(
        track: &'a TrackSpec,
        shared: &'a TrackIndex,
        spec: &'a LearningPathSpec,
    ) -> Result<Self, Invalid> {
        let mut sizes = Problems(shared.sizes.clone());
        check_learner_sizes(spec, &mut sizes);
        // Over a count limit, nothing else is checked.
        if let Some(invalid) = Invalid::from_problems(sizes.0) {
            return Err(invalid);
        }
        let mut problems = Problems(shared.problems.clone());
        let module_by_id = &shared.module_by_id;
        let dimension_titles = &shared.dimension_titles;
        let exercise_by_id = &shared.exercise_by_id;

        for (kind, key, profiles) in [
            ("industry", &spec.industry, &track.profiles.industries),
            ("role", &spec.role, &track.profiles.roles),
        ] {
            if let Some(key) = key
                && !profiles.contains_key(key)
            {
                let known = profiles
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                let known = if known.is_empty() {
                    "none".to_string()
                } else {
                    known
                };
                problems.add(
                    Reason::UnknownProfile,
                    format!("{kind} {key:?} is not a profile of the Track (known: {known})"),
                );
            }
        }
        let unknown_scores: Vec<&str> = spec
            .assessment
            .keys()
            .map(String::as_str)
            .filter(|k| {
                !module_by_id.contains_key(*k)
                    && !dimension_titles.contains_key(*k)
                    && !shared.skills.contains(*k)
            })
            .collect();
        if !unknown_scores.is_empty() {
            problems.add(
                Reason::UnknownModule,
                format!("assessment names {}, which are not modules, dimensions or transferable skills of the Track", unknown_scores.join(", ")),
            );
        }
        for (k, v) in &spec.assessment {
            if *v > 100 {
                problems.add(
                    Reason::InvalidValue,
                    format!("assessment of {k:?} is {v} (at most 100)"),
                );
            }
        }
        let mut completed = vec![false; shared.exercises];
        // Sorted and deduplicated: the message must not depend on the order of the list.
        let mut unknown_done = BTreeSet::new();
        for e in &spec.completed_exercises {
            match exercise_by_id.get(e.as_str()) {
                Some(&(m, k)) => completed[shared.exercise_base[m] + k] = true,
                None => {
                    unknown_done.insert(e.as_str());
                }
            }
        }
        if !unknown_done.is_empty() {
            problems.add(
                Reason::UnknownExercise,
                format!(
                    "completedExercises names unknown exercises {}",
                    unknown_done.into_iter().collect::<Vec<_>>().join(", ")
                ),
            );
        }
        for s in &spec.struggles {
            if !exercise_by_id.contains_key(s.exercise.as_str()) {
                problems.add(
                    Reason::UnknownExercise,
                    format!("struggles names unknown exercise {:?}", s.exercise),
                );
            }
        }
        for (name, v) in &spec.signals {
            if !v.is_finite() {
                problems.add(
                    Reason::InvalidValue,
                    format!("signal {name:?} is {v}, not a finite number"),
                );
            }
        }
        if spec.hours_per_week == 0 || spec.hours_per_week > 168 {
            problems.add(
                Reason::InvalidValue,
                format!("hoursPerWeek is {} (1 to 168)", spec.hours_per_week),
            );
        }
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
            module_by_id,
            prerequisites: &shared.prerequisites,
            exercise_by_id,
            dimension_titles,
            completed,
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

/// Up to a few prerequisite cycles, each as the ids along it with the first repeated at the end.
fn cycles<'t>(modules: &[&'t Module], prerequisites: &[Vec<usize>]) -> Vec<Vec<&'t str>> {
    const MAX_REPORTED: usize = 5;
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let n = modules.len();
    let mut mark = vec![Mark::New; n];
    let mut found = Vec::new();
    // Iterative DFS: a hostile Track must not be able to overflow the stack.
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::OnStack;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&p) = prerequisites[node].get(*next) {
                *next += 1;
                match mark[p] {
                    Mark::New => {
                        mark[p] = Mark::OnStack;
                        stack.push((p, 0));
                    }
                    Mark::OnStack => {
                        if found.len() < MAX_REPORTED {
                            let start = stack.iter().position(|&(x, _)| x == p).unwrap_or(0);
                            let mut cycle: Vec<&str> = stack[start..]
                                .iter()
                                .map(|&(x, _)| modules[x].id.as_str())
                                .collect();
                            cycle.push(modules[p].id.as_str());
                            found.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    found
}

/// Module numbers of all modules, prerequisites before the modules that need them. Modules on
/// a cycle are left out (a Track with a cycle is never planned).
fn topological(prerequisites: &[Vec<usize>]) -> Vec<usize> {
    let n = prerequisites.len();
    let mut dependents = vec![Vec::new(); n];
    let mut missing = vec![0usize; n];
    for (m, prereqs) in prerequisites.iter().enumerate() {
        missing[m] = prereqs.len();
        for &p in prereqs {
            dependents[p].push(m);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&m| missing[m] == 0).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(m) = ready.pop() {
        out.push(m);
        for &d in &dependents[m] {
            missing[d] -= 1;
            if missing[d] == 0 {
                ready.push(d);
            }
        }
    }
    out
}

/// Problems found so far.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, reason: Reason, message: String) {
        self.0.push(Problem { reason, message });
    }
}

fn check_track_sizes(track: &TrackSpec, problems: &mut Problems) {
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

fn check_learner_sizes(spec: &LearningPathSpec, problems: &mut Problems) {
    let len = spec.completed_exercises.len();
    if len > 5000 {
        problems.add(
            Reason::TooLarge,
            format!("spec.completedExercises has {len} entries (at most 5000)"),
        );
    }
}
