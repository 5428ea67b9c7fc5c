//! The example learners' roadmaps say what the seed says about them (examples/EXPECTATIONS.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use learnpath::api::LearningPathStatus;
use testkit::fixtures;

/// What `learnpath plan` prints for the example Track and one example learner.
fn plan(learner: &str) -> LearningPathStatus {
    learnpath::cli::plan_files(
        &fixtures::example_track_file(),
        &fixtures::example_learner_file(learner),
        Time(Timestamp::UNIX_EPOCH),
    )
    .unwrap_or_else(|e| panic!("{learner}: {e}"))
}

fn order(status: &LearningPathStatus) -> Vec<&str> {
    status
        .stages
        .iter()
        .flat_map(|s| &s.modules)
        .map(|m| m.id.as_str())
        .collect()
}

fn rules(status: &LearningPathStatus) -> Vec<&str> {
    status
        .triggered_rules
        .iter()
        .map(|r| r.rule.as_str())
        .collect()
}

#[test]
fn backend_engineer_starts_with_operator_development_and_skips_docker() {
    let s = plan("backend-engineer");
    let order = order(&s);
    assert_eq!(
        order[..3],
        ["k8s-operator", "argo-cd-delivery", "distributed-tracing"],
        "{order:?}"
    );
    assert!(
        s.mastered.iter().any(|m| m == "docker-basics"),
        "{:?}",
        s.mastered
    );
    assert!(!order.contains(&"docker-basics"));
    for r in ["ci-failure-rate", "slow-recovery"] {
        assert!(
            rules(&s).contains(&r),
            "{r} fires for a 23% CI failure rate and 47 min MTTR"
        );
    }
    assert!(!rules(&s).contains(&"dependency-surge"));
    assert!(
        s.next_exercises.iter().all(|e| e.module == "k8s-operator"),
        "{:?}",
        s.next_exercises
    );
    let reason = &s.next_exercises[0].reason;
    assert!(
        reason.contains("industry cloud") && reason.contains("gap 58%"),
        "the reason names weight and gap: {reason}"
    );
}

#[test]
fn fintech_meets_gc_tuning_earlier_than_iot() {
    let fintech = plan("fintech-engineer");
    let iot = plan("iot-engineer");
    let position = |s: &LearningPathStatus| {
        order(s)
            .iter()
            .position(|m| *m == "gc-tuning")
            .expect("gc-tuning planned")
    };
    assert!(
        position(&fintech) + 10 < position(&iot),
        "fintech {} vs iot {}",
        position(&fintech),
        position(&iot)
    );
    assert_eq!(order(&iot)[0], "tinygo-cortex-m");
    assert!(fintech.optional.contains(&"wasmedge-ota".to_string()));
    assert!(iot.optional.contains(&"multi-cluster-gitops".to_string()));
}

#[test]
fn five_new_dependencies_in_a_day_bring_dependency_security_forward() {
    let s = plan("fast-mover");
    assert!(rules(&s).contains(&"dependency-surge"));
    assert!(!rules(&s).contains(&"load-test-sandbox"), "5 is not < 5");
    assert_eq!(order(&s)[..2], ["go-modules", "dependency-security"]);
    assert_eq!(s.next_exercises[0].exercise, "gomod-pin-deps");
}

#[test]
fn frontend_engineer_gets_transfer_credit_and_a_remedy_for_the_frozen_exercise() {
    let s = plan("frontend-to-backend");
    assert_eq!(s.frozen_exercises.len(), 1);
    assert_eq!(s.frozen_exercises[0].exercise, "short-link-service");
    assert_eq!(s.next_exercises[0].exercise, "http-middleware");
    assert!(
        s.next_exercises
            .iter()
            .all(|e| e.exercise != "short-link-service")
    );
    let redis = s
        .stages
        .iter()
        .flat_map(|s| &s.modules)
        .find(|m| m.id == "redis-caching")
        .expect("planned");
    assert!(!s.mastered.contains(&"redis-caching".to_string()));
    // 0.6 x 90 = 54 credited: 46% of the module's hours remain.
    let full = 8.0;
    assert_eq!(redis.hours, (full * 0.46f64).round() as u32);
}

#[test]
fn infrastructure_developer_hits_the_leap_thresholds() {
    let s = plan("infra-developer");
    let fired = rules(&s);
    for r in ["slo-steady", "first-adr", "load-test-sandbox"] {
        assert!(fired.contains(&r), "{r} in {fired:?}");
    }
    assert_eq!(order(&s)[0], "ebpf-exporter");
    let cli = s
        .stages
        .iter()
        .flat_map(|s| &s.modules)
        .find(|m| m.id == "cli-cross-compile")
        .expect("planned");
    assert_eq!(cli.state, learnpath::api::ModuleState::InProgress);
}

#[test]
fn every_example_learner_plans() {
    // Every file, not only those the fixtures name: a new example learner is planned too.
    for entry in std::fs::read_dir(fixtures::examples_dir().join("learners")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "namespace" {
            continue;
        }
        let s = plan(&name);
        assert!(!s.stages.is_empty(), "{name}");
        assert!(s.summary.as_deref().unwrap_or("").contains('%'), "{name}");
    }
}
