//! One reconcile: resolve the Track, plan, compose the status, and write it only if it changed.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use tracing::{debug, info, warn};

use crate::api::{LearningPath, LearningPathStatus, Track, TrackSpec};
use crate::planner::{self, Curriculum, Invalid, Outcome, Reason};

use super::curricula::Curricula;
use super::events;
use super::metrics::{ErrorLabels, Metrics, OutcomeLabels};
use super::own_writes::OwnWrites;

/// The field manager of every status write; one fixed name so server-side apply can tell our
/// fields from a bot's or Git's.
pub const FIELD_MANAGER: &str = "learnpath-controller";

/// What to do about an out-of-date CRD, in every error that finds one.
pub(super) const APPLY_CRDS: &str =
    "apply this release's CRDs (kubectl apply -f crds/, or learnpath crd | kubectl apply -f -)";

/// Errors a reconcile can end with; all are retried with per-object backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed the status patch.
    #[error("status patch of {object} failed: {source}")]
    Patch {
        /// namespace/name.
        object: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The Track cache's writer is gone: the controller is shutting down.
    #[error("the Track cache is gone")]
    CacheGone,
    /// A LearningPath without a namespace: the API server never sends one, so this is a bug.
    #[error("LearningPath {0} has no namespace")]
    NoNamespace(String),
    /// The installed LearningPath CRD does not declare status fields this release writes: it is
    /// another release's. (Server-side apply refuses the whole patch, with a 500.)
    #[error(
        "the installed LearningPath CRD does not declare {fields}, which this release writes (status patch of {object} refused): {APPLY_CRDS}"
    )]
    CrdOutOfDate {
        /// namespace/name.
        object: String,
        /// The undeclared field paths, comma-separated (`.status.estimatedWeeks`).
        fields: String,
    },
}

impl Error {
    /// The API server was unreachable, overloaded or restarting: worth a prompt retry.
    fn is_transient(&self) -> bool {
        match self {
            Error::Patch { source, .. } => match source {
                kube::Error::Api(status) => status.code == 429 || status.code >= 500,
                kube::Error::Service(_) | kube::Error::HyperError(_) => true,
                _ => false,
            },
            // Retrying soon cannot help until somebody applies the CRDs: back off fully.
            Error::CacheGone | Error::NoNamespace(_) | Error::CrdOutOfDate { .. } => false,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Error::Patch {
                source: kube::Error::Api(status),
                ..
            } if status.code == 409 => "conflict",
            Error::Patch {
                source: kube::Error::Api(status),
                ..
            } if status.code == 429 => "throttled",
            Error::Patch { .. } => "api",
            Error::NoNamespace(_) | Error::CacheGone => "internal",
            Error::CrdOutOfDate { .. } => "crd_out_of_date",
        }
    }
}

/// Shared state of all reconciles.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Every Track, kept by a reflector: a reconcile never reads a Track from the API server.
    pub tracks: Store<Track>,
    /// Publishes events.
    pub recorder: Recorder,
    /// Metrics.
    pub metrics: Metrics,
    /// Consecutive failures per object, for exponential backoff.
    failures: Mutex<HashMap<ObjectRef<LearningPath>, u32>>,
    /// True once both caches are filled.
    synced: tokio::sync::watch::Sender<bool>,
    /// Learners waiting for a replan after a Track change.
    fanout: Arc<super::FanOut>,
    /// Status writes whose watch events have not come back yet.
    own_writes: OwnWrites,
    /// Each Track indexed once per generation, for all of its learners.
    pub curricula: Curricula,
}

impl Context {
    /// A context for a controller.
    pub fn new(
        client: Client,
        tracks: Store<Track>,
        recorder: Recorder,
        metrics: Metrics,
        fanout: Arc<super::FanOut>,
    ) -> Self {
        Context {
            client,
            tracks,
            recorder,
            metrics,
            failures: Mutex::new(HashMap::new()),
            synced: tokio::sync::watch::Sender::new(false),
            fanout,
            own_writes: OwnWrites::default(),
            curricula: Curricula::default(),
        }
    }

    /// Whether this watch event is our own status write coming back: see [`OwnWrites::is_own`].
    pub fn is_own_write(&self, lp: &LearningPath) -> bool {
        self.own_writes.is_own(lp)
    }

    /// Where the cache-sync task reports that both caches are filled.
    pub fn synced_sender(&self) -> tokio::sync::watch::Sender<bool> {
        self.synced.clone()
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef<LearningPath>, u32>> {
        // A poisoned lock only means another reconcile panicked mid-update of a counter.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The status the LearningPath should have now: the pure middle of the pipeline.
pub fn desired_status(
    lp: &LearningPath,
    track: Option<&Track>,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> LearningPathStatus {
    let curriculum = track.map(|t| (t, Curriculum::new(&t.spec)));
    status_for(lp, curriculum.as_ref().map(|(t, c)| (*t, c)), now)
}

/// [`desired_status`] with the Track already indexed (see [`super::curricula`]).
fn status_for<S: Borrow<TrackSpec>>(
    lp: &LearningPath,
    track: Option<(&Track, &Curriculum<S>)>,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> LearningPathStatus {
    let outcome = match track {
        None => Outcome::Invalid {
            invalid: Invalid::new(
                Reason::TrackNotFound,
                format!("Track {:?} not found", lp.spec.track_ref.name),
            ),
            track_generation: None,
        },
        Some((track, curriculum)) => match curriculum.plan(&lp.spec) {
            Ok(plan) => Outcome::Planned {
                plan: Box::new(plan),
                track_generation: track.metadata.generation,
            },
            Err(invalid) => Outcome::Invalid {
                invalid,
                track_generation: track.metadata.generation,
            },
        },
    };
    planner::compose_status(lp.status.as_ref(), lp.metadata.generation, outcome, now)
}

/// Reconciles one LearningPath.
pub async fn reconcile(lp: Arc<LearningPath>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    // Built once: the fan-out, the write gate and the failure count all key on it.
    let key = ObjectRef::from_obj(lp.as_ref());
    if let Some(waited) = ctx.fanout.waited(&key) {
        ctx.metrics.trigger_wait.observe(waited.as_secs_f64());
    }
    let result = reconcile_inner(&lp, &key, &ctx).await;
    ctx.fanout.done(&key);
    ctx.metrics
        .duration
        .observe(started.elapsed().as_secs_f64());
    match &result {
        Ok(written) => {
            ctx.failures().remove(&key);
            let outcome = if *written { "written" } else { "unchanged" };
            ctx.metrics
                .reconciles
                .get_or_create(&OutcomeLabels { outcome })
                .inc();
        }
        Err(e) => {
            ctx.metrics
                .reconciles
                .get_or_create(&OutcomeLabels { outcome: "error" })
                .inc();
            ctx.metrics
                .errors
                .get_or_create(&ErrorLabels { kind: e.kind() })
                .inc();
        }
    }
    // The plan depends only on the LearningPath and its Track, and both are watched: there is
    // nothing to poll for, so no periodic requeue (an idle cluster sees no writes).
    result.map(|_| Action::await_change())
}

async fn reconcile_inner(
    lp: &LearningPath,
    key: &ObjectRef<LearningPath>,
    ctx: &Context,
) -> Result<bool, Error> {
    let name = lp.name_any();
    let namespace = lp
        .namespace()
        .ok_or_else(|| Error::NoNamespace(name.clone()))?;
    // Until the Track cache is filled every learner would read TrackNotFound.
    if ctx
        .synced
        .subscribe()
        .wait_for(|synced| *synced)
        .await
        .is_err()
    {
        return Err(Error::CacheGone);
    }
    let track = ctx.tracks.get(&ObjectRef::new(&lp.spec.track_ref.name));
    let curriculum = track.as_deref().map(|t| ctx.curricula.get(t));
    let now = super::now();
    let desired = status_for(lp, track.as_deref().zip(curriculum.as_deref()), now);
    let api: Api<LearningPath> = Api::namespaced(ctx.client.clone(), &namespace);

    let (params, patch) = if is_invalid(&desired) && super::cache::is_trimmed(lp) {
        // Invalid inputs keep the last good plan, which the cache holds only as a digest: only
        // the verdict is written, by a merge patch that leaves the plan's fields where they are.
        if super::cache::same_verdict(lp, &desired) {
            debug!(%namespace, %name, "status unchanged (still invalid)");
            return Ok(false);
        }
        let verdict = json!({"status": {
            "observedGeneration": desired.observed_generation,
            "trackGeneration": desired.track_generation,
            "conditions": desired.conditions,
            "summary": desired.summary,
        }});
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        (params, Patch::Merge(verdict))
    } else {
        let digest = super::cache::digest(&desired);
        if super::cache::holds(lp, &digest) {
            debug!(%namespace, %name, "status unchanged");
            return Ok(false);
        }
        // Before the write: its watch event may come back before its response.
        ctx.own_writes.expect_status(lp, digest);
        let status = json!({
            "apiVersion": LearningPath::api_version(&()),
            "kind": LearningPath::kind(&()),
            "status": desired,
        });
        (
            PatchParams::apply(FIELD_MANAGER).force(),
            Patch::Apply(status),
        )
    };
    // A fan-out write waits for its turn here, so that an edit's write finds a short queue.
    let _turn = ctx.fanout.write_permit(key).await;
    ctx.metrics.status_writes.inc();
    let sent = Instant::now();
    let response = api.patch_status(&name, &params, &patch).await;
    ctx.metrics
        .write_duration
        .observe(sent.elapsed().as_secs_f64());
    let written = match response {
        Ok(written) => written,
        Err(source) => {
            ctx.own_writes.forget(lp);
            let object = format!("{namespace}/{name}");
            if let Some(fields) = undeclared_fields(&source) {
                return Err(Error::CrdOutOfDate { object, fields });
            }
            return Err(Error::Patch { object, source });
        }
    };
    if matches!(patch, Patch::Merge(_))
        && let Some(version) = written.resource_version()
    {
        ctx.own_writes.expect_version(lp, version);
    }
    info!(%namespace, %name, summary = desired.summary.as_deref().unwrap_or_default(), "status written");

    let reference = lp.object_ref(&());
    for event in events::transitions(lp.status.as_ref(), &desired) {
        ctx.metrics.events.inc();
        if let Err(e) = ctx.recorder.publish(&event, &reference).await {
            // An event is a courtesy; the status already says everything.
            warn!(%namespace, %name, reason = %event.reason, error = %e, "event not published");
        }
    }
    Ok(true)
}

/// The field paths a server-side apply was refused for because the schema does not declare
/// them, comma-separated, if that is why it was refused. The API server (structured-merge-diff)
/// says `failed to create typed patch object (...): .status.x: field not declared in schema`,
/// one path per undeclared field.
pub(super) fn undeclared_fields(error: &kube::Error) -> Option<String> {
    const UNDECLARED: &str = ": field not declared in schema";
    let kube::Error::Api(status) = error else {
        return None;
    };
    let fields: std::collections::BTreeSet<&str> = status
        .message
        .match_indices(UNDECLARED)
        .filter_map(|(at, _)| status.message[..at].split_whitespace().next_back())
        .collect();
    (!fields.is_empty()).then(|| fields.into_iter().collect::<Vec<_>>().join(", "))
}

fn is_invalid(status: &LearningPathStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == planner::condition_types::VALID && c.status == "False")
}

/// The delay after `failures` consecutive failures: 1 s, 2 s, 4 s ... up to 5 minutes, but at
/// most 4 s for a `transient` error (the API server unreachable or restarting), so that learners
/// catch up soon after it returns.
fn backoff(failures: u32, transient: bool) -> Duration {
    let cap = if transient { 4 } else { 300 };
    Duration::from_secs(1u64 << failures.min(10).saturating_sub(1)).min(Duration::from_secs(cap))
}

/// Per-object exponential backoff (see [`backoff`]).
pub fn error_policy(lp: Arc<LearningPath>, error: &Error, ctx: Arc<Context>) -> Action {
    let failures = {
        let mut map = ctx.failures();
        let n = map.entry(ObjectRef::from_obj(lp.as_ref())).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    let delay = backoff(failures, error.is_transient());
    warn!(name = %lp.name_any(), namespace = lp.namespace().unwrap_or_default(), %error, failures, ?delay, "reconcile failed");
    Action::requeue(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16, message: &str) -> kube::Error {
        let status: kube::core::Status = serde_json::from_value(json!({
            "status": "Failure",
            "code": code,
            "message": message,
            "reason": "InternalError",
        }))
        .expect("a Status");
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn a_refused_apply_names_the_fields_the_crd_does_not_declare() {
        // As kube-apiserver 1.37 words it (seen in tests/drift), and with two fields.
        let one = api_error(
            500,
            "failed to create typed patch object (/; learnpath.dev/v1alpha1, Kind=LearningPath): .status.estimatedWeeks: field not declared in schema",
        );
        assert_eq!(
            undeclared_fields(&one).as_deref(),
            Some(".status.estimatedWeeks")
        );
        let two = api_error(
            500,
            "failed to create typed patch object (/; learnpath.dev/v1alpha1, Kind=LearningPath): errors:\n  .status.summary: field not declared in schema\n  .status.estimatedWeeks: field not declared in schema",
        );
        assert_eq!(
            undeclared_fields(&two).as_deref(),
            Some(".status.estimatedWeeks, .status.summary")
        );
        assert_eq!(
            undeclared_fields(&api_error(500, "etcdserver: request timed out")),
            None
        );
        assert_eq!(
            undeclared_fields(&api_error(409, "the object has been modified")),
            None
        );
    }

    #[test]
    fn an_out_of_date_crd_backs_off_like_a_permanent_error() {
        let e = Error::CrdOutOfDate {
            object: "ns/ada".into(),
            fields: ".status.estimatedWeeks".into(),
        };
        assert!(!e.is_transient());
        assert_eq!(e.kind(), "crd_out_of_date");
        let text = e.to_string();
        assert!(text.contains(".status.estimatedWeeks") && text.contains("kubectl apply -f crds/"));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let secs = |f, t| backoff(f, t).as_secs();
        assert_eq!(
            [1, 2, 3, 4, 9, 10, 40].map(|f| secs(f, false)),
            [1, 2, 4, 8, 256, 300, 300]
        );
        assert_eq!([1, 3, 4, 40].map(|f| secs(f, true)), [1, 4, 4, 4]);
    }
}
