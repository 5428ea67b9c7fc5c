//! The example curriculum as tests load it: the go-engineer Track (`examples/tracks/`) and the
//! example learners (`examples/learners/`). The library's own unit tests use this module directly;
//! integration tests, benchmarks and the fuzz targets reach it through the `fixtures` feature
//! (the `learnpath-testkit` crate turns it on). Not part of the API.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::api::{LearningPath, Track};

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
