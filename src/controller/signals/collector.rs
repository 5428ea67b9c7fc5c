//! One SignalSource's rounds (docs/signals.md §5, §6): collect (one fetch, or one query per
//! signal), compare with the last round, replan only the learners whose values changed, and
//! write the source's status only when it changed. A failing round keeps the last good values.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use tracing::{info, warn};

use crate::api::{GitSource, PrometheusSource, SecretRef, SignalSource, parse_duration};
use crate::signals::prometheus::{self, Endpoint, PromError};
use crate::signals::{self as git, SignalsError};

use super::super::Context;
use super::super::metrics::SourceLabels;
use super::observed::{Collected, Seen};
use super::source_status::{self, Round};
use super::{learners_of, learners_with_values};

/// Where collectors keep their working files and find their Secrets.
#[derive(Clone, Debug)]
pub struct Settings {
    /// A Git source's repository lives in `<cache_dir>/<source name>`.
    pub cache_dir: PathBuf,
    /// The operator's own namespace: the only one Secrets are read from.
    pub secret_namespace: String,
    /// The one namespace whose learners this operator watches, if it watches only one.
    pub watched_namespace: Option<String>,
}

impl Settings {
    /// Whether this operator collects `source`. One that watches a single namespace collects
    /// only the sources dedicated to it (`learners.namespaces` is exactly that namespace):
    /// several such operators share a cluster, and two of them must not both write a source's
    /// status, each counting only its own learners. A cluster-wide operator collects them all.
    pub fn collects(&self, source: &SignalSource) -> bool {
        match &self.watched_namespace {
            None => true,
            Some(ns) => source.spec.learners.namespaces == [ns.as_str()],
        }
    }
}

/// One round's values, before they are compared with the last.
struct Values {
    /// Learner key -> signal -> value.
    by_key: HashMap<String, BTreeMap<String, f64>>,
    /// For Git, the commit.
    revision: Option<String>,
    /// For Git, when the counts next change without a new commit.
    recompute_at: Option<Timestamp>,
    /// What was left out, for the status message.
    notes: Vec<String>,
}

/// Why a round collected nothing.
struct Failure {
    reason: &'static str,
    message: String,
}

/// Runs a source's rounds until the task is aborted (the source changed or was deleted, or the
/// operator stops leading).
pub async fn run(
    name: String,
    ctx: Arc<Context>,
    settings: Settings,
    sources: Store<SignalSource>,
) {
    let mut state = State::default();
    loop {
        let Some(source) = sources.get(&ObjectRef::new(&name)) else {
            return;
        };
        let wait = round(&source, &ctx, &settings, &mut state).await;
        tokio::time::sleep(wait).await;
    }
}

/// What a collector remembers between rounds.
#[derive(Default)]
struct State {
    /// When the next full round is due (an earlier wake-up only recomputes Git counts).
    next_full: Option<Timestamp>,
    /// When a Git source's counts next change without a new commit.
    recompute_at: Option<Timestamp>,
}

/// One round (or, for Git at a window's edge, one recomputation); how long to wait for the next.
async fn round(
    source: &SignalSource,
    ctx: &Context,
    settings: &Settings,
    state: &mut State,
) -> Duration {
    let name = source.name_any();
    let now = super::super::now();
    let interval = match parse_duration(&source.spec.interval) {
        Ok(d) => d.max(SignedDuration::from_secs(1)),
        Err(e) => {
            let failure = Failure {
                reason: "InvalidSpec",
                message: format!("interval: {e}"),
            };
            report(ctx, source, Err(failure), now).await;
            return Duration::from_secs(60);
        }
    };
    let full = state.next_full.is_none_or(|due| now.0 >= due);
    let outcome = if full {
        ctx.metrics
            .signal_requests
            .get_or_create(&SourceLabels::new(&name))
            .inc_by(requests(source));
        collect(source, ctx, settings, now.0).await
    } else {
        recompute(source, settings, now.0).await
    };
    if full {
        state.next_full = now.0.checked_add(interval).ok();
    }
    state.recompute_at = outcome.as_ref().ok().and_then(|v| v.recompute_at);
    let failed = outcome.is_err();
    report(ctx, source, outcome, now.clone()).await;
    let expiry = if failed {
        expiry(source, ctx, now.0)
    } else {
        None
    };
    let next = [state.next_full, state.recompute_at, expiry]
        .into_iter()
        .flatten()
        .filter(|&t| t > now.0)
        .min();
    next.map_or(Duration::from_secs(1), |t| {
        // A whole second after the edge: `now` is truncated to the second.
        Duration::try_from(t.duration_since(now.0)).unwrap_or_default() + Duration::from_millis(50)
    })
}

/// How many HTTP exchanges a full round makes: a fetch, or one query per signal.
fn requests(source: &SignalSource) -> u64 {
    source
        .spec
        .prometheus
        .as_ref()
        .map_or(1, |p| p.queries.len() as u64)
}

/// Compares the round with the last, replans the learners whose values changed, and writes the
/// source's status if it changed.
async fn report(ctx: &Context, source: &SignalSource, outcome: Result<Values, Failure>, now: Time) {
    let name = source.name_any();
    let labels = SourceLabels::new(&name);
    let round = match outcome {
        Ok(values) => {
            ctx.metrics
                .signal_collections
                .get_or_create(&labels.with_outcome("collected"))
                .inc();
            ctx.metrics
                .signal_last_success
                .get_or_create(&labels)
                .set(now.0.as_second());
            let changed = update_values(ctx, &name, values.by_key, now.0);
            let learners = ctx
                .signals
                .get(&name)
                .map_or(0, |view| learners_with_values(&ctx.paths, &view));
            Round::Collected {
                learners: u32::try_from(learners).unwrap_or(u32::MAX),
                changed,
                revision: values.revision,
                message: collected_message(source, learners, &values.notes),
            }
        }
        Err(failure) => {
            ctx.metrics
                .signal_collections
                .get_or_create(&labels.with_outcome("failed"))
                .inc();
            warn!(source = %name, reason = failure.reason, error = %failure.message, "signal collection failed; the last good values stay");
            Round::Failed {
                reason: failure.reason,
                message: format!("{}; the last good values stay", failure.message),
            }
        }
    };
    let desired = source_status::desired(source, &round, now);
    match source_status::write(&ctx.client, source, &desired).await {
        Ok(true) => info!(source = %name, "signal source status written"),
        Ok(false) => {}
        Err(e) => warn!(source = %name, error = %e, "signal source status not written"),
    }
}

/// Stores the round's values and enqueues the learners whose values changed; true if any did.
fn update_values(
    ctx: &Context,
    name: &str,
    by_key: HashMap<String, BTreeMap<String, f64>>,
    now: Timestamp,
) -> bool {
    let Some(view) = ctx.signals.get(name) else {
        return false;
    };
    let fresh = Collected {
        values: by_key
            .into_iter()
            .map(|(key, signals)| {
                let seen = signals
                    .into_iter()
                    .map(|(s, value)| (s, Seen { value, since: now }))
                    .collect();
                (key, seen)
            })
            .collect(),
    }
    .keep_since(view.collected.as_deref());
    // The first round of this process, and the first after the values were withdrawn, replan
    // every learner of the source: their statuses may hold other values (the reconcile writes
    // nothing where they are the same).
    let keys = view
        .collected
        .as_deref()
        .filter(|_| !view.expired)
        .map(|previous| fresh.changed_keys(Some(previous)));
    let first = keys.is_none();
    let fresh = Arc::new(fresh);
    ctx.signals.update(name, |v| {
        v.collected = Some(fresh.clone());
        v.expired = false;
    });
    let Some(view) = ctx.signals.get(name) else {
        return false;
    };
    let learners = learners_of(&ctx.paths, &view, keys.as_deref());
    let changed = first || keys.as_ref().is_some_and(|k| !k.is_empty());
    if !learners.is_empty() {
        ctx.fanout.enqueue(learners);
    }
    changed
}

/// When a failing source's values are withdrawn, and withdraws them once that time has come.
fn expiry(source: &SignalSource, ctx: &Context, now: Timestamp) -> Option<Timestamp> {
    let name = source.name_any();
    let after = parse_duration(source.spec.expire_after.as_deref()?).ok()?;
    // The first failure; a round just written may not be in the cache yet.
    let since = source_status::failing_since(source).map_or(now, |t| t.0);
    let at = since.checked_add(after).ok()?;
    if now < at {
        return Some(at);
    }
    let view = ctx.signals.get(&name)?;
    if !view.expired {
        info!(source = %name, "collections have failed for longer than expireAfter: withdrawing its values");
        ctx.signals.update(&name, |v| v.expired = true);
        ctx.fanout.enqueue(learners_of(&ctx.paths, &view, None));
    }
    None
}

fn collected_message(source: &SignalSource, learners: usize, notes: &[String]) -> String {
    let signals = match (&source.spec.git, &source.spec.prometheus) {
        (_, Some(p)) => p
            .queries
            .iter()
            .map(|q| q.signal.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        _ => [
            git::COMMITS_PER_WEEK,
            git::COMMITS_TODAY,
            git::NEW_DEPENDENCIES_TODAY,
        ]
        .join(", "),
    };
    let mut message = format!("{signals} for {learners} learners");
    for note in notes {
        message.push_str("; ");
        message.push_str(note);
    }
    message
}

async fn collect(
    source: &SignalSource,
    ctx: &Context,
    settings: &Settings,
    now: Timestamp,
) -> Result<Values, Failure> {
    match (&source.spec.git, &source.spec.prometheus) {
        (Some(git), None) => collect_git(source, git, ctx, settings, now).await,
        (None, Some(prom)) => collect_prometheus(prom, ctx, settings, now).await,
        _ => Err(Failure {
            reason: "InvalidSpec",
            message: "a SignalSource has exactly one of git and prometheus".into(),
        }),
    }
}

/// The Secret's data, read from the operator's own namespace only.
async fn secret(
    client: &Client,
    settings: &Settings,
    reference: Option<&SecretRef>,
) -> Result<BTreeMap<String, Vec<u8>>, Failure> {
    let Some(reference) = reference else {
        return Ok(BTreeMap::new());
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), &settings.secret_namespace);
    let secret = api.get(&reference.name).await.map_err(|e| Failure {
        reason: "SecretUnavailable",
        message: format!(
            "cannot read Secret {}/{}: {}",
            settings.secret_namespace,
            reference.name,
            match &e {
                kube::Error::Api(s) => s.message.clone(),
                other => other.to_string(),
            }
        ),
    })?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

fn text(data: &BTreeMap<String, Vec<u8>>, key: &str) -> Option<String> {
    data.get(key)
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
}

async fn collect_git(
    source: &SignalSource,
    spec: &GitSource,
    ctx: &Context,
    settings: &Settings,
    now: Timestamp,
) -> Result<Values, Failure> {
    let data = secret(&ctx.client, settings, spec.secret_ref.as_ref()).await?;
    let credentials = match (text(&data, "username"), text(&data, "password")) {
        (Some(username), Some(password)) => Some(git::Credentials { username, password }),
        _ => None,
    };
    let git_source = git::GitSource {
        url: spec.url.clone(),
        branch: spec.branch.clone(),
        credentials,
    };
    let options = git::FetchOptions {
        extra_ca_certificates_pem: data.get("ca.crt").cloned(),
        ..git::FetchOptions::default()
    };
    let dir = settings.cache_dir.join(source.name_any());
    let signals = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| SignalsError::Cache {
            dir: dir.display().to_string(),
            reason: format!("cannot create it: {e}"),
        })?;
        git::collect(&git_source, &dir, now, options, git::Limits::default())
    })
    .await
    .map_err(|e| Failure {
        reason: "Internal",
        message: format!("the Git collection task failed: {e}"),
    })?
    .map_err(git_failure)?;
    Ok(git_values(signals))
}

/// Recomputes a Git source's counts from its local copy, without fetching.
async fn recompute(
    source: &SignalSource,
    settings: &Settings,
    now: Timestamp,
) -> Result<Values, Failure> {
    let dir = settings.cache_dir.join(source.name_any());
    let signals =
        tokio::task::spawn_blocking(move || git::derive(&dir, now, git::Limits::default()))
            .await
            .map_err(|e| Failure {
                reason: "Internal",
                message: format!("the Git recomputation task failed: {e}"),
            })?
            .map_err(git_failure)?;
    Ok(git_values(signals))
}

fn git_values(signals: git::Signals) -> Values {
    let mut notes = if signals.truncated {
        vec!["history longer than the walk limit: the oldest commits were not counted".into()]
    } else {
        Vec::new()
    };
    notes.extend(signals.unreadable.iter().map(|e| format!("left out: {e}")));
    Values {
        by_key: signals
            .by_author
            .iter()
            .map(|(email, s)| (email.clone(), s.as_signals()))
            .collect(),
        revision: Some(signals.tip),
        recompute_at: signals.next_change,
        notes,
    }
}

fn git_failure(e: SignalsError) -> Failure {
    let reason = match &e {
        SignalsError::Unreachable { .. } => "Unreachable",
        SignalsError::Unauthorized { .. } | SignalsError::Forbidden { .. } => "Unauthorized",
        SignalsError::NotFound { .. } => "NotFound",
        SignalsError::Timeout { .. } => "Timeout",
        _ => "CollectionFailed",
    };
    Failure {
        reason,
        message: e.to_string(),
    }
}

async fn collect_prometheus(
    spec: &PrometheusSource,
    ctx: &Context,
    settings: &Settings,
    now: Timestamp,
) -> Result<Values, Failure> {
    let data = secret(&ctx.client, settings, spec.secret_ref.as_ref()).await?;
    let endpoint = Endpoint {
        url: spec.url.trim_end_matches('/').to_string(),
        timeout: parse_duration(&spec.timeout)
            .ok()
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(Duration::from_secs(10)),
        auth: prometheus::auth(
            text(&data, "token").as_deref(),
            text(&data, "username").as_deref(),
            text(&data, "password").as_deref(),
        ),
        ca_pem: data.get("ca.crt").cloned(),
    };
    let client = prometheus::client(&endpoint).map_err(prom_failure)?;
    let mut by_key: HashMap<String, BTreeMap<String, f64>> = HashMap::new();
    let mut notes = Vec::new();
    for q in &spec.queries {
        let answer = prometheus::query(&client, &endpoint, &q.signal, &q.query, now)
            .await
            .and_then(|series| prometheus::by_learner(&q.signal, &spec.learner_label, series))
            .map_err(prom_failure)?;
        for (key, value) in answer.values {
            by_key
                .entry(key)
                .or_default()
                .insert(q.signal.clone(), value);
        }
        if !answer.not_finite.is_empty() {
            notes.push(format!(
                "{}: not a finite number for {} (left out)",
                q.signal,
                answer.not_finite.join(", ")
            ));
        }
        if answer.unlabelled > 0 {
            notes.push(format!(
                "{}: {} series without label {} (ignored)",
                q.signal, answer.unlabelled, spec.learner_label
            ));
        }
    }
    Ok(Values {
        by_key,
        revision: None,
        recompute_at: None,
        notes,
    })
}

fn prom_failure(e: PromError) -> Failure {
    let reason = match &e {
        PromError::Timeout { .. } => "Timeout",
        PromError::Unreachable { .. } => "Unreachable",
        PromError::Refused { status, .. } if *status == 401 || *status == 403 => "Unauthorized",
        PromError::Refused { .. } | PromError::Ambiguous { .. } => "QueryFailed",
        PromError::Malformed { .. } => "QueryFailed",
        PromError::Client { .. } => "InvalidSpec",
    };
    Failure {
        reason,
        message: e.to_string(),
    }
}
