//! What a reconcile sends, decided without I/O: nothing when the stored status already is the
//! desired one, the verdict alone for invalid input (the last good plan stays where it is), or
//! the whole status by server-side apply (docs/controller.md §5).

use kube::Resource;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::api::{LearningPath, LearningPathStatus};

use super::cache;

/// The field manager of every status write; one fixed name so server-side apply can tell our
/// fields from a bot's or Git's.
pub const FIELD_MANAGER: &str = "learnpath-controller";

/// The status write a reconcile needs.
#[derive(Debug, PartialEq)]
pub(super) enum Write {
    /// The stored status already is the desired one.
    Unchanged,
    /// Invalid input on an object whose plan the cache holds only as a digest: the verdict
    /// (conditions, generations, summary), merged over the plan the object keeps.
    Verdict(Value),
    /// The whole status by server-side apply; `digest` recognises its watch event.
    Status {
        /// The apply body.
        body: Value,
        /// [`cache::digest`] of the status sent.
        digest: cache::Digest,
    },
}

impl Write {
    /// The patch and its parameters, for anything but [`Write::Unchanged`].
    pub fn request(&self) -> Option<(PatchParams, Patch<&Value>)> {
        match self {
            Write::Unchanged => None,
            Write::Verdict(body) => Some((
                PatchParams {
                    field_manager: Some(FIELD_MANAGER.to_string()),
                    ..PatchParams::default()
                },
                Patch::Merge(body),
            )),
            Write::Status { body, .. } => Some((
                PatchParams::apply(FIELD_MANAGER).force(),
                Patch::Apply(body),
            )),
        }
    }
}

/// Decides the write that takes `lp` (as cached: its status trimmed, see [`cache::trim`]) to
/// the `desired` status.
pub(super) fn decide(lp: &LearningPath, desired: &LearningPathStatus) -> Write {
    if cache::is_invalid(desired) && cache::is_trimmed(lp) {
        if cache::same_verdict(lp, desired) {
            return Write::Unchanged;
        }
        return Write::Verdict(json!({"status": {
            "observedGeneration": desired.observed_generation,
            "trackGeneration": desired.track_generation,
            "conditions": desired.conditions,
            "summary": desired.summary,
        }}));
    }
    let digest = cache::digest(desired);
    if cache::holds(lp, digest) {
        return Write::Unchanged;
    }
    Write::Status {
        body: json!({
            "apiVersion": LearningPath::api_version(&()),
            "kind": LearningPath::kind(&()),
            "status": desired,
        }),
        digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{desired_status, now};
    use crate::fixtures;

    /// The backend engineer as the cache holds him after his plan was written.
    fn cached_with_plan() -> (crate::api::Track, LearningPath) {
        let track = fixtures::example_track();
        let mut lp = fixtures::example_learner("backend-engineer");
        lp.metadata.generation = Some(1);
        lp.status = Some(desired_status(&lp, Some(&track), now()));
        cache::trim(&mut lp);
        (track, lp)
    }

    #[test]
    fn a_plan_already_stored_is_not_written_again() {
        let (track, lp) = cached_with_plan();
        assert_eq!(
            decide(&lp, &desired_status(&lp, Some(&track), now())),
            Write::Unchanged
        );
    }

    #[test]
    fn a_changed_plan_is_applied_whole_with_its_digest() {
        let (track, mut lp) = cached_with_plan();
        lp.spec.hours_per_week = 2;
        let desired = desired_status(&lp, Some(&track), now());
        let Write::Status { body, digest } = decide(&lp, &desired) else {
            panic!("expected a whole status");
        };
        assert_eq!(digest, cache::digest(&desired));
        assert_eq!(body["kind"], "LearningPath");
        assert_eq!(body["status"]["summary"], json!(desired.summary));
        let Some((params, Patch::Apply(_))) = (Write::Status { body, digest }).request() else {
            panic!("expected an apply");
        };
        assert_eq!(params.field_manager.as_deref(), Some(FIELD_MANAGER));
        assert!(params.force);
    }

    #[test]
    fn invalid_input_writes_only_the_verdict_and_only_once() {
        let (_, lp) = cached_with_plan();
        let gone = desired_status(&lp, None, now());
        let Write::Verdict(body) = decide(&lp, &gone) else {
            panic!("expected a verdict");
        };
        let fields: Vec<&String> = body["status"].as_object().expect("status").keys().collect();
        assert_eq!(
            fields,
            [
                "conditions",
                "observedGeneration",
                "summary",
                "trackGeneration"
            ]
        );
        assert!(
            body["status"]["summary"]
                .as_str()
                .is_some_and(|s| s.contains("TrackNotFound"))
        );

        // Once the verdict is stored, the same verdict is not sent again.
        let mut stored = lp.clone();
        if let (Some(status), Some(verdict)) = (stored.status.as_mut(), Some(&gone)) {
            status.conditions = verdict.conditions.clone();
            status.summary = verdict.summary.clone();
            status.track_generation = verdict.track_generation;
        }
        assert_eq!(decide(&stored, &gone), Write::Unchanged);
    }

    #[test]
    fn a_fresh_learner_with_invalid_input_gets_a_whole_status() {
        let mut lp = fixtures::example_learner("backend-engineer");
        lp.metadata.generation = Some(1);
        let desired = desired_status(&lp, None, now());
        assert!(matches!(decide(&lp, &desired), Write::Status { .. }));
    }
}
