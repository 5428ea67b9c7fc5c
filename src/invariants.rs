//! Invariants of [`planner::plan`], written once for every test that checks them: the property
//! tests (`tests/planner_properties.rs`) and the planner fuzz target (`fuzz/fuzz_targets/planner.rs`).
//! Behind the `invariants` feature and not part of the API.
//!
//! Each check panics with a message naming what broke: a panic is what the fuzzer looks for, and
//! proptest reports and shrinks a panicking case like a failed assertion.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "an invariant that does not hold stops the test or the fuzzer, with its message"
)]

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{LearningPathSpec, Module, ModuleState, TrackSpec};
use crate::planner::{self, Invalid, Plan};

/// Every invariant of a plan that `plan(track, spec)` returned: cheap to check, and each one
/// could fail.
pub fn check(track: &TrackSpec, spec: &LearningPathSpec, plan: &Plan) {
    assert_eq!(
        modules(track).len(),
        track.modules.len(),
        "planned with duplicate module ids"
    );
    let hours_per_week = spec.hours_per_week;
    assert!(
        (1..=168).contains(&hours_per_week),
        "planned with hoursPerWeek {hours_per_week}"
    );
    modules_partitioned(track, spec, plan);
    prerequisites_respected(track, plan);
    stages_and_progress(spec, plan);
    frozen_exercises(track, spec, plan);
    next_exercises_open(track, spec, plan);
    triggered_rules_hold(track, spec, plan);
    assert!(!plan.summary.is_empty());
}

/// Reordering every input list whose order carries no meaning does not change `result`, what
/// `plan(track, spec)` returned, whatever it is (README.md: same inputs, same bytes). `k` picks
/// the reordering.
pub fn order_independent(
    track: &TrackSpec,
    spec: &LearningPathSpec,
    result: &Result<Plan, Invalid>,
    k: usize,
) {
    let (track2, spec2) = reordered(track, spec, k);
    let again = planner::plan(&track2, &spec2);
    if *result != again {
        panic!(
            "reordering the input lists changed the result\n before: {result:?}\n after: {again:?}"
        );
    }
}

/// The same inputs with every list whose order carries no meaning reordered. (The order of a
/// module's exercises is meaningful: it is the order the author suggests doing them in.)
pub fn reordered(
    track: &TrackSpec,
    spec: &LearningPathSpec,
    k: usize,
) -> (TrackSpec, LearningPathSpec) {
    fn shuffle<T>(v: &mut [T], k: usize) {
        if !v.is_empty() {
            v.rotate_left(k % v.len());
            v.reverse();
        }
    }
    let (mut track, mut spec) = (track.clone(), spec.clone());
    shuffle(&mut track.modules, k);
    for m in &mut track.modules {
        shuffle(&mut m.prerequisites, k);
    }
    shuffle(&mut track.dimensions, k);
    shuffle(&mut track.rules, k);
    for r in &mut track.rules {
        shuffle(&mut r.when, k);
    }
    shuffle(&mut track.transfers, k);
    shuffle(&mut spec.completed_exercises, k);
    shuffle(&mut spec.struggles, k);
    (track, spec)
}

fn modules(track: &TrackSpec) -> BTreeMap<&str, &Module> {
    track.modules.iter().map(|m| (m.id.as_str(), m)).collect()
}

fn mastered(plan: &Plan) -> BTreeSet<&str> {
    plan.mastered.iter().map(String::as_str).collect()
}

fn strictly_sorted<T: Ord>(v: impl IntoIterator<Item = T>) -> bool {
    let v: Vec<T> = v.into_iter().collect();
    v.windows(2).all(|w| w[0] < w[1])
}

/// No planned module comes before a prerequisite that is not mastered.
pub fn prerequisites_respected(track: &TrackSpec, plan: &Plan) {
    let modules = modules(track);
    let mastered = mastered(plan);
    let mut placed = BTreeSet::new();
    for pm in plan.stages.iter().flat_map(|s| &s.modules) {
        let m = modules.get(pm.id.as_str()).expect("planned module exists");
        for p in &m.prerequisites {
            assert!(
                mastered.contains(p.as_str()) || placed.contains(p.as_str()),
                "{} is planned before its prerequisite {p}",
                pm.id
            );
        }
        placed.insert(pm.id.as_str());
    }
}

/// Planned, mastered and optional partition the modules: each once, done modules mastered and
/// never planned, a planned module's state, hours and title those of its module.
pub fn modules_partitioned(track: &TrackSpec, spec: &LearningPathSpec, plan: &Plan) {
    let modules = modules(track);
    let mastered = mastered(plan);
    let optional: BTreeSet<&str> = plan.optional.iter().map(String::as_str).collect();
    assert!(
        strictly_sorted(&plan.mastered),
        "mastered not sorted/unique: {:?}",
        plan.mastered
    );
    assert!(
        strictly_sorted(&plan.optional),
        "optional not sorted/unique: {:?}",
        plan.optional
    );
    assert!(
        mastered.is_disjoint(&optional),
        "mastered and optional overlap"
    );
    for id in mastered.iter().chain(&optional) {
        assert!(
            modules.contains_key(id),
            "unknown module {id:?} in the plan"
        );
    }

    let mut placed = BTreeSet::new();
    for pm in plan.stages.iter().flat_map(|s| &s.modules) {
        let m = modules.get(pm.id.as_str()).expect("planned module exists");
        assert!(
            !mastered.contains(pm.id.as_str()),
            "{} is mastered and planned",
            pm.id
        );
        assert!(
            !optional.contains(pm.id.as_str()),
            "{} is optional and planned",
            pm.id
        );
        assert!(placed.insert(pm.id.as_str()), "{} is planned twice", pm.id);
        let met = m
            .prerequisites
            .iter()
            .all(|p| mastered.contains(p.as_str()));
        assert_eq!(
            pm.state == ModuleState::Locked,
            !met,
            "{} has state {:?}",
            pm.id,
            pm.state
        );
        assert!(
            pm.hours <= m.hours,
            "{}: {} remaining of {} hours",
            pm.id,
            pm.hours,
            m.hours
        );
        assert_eq!(pm.title, m.title);
    }
    assert_eq!(
        placed.len() + mastered.len() + optional.len(),
        track.modules.len(),
        "planned, mastered and optional do not partition the modules"
    );
    for (id, m) in &modules {
        let all_done = !m.exercises.is_empty()
            && m.exercises
                .iter()
                .all(|e| spec.completed_exercises.contains(&e.id));
        let scored = spec
            .assessment
            .get(*id)
            .is_some_and(|&s| s >= track.mastery_threshold);
        if all_done || scored {
            assert!(mastered.contains(id), "{id} is done but not mastered");
        }
    }
}

/// Stages are non-empty, their hours add up, and they last at most four weeks unless they hold
/// a single module; progress and the estimate follow from them.
pub fn stages_and_progress(spec: &LearningPathSpec, plan: &Plan) {
    let hours_per_week = spec.hours_per_week;
    let cap = 4 * hours_per_week;
    let mut total = 0u64;
    let mut placed = 0usize;
    for s in &plan.stages {
        assert!(!s.modules.is_empty(), "empty stage {}", s.name);
        let sum: u64 = s.modules.iter().map(|m| u64::from(m.hours)).sum();
        assert_eq!(u64::from(s.hours), sum, "stage {} hours", s.name);
        assert!(
            s.modules.len() == 1 || s.hours <= cap,
            "stage {} over {cap} h",
            s.name
        );
        total += sum;
        placed += s.modules.len();
    }

    let p = &plan.progress;
    assert_eq!(u64::from(p.remaining_hours), total, "remainingHours");
    assert!(p.percent <= 100, "percent {}", p.percent);
    if p.remaining_hours == 0 {
        assert_eq!(p.percent, 100, "nothing left but not 100%");
    }
    let mastered = plan.mastered.len();
    assert_eq!(p.completed_modules as usize, mastered);
    assert_eq!(p.total_modules as usize, mastered + placed);
    assert_eq!(
        plan.estimated_weeks,
        p.remaining_hours.div_ceil(hours_per_week)
    );
}

/// Frozen exercises: sorted, failed often enough, not done, and in the module named.
pub fn frozen_exercises(track: &TrackSpec, spec: &LearningPathSpec, plan: &Plan) {
    let modules = modules(track);
    let max_failures = track.struggle.as_ref().map_or(3, |s| s.max_failures);
    assert!(strictly_sorted(
        plan.frozen_exercises.iter().map(|f| &f.exercise)
    ));
    for f in &plan.frozen_exercises {
        assert!(
            f.failures >= max_failures,
            "{} frozen after {}",
            f.exercise,
            f.failures
        );
        assert!(
            !spec.completed_exercises.contains(&f.exercise),
            "{} done and frozen",
            f.exercise
        );
        let m = modules
            .get(f.module.as_str())
            .expect("frozen exercise's module exists");
        assert!(
            m.exercises.iter().any(|e| e.id == f.exercise),
            "{} not in {}",
            f.exercise,
            f.module
        );
    }
}

/// Next exercises: open, unlocked, not frozen, within the limit, each once, as their module
/// describes them.
pub fn next_exercises_open(track: &TrackSpec, spec: &LearningPathSpec, plan: &Plan) {
    let modules = modules(track);
    let mastered = mastered(plan);
    let frozen: BTreeSet<&str> = plan
        .frozen_exercises
        .iter()
        .map(|f| f.exercise.as_str())
        .collect();
    let limit = if spec.paused {
        0
    } else {
        spec.next_exercises_limit as usize
    };
    assert!(
        plan.next_exercises.len() <= limit,
        "{} next exercises, limit {limit}",
        plan.next_exercises.len()
    );
    let mut listed = BTreeSet::new();
    for n in &plan.next_exercises {
        assert!(
            listed.insert(n.exercise.as_str()),
            "{} listed twice",
            n.exercise
        );
        let m = modules
            .get(n.module.as_str())
            .expect("next exercise's module exists");
        let e = m
            .exercises
            .iter()
            .find(|e| e.id == n.exercise)
            .expect("next exercise is in its module");
        assert_eq!((e.hours, &e.title), (n.hours, &n.title));
        assert!(
            !spec.completed_exercises.contains(&n.exercise),
            "{} done and next",
            n.exercise
        );
        assert!(
            !frozen.contains(n.exercise.as_str()),
            "{} frozen and next",
            n.exercise
        );
        assert!(
            m.prerequisites
                .iter()
                .all(|p| mastered.contains(p.as_str())),
            "{} next but {} is locked",
            n.exercise,
            n.module
        );
        assert!(!n.reason.is_empty());
    }
}

/// Triggered rules: sorted, and every condition of each holds.
pub fn triggered_rules_hold(track: &TrackSpec, spec: &LearningPathSpec, plan: &Plan) {
    assert!(strictly_sorted(
        plan.triggered_rules.iter().map(|r| &r.rule)
    ));
    for t in &plan.triggered_rules {
        let rule = track
            .rules
            .iter()
            .find(|r| r.id == t.rule)
            .expect("triggered rule exists");
        for c in &rule.when {
            let v = spec.signals.get(&c.signal).copied();
            assert!(
                v.is_some_and(|v| c.operator.holds(v, c.value)),
                "{} fired, {c:?} does not hold",
                t.rule
            );
        }
    }
}
