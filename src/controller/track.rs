//! Track status: module and exercise counts for `kubectl get trk`, and whether the curriculum
//! itself is valid, so that its authors see a cycle on the Track and not only on every learner.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use tracing::{info, warn};

use crate::api::{Track, TrackStatus};
use crate::planner::{self, Invalid, condition_types};

use super::errors::{StatusPatchError, apply_status};
use super::reconcile::Context;

/// Errors of the Track reconcile: its status patch failed.
pub type TrackError = StatusPatchError;

/// The status a Track should have, given the previous one (pure).
pub fn desired_track_status(
    track: &Track,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> TrackStatus {
    status_for(track, planner::check_track(&track.spec), now)
}

/// [`desired_track_status`] with the Track already checked (see [`super::curricula`]).
fn status_for(
    track: &Track,
    verdict: Result<(), Invalid>,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> TrackStatus {
    let (status, reason, message) = match verdict {
        Ok(()) => (
            "True",
            "CurriculumValid".to_string(),
            "modules, prerequisites, weights and rules are consistent".to_string(),
        ),
        Err(invalid) => (
            "False",
            invalid.reason.as_str().to_string(),
            invalid.message,
        ),
    };
    let previous = track.status.as_ref().and_then(|s| {
        s.conditions
            .iter()
            .find(|c| c.type_ == condition_types::VALID)
    });
    let last_transition_time = previous
        .filter(|c| c.status == status)
        .map_or(now, |c| c.last_transition_time.clone());
    TrackStatus {
        observed_generation: track.metadata.generation,
        modules: Some(track.spec.modules.len() as u32),
        exercises: Some(
            track
                .spec
                .modules
                .iter()
                .map(|m| m.exercises.len() as u32)
                .sum(),
        ),
        conditions: vec![Condition {
            type_: condition_types::VALID.to_string(),
            status: status.to_string(),
            reason,
            message,
            observed_generation: track.metadata.generation,
            last_transition_time,
        }],
    }
}

/// Reconciles one Track's status; writes only when it changed. The Track is checked through the
/// shared index, which its learners' reconciles of the same generation reuse.
pub async fn reconcile_track(track: Arc<Track>, ctx: Arc<Context>) -> Result<Action, TrackError> {
    let verdict = ctx.curricula.get(&track).check();
    let desired = status_for(&track, verdict, super::now());
    if track.status.as_ref() == Some(&desired) {
        return Ok(Action::await_change());
    }
    let name = track.name_any();
    apply_status::<Track>(&ctx.client, &name, &desired).await?;
    info!(track = %name, "track status written");
    Ok(Action::await_change())
}

/// Retries a failed Track status write after a pause: a short one unless only new CRDs can help.
pub fn track_error_policy(track: Arc<Track>, error: &TrackError, _: Arc<Context>) -> Action {
    warn!(track = %track.name_any(), %error, "track reconcile failed");
    Action::requeue(std::time::Duration::from_secs(match error {
        TrackError::Patch { .. } => 5,
        // A minute, not the learners' five: one Track's status, and new CRDs take effect
        // without anyone editing the Track.
        TrackError::CrdOutOfDate(_) => 60,
    }))
}
