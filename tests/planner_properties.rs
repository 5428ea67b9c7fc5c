//! Invariants of the planner over generated curricula (proptest). The invariants themselves are
//! `learnpath::invariants`, which the planner fuzz target checks too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

use std::collections::{BTreeMap, BTreeSet};

use learnpath::api::{
    Boost, Exercise, Learner, LearningPathSpec, Module, Operator, Prioritize, Profile, Profiles,
    RuleAction, SignalCondition, StruggleEntry, TrackRef, TrackRule, TrackSpec,
};
use learnpath::invariants;
use learnpath::planner::{self, Reason};
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Case {
    track: TrackSpec,
    spec: LearningPathSpec,
}

fn module(i: usize, prereqs: Vec<usize>, exercises: usize, hours: u32) -> Module {
    Module {
        id: format!("m{i}"),
        title: format!("Module {i}"),
        dimension: Some(if i.is_multiple_of(2) {
            "even".into()
        } else {
            "odd".into()
        }),
        hours,
        prerequisites: prereqs.into_iter().map(|p| format!("m{p}")).collect(),
        exercises: (0..exercises)
            .map(|k| Exercise {
                id: format!("e{i}-{k}"),
                title: format!("Exercise {i}.{k}"),
                hours: 1 + (k as u32 % 3),
                difficulty: None,
                url: None,
            })
            .collect(),
    }
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..25).prop_flat_map(|n| {
        let modules = (0..n)
            .map(|i| {
                (
                    proptest::collection::vec(0..i.max(1), 0..3.min(i + 1)),
                    0usize..4,
                    0u32..40,
                )
                    .prop_map(move |(prereqs, ex, hours)| {
                        let prereqs = if i == 0 {
                            vec![]
                        } else {
                            prereqs
                                .into_iter()
                                .collect::<BTreeSet<_>>()
                                .into_iter()
                                .collect()
                        };
                        module(i, prereqs, ex, hours)
                    })
            })
            .collect::<Vec<_>>();
        (
            modules,
            proptest::collection::btree_map(0..n, 0u8..=100, 0..n),
            proptest::collection::btree_map(0..n, prop_oneof![Just(0.0), 0.1f64..5.0], 0..n),
            proptest::collection::vec((0..n, 0usize..4), 0..n * 2),
            proptest::collection::vec((0..n, 1.0f64..4.0, 0.0f64..100.0, any::<bool>()), 0..4),
            0.0f64..100.0,
            1u32..20,
            proptest::collection::vec((0..n, 0usize..4, 0u32..6), 0..3),
        )
            .prop_map(
                move |(modules, scores, weights, done, rules, signal, hpw, struggles)| {
                    let exercise_exists = |m: usize, k: usize| modules[m].exercises.len() > k;
                    let completed: BTreeSet<String> = done
                        .iter()
                        .filter(|(m, k)| exercise_exists(*m, *k))
                        .map(|(m, k)| format!("e{m}-{k}"))
                        .collect();
                    let rules = rules
                        .iter()
                        .enumerate()
                        .map(|(r, (m, factor, threshold, prioritize))| TrackRule {
                            id: format!("r{r}"),
                            when: vec![SignalCondition {
                                signal: "load".into(),
                                operator: Operator::Ge,
                                value: *threshold,
                            }],
                            then: RuleAction {
                                boost: (!prioritize).then(|| Boost {
                                    module: format!("m{m}"),
                                    factor: *factor,
                                }),
                                prioritize: prioritize.then(|| Prioritize {
                                    module: format!("m{m}"),
                                }),
                                recommend: None,
                            },
                            message: format!("rule {r}"),
                        })
                        .collect();
                    let track = TrackSpec {
                        title: "generated".into(),
                        description: None,
                        mastery_threshold: 80,
                        dimensions: vec![
                            learnpath::api::Dimension {
                                id: "even".into(),
                                title: "Even".into(),
                            },
                            learnpath::api::Dimension {
                                id: "odd".into(),
                                title: "Odd".into(),
                            },
                        ],
                        modules: modules.clone(),
                        profiles: Profiles {
                            industries: BTreeMap::from([(
                                "x".to_string(),
                                Profile {
                                    weights: weights
                                        .iter()
                                        .map(|(m, w)| (format!("m{m}"), *w))
                                        .collect(),
                                },
                            )]),
                            roles: BTreeMap::new(),
                        },
                        rules,
                        struggle: None,
                        transfers: vec![],
                    };
                    let spec = LearningPathSpec {
                        track_ref: TrackRef {
                            name: "generated".into(),
                        },
                        learner: Learner {
                            name: "L".into(),
                            email: None,
                        },
                        industry: Some("x".into()),
                        role: None,
                        assessment: scores.iter().map(|(m, s)| (format!("m{m}"), *s)).collect(),
                        completed_exercises: completed.into_iter().collect(),
                        signals: BTreeMap::from([("load".to_string(), signal)]),
                        struggles: struggles
                            .iter()
                            .filter(|(m, k, _)| exercise_exists(*m, *k))
                            .map(|(m, k, f)| (format!("e{m}-{k}"), *f))
                            .collect::<BTreeMap<_, _>>()
                            .into_iter()
                            .map(|(exercise, failures)| StruggleEntry {
                                exercise,
                                failures,
                                failed_at: Vec::new(),
                            })
                            .collect(),
                        hours_per_week: hpw,
                        next_exercises_limit: 5,
                        paused: false,
                    };
                    Case { track, spec }
                },
            )
    })
}

fn status_json(track: &TrackSpec, spec: &LearningPathSpec) -> String {
    match planner::plan(track, spec) {
        Ok(plan) => serde_json::to_string(&(
            &plan.stages,
            &plan.mastered,
            &plan.optional,
            &plan.next_exercises,
            &plan.triggered_rules,
            &plan.frozen_exercises,
            &plan.progress,
            &plan.summary,
        ))
        .unwrap(),
        Err(e) => format!("invalid: {e}"),
    }
}

// A broken invariant panics naming it; proptest reports and shrinks a panicking case like a
// failed assertion.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_plan_satisfies_every_invariant(c in case()) {
        let plan = planner::plan(&c.track, &c.spec).unwrap();
        invariants::check(&c.track, &c.spec, &plan);
    }

    #[test]
    fn prerequisites_are_always_respected(c in case()) {
        let plan = planner::plan(&c.track, &c.spec).unwrap();
        invariants::prerequisites_respected(&c.track, &plan);
    }

    #[test]
    fn done_modules_are_never_scheduled(c in case()) {
        let plan = planner::plan(&c.track, &c.spec).unwrap();
        invariants::modules_partitioned(&c.track, &c.spec, &plan);
    }

    #[test]
    fn next_exercises_are_open_and_unlocked(c in case()) {
        let plan = planner::plan(&c.track, &c.spec).unwrap();
        invariants::next_exercises_open(&c.track, &c.spec, &plan);
    }

    #[test]
    fn output_does_not_depend_on_yaml_order(c in case(), seed in any::<u64>()) {
        // A deterministic reordering of every list whose order carries no meaning, by the seed.
        let result = planner::plan(&c.track, &c.spec);
        invariants::order_independent(&c.track, &c.spec, &result, seed as usize);
    }

    #[test]
    fn identical_input_gives_identical_output(c in case()) {
        prop_assert_eq!(status_json(&c.track, &c.spec), status_json(&c.track.clone(), &c.spec.clone()));
    }

    #[test]
    fn a_back_edge_is_reported_as_a_cycle_naming_its_modules(c in case(), from in 0usize..25) {
        // Any module that has a prerequisite gets that chain closed into a loop.
        let mut track = c.track.clone();
        let n = track.modules.len();
        let Some(i) = (0..n).map(|d| (from + d) % n).find(|&i| !track.modules[i].prerequisites.is_empty()) else {
            return Ok(());
        };
        let id = track.modules[i].id.clone();
        let p = track.modules[i].prerequisites[0].clone();
        let target = track.modules.iter_mut().find(|m| m.id == p).unwrap();
        target.prerequisites.push(id.clone());
        let err = planner::plan(&track, &c.spec).unwrap_err();
        prop_assert_eq!(err.reason, Reason::PrerequisiteCycle);
        prop_assert!(err.message.contains(&id) && err.message.contains(&p), "{}", err.message);
    }
}
