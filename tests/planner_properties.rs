//! Invariants of the planner over generated curricula (proptest).

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
                            .map(|(exercise, failures)| StruggleEntry { exercise, failures })
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prerequisites_are_always_respected(c in case()) {
        let plan = planner::plan(&c.track, &c.spec).unwrap();
        let order: Vec<&str> = plan.stages.iter().flat_map(|s| &s.modules).map(|m| m.id.as_str()).collect();
        let mastered: BTreeSet<&str> = plan.mastered.iter().map(String::as_str).collect();
        for (i, id) in order.iter().enumerate() {
            let module = c.track.modules.iter().find(|m| m.id == *id).unwrap();
            for p in &module.prerequisites {
                prop_assert!(
                    mastered.contains(p.as_str()) || order[..i].contains(&p.as_str()),
                    "{id} at {i} before its prerequisite {p}: {order:?}"
                );
            }
        }
    }

    #[test]
    fn done_modules_are_never_scheduled(c in case()) {
        let plan = planner::plan(&c.track, &c.spec).unwrap();
        for stage in &plan.stages {
            for m in &stage.modules {
                prop_assert!(!plan.mastered.contains(&m.id), "{} is mastered and planned", m.id);
            }
        }
        let planned = plan.stages.iter().map(|s| s.modules.len()).sum::<usize>();
        prop_assert_eq!(planned + plan.mastered.len() + plan.optional.len(), c.track.modules.len());
    }

    #[test]
    fn next_exercises_are_open_and_unlocked(c in case()) {
        let plan = planner::plan(&c.track, &c.spec).unwrap();
        let mastered: BTreeSet<&str> = plan.mastered.iter().map(String::as_str).collect();
        for e in &plan.next_exercises {
            prop_assert!(!c.spec.completed_exercises.contains(&e.exercise));
            let module = c.track.modules.iter().find(|m| m.id == e.module).unwrap();
            prop_assert!(module.prerequisites.iter().all(|p| mastered.contains(p.as_str())), "{} is locked", e.module);
            prop_assert!(plan.frozen_exercises.iter().all(|f| f.exercise != e.exercise));
        }
    }

    #[test]
    fn output_does_not_depend_on_yaml_order(c in case(), seed in any::<u64>()) {
        let before = status_json(&c.track, &c.spec);
        let mut track = c.track.clone();
        let mut spec = c.spec.clone();
        // A deterministic shuffle: rotate and reverse by the seed.
        let k = (seed as usize) % track.modules.len().max(1);
        track.modules.rotate_left(k);
        track.modules.reverse();
        for m in &mut track.modules {
            m.prerequisites.reverse();
        }
        track.rules.reverse();
        spec.completed_exercises.reverse();
        spec.struggles.reverse();
        prop_assert_eq!(before, status_json(&track, &spec));
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
