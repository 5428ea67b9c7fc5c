//! Unit tests, one group per rule of DESIGN.md "Planner semantics".

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::api::{LearningPathSpec, LearningPathStatus, ModuleState, TrackSpec};

fn track(yaml: &str) -> TrackSpec {
    serde_saphyr::from_str(yaml).expect("test Track parses")
}

fn spec(yaml: &str) -> LearningPathSpec {
    serde_saphyr::from_str(yaml).expect("test spec parses")
}

fn order(plan: &Plan) -> Vec<&str> {
    plan.stages
        .iter()
        .flat_map(|s| &s.modules)
        .map(|m| m.id.as_str())
        .collect()
}

fn ok(track: &TrackSpec, spec: &LearningPathSpec) -> Plan {
    plan(track, spec).expect("valid inputs plan")
}

const CHAIN: &str = r#"
title: t
dimensions: [{id: lang, title: Language}, {id: cloud, title: Cloud}]
modules:
  - {id: basics, title: Basics, dimension: lang, hours: 10, exercises: [{id: b1, title: B1, hours: 2}, {id: b2, title: B2, hours: 2}]}
  - {id: docker, title: Docker, dimension: cloud, hours: 10, prerequisites: [basics], exercises: [{id: d1, title: D1, hours: 4}]}
  - {id: operator, title: Operator, dimension: cloud, hours: 20, prerequisites: [docker], exercises: [{id: o1, title: O1, hours: 5}, {id: o2, title: O2, hours: 5}]}
  - {id: gc, title: GC, dimension: lang, hours: 10, prerequisites: [basics], exercises: [{id: g1, title: G1, hours: 3}]}
  - {id: tinygo, title: TinyGo, hours: 10, prerequisites: [basics], exercises: [{id: t1, title: T1, hours: 3}]}
profiles:
  industries:
    fintech: {weights: {gc: 4, lang: 2}}
    cloud: {weights: {cloud: 3, tinygo: 0}}
  roles:
    sre: {weights: {operator: 2}}
"#;

fn base_spec() -> LearningPathSpec {
    spec("trackRef: {name: t}\nlearner: {name: L}\n")
}

#[test]
fn mastered_modules_are_skipped_and_satisfy_prerequisites() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nassessment: {basics: 80, docker: 95}\n");
    let p = ok(&t, &s);
    assert_eq!(p.mastered, vec!["basics", "docker"]);
    let planned = order(&p);
    assert!(!planned.contains(&"basics") && !planned.contains(&"docker"));
    let operator = p
        .stages
        .iter()
        .flat_map(|s| &s.modules)
        .find(|m| m.id == "operator")
        .unwrap();
    assert_eq!(
        operator.state,
        ModuleState::Ready,
        "its only prerequisite is mastered"
    );
}

#[test]
fn a_score_just_below_the_threshold_is_not_mastered() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nassessment: {basics: 79}\n");
    let p = ok(&t, &s);
    assert!(p.mastered.is_empty());
    let basics = &p.stages[0].modules[0];
    assert_eq!(
        (basics.id.as_str(), basics.hours),
        ("basics", 2),
        "gap 21% of 10 h rounds to 2 h"
    );
}

#[test]
fn completing_every_exercise_masters_a_module() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [b1, b2]\n");
    assert_eq!(ok(&t, &s).mastered, vec!["basics"]);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [b1]\n");
    let p = ok(&t, &s);
    assert!(p.mastered.is_empty());
    assert_eq!(p.stages[0].modules[0].state, ModuleState::InProgress);
    assert_eq!(
        p.stages[0].modules[0].hours, 5,
        "half the exercise hours done: half of 10 h left"
    );
}

#[test]
fn a_dimension_score_applies_unless_the_module_has_its_own() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nassessment: {lang: 90, gc: 10}\n");
    let p = ok(&t, &s);
    assert_eq!(
        p.mastered,
        vec!["basics"],
        "basics takes lang's 90; gc has its own 10"
    );
}

#[test]
fn industry_weights_change_the_order_and_module_keys_beat_dimension_keys() {
    let t = track(CHAIN);
    let mut s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nassessment: {basics: 90}\nindustry: fintech\n",
    );
    let fintech = ok(&t, &s);
    assert_eq!(
        order(&fintech)[0],
        "gc",
        "gc: module key 4 beats dimension key lang 2"
    );
    s.industry = Some("cloud".into());
    let cloud = ok(&t, &s);
    assert_eq!(order(&cloud)[..2], ["docker", "operator"]);
    assert!(
        cloud.optional.contains(&"tinygo".to_string()),
        "weight 0 and nothing needs it"
    );
    assert!(!order(&cloud).contains(&"tinygo"));
}

#[test]
fn role_weights_multiply_industry_weights() {
    let t = track(CHAIN);
    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nassessment: {basics: 90}\nindustry: cloud\nrole: sre\n",
    );
    let p = ok(&t, &s);
    let reason = &p.next_exercises[0].reason;
    assert!(
        reason.contains("unlocks operator (priority 6)"),
        "docker inherits 3 x 2 from operator: {reason}"
    );
}

#[test]
fn prerequisites_inherit_the_priority_of_what_needs_them() {
    let t = track(
        r#"
title: t
modules:
  - {id: a, title: A, hours: 1}
  - {id: b, title: B, hours: 1}
  - {id: c, title: C, hours: 1, prerequisites: [b]}
profiles: {industries: {x: {weights: {a: 2, b: 1, c: 5}}}}
"#,
    );
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nindustry: x\n");
    assert_eq!(
        order(&ok(&t, &s)),
        ["b", "c", "a"],
        "b inherits 5 from c and beats a's 2"
    );
}

#[test]
fn ties_break_by_fewer_remaining_hours_then_by_id() {
    let t = track(
        r#"
title: t
modules:
  - {id: z, title: Z, hours: 1}
  - {id: y, title: Y, hours: 5}
  - {id: x, title: X, hours: 5}
"#,
    );
    assert_eq!(order(&ok(&t, &base_spec())), ["z", "x", "y"]);
}

#[test]
fn stages_hold_at_most_four_weeks_of_hours() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nhoursPerWeek: 5\n");
    let p = ok(&t, &s);
    for stage in &p.stages {
        assert!(stage.hours <= 20 || stage.modules.len() == 1, "{stage:?}");
        assert_eq!(
            stage.hours,
            stage.modules.iter().map(|m| m.hours).sum::<u32>()
        );
    }
    assert_eq!(p.stages[0].name, "Stage 1 (weeks 1-4)");
    assert_eq!(p.progress.remaining_hours, 60);
    assert_eq!(p.estimated_weeks, 12);
}

#[test]
fn next_exercises_come_only_from_modules_whose_prerequisites_are_met() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nnextExercisesLimit: 20\n");
    let p = ok(&t, &s);
    let modules: Vec<&str> = p.next_exercises.iter().map(|e| e.module.as_str()).collect();
    assert_eq!(
        modules,
        ["basics", "basics"],
        "everything else is locked behind basics"
    );
    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nnextExercisesLimit: 2\ncompletedExercises: [b1]\nassessment: {basics: 50}\n",
    );
    let p = ok(&t, &s);
    assert_eq!(p.next_exercises.len(), 1, "only b2 remains available");
    assert_eq!(p.next_exercises[0].exercise, "b2");
}

#[test]
fn rules_boost_prioritize_and_recommend() {
    let t = track(
        r#"
title: t
modules:
  - {id: a, title: A, hours: 1}
  - {id: b, title: B, hours: 2}
  - {id: c, title: C, hours: 3, prerequisites: [d]}
  - {id: d, title: D, hours: 3}
rules:
  - {id: boost-b, when: [{signal: ciFailureRate, operator: ">", value: 20}], then: {boost: {module: b, factor: 3}}, message: CI is red}
  - {id: deps, when: [{signal: newDependenciesToday, operator: ">=", value: 5}], then: {prioritize: {module: c}}, message: many deps}
  - {id: adr, when: [{signal: adrCount, operator: "==", value: 0}], then: {recommend: {text: write an ADR}}, message: no ADRs}
"#,
    );
    let quiet = ok(&t, &base_spec());
    assert_eq!(
        order(&quiet),
        ["a", "b", "d", "c"],
        "no signals: no rule fires"
    );
    assert!(
        quiet.triggered_rules.is_empty(),
        "a missing signal never holds"
    );

    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nsignals: {ciFailureRate: 23, newDependenciesToday: 5, adrCount: 0}\n",
    );
    let p = ok(&t, &s);
    assert_eq!(
        order(&p),
        ["d", "c", "b", "a"],
        "c (and its prerequisite d) first, then boosted b"
    );
    let fired: Vec<&str> = p.triggered_rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(fired, ["adr", "boost-b", "deps"]);
    assert_eq!(
        p.triggered_rules[0].recommendation.as_deref(),
        Some("write an ADR")
    );

    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nsignals: {ciFailureRate: 20, newDependenciesToday: 4.9}\n",
    );
    assert!(
        ok(&t, &s).triggered_rules.is_empty(),
        "20 is not > 20 and 4.9 is not >= 5"
    );
}

#[test]
fn an_exercise_failed_too_often_is_frozen_and_its_remedy_comes_first() {
    let t = track(
        r#"
title: t
modules:
  - {id: a, title: A, hours: 4, exercises: [{id: a1, title: A1, hours: 1}, {id: a2, title: A2, hours: 1}]}
  - {id: r, title: Remedial, hours: 2, exercises: [{id: r1, title: R1, hours: 1}]}
struggle: {maxFailures: 3, remedial: {a1: r1}}
profiles: {industries: {x: {weights: {a: 5, r: 0.1}}}}
"#,
    );
    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nindustry: x\nstruggles: [{exercise: a1, failures: 3}]\n",
    );
    let p = ok(&t, &s);
    assert_eq!(p.frozen_exercises.len(), 1);
    assert_eq!(p.frozen_exercises[0].remedy.as_deref(), Some("r1"));
    let next: Vec<&str> = p
        .next_exercises
        .iter()
        .map(|e| e.exercise.as_str())
        .collect();
    assert_eq!(
        next,
        ["r1", "a2"],
        "the remedy first; the frozen a1 not at all"
    );
    assert_eq!(
        order(&p)[0],
        "r",
        "the remedy's module jumps ahead of the heavier a"
    );

    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nindustry: x\nstruggles: [{exercise: a1, failures: 2}]\n",
    );
    let p = ok(&t, &s);
    assert!(
        p.frozen_exercises.is_empty(),
        "2 failures are below maxFailures 3"
    );
    assert_eq!(p.next_exercises[0].exercise, "a1");
}

#[test]
fn transfers_credit_a_module_from_another_background() {
    let t = track(
        r#"
title: t
modules:
  - {id: redis, title: Redis, hours: 10}
  - {id: other, title: Other, hours: 10}
transfers: [{from: react-memo, to: redis, ratio: 0.6}]
"#,
    );
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nassessment: {react-memo: 90}\n");
    let p = ok(&t, &s);
    let redis = p
        .stages
        .iter()
        .flat_map(|s| &s.modules)
        .find(|m| m.id == "redis")
        .unwrap();
    assert_eq!(redis.hours, 5, "score 54 leaves 46% of 10 h");
    let s =
        spec("trackRef: {name: t}\nlearner: {name: L}\nassessment: {react-memo: 100, redis: 20}\n");
    let t2 = TrackSpec {
        transfers: vec![crate::api::Transfer {
            from: "react-memo".into(),
            to: "redis".into(),
            ratio: 0.8,
        }],
        ..t
    };
    assert_eq!(
        ok(&t2, &s).mastered,
        vec!["redis"],
        "0.8 x 100 = 80 reaches the threshold"
    );
}

#[test]
fn progress_counts_hours_of_planned_modules() {
    let t = track(CHAIN);
    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nassessment: {basics: 100}\nindustry: cloud\n",
    );
    let p = ok(&t, &s);
    // tinygo (weight 0) is optional and out of the totals: 50 h counted, 10 of them done.
    assert_eq!(p.progress.total_modules, 4);
    assert_eq!(p.progress.completed_modules, 1);
    assert_eq!(p.progress.percent, 20);
}

#[test]
fn invalid_inputs_name_the_offending_ids() {
    let cases = [
        (
            "modules: [{id: a, title: A, hours: 1, prerequisites: [b]}, {id: b, title: B, hours: 1, prerequisites: [a]}]",
            Reason::PrerequisiteCycle,
            "a -> b -> a",
        ),
        (
            "modules: [{id: a, title: A, hours: 1, prerequisites: [nope]}]",
            Reason::UnknownModule,
            "\"nope\"",
        ),
        (
            "modules: [{id: a, title: A, hours: 1}, {id: a, title: A2, hours: 1}]",
            Reason::DuplicateId,
            "\"a\"",
        ),
        (
            "modules: [{id: a, title: A, hours: 1, exercises: [{id: e, title: E, hours: 1}]}, {id: b, title: B, hours: 1, exercises: [{id: e, title: E, hours: 1}]}]",
            Reason::DuplicateId,
            "exercise id \"e\" is used in modules \"a\" and \"b\"",
        ),
        (
            "modules: [{id: a, title: A, hours: 1, dimension: zz}]",
            Reason::UnknownDimension,
            "\"zz\"",
        ),
        (
            "modules: [{id: a, title: A, hours: 1}]\nprofiles: {industries: {x: {weights: {a: -1}}}}",
            Reason::InvalidValue,
            "weight -1",
        ),
        (
            "modules: [{id: a, title: A, hours: 1}]\nprofiles: {industries: {x: {weights: {a: .nan}}}}",
            Reason::InvalidValue,
            "weight NaN",
        ),
        (
            "modules: [{id: a, title: A, hours: 1}]\nprofiles: {industries: {x: {weights: {a: .inf}}}}",
            Reason::InvalidValue,
            "weight inf",
        ),
        (
            "modules: [{id: a, title: A, hours: 1, prerequisites: [a]}]",
            Reason::PrerequisiteCycle,
            "a -> a",
        ),
    ];
    for (modules, reason, needle) in cases {
        let t = track(&format!("title: t\n{modules}\n"));
        let err = plan(&t, &base_spec()).expect_err(modules);
        assert_eq!(err.reason, reason, "{modules}: {err}");
        assert!(
            err.message.contains(needle),
            "{modules}: {:?} lacks {needle:?}",
            err.message
        );
    }
}

#[test]
fn an_unknown_profile_lists_the_known_ones() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nindustry: retail\n");
    let err = plan(&t, &s).unwrap_err();
    assert_eq!(err.reason, Reason::UnknownProfile);
    assert!(
        err.message.contains("\"retail\"") && err.message.contains("cloud, fintech"),
        "{}",
        err.message
    );
}

#[test]
fn unknown_ids_in_the_spec_are_named() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [b1, nope]\n");
    let err = plan(&t, &s).unwrap_err();
    assert_eq!(err.reason, Reason::UnknownExercise);
    assert!(
        err.message.contains("nope") && !err.message.contains("b1"),
        "{}",
        err.message
    );
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nassessment: {typo: 50}\n");
    assert!(plan(&t, &s).unwrap_err().message.contains("typo"));
}

#[test]
fn a_paused_learner_gets_no_exercises() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\npaused: true\n");
    let p = ok(&t, &s);
    assert!(p.next_exercises.is_empty());
    assert!(p.summary.starts_with("paused"), "{}", p.summary);
    assert!(!p.stages.is_empty(), "the roadmap itself stays");
}

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(seconds).unwrap())
}

#[test]
fn conditions_only_move_their_transition_time_when_they_flip() {
    let t = track(CHAIN);
    let planned = |p: Plan| Outcome::Planned {
        plan: Box::new(p),
        track_generation: Some(1),
    };
    let first = compose_status(None, Some(1), planned(ok(&t, &base_spec())), at(1000));
    let again = compose_status(
        Some(&first),
        Some(1),
        planned(ok(&t, &base_spec())),
        at(2000),
    );
    assert_eq!(
        first, again,
        "same inputs, same status, whatever the clock says"
    );

    let invalid = Outcome::Invalid {
        invalid: Invalid::new(Reason::PrerequisiteCycle, "prerequisite cycle: a -> b -> a"),
        track_generation: Some(2),
    };
    let broken = compose_status(Some(&again), Some(1), invalid, at(3000));
    assert_eq!(broken.stages, first.stages, "the last good plan stays");
    assert_eq!(broken.track_generation, Some(2));
    let ready = broken
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "PrerequisiteCycle")
    );
    assert_eq!(ready.last_transition_time, at(3000));
    let stalled = broken
        .conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap();
    assert_eq!(stalled.status, "True");
}

#[test]
fn the_status_serializes_identically_for_identical_inputs() {
    let t = track(CHAIN);
    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nindustry: cloud\nrole: sre\nassessment: {basics: 90}\n",
    );
    let render = || {
        let outcome = Outcome::Planned {
            plan: Box::new(ok(&t, &s)),
            track_generation: Some(3),
        };
        let status: LearningPathStatus = compose_status(None, Some(2), outcome, at(0));
        serde_json::to_string(&status).unwrap()
    };
    assert_eq!(render(), render());
}
