//! The example curriculum as tests load it: the go-engineer Track (`examples/tracks/`) and the
//! example learners (`examples/learners/`). The library's own unit tests use this module directly;
//! integration tests, benchmarks and the fuzz targets reach it through the `fixtures` feature
//! (the `learnpath-testkit` crate turns it on). Not part of the API.

#![allow(
    clippy::expect_used,
    reason = "test fixtures: a fixture that does not load stops the test with its message"
)]

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::api::{LearningPath, LearningPathSpec, Track, TrackSpec};

/// The example learners in `examples/learners/`, by file name without `.yaml`.
pub const LEARNERS: [&str; 6] = [
    "backend-engineer",
    "fast-mover",
    "fintech-engineer",
    "frontend-to-backend",
    "infra-developer",
    "iot-engineer",
];

/// The repository's `examples/` directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The file of the example Track.
pub fn example_track_file() -> PathBuf {
    examples_dir().join("tracks/go-engineer.yaml")
}

/// The file of one example learner, e.g. `backend-engineer`.
pub fn example_learner_file(learner: &str) -> PathBuf {
    examples_dir().join(format!("learners/{learner}.yaml"))
}

/// Any YAML file as `T`; panics naming the file when it cannot be read or parsed.
pub fn read_yaml<T: DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The example Track, as committed (named `go-engineer`).
pub fn example_track() -> Track {
    read_yaml(&example_track_file())
}

/// One example learner, as committed (in namespace `learners`, on Track `go-engineer`).
pub fn example_learner(learner: &str) -> LearningPath {
    read_yaml(&example_learner_file(learner))
}

/// A Track with every count at the schema's maximum: 500 modules of 50 exercises (25,000), 50
/// prerequisites per module, 50 dimensions, 50 industries and 50 roles of 550 weights, 100 rules
/// of 10 conditions, 200 transfers, 500 remedies.
pub fn track_at_every_limit() -> TrackSpec {
    let id = |i: usize| format!("m{i:03}");
    let modules: Vec<serde_json::Value> = (0..crate::api::limits::MODULES)
        .map(|i| {
            // The 50 modules before it: the most prerequisite edges an acyclic Track can have.
            let prereqs: Vec<String> = (i.saturating_sub(crate::api::limits::PREREQUISITES)..i).map(id).collect();
            serde_json::json!({
                "id": id(i), "title": format!("Module {i}"), "hours": 10 + i % 7,
                "dimension": format!("d{:02}", i % crate::api::limits::DIMENSIONS),
                "prerequisites": prereqs,
                "exercises": (0..crate::api::limits::EXERCISES).map(|k| serde_json::json!({"id": format!("e{i:03}-{k:02}"), "title": "x", "hours": 1 + k % 3})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let weights: serde_json::Map<String, serde_json::Value> = (0..crate::api::limits::MODULES)
        .map(id)
        .chain((0..crate::api::limits::DIMENSIONS).map(|d| format!("d{d:02}")))
        .enumerate()
        .map(|(k, key)| (key, serde_json::json!((k % 5) as f64 * 0.5)))
        .collect();
    let profiles: serde_json::Map<String, serde_json::Value> = (0..crate::api::limits::PROFILES)
        .map(|p| (format!("p{p:02}"), serde_json::json!({"weights": weights})))
        .collect();
    serde_json::from_value(serde_json::json!({
        "title": "max",
        "dimensions": (0..crate::api::limits::DIMENSIONS).map(|d| serde_json::json!({"id": format!("d{d:02}"), "title": "D"})).collect::<Vec<_>>(),
        "modules": modules,
        "profiles": {"industries": profiles, "roles": profiles},
        "rules": (0..crate::api::limits::RULES).map(|r| serde_json::json!({
            "id": format!("r{r:03}"),
            "when": (0..10).map(|c| serde_json::json!({"signal": format!("s{c}"), "operator": ">=", "value": c})).collect::<Vec<_>>(),
            "then": {"boost": {"module": id(r * 5), "factor": 2}, "prioritize": {"module": id(499 - r)}, "recommend": {"text": "r"}},
            "message": "m",
        })).collect::<Vec<_>>(),
        "transfers": (0..200).map(|t| serde_json::json!({"from": format!("skill{t}"), "to": id(t * 2), "ratio": 0.5})).collect::<Vec<_>>(),
        "struggle": {"maxFailures": 2, "remedial": (0..500).map(|i| (format!("e{i:03}-01"), serde_json::json!(id((i + 250) % 500)))).collect::<serde_json::Map<_, _>>()},
    }))
    .expect("max-size Track is well-formed")
}

/// A learner on [`track_at_every_limit`] (named `track`) at their own maxima: 600 scores (every
/// module, every dimension and 50 transferable skills), 5,000 completed exercises, 64 signals
/// (every rule fires), 500 struggles, 20 next exercises.
pub fn learner_at_every_limit(track: &str) -> LearningPathSpec {
    serde_json::from_value(serde_json::json!({
        "trackRef": {"name": track}, "learner": {"name": "L"},
        "industry": "p07", "role": "p49",
        "assessment": (0..500).map(|i| format!("m{i:03}"))
            .chain((0..50).map(|d| format!("d{d:02}")))
            .chain((0..50).map(|t| format!("skill{t}")))
            .enumerate()
            .map(|(k, key)| (key, serde_json::json!(k % 90)))
            .collect::<serde_json::Map<_, _>>(),
        "completedExercises": (0..5000).map(|k| format!("e{:03}-{:02}", k / 50 + 100, k % 50)).collect::<Vec<_>>(),
        "signals": (0..64).map(|c| (format!("s{c}"), serde_json::json!(c))).collect::<serde_json::Map<_, _>>(),
        "struggles": (0..500).map(|i| serde_json::json!({"exercise": format!("e{i:03}-01"), "failures": 3})).collect::<Vec<_>>(),
        "nextExercisesLimit": 20,
    }))
    .expect("the learner at every limit is well-formed")
}
