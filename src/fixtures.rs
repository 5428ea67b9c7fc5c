//! The example curriculum and learners, for the library's own unit tests.

use std::path::Path;

use crate::api::{LearningPath, Track};

fn read<T: serde::de::DeserializeOwned>(relative: &str) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

/// `examples/tracks/go-engineer.yaml`.
pub fn go_engineer_track() -> Track {
    read("examples/tracks/go-engineer.yaml")
}

/// `examples/learners/<name>.yaml`.
pub fn learner(name: &str) -> LearningPath {
    read(&format!("examples/learners/{name}.yaml"))
}
