//! Unit tests of the planner's semantics as docs/planner.md states them: a test's name says
//! which rule it checks, and the page's sections (§2 validation to §15 determinism) say what
//! the rule is.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::api::{
    LearningPathSpec, LearningPathStatus, ModuleState, ObservedSignal, StruggleEntry, TrackSpec,
    limits,
};

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

// ---------------------------------------------------------------------------------------------
// Hostile input (docs/planner.md §2): every problem the API server cannot refuse gets a precise
// reason and a message naming the offending ids. Inputs also reach the planner through
// `learnpath plan` on YAML files, where no API server checks bounds or finiteness first.

/// Plans and expects a refusal with `reason` whose message contains every needle.
fn refused(t: &TrackSpec, s: &LearningPathSpec, reason: Reason, needles: &[&str]) -> Invalid {
    let err = plan(t, s).expect_err("invalid inputs are refused");
    assert_eq!(err.reason, reason, "{err}");
    for needle in needles {
        assert!(
            err.message.contains(needle),
            "{:?} lacks {needle:?}",
            err.message
        );
    }
    err
}

#[test]
fn unknown_exercises_in_struggles_are_named() {
    let t = track(CHAIN);
    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nstruggles: [{exercise: b1, failures: 1}, {exercise: ghost-ex, failures: 9}]\n",
    );
    let err = refused(&t, &s, Reason::UnknownExercise, &["\"ghost-ex\""]);
    assert!(!err.message.contains("b1"), "b1 exists: {}", err.message);
}

#[test]
fn an_exercise_id_twice_in_one_module_is_a_duplicate() {
    // The API server refuses this (exercises are a list map keyed by id); `learnpath plan` cannot.
    let t = track(
        "title: t\nmodules: [{id: a, title: A, hours: 1, exercises: [{id: e, title: E, hours: 1}, {id: e, title: E2, hours: 1}]}]\n",
    );
    refused(
        &t,
        &base_spec(),
        Reason::DuplicateId,
        &["exercise id \"e\"", "\"a\""],
    );
}

#[test]
fn an_unknown_role_lists_the_known_roles() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nrole: dba\n");
    let err = refused(&t, &s, Reason::UnknownProfile, &["role", "\"dba\"", "sre"]);
    assert!(
        !err.message.contains("fintech"),
        "industries are not roles: {}",
        err.message
    );
    // A Track without any profile says so rather than listing nothing.
    let bare = track("title: t\nmodules: [{id: a, title: A, hours: 1}]\n");
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nindustry: fintech\n");
    refused(&bare, &s, Reason::UnknownProfile, &["\"fintech\"", "none"]);
}

#[test]
fn non_finite_and_out_of_range_numbers_are_invalid_values_naming_where() {
    let t = |extra: &str| {
        track(&format!(
            "title: t\nmodules: [{{id: a, title: A, hours: 1}}, {{id: b, title: B, hours: 1}}]\n{extra}\n"
        ))
    };
    let cases: [(&str, &[&str]); 9] = [
        (
            "profiles: {roles: {sre: {weights: {b: -0.5}}}}",
            &["roles.sre", "\"b\"", "-0.5"],
        ),
        (
            "profiles: {roles: {sre: {weights: {a: .nan}}}}",
            &["roles.sre", "\"a\"", "NaN"],
        ),
        (
            "profiles: {industries: {x: {weights: {a: -.inf}}}}",
            &["industries.x", "\"a\"", "-inf"],
        ),
        (
            "rules: [{id: r1, when: [{signal: s, operator: '>', value: .nan}], then: {recommend: {text: t}}, message: m}]",
            &["\"r1\"", "\"s\"", "not a finite number"],
        ),
        (
            "rules: [{id: r2, when: [{signal: s, operator: '>', value: 1}], then: {boost: {module: a, factor: 0}}, message: m}]",
            &["\"r2\"", "boosts by 0"],
        ),
        (
            "rules: [{id: r3, when: [{signal: s, operator: '>', value: 1}], then: {boost: {module: a, factor: .inf}}, message: m}]",
            &["\"r3\"", "inf"],
        ),
        (
            "rules: [{id: r4, when: [{signal: s, operator: '>', value: 1}], then: {boost: {module: a, factor: -2}}, message: m}]",
            &["\"r4\"", "-2"],
        ),
        (
            "transfers: [{from: react, to: a, ratio: .nan}]",
            &["\"react\"", "\"a\"", "NaN"],
        ),
        (
            "transfers: [{from: react, to: b, ratio: 1.5}]",
            &["\"react\"", "\"b\"", "1.5"],
        ),
    ];
    for (extra, needles) in cases {
        refused(&t(extra), &base_spec(), Reason::InvalidValue, needles);
    }
    // The learner's own numbers.
    let good = t("");
    for (signals, needle) in [
        ("{ci: .nan}", "\"ci\""),
        ("{mttr: .inf, ok: 3}", "\"mttr\""),
    ] {
        let s = spec(&format!(
            "trackRef: {{name: t}}\nlearner: {{name: L}}\nsignals: {signals}\n"
        ));
        let err = refused(&good, &s, Reason::InvalidValue, &[needle]);
        assert!(!err.message.contains("\"ok\""), "{}", err.message);
    }
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nhoursPerWeek: 0\n");
    refused(&good, &s, Reason::InvalidValue, &["hoursPerWeek"]);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\nassessment: {a: 101}\n");
    refused(&good, &s, Reason::InvalidValue, &["\"a\"", "101"]);
}

#[test]
fn every_dangling_reference_in_a_track_is_named() {
    let base = "title: t\ndimensions: [{id: lang, title: L}]\nmodules: [{id: a, title: A, hours: 1, exercises: [{id: a1, title: A1, hours: 1}]}, {id: b, title: B, hours: 1}]\n";
    let cases: [(&str, Reason, &[&str]); 9] = [
        (
            "rules: [{id: r, when: [{signal: s, operator: '>', value: 1}], then: {boost: {module: nowhere, factor: 2}}, message: m}]",
            Reason::UnknownModule,
            &["\"r\"", "\"nowhere\""],
        ),
        (
            "rules: [{id: r, when: [{signal: s, operator: '>', value: 1}], then: {prioritize: {module: nowhere}}, message: m}]",
            Reason::UnknownModule,
            &["\"r\"", "\"nowhere\""],
        ),
        (
            "transfers: [{from: react, to: nowhere, ratio: 0.5}]",
            Reason::UnknownModule,
            &["\"react\"", "\"nowhere\""],
        ),
        (
            "struggle: {remedial: {ghost-ex: a1}}",
            Reason::UnknownExercise,
            &["\"ghost-ex\""],
        ),
        (
            "struggle: {remedial: {a1: nowhere}}",
            Reason::UnknownModule,
            &["\"nowhere\"", "\"a1\""],
        ),
        (
            "profiles: {industries: {fin: {weights: {nowhere: 2}}}}",
            Reason::UnknownModule,
            &["industries.fin", "\"nowhere\""],
        ),
        (
            "rules: [{id: r, when: [{signal: s, operator: '>', value: 1}], then: {recommend: {text: x}}, message: m}, {id: r, when: [{signal: s, operator: '<', value: 1}], then: {recommend: {text: y}}, message: m}]",
            Reason::DuplicateId,
            &["rule id \"r\""],
        ),
        (
            "dimensions: [{id: lang, title: L}, {id: lang, title: L2}]",
            Reason::DuplicateId,
            &["dimension id \"lang\""],
        ),
        (
            "dimensions: [{id: a, title: Also a module}]",
            Reason::DuplicateId,
            &["\"a\"", "module id and a dimension id"],
        ),
    ];
    for (extra, reason, needles) in cases {
        // A later key replaces the base's `dimensions`; serde_saphyr refuses duplicate keys, so
        // the base's is dropped when the case has its own.
        let base = if extra.starts_with("dimensions:") {
            base.replace("dimensions: [{id: lang, title: L}]\n", "")
        } else {
            base.to_string()
        };
        let t = track(&format!("{base}{extra}\n"));
        refused(&t, &base_spec(), reason, needles);
    }
}

#[test]
fn all_problems_are_named_at_once_and_their_order_does_not_depend_on_the_yaml() {
    let t = track(
        r#"
title: t
modules:
  - {id: a, title: A, hours: 1, prerequisites: [ghost-mod], exercises: [{id: x1, title: X, hours: 1}]}
  - {id: b, title: B, hours: 1, exercises: [{id: x1, title: X, hours: 1}]}
  - {id: c, title: C, hours: 1, dimension: ghost-dim}
"#,
    );
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [ghost-ex]\n");
    let err = plan(&t, &s).unwrap_err();
    for id in ["ghost-mod", "\"x1\"", "ghost-dim", "ghost-ex"] {
        assert!(err.message.contains(id), "{:?} lacks {id}", err.message);
    }
    assert!(
        [
            Reason::UnknownModule,
            Reason::DuplicateId,
            Reason::UnknownDimension,
            Reason::UnknownExercise
        ]
        .contains(&err.reason),
        "{err}"
    );
    let mut reversed = t.clone();
    reversed.modules.reverse();
    assert_eq!(
        plan(&reversed, &s).unwrap_err(),
        err,
        "same problems, same condition, whatever the order of the YAML"
    );
}

fn chain_track(n: usize, close_the_loop: bool) -> TrackSpec {
    let modules: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut prereqs = Vec::new();
            if i > 0 {
                prereqs.push(format!("m{:03}", i - 1));
            } else if close_the_loop {
                prereqs.push(format!("m{:03}", n - 1));
            }
            serde_json::json!({"id": format!("m{i:03}"), "title": format!("M{i}"), "hours": 1, "prerequisites": prereqs})
        })
        .collect();
    serde_json::from_value(serde_json::json!({"title": "chain", "modules": modules})).unwrap()
}

#[test]
fn a_500_deep_chain_plans_in_its_only_order() {
    let t = chain_track(500, false);
    let p = ok(&t, &base_spec());
    let expected: Vec<String> = (0..500).map(|i| format!("m{i:03}")).collect();
    assert_eq!(order(&p), expected);
    assert_eq!(p.stages[0].modules[0].state, ModuleState::Ready);
    assert_eq!(p.stages[0].modules[1].state, ModuleState::Locked);
}

#[test]
fn a_500_long_cycle_is_found_and_its_message_stays_bounded() {
    let t = chain_track(500, true);
    let err = refused(
        &t,
        &base_spec(),
        Reason::PrerequisiteCycle,
        &["prerequisite cycle: "],
    );
    assert!(err.message.len() <= 1024, "{} bytes", err.message.len());
    assert!(err.message.ends_with("..."), "{}", err.message);
    // Every complete link shown is a real prerequisite edge of the loop, read in either direction.
    let shown = err.message.trim_start_matches("prerequisite cycle: ");
    let ids: Vec<&str> = shown.trim_end_matches("...").split(" -> ").collect();
    let links = ids.len() - 1; // the last id may be cut short
    assert!(links >= 100, "only {links} links shown: {}", err.message);
    let number = |id: &str| id.trim_start_matches('m').parse::<usize>().unwrap();
    for pair in ids[..links].windows(2) {
        let (x, y) = (number(pair[0]), number(pair[1]));
        assert!(
            (x + 1) % 500 == y || (y + 1) % 500 == x,
            "{} -> {} is not an edge of the loop",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn a_message_naming_hundreds_of_problems_stays_bounded() {
    let modules: Vec<serde_json::Value> = (0..500)
        .map(|i| serde_json::json!({"id": format!("m{i:03}"), "title": "t", "hours": 1, "prerequisites": [format!("ghost-{i:03}")]}))
        .collect();
    let t: TrackSpec =
        serde_json::from_value(serde_json::json!({"title": "t", "modules": modules})).unwrap();
    let err = refused(&t, &base_spec(), Reason::UnknownModule, &["\"ghost-000\""]);
    assert!(err.message.len() <= 1024, "{} bytes", err.message.len());
    assert!(err.message.ends_with("..."));
}

#[test]
fn sizes_beyond_the_api_limits_are_refused_without_an_api_server() {
    let over = |modules: usize, exercises: usize, prerequisites: usize| -> TrackSpec {
        let modules: Vec<serde_json::Value> = (0..modules)
            .map(|i| {
                serde_json::json!({
                    "id": format!("m{i:03}"), "title": "t", "hours": 1,
                    "prerequisites": (0..prerequisites.min(i)).map(|p| format!("m{p:03}")).collect::<Vec<_>>(),
                    "exercises": (0..exercises).map(|k| serde_json::json!({"id": format!("e{i}-{k}"), "title": "x", "hours": 1})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({"title": "t", "modules": modules})).unwrap()
    };
    ok(&over(limits::MODULES, 0, 0), &base_spec());
    refused(
        &over(limits::MODULES + 1, 0, 0),
        &base_spec(),
        Reason::TooLarge,
        &["spec.modules", "501", "500"],
    );
    ok(&over(2, limits::EXERCISES, 0), &base_spec());
    refused(
        &over(2, limits::EXERCISES + 1, 0),
        &base_spec(),
        Reason::TooLarge,
        &["module m000: exercises", "51", "50"],
    );
    ok(&over(60, 0, limits::PREREQUISITES), &base_spec());
    refused(
        &over(60, 0, limits::PREREQUISITES + 1),
        &base_spec(),
        Reason::TooLarge,
        &["module m051: prerequisites", "51", "50"],
    );
    refused(
        &over(0, 0, 0),
        &base_spec(),
        Reason::TooLarge,
        &["spec.modules", "empty"],
    );
}

#[test]
fn a_track_at_every_count_limit_plans_and_respects_every_prerequisite() {
    let t = crate::fixtures::track_at_every_limit();
    let s = crate::fixtures::learner_at_every_limit("t");
    let started = std::time::Instant::now();
    let p = ok(&t, &s);
    let elapsed = started.elapsed();
    // Generous: a debug build on a shared machine. The release figure is in benches/planner.rs.
    assert!(
        elapsed < std::time::Duration::from_secs(20),
        "planning took {elapsed:?}"
    );
    let planned = order(&p);
    let position: std::collections::BTreeMap<&str, usize> =
        planned.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    for m in &t.modules {
        if let Some(&at) = position.get(m.id.as_str()) {
            for pre in &m.prerequisites {
                if let Some(&before) = position.get(pre.as_str()) {
                    assert!(
                        before < at,
                        "{} planned before its prerequisite {pre}",
                        m.id
                    );
                }
            }
        }
    }
    assert_eq!(
        planned.len() + p.mastered.len() + p.optional.len(),
        500,
        "every module is planned, mastered or optional, once"
    );
    assert_eq!(p.triggered_rules.len(), 100, "every rule's conditions hold");
    assert_eq!(p.next_exercises.len(), 20);
    assert!(
        p.next_exercises
            .iter()
            .all(|e| !p.frozen_exercises.iter().any(|f| f.exercise == e.exercise))
    );
}

// Findings of the fuzzer (fuzz/README.md), one test each.

#[test]
fn exercise_hours_outside_the_schema_range_are_named_not_overflowed() {
    let t = track(
        r#"
title: t
modules:
  - {id: a, title: A, hours: 1, exercises: [{id: x, title: X, hours: 4294967295}, {id: y, title: Y, hours: 1}]}
"#,
    );
    refused(
        &t,
        &base_spec(),
        Reason::InvalidValue,
        &["exercise \"x\"", "module \"a\"", "4294967295", "1 to 1000"],
    );
}

#[test]
fn unknown_completed_exercises_are_named_sorted_and_once_whatever_the_order() {
    let t = track(CHAIN);
    let one =
        spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [zz, b1, aa, zz]\n");
    let two = spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [aa, zz, b1]\n");
    let a = refused(&t, &one, Reason::UnknownExercise, &["aa, zz"]);
    let b = refused(&t, &two, Reason::UnknownExercise, &["aa, zz"]);
    assert_eq!(a.message, b.message);
    assert!(!a.message.contains("zz, zz"), "{}", a.message);
}

#[test]
fn a_struggle_listed_twice_keeps_its_highest_count_and_a_frozen_remedy_is_not_proposed() {
    let t = track(
        r#"
title: t
modules:
  - {id: a, title: A, hours: 4, exercises: [{id: a1, title: A1, hours: 1}, {id: a2, title: A2, hours: 1}, {id: b, title: B, hours: 1}]}
struggle: {maxFailures: 3, remedial: {a1: b, b: b}}
"#,
    );
    let forwards = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nstruggles: [{exercise: a1, failures: 5}, {exercise: a1, failures: 4}]\n",
    );
    let backwards = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nstruggles: [{exercise: a1, failures: 4}, {exercise: a1, failures: 5}]\n",
    );
    let (p, q) = (ok(&t, &forwards), ok(&t, &backwards));
    assert_eq!(p.frozen_exercises[0].failures, 5);
    assert_eq!(p, q, "the order of spec.struggles must not matter");
    assert_eq!(
        p.next_exercises[0].exercise, "b",
        "a1's remedy b comes first"
    );

    // b frozen too: its own remedy is itself, and neither may be proposed.
    let both = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nstruggles: [{exercise: a1, failures: 3}, {exercise: b, failures: 3}]\n",
    );
    let p = ok(&t, &both);
    let next: Vec<&str> = p
        .next_exercises
        .iter()
        .map(|e| e.exercise.as_str())
        .collect();
    assert_eq!(
        next,
        ["a2"],
        "frozen exercises are never next, as remedies neither"
    );
}

#[test]
fn the_radar_keeps_an_assessed_dimension_and_derives_the_others_from_module_hours() {
    let t = track(CHAIN);
    // lang is not assessed: basics (10 h) has half of its exercise hours done (b1: 2 of 4 h),
    // gc (10 h) is assessed 90, so lang = (50 x 10 + 90 x 10) / 20 = 70.
    let s = spec(
        "trackRef: {name: t}\nlearner: {name: L}\nassessment: {cloud: 42, gc: 90}\ncompletedExercises: [b1]\n",
    );
    let scores = radar(&t, &s).expect("valid inputs");
    let by_id: Vec<(&str, f64, bool)> = scores
        .iter()
        .map(|d| (d.id.as_str(), d.score, d.assessed))
        .collect();
    assert_eq!(by_id, [("lang", 70.0, false), ("cloud", 42.0, true)]);
    assert_eq!(scores[0].title, "Language", "titles come from the Track");

    // Hours weigh: basics all done (100) weighs 10 h, gc unassessed (0) 10 h, a 30 h module of 0
    // would pull it down further.
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [b1, b2]\n");
    let scores = radar(&t, &s).expect("valid inputs");
    assert_eq!(scores[0].score, 50.0);
    assert_eq!(scores[1].score, 0.0, "nothing known about cloud");
    assert!(!scores[1].assessed);
}

#[test]
fn the_radar_of_an_invalid_spec_names_the_problem_and_a_track_without_dimensions_has_none() {
    let t = track(CHAIN);
    let s = spec("trackRef: {name: t}\nlearner: {name: L}\ncompletedExercises: [nope]\n");
    let err = radar(&t, &s).expect_err("unknown exercise");
    assert!(err.message.contains("nope"), "{}", err.message);

    let bare = track("title: t\nmodules: [{id: a, title: A, hours: 1}]\n");
    assert_eq!(radar(&bare, &base_spec()).expect("valid"), vec![]);
}

#[test]
fn the_backend_engineers_radar_is_the_seeds() {
    let t = crate::fixtures::example_track();
    let lp = crate::fixtures::example_learner("backend-engineer");
    let scores = radar(&t.spec, &lp.spec).expect("valid example");
    assert_eq!(scores.len(), t.spec.dimensions.len());
    let get = |id: &str| scores.iter().find(|d| d.id == id).expect("dimension");
    assert_eq!(
        (get("cloud-native").score, get("cloud-native").assessed),
        (42.0, true)
    );
    assert_eq!(
        (get("observability").score, get("observability").assessed),
        (0.0, true)
    );
    // language is not assessed as a dimension, but every language module he has is 85-90.
    assert!(!get("language").assessed);
    assert!(get("language").score > 0.0, "{:?}", get("language"));
}

// ---------------------------------------------------------------------------------------------
// Observed signals and time windows (docs/signals.md §4, §7)

const WINDOWED: &str = r#"
title: t
modules:
  - {id: a, title: A, hours: 4, exercises: [{id: a1, title: A1, hours: 1}, {id: a2, title: A2, hours: 1}]}
  - {id: r, title: Remedial, hours: 2, exercises: [{id: r1, title: R1, hours: 1}]}
struggle: {maxFailures: 3, window: 12h, remedial: {a1: r1}}
profiles: {industries: {x: {weights: {a: 5, r: 0.1}}}}
"#;

fn seconds(t: i64) -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_second(1_767_225_600 + t).expect("a time")
}

fn plan_at(t: &TrackSpec, s: &LearningPathSpec, now: i64) -> Plan {
    plan_inputs(
        t,
        Inputs {
            spec: s,
            observed: &[],
            now: Some(seconds(now)),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn failed_at(times: &[i64]) -> LearningPathSpec {
    let mut s = spec("trackRef: {name: t}\nlearner: {name: L}\nindustry: x\n");
    s.struggles = vec![StruggleEntry {
        exercise: "a1".into(),
        failures: times.len() as u32,
        failed_at: times.iter().map(|&t| at(1_767_225_600 + t)).collect(),
    }];
    s
}

#[test]
fn three_failures_within_the_window_freeze_until_the_oldest_leaves_it() {
    let t = track(WINDOWED);
    let hour = 3600;
    let s = failed_at(&[-10 * hour, -5 * hour, -hour]);
    let p = plan_at(&t, &s, 0);
    assert_eq!(p.frozen_exercises.len(), 1);
    let until = seconds(2 * hour);
    assert_eq!(p.frozen_exercises[0].until, Some(Time(until)));
    assert_eq!(p.frozen_exercises[0].failures, 3);
    assert_eq!(p.next_exercises[0].exercise, "r1", "the remedy comes first");
    assert_eq!(p.next_change, Some(until), "replan when it thaws");

    // One second before: still frozen. At the moment the oldest failure leaves: thawed.
    assert_eq!(plan_at(&t, &s, 2 * hour - 1).frozen_exercises.len(), 1);
    let thawed = plan_at(&t, &s, 2 * hour);
    assert!(thawed.frozen_exercises.is_empty());
    assert_eq!(
        thawed.next_exercises[0].exercise, "a1",
        "the thawed exercise is back, its heavy module first"
    );
    assert_eq!(
        thawed.next_change,
        Some(seconds(7 * hour)),
        "the next failure to leave the window"
    );
}

#[test]
fn failures_spread_wider_than_the_window_do_not_freeze() {
    let t = track(WINDOWED);
    let hour = 3600;
    let p = plan_at(&t, &failed_at(&[-20 * hour, -5 * hour, -hour]), 0);
    assert!(p.frozen_exercises.is_empty(), "only two are within 12 h");
    // Without a time (or without failure times) the counts count, as before windows.
    let untimed = plan(&t, &failed_at(&[-20 * hour, -5 * hour, -hour])).expect("plans");
    assert_eq!(untimed.frozen_exercises.len(), 1);
    assert_eq!(untimed.frozen_exercises[0].until, None);
    assert_eq!(untimed.next_change, None);
}

#[test]
fn a_failure_dated_after_now_counts_from_its_time() {
    let t = track(WINDOWED);
    let s = failed_at(&[-60, -30, 30]);
    let p = plan_at(&t, &s, 0);
    assert!(p.frozen_exercises.is_empty(), "two failures so far");
    assert_eq!(p.next_change, Some(seconds(30)));
    assert_eq!(plan_at(&t, &s, 30).frozen_exercises.len(), 1);
}

#[test]
fn a_window_that_is_not_a_duration_is_named() {
    let t = track(&WINDOWED.replace("window: 12h", "window: 12d"));
    let err = crate::planner::check_track(&t).expect_err("12d is not a Go duration");
    assert_eq!(err.reason, Reason::InvalidValue);
    assert!(err.message.contains("struggle.window") && err.message.contains("12d"));
}

fn observed(name: &str, value: f64) -> ObservedSignal {
    ObservedSignal {
        name: name.into(),
        value,
        source: "ci".into(),
        observed_at: at(0),
    }
}

#[test]
fn observed_signals_fire_rules_and_the_spec_wins_over_them() {
    let t = track(
        r#"
title: t
modules: [{id: a, title: A, hours: 1}]
rules:
  - {id: red, when: [{signal: ciFailureRate, operator: ">", value: 20}], then: {recommend: {text: fix CI}}, message: red}
"#,
    );
    let quiet = spec("trackRef: {name: t}\nlearner: {name: L}\n");
    let seen = [observed("ciFailureRate", 23.0)];
    let inputs = |s| Inputs {
        spec: s,
        observed: &seen,
        now: None,
    };
    let p = plan_inputs(&t, inputs(&quiet)).expect("plans");
    assert_eq!(p.triggered_rules.len(), 1, "23 > 20: it fires");
    assert_eq!(
        p.observed_signals, seen,
        "the plan says what it was made from"
    );

    let written = spec("trackRef: {name: t}\nlearner: {name: L}\nsignals: {ciFailureRate: 10}\n");
    let p = plan_inputs(&t, inputs(&written)).expect("plans");
    assert!(
        p.triggered_rules.is_empty(),
        "a person's 10 wins over the observed 23"
    );
}

#[test]
fn an_observed_value_that_is_not_finite_is_named() {
    let t = track(CHAIN);
    let seen = [observed("ciFailureRate", f64::NAN)];
    let err = plan_inputs(
        &t,
        Inputs {
            spec: &base_spec(),
            observed: &seen,
            now: None,
        },
    )
    .expect_err("NaN");
    assert_eq!(err.reason, Reason::InvalidValue);
    assert!(
        err.message.contains("observed signal \"ciFailureRate\""),
        "{}",
        err.message
    );
}
