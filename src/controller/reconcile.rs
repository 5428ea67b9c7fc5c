//! One reconcile of a LearningPath, as named steps: wait for the caches, compute the desired
//! status (pure), decide the write (pure), send it, announce the transitions
//! (docs/controller.md §3, §5, §7, §8).

use std::borrow::Borrow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use tracing::{debug, info, warn};

use crate::api::{LearningPath, LearningPathStatus, ObservedSignal, Track, TrackSpec};
use crate::planner::{self, Curriculum, Inputs, Invalid, Outcome, Reason};

use super::errors::CrdOutOfDate;
use super::events;
use super::metrics::{ErrorLabels, OutcomeLabels};
use super::write::{self, Write};

pub use super::context::Context;
pub use super::write::FIELD_MANAGER;

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
    /// The installed LearningPath CRD is another release's.
    #[error(transparent)]
    CrdOutOfDate(#[from] CrdOutOfDate),
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
            Error::CacheGone | Error::NoNamespace(_) | Error::CrdOutOfDate(_) => false,
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
            Error::CrdOutOfDate(_) => "crd_out_of_date",
        }
    }
}

/// The status the LearningPath should have now, from the signals its status already holds: the
/// pure middle of the pipeline.
pub fn desired_status(lp: &LearningPath, track: Option<&Track>, now: Time) -> LearningPathStatus {
    let curriculum = track.map(|t| (t, Curriculum::new(&t.spec)));
    let observed = lp
        .status
        .as_ref()
        .map(|s| s.observed_signals.clone())
        .unwrap_or_default();
    status_for(
        lp,
        curriculum.as_ref().map(|(t, c)| (*t, c)),
        &observed,
        now,
    )
    .0
}

/// [`desired_status`] with the Track already indexed (see [`super::curricula`]) and the observed
/// signals given; also the next moment the plan changes by itself.
fn status_for<S: Borrow<TrackSpec>>(
    lp: &LearningPath,
    track: Option<(&Track, &Curriculum<S>)>,
    observed: &[ObservedSignal],
    now: Time,
) -> (LearningPathStatus, Option<Timestamp>) {
    let mut next_change = None;
    let outcome = match track {
        None => Outcome::Invalid {
            invalid: Invalid::new(
                Reason::TrackNotFound,
                format!("Track {:?} not found", lp.spec.track_ref.name),
            ),
            track_generation: None,
        },
        Some((track, curriculum)) => match curriculum.plan_inputs(Inputs {
            spec: &lp.spec,
            observed,
            now: Some(now.0),
        }) {
            Ok(plan) => {
                next_change = plan.next_change;
                Outcome::Planned {
                    plan: Box::new(plan),
                    track_generation: track.metadata.generation,
                }
            }
            Err(invalid) => Outcome::Invalid {
                invalid,
                track_generation: track.metadata.generation,
            },
        },
    };
    let status = planner::compose_status(lp.status.as_ref(), lp.metadata.generation, outcome, now);
    (status, next_change)
}

/// Reconciles one LearningPath.
pub async fn reconcile(lp: Arc<LearningPath>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    // Built once: the fan-out, the write gate and the failure count all key on it.
    let key = ObjectRef::from_obj(lp.as_ref());
    if let Some(waited) = ctx.fanout.waited(&key) {
        ctx.metrics.trigger_wait.observe(waited.as_secs_f64());
    }
    let result = reconcile_steps(&lp, &key, &ctx).await;
    ctx.fanout.done(&key);
    record(&ctx, &key, result.as_ref().map(|r| r.written), started);
    // The plan depends on the LearningPath, its Track and its signals, which are watched or
    // collected, and on the time only where a window ends: no periodic requeue (an idle cluster
    // sees no writes), only one at that moment.
    result.map(|r| match r.next_change {
        Some(at) => Action::requeue(until(at)),
        None => Action::await_change(),
    })
}

/// What a reconcile did, and when the plan changes next with no new input.
struct Reconciled {
    written: bool,
    next_change: Option<Timestamp>,
}

/// From now to `at` (zero if past), plus a little: times are stored to the second, and the
/// plan is judged at a time truncated to the second.
fn until(at: Timestamp) -> Duration {
    let left = at.duration_since(Timestamp::now());
    Duration::try_from(left).unwrap_or_default() + Duration::from_millis(20)
}

/// The steps of a reconcile.
async fn reconcile_steps(
    lp: &LearningPath,
    key: &ObjectRef<LearningPath>,
    ctx: &Context,
) -> Result<Reconciled, Error> {
    let name = lp.name_any();
    let namespace = lp
        .namespace()
        .ok_or_else(|| Error::NoNamespace(name.clone()))?;
    // Until the Track cache is filled every learner would read TrackNotFound.
    if !ctx.caches_synced().await {
        return Err(Error::CacheGone);
    }
    let (desired, next_change) = desired_from_cache(lp, ctx);
    let write = write::decide(lp, &desired);
    if write == Write::Unchanged {
        debug!(%namespace, %name, "status unchanged");
        return Ok(Reconciled {
            written: false,
            next_change,
        });
    }
    send(lp, key, ctx, &namespace, &write).await?;
    info!(%namespace, %name, summary = desired.summary.as_deref().unwrap_or_default(), "status written");
    announce(lp, ctx, &desired).await;
    Ok(Reconciled {
        written: true,
        next_change,
    })
}

/// The desired status, from the cached Track indexed once per generation and the signals the
/// sources that select this learner observed.
fn desired_from_cache(lp: &LearningPath, ctx: &Context) -> (LearningPathStatus, Option<Timestamp>) {
    let track = ctx.tracks.get(&ObjectRef::new(&lp.spec.track_ref.name));
    let curriculum = track.as_deref().map(|t| ctx.curricula.get(t));
    let observed = super::signals::observed_for(lp, &ctx.signals.views());
    status_for(
        lp,
        track.as_deref().zip(curriculum.as_deref()),
        &observed,
        super::now(),
    )
}

/// Sends a write, registering it first so that its watch event (which may come back before its
/// response) triggers no second reconcile.
async fn send(
    lp: &LearningPath,
    key: &ObjectRef<LearningPath>,
    ctx: &Context,
    namespace: &str,
    write: &Write,
) -> Result<(), Error> {
    let Some((params, patch)) = write.request() else {
        return Ok(());
    };
    if let Write::Status { digest, .. } = write {
        ctx.own_writes.expect_status(lp, *digest);
    }
    // A fan-out write waits for its turn here, so that an edit's write finds a short queue.
    let _turn = ctx.fanout.write_permit(key).await;
    ctx.metrics.status_writes.inc();
    let sent = Instant::now();
    let name = lp.name_any();
    let response = Api::<LearningPath>::namespaced(ctx.client.clone(), namespace)
        .patch_status(&name, &params, &patch)
        .await;
    ctx.metrics
        .write_duration
        .observe(sent.elapsed().as_secs_f64());
    let written = response.map_err(|source| {
        ctx.own_writes.forget(lp);
        let object = format!("{namespace}/{name}");
        match CrdOutOfDate::from_refusal("LearningPath", &object, &source) {
            Some(out_of_date) => Error::CrdOutOfDate(out_of_date),
            None => Error::Patch { object, source },
        }
    })?;
    ctx.metrics.last_write.set(Timestamp::now().as_second());
    // A merged verdict's event can only be told by the resourceVersion the response returned.
    if let (Write::Verdict(_), Some(version)) = (write, written.resource_version()) {
        ctx.own_writes.expect_version(lp, version);
    }
    Ok(())
}

/// Publishes the events the change deserves.
async fn announce(lp: &LearningPath, ctx: &Context, desired: &LearningPathStatus) {
    let reference = lp.object_ref(&());
    for event in events::transitions(lp.status.as_ref(), desired) {
        ctx.metrics.events.inc();
        if let Err(e) = ctx.announcer.publish(&event, &reference).await {
            // An event is a courtesy; the status already says everything.
            warn!(name = %lp.name_any(), reason = %event.reason, error = %e, "event not published");
        }
    }
}

/// Counts the outcome, and forgets the failures of an object that reconciled.
fn record(
    ctx: &Context,
    key: &ObjectRef<LearningPath>,
    result: Result<bool, &Error>,
    started: Instant,
) {
    ctx.metrics
        .duration
        .observe(started.elapsed().as_secs_f64());
    let outcome = match result {
        Ok(true) => "written",
        Ok(false) => "unchanged",
        Err(_) => "error",
    };
    ctx.metrics
        .reconciles
        .get_or_create(&OutcomeLabels { outcome })
        .inc();
    match result {
        Ok(_) => {
            ctx.failures().remove(key);
        }
        Err(e) => {
            ctx.metrics
                .errors
                .get_or_create(&ErrorLabels { kind: e.kind() })
                .inc();
        }
    }
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
    use crate::controller::errors::api_error;

    #[test]
    fn an_out_of_date_crd_backs_off_like_a_permanent_error() {
        let refusal = api_error(
            500,
            "failed to create typed patch object (/; learnpath.dev/v1alpha1, Kind=LearningPath): .status.estimatedWeeks: field not declared in schema",
        );
        let e = Error::from(
            CrdOutOfDate::from_refusal("LearningPath", "ns/ada", &refusal).expect("recognised"),
        );
        assert!(!e.is_transient());
        assert_eq!(e.kind(), "crd_out_of_date");
        let text = e.to_string();
        assert!(text.contains(".status.estimatedWeeks") && text.contains("kubectl apply -k crds/"));
    }

    #[test]
    fn server_trouble_is_transient_and_a_refusal_is_not() {
        let patch = |code| Error::Patch {
            object: "ns/ada".into(),
            source: api_error(code, "x"),
        };
        assert!(patch(503).is_transient() && patch(429).is_transient());
        assert!(!patch(422).is_transient());
        assert_eq!(
            [patch(409).kind(), patch(429).kind(), patch(500).kind()],
            ["conflict", "throttled", "api"]
        );
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
