//! `learnpath plan`: the controller's planning step, offline, on YAML files.

use std::path::Path;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::api::{LearningPath, LearningPathStatus, Track};
use crate::planner::{self, Invalid, Outcome};

/// Output formats of `learnpath plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// The status as JSON, exactly as the operator writes it.
    Json,
    /// The status as YAML.
    Yaml,
    /// A readable table of stages and next exercises.
    Table,
    /// A Mermaid flowchart of the roadmap.
    Mermaid,
}

/// Why `learnpath plan` could not print a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not a valid Track or LearningPath.
    #[error("{path} is not a valid {kind}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// `Track` or `LearningPath`.
        kind: &'static str,
        /// The parser's message, one line.
        message: String,
    },
    /// The LearningPath references another Track.
    #[error("the LearningPath references Track {wanted:?}, but the Track file holds {found:?}")]
    TrackMismatch {
        /// `spec.trackRef.name`.
        wanted: String,
        /// The Track's name.
        found: String,
    },
    /// The inputs are inconsistent: the same reason the operator would put in `Valid=False`.
    #[error("{0}")]
    Invalid(#[from] Invalid),
}

fn read<T: serde::de::DeserializeOwned>(path: &Path, kind: &'static str) -> Result<T, PlanError> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|source| PlanError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_saphyr::from_str(&text).map_err(|e| PlanError::Parse {
        path: path.display().to_string(),
        kind,
        message: e.to_string().lines().next().unwrap_or_default().to_string(),
    })
}

/// The status held by a LearningPath file (`-` for standard input).
///
/// # Errors
/// Unreadable or unparsable input, or a LearningPath the operator has not planned yet.
pub fn show_file(path: &Path) -> Result<LearningPathStatus, String> {
    let lp: LearningPath = read(path, "LearningPath").map_err(|e| e.to_string())?;
    match lp.status {
        Some(status) if status.progress.is_some() || !status.conditions.is_empty() => Ok(status),
        _ => Err(format!(
            "LearningPath {} has no roadmap yet: is the operator running?",
            lp.name_any()
        )),
    }
}

/// Plans from a Track file and a LearningPath file.
///
/// # Errors
/// Unreadable or unparsable files, a Track of another name, or inconsistent inputs.
pub fn plan_files(track: &Path, path: &Path, now: Time) -> Result<LearningPathStatus, PlanError> {
    let track: Track = read(track, "Track")?;
    let path: LearningPath = read(path, "LearningPath")?;
    plan_objects(&track, &path, now)
}

/// The status the operator would write for these objects, as if there were no previous status.
///
/// # Errors
/// A Track of another name, or inconsistent inputs.
pub fn plan_objects(
    track: &Track,
    path: &LearningPath,
    now: Time,
) -> Result<LearningPathStatus, PlanError> {
    if path.spec.track_ref.name != track.name_any() {
        return Err(PlanError::TrackMismatch {
            wanted: path.spec.track_ref.name.clone(),
            found: track.name_any(),
        });
    }
    let plan = planner::plan(&track.spec, &path.spec)?;
    let outcome = Outcome::Planned {
        plan: Box::new(plan),
        track_generation: track.metadata.generation,
    };
    Ok(planner::compose_status(
        None,
        path.metadata.generation,
        outcome,
        now,
    ))
}
