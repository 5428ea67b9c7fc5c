//! `learnpath plan`: the controller's planning step, offline, on YAML files.

use std::path::Path;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::api::{LearningPath, LearningPathStatus, Track};
use crate::planner::{self, Invalid, Outcome};

use super::picture::{PictureFormat, Radar, Roadmap, render_roadmap};

/// Output formats of `learnpath plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "operator", derive(clap::ValueEnum))]
pub enum PlanFormat {
    /// The status as JSON, exactly as the operator writes it.
    Json,
    /// The status as YAML.
    Yaml,
    /// A readable table of stages and next exercises.
    Table,
    /// A Mermaid flowchart of the roadmap.
    Mermaid,
    /// A picture: the radar, the timeline, the next exercises and the rules, as one SVG.
    Svg,
    /// The same picture as a self-contained HTML page.
    Html,
}

impl PlanFormat {
    /// The picture format, for `svg` and `html`.
    pub fn picture(self) -> Option<PictureFormat> {
        match self {
            PlanFormat::Svg => Some(PictureFormat::Svg),
            PlanFormat::Html => Some(PictureFormat::Html),
            _ => None,
        }
    }
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
    let lp = planned_learning_path(path)?;
    Ok(lp.status.unwrap_or_default())
}

/// A LearningPath file whose status holds a roadmap.
fn planned_learning_path(path: &Path) -> Result<LearningPath, String> {
    let lp: LearningPath = read(path, "LearningPath").map_err(|e| e.to_string())?;
    match &lp.status {
        Some(status) if status.progress.is_some() || !status.conditions.is_empty() => Ok(lp),
        _ => Err(format!(
            "LearningPath {} has no roadmap yet: is the operator running?",
            lp.name_any()
        )),
    }
}

/// The picture of the roadmap a LearningPath file's status holds. The radar needs the Track:
/// without `track`, the picture says so in its place.
///
/// # Errors
/// Unreadable or unparsable files, a LearningPath without a roadmap, a Track of another name,
/// or a spec the Track cannot score.
pub fn show_picture(
    file: &Path,
    track: Option<&Path>,
    format: PictureFormat,
) -> Result<String, String> {
    let lp = planned_learning_path(file)?;
    let track: Option<Track> = track
        .map(|t| read(t, "Track"))
        .transpose()
        .map_err(|e| e.to_string())?;
    let radar = match &track {
        Some(track) => radar_of(track, &lp).map_err(|e| e.to_string())?,
        None => Radar::Missing(
            "The radar needs the Track: run learnpath show with --track FILE.".to_string(),
        ),
    };
    let status = lp.status.clone().unwrap_or_default();
    Ok(render_roadmap(
        &roadmap(&lp, track.as_ref(), &status, radar),
        format,
    ))
}

/// Plans from a Track file and a LearningPath file and draws the plan.
///
/// # Errors
/// As [`plan_files`].
pub fn plan_picture(
    track: &Path,
    path: &Path,
    now: Time,
    format: PictureFormat,
) -> Result<String, PlanError> {
    let track: Track = read(track, "Track")?;
    let lp: LearningPath = read(path, "LearningPath")?;
    let status = plan_objects(&track, &lp, now)?;
    let radar = radar_of(&track, &lp)?;
    Ok(render_roadmap(
        &roadmap(&lp, Some(&track), &status, radar),
        format,
    ))
}

fn radar_of(track: &Track, lp: &LearningPath) -> Result<Radar, PlanError> {
    if lp.spec.track_ref.name != track.name_any() {
        return Err(PlanError::TrackMismatch {
            wanted: lp.spec.track_ref.name.clone(),
            found: track.name_any(),
        });
    }
    Ok(Radar::Scores {
        dimensions: planner::radar(&track.spec, &lp.spec)?,
        threshold: track.spec.mastery_threshold,
    })
}

fn roadmap<'a>(
    lp: &'a LearningPath,
    track: Option<&'a Track>,
    status: &'a LearningPathStatus,
    radar: Radar,
) -> Roadmap<'a> {
    Roadmap {
        learner: &lp.spec.learner.name,
        object: lp
            .metadata
            .name
            .as_ref()
            .map(|name| match &lp.metadata.namespace {
                Some(ns) => format!("{ns}/{name}"),
                None => name.clone(),
            }),
        track: track.map_or(lp.spec.track_ref.name.as_str(), |t| t.spec.title.as_str()),
        hours_per_week: lp.spec.hours_per_week,
        status,
        radar,
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

/// The status the operator would write for these objects at `now`, as if there were no previous
/// status. The signals the operator observed for the learner are read from its status, so a
/// LearningPath from the cluster plans offline exactly as the operator planned it.
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
    let observed = path
        .status
        .as_ref()
        .map_or(&[][..], |s| s.observed_signals.as_slice());
    let plan = planner::plan_inputs(
        &track.spec,
        planner::Inputs {
            spec: &path.spec,
            observed,
            now: Some(now.0),
        },
    )?;
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
