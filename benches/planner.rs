//! Planner micro-benchmarks: the go-engineer Track, and a generated 500-module Track with deep
//! chains and wide fan-in.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use learnpath::api::{LearningPath, Track, TrackSpec};
use learnpath::planner;

fn read<T: serde::de::DeserializeOwned>(path: &str) -> T {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    serde_saphyr::from_str(&std::fs::read_to_string(&full).expect("example exists"))
        .expect("example parses")
}

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

fn bench(c: &mut Criterion) {
    let track: Track = read("examples/tracks/go-engineer.yaml");
    let learner: LearningPath = read("examples/learners/backend-engineer.yaml");
    let mut group = c.benchmark_group("planner");
    group.throughput(Throughput::Elements(1));
    group.bench_function("go-engineer/backend-engineer", |b| {
        b.iter(|| planner::plan(black_box(&track.spec), black_box(&learner.spec)).expect("plans"))
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
    group.bench_function("generated-500-modules", |b| {
        b.iter(|| planner::plan(black_box(&big), black_box(&spec)).expect("plans"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
