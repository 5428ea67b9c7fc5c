//! Planner micro-benchmarks: the go-engineer Track, a generated 500-module Track with deep
//! chains and wide fan-in, and the hostile shapes (docs/security.md): one 500-deep chain, a wide
//! fan-in, the most prerequisite edges an acyclic Track can have, and a Track and learner at
//! every count limit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use learnpath::api::{LearningPathSpec, TrackSpec};
use learnpath::planner;
use testkit::fixtures;

/// 500 modules: ten chains of fifty (deep), and every tenth module needing the ten before it (wide).
fn generated_track() -> TrackSpec {
    let modules: Vec<serde_json::Value> = (0..500)
        .map(|i: usize| {
            let mut prereqs = Vec::new();
            if !i.is_multiple_of(50) {
                prereqs.push(format!("m{:03}", i - 1));
            }
            if i.is_multiple_of(10) && i >= 60 {
                prereqs.extend((1..=10).map(|k| format!("m{:03}", i - 50 - k)));
            }
            serde_json::json!({
                "id": format!("m{i:03}"), "title": format!("Module {i}"), "hours": 1 + i % 13,
                "dimension": format!("d{}", i % 5), "prerequisites": prereqs,
                "exercises": (0..3).map(|k| serde_json::json!({"id": format!("e{i:03}-{k}"), "title": "x", "hours": 1 + k})).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "title": "generated",
        "dimensions": (0..5).map(|d| serde_json::json!({"id": format!("d{d}"), "title": format!("D{d}")})).collect::<Vec<_>>(),
        "modules": modules,
        "profiles": {"industries": {"x": {"weights": {"d1": 3, "d2": 0.5, "m499": 9}}}},
        "rules": [{"id": "r", "when": [{"signal": "s", "operator": ">", "value": 1}], "then": {"boost": {"module": "m250", "factor": 2}}, "message": "m"}],
    }))
    .expect("generated track is well-formed")
}

/// A Track from (id number, prerequisite numbers) pairs, three exercises per module.
fn track_of(title: &str, modules: Vec<(usize, Vec<usize>)>) -> TrackSpec {
    let modules: Vec<serde_json::Value> = modules
        .into_iter()
        .map(|(i, prereqs)| {
            serde_json::json!({
                "id": format!("m{i:03}"), "title": format!("Module {i}"), "hours": 1 + i % 13,
                "dimension": format!("d{}", i % 5),
                "prerequisites": prereqs.into_iter().map(|p| format!("m{p:03}")).collect::<Vec<_>>(),
                "exercises": (0..3).map(|k| serde_json::json!({"id": format!("e{i:03}-{k}"), "title": "x", "hours": 1 + k})).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "title": title,
        "dimensions": (0..5).map(|d| serde_json::json!({"id": format!("d{d}"), "title": format!("D{d}")})).collect::<Vec<_>>(),
        "modules": modules,
        "profiles": {"industries": {"x": {"weights": {"d1": 3, "d2": 0.5, "m499": 9}}}},
    }))
    .expect("generated track is well-formed")
}

/// 500 modules in one chain: each needs the one before it (depth 500).
fn deep_chain() -> TrackSpec {
    track_of(
        "deep chain",
        (0..500)
            .map(|i| (i, if i == 0 { vec![] } else { vec![i - 1] }))
            .collect(),
    )
}

/// Wide fan-in: 450 leaves, 45 hubs each needing 10 leaves, and 5 capstones each needing all
/// 45 hubs, so that every capstone needs (transitively) the 495 other modules. 50 direct
/// prerequisites is the schema's maximum, hence the hubs.
fn wide_fan_in() -> TrackSpec {
    let leaves = (0..450).map(|i| (i, vec![]));
    let hubs = (0..45).map(|h| (450 + h, (h * 10..h * 10 + 10).collect()));
    let capstones = (495..500).map(|c| (c, (450..495).collect()));
    track_of("wide fan-in", leaves.chain(hubs).chain(capstones).collect())
}

/// The most prerequisite edges an acyclic Track can have under the schema: every module needs the
/// (up to) 50 before it, 23,725 edges.
fn max_edges() -> TrackSpec {
    track_of(
        "max edges",
        (0..500)
            .map(|i: usize| (i, (i.saturating_sub(50)..i).collect()))
            .collect(),
    )
}

/// Every count at the schema's maximum, and a learner at their own maxima (the fixtures'
/// Track and learner at every limit).
fn max_size() -> (TrackSpec, LearningPathSpec) {
    (
        fixtures::track_at_every_limit(),
        fixtures::learner_at_every_limit("max"),
    )
}

fn bench(c: &mut Criterion) {
    let track = fixtures::example_track();
    let learner = fixtures::example_learner("backend-engineer");
    let mut group = c.benchmark_group("planner");
    group.throughput(Throughput::Elements(1));
    // As the operator plans: the Track is indexed once per generation, then each learner.
    let curriculum = planner::Curriculum::new(&track.spec);
    group.bench_function("go-engineer/backend-engineer", |b| {
        b.iter(|| {
            black_box(&curriculum)
                .plan(black_box(&learner.spec))
                .expect("plans")
        })
    });
    // As `learnpath plan` does: indexing the Track and planning one learner.
    group.bench_function("go-engineer/backend-engineer+index", |b| {
        b.iter(|| planner::plan(black_box(&track.spec), black_box(&learner.spec)).expect("plans"))
    });
    group.bench_function("go-engineer/index", |b| {
        b.iter(|| planner::Curriculum::new(black_box(&track.spec)))
    });
    let big = generated_track();
    let mut spec = learner.spec.clone();
    spec.industry = Some("x".into());
    spec.role = None;
    spec.assessment = [("d0".to_string(), 50u8), ("m100".to_string(), 90)]
        .into_iter()
        .collect();
    spec.completed_exercises = vec!["e001-0".into(), "e002-1".into()];
    spec.signals = [("s".to_string(), 2.0)].into_iter().collect();
    spec.struggles.clear();
    let big_curriculum = planner::Curriculum::new(&big);
    group.bench_function("generated-500-modules", |b| {
        b.iter(|| {
            black_box(&big_curriculum)
                .plan(black_box(&spec))
                .expect("plans")
        })
    });
    group.bench_function("generated-500-modules+index", |b| {
        b.iter(|| planner::plan(black_box(&big), black_box(&spec)).expect("plans"))
    });
    // Hostile shapes, target < 10 ms per plan, the Track's indexing included. The
    // learner starts from scratch, so every module is planned.
    let mut fresh = spec.clone();
    fresh.assessment.clear();
    fresh.completed_exercises.clear();
    for (name, track) in [
        ("deep-chain-500", deep_chain()),
        ("wide-fan-in-500", wide_fan_in()),
        ("max-edges-500", max_edges()),
    ] {
        let planned = planner::plan(&track, &fresh).expect("plans");
        let modules: usize = planned.stages.iter().map(|s| s.modules.len()).sum();
        assert_eq!(modules + planned.optional.len(), 500, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| planner::plan(black_box(&track), black_box(&fresh)).expect("plans"))
        });
    }
    let (max_track, max_spec) = max_size();
    planner::plan(&max_track, &max_spec).expect("the max-size Track plans");
    group.bench_function("max-size-track+index", |b| {
        b.iter(|| planner::plan(black_box(&max_track), black_box(&max_spec)).expect("plans"))
    });
    let max_curriculum = planner::Curriculum::new(&max_track);
    group.bench_function("max-size-track", |b| {
        b.iter(|| {
            black_box(&max_curriculum)
                .plan(black_box(&max_spec))
                .expect("plans")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
