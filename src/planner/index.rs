//! A validated view of a Track and a LearningPath spec: every id resolved, every number checked.
//!
//! Everything after [`Index::build`] may assume the inputs are consistent, so the planning steps
//! themselves have no error paths.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{LearningPathSpec, Module, TrackSpec, limits};

use super::invalid::{Invalid, Problem, Reason};

/// Resolved inputs of one plan.
pub(crate) struct Index<'a> {
    pub track: &'a TrackSpec,
    pub spec: &'a LearningPathSpec,
    /// Modules sorted by id; positions in this vector are the module numbers used everywhere else.
    pub modules: Vec<&'a Module>,
    pub module_by_id: BTreeMap<&'a str, usize>,
    /// Prerequisites of each module, as module numbers, sorted.
    pub prerequisites: Vec<Vec<usize>>,
    /// Exercise id -> (module number, position in the module's exercise list).
    pub exercise_by_id: BTreeMap<&'a str, (usize, usize)>,
    pub dimension_titles: BTreeMap<&'a str, &'a str>,
    pub completed: BTreeSet<&'a str>,
}

impl<'a> Index<'a> {
    /// Resolves and checks both inputs, collecting every problem rather than the first.
    pub fn build(track: &'a TrackSpec, spec: &'a LearningPathSpec) -> Result<Self, Invalid> {
        let mut problems = Problems::default();
        check_sizes(track, spec, &mut problems);
        if let Some(invalid) = Invalid::from_problems(std::mem::take(&mut problems.0)) {
            return Err(invalid);
        }

        let mut modules: Vec<&Module> = track.modules.iter().collect();
        modules.sort_by(|a, b| a.id.cmp(&b.id));
        let mut module_by_id = BTreeMap::new();
        for (i, m) in modules.iter().enumerate() {
            if module_by_id.insert(m.id.as_str(), i).is_some() {
                problems.add(
                    Reason::DuplicateId,
                    format!("module id {:?} is used more than once", m.id),
                );
            }
        }

        let mut dimension_titles = BTreeMap::new();
        for d in &track.dimensions {
            if dimension_titles
                .insert(d.id.as_str(), d.title.as_str())
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

        let mut exercise_by_id = BTreeMap::new();
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
                if let Some((other, _)) = exercise_by_id.insert(e.id.as_str(), (i, k)) {
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

        let mut skills = BTreeSet::new();
        for t in &track.transfers {
            skills.insert(t.from.as_str());
            if !module_by_id.contains_key(t.to.as_str()) {
                problems.add(
                    Reason::UnknownModule,
                    format!(
                        "transfer from {:?} credits unknown module {:?}",
                        t.from, t.to
                    ),
                );
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

        if track.mastery_threshold > 100 {
            problems.add(
                Reason::InvalidValue,
                format!("masteryThreshold {} is above 100", track.mastery_threshold),
            );
        }

        // The learner's side.
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
                !module_by_id.contains_key(k)
                    && !dimension_titles.contains_key(k)
                    && !skills.contains(k)
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
        // Sorted and deduplicated: the message must not depend on the order of the list.
        let unknown_done: Vec<&str> = spec
            .completed_exercises
            .iter()
            .map(String::as_str)
            .filter(|e| !exercise_by_id.contains_key(e))
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .collect();
        if !unknown_done.is_empty() {
            problems.add(
                Reason::UnknownExercise,
                format!(
                    "completedExercises names unknown exercises {}",
                    unknown_done.join(", ")
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

        let index = Index {
            track,
            spec,
            modules,
            module_by_id,
            prerequisites,
            exercise_by_id,
            dimension_titles,
            completed: spec
                .completed_exercises
                .iter()
                .map(String::as_str)
                .collect(),
        };
        if problems.0.is_empty() {
            for cycle in index.cycles() {
                problems.add(
                    Reason::PrerequisiteCycle,
                    format!("prerequisite cycle: {}", cycle.join(" -> ")),
                );
            }
        }
        match Invalid::from_problems(problems.0) {
            Some(invalid) => Err(invalid),
            None => Ok(index),
        }
    }

    /// Up to a few prerequisite cycles, each as the ids along it with the first repeated at the end.
    fn cycles(&self) -> Vec<Vec<&'a str>> {
        const MAX_REPORTED: usize = 5;
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnStack,
            Done,
        }
        let n = self.modules.len();
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
                if let Some(&p) = self.prerequisites[node].get(*next) {
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
                                    .map(|&(x, _)| self.modules[x].id.as_str())
                                    .collect();
                                cycle.push(self.modules[p].id.as_str());
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
}

/// Problems found so far.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, reason: Reason, message: String) {
        self.0.push(Problem { reason, message });
    }
}

fn check_sizes(track: &TrackSpec, spec: &LearningPathSpec, problems: &mut Problems) {
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
    // The module is named, but its message only built when it is over a limit: this runs on
    // every plan.
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
    too_large(
        "spec.completedExercises",
        spec.completed_exercises.len(),
        5000,
    );
    if track.modules.is_empty() {
        problems.add(
            Reason::TooLarge,
            "spec.modules is empty (at least one module)".to_string(),
        );
    }
}
