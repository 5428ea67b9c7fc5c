//! Track status: module and exercise counts for `kubectl get trk`, and whether the curriculum
//! itself is valid, so that its authors see a cycle on the Track and not only on every learner.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use tracing::{info, warn};

use crate::api::{Track, TrackStatus};
use crate::planner::{self, condition_types};

use super::reconcile::FIELD_MANAGER;

/// Errors of the Track reconcile.
#[derive(Debug, thiserror::Error)]
#[error("status patch of Track {name} failed: {source}")]
pub struct TrackError {
    name: String,
    #[source]
    source: kube::Error,
}

/// The status a Track should have, given the previous one (pure).
pub fn desired_track_status(
    track: &Track,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> TrackStatus {
    let (status, reason, message) = match planner::check_track(&track.spec) {
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

/// Reconciles one Track's status; writes only when it changed.
pub async fn reconcile_track(track: Arc<Track>, client: Arc<Client>) -> Result<Action, TrackError> {
    let desired = desired_track_status(&track, super::now());
    if track.status.as_ref() == Some(&desired) {
        return Ok(Action::await_change());
    }
    let name = track.name_any();
    let patch = json!({
        "apiVersion": Track::api_version(&()),
        "kind": Track::kind(&()),
        "status": desired,
    });
    Api::<Track>::all(client.as_ref().clone())
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|source| TrackError {
            name: name.clone(),
            source,
        })?;
    info!(track = %name, "track status written");
    Ok(Action::await_change())
}

/// Retries a failed Track status write after a pause.
pub fn track_error_policy(track: Arc<Track>, error: &TrackError, _: Arc<Client>) -> Action {
    warn!(track = %track.name_any(), %error, "track reconcile failed");
    Action::requeue(std::time::Duration::from_secs(5))
}
