//! Kubernetes I/O: watches, reconcile, status writes, events, metrics, leader election.
//!
//! The controller owns no roadmap logic: it resolves the Track from a reflector store, calls the
//! planner, and writes what changed.

mod cache;
mod curricula;
mod events;
mod fanout;
mod http;
mod leader;
mod metrics;
mod own_writes;
mod reconcile;
mod track;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{RoundMode, Timestamp, TimestampRound, Unit};
use kube::api::ListParams;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::utils::ResetTimerBackoff;
use kube::runtime::watcher::{self, ExponentialBackoff};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use tracing::{error, info, warn};

use crate::api::{LearningPath, Track};

pub use events::transitions;
pub use fanout::FanOut;
pub use metrics::Metrics;
pub use reconcile::{Context, FIELD_MANAGER, desired_status, error_policy, reconcile};
pub use track::desired_track_status;

/// The current time, to the second: conditions are stored with second precision, and a
/// sub-second timestamp would make a freshly composed status differ from the stored one.
pub fn now() -> Time {
    let now = Timestamp::now();
    Time(
        now.round(
            TimestampRound::new()
                .smallest(Unit::Second)
                .mode(RoundMode::Trunc),
        )
        .unwrap_or(now),
    )
}

/// How `learnpath run` is configured.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub metrics_addr: SocketAddr,
    /// Take a Lease before reconciling, so that only one replica writes.
    pub leader_elect: bool,
    /// Name of the Lease.
    pub lease_name: String,
    /// Namespace of the Lease.
    pub lease_namespace: String,
    /// Unique name of this replica (the pod name in a cluster).
    pub identity: String,
    /// Watch LearningPaths in this namespace only.
    pub namespace: Option<String>,
    /// Reconciles running at once.
    pub concurrency: u16,
    /// Status writes of a Track fan-out in flight at once.
    pub fanout_writes: u16,
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// The CRDs are not installed, or not at the version this binary serves.
    #[error(
        "the {kind} CRD ({plural}.{group}, version {version}) is not installed or not served: {source}. Install it with `kubectl apply -f crds/` (or `learnpath crd | kubectl apply -f -`)"
    )]
    MissingCrd {
        /// Kind.
        kind: &'static str,
        /// Plural.
        plural: &'static str,
        /// Group.
        group: &'static str,
        /// Version.
        version: &'static str,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// The metrics address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Leader election failed.
    #[error("leader election failed: {0}")]
    Lease(#[from] kube_lease_manager::LeaseManagerError),
    /// Leadership was lost while reconciling: stop so that only the new leader writes.
    #[error("lost the leader lease; exiting so that only the new leader writes")]
    LostLease,
}

/// Watches come back within seconds of the API server returning: client-go's default backoff
/// (up to 30 s) would leave learners stale for too long after an apiserver restart. Jitter adds
/// up to the delay again, so a retry comes at most 4 s after the previous one.
fn watch_backoff() -> ResetTimerBackoff<ExponentialBackoff> {
    let builder = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(2))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    ResetTimerBackoff::new(ExponentialBackoff::from(builder), Duration::from_secs(60))
}

type TrackEvent = Result<watcher::Event<Track>, watcher::Error>;
type TrackTrigger = std::future::Ready<Option<Result<Track, watcher::Error>>>;

/// Turns Track watch events into the Tracks whose learners must be replanned: a new generation
/// (a spec change) or a deletion. Status and metadata-only updates, such as the Track status
/// this operator writes itself, would otherwise send every learner through a second reconcile
/// while its cached status may still be stale, and cause a duplicate write. The first listing
/// triggers nothing: every learner is reconciled at startup anyway. A later re-list (after a
/// watch expired) triggers the Tracks that changed while the watch was down.
fn spec_changes() -> impl FnMut(TrackEvent) -> TrackTrigger {
    let mut seen: std::collections::HashMap<String, Option<i64>> = std::collections::HashMap::new();
    let mut listed_once = false;
    move |event| {
        std::future::ready(match event {
            Err(e) => Some(Err(e)),
            Ok(watcher::Event::Apply(track)) => {
                let generation = track.metadata.generation;
                (seen.insert(track.name_any(), generation) != Some(generation)).then_some(Ok(track))
            }
            Ok(watcher::Event::InitApply(track)) => {
                let generation = track.metadata.generation;
                let changed = seen.insert(track.name_any(), generation) != Some(generation);
                (listed_once && changed).then_some(Ok(track))
            }
            Ok(watcher::Event::Delete(track)) => {
                seen.remove(&track.name_any());
                Some(Ok(track))
            }
            Ok(watcher::Event::InitDone) => {
                listed_once = true;
                None
            }
            Ok(watcher::Event::Init) => None,
        })
    }
}

/// A 410 Gone (the watch's resourceVersion was compacted or predates a restarted API server's
/// cache) only means "list again", and the watcher has already reset itself to do so. The error
/// is logged and dropped here, before the backoff layer, which would otherwise wait seconds
/// before the re-list. A failing list is a different error and still backs off.
fn relist_at_once<K>(
    resource: &'static str,
) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) -> std::future::Ready<bool> + use<K> {
    move |item| {
        let expired = matches!(item, Err(watcher::Error::WatchError(status)) if status.code == 410);
        if expired {
            info!(resource, "watch expired (410 Gone): listing again");
        }
        std::future::ready(!expired)
    }
}

/// Counts the start of every full listing, so that a re-list after an expired watch shows.
fn count_relists<K>(
    metrics: &Metrics,
    resource: &'static str,
) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) + use<K> {
    let counter = metrics
        .relists
        .get_or_create(&metrics::ResourceLabels { resource })
        .clone();
    move |event| {
        if let Ok(watcher::Event::Init) = event {
            counter.inc();
        }
    }
}

/// Keeps only what the planner and the status comparison need in the caches.
fn strip<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    if let Some(annotations) = obj.meta_mut().annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

async fn check_crds(client: &Client, namespace: Option<&str>) -> Result<(), RunError> {
    let params = ListParams::default().limit(1);
    let paths: Api<LearningPath> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    paths
        .list_metadata(&params)
        .await
        .map_err(|source| RunError::MissingCrd {
            kind: "LearningPath",
            plural: "learningpaths",
            group: crate::api::GROUP,
            version: crate::api::VERSION,
            source,
        })?;
    Api::<Track>::all(client.clone())
        .list_metadata(&params)
        .await
        .map_err(|source| RunError::MissingCrd {
            kind: "Track",
            plural: "tracks",
            group: crate::api::GROUP,
            version: crate::api::VERSION,
            source,
        })?;
    Ok(())
}

/// Runs the operator until SIGTERM or Ctrl-C.
///
/// # Errors
/// A missing client configuration or CRD, an unbindable metrics address, or a lost lease.
pub async fn run(options: Options) -> Result<(), RunError> {
    let client = Client::try_default().await.map_err(RunError::Client)?;
    check_crds(&client, options.namespace.as_deref()).await?;

    let paths: Api<LearningPath> = match &options.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (path_store, path_writer) = reflector::store();
    let metrics = Metrics::new(path_store.clone());

    // Installed now, before the wait for the lease: a standby must exit promptly on SIGTERM too.
    let shutdown = shutdown_signal().shared();
    let listener = tokio::net::TcpListener::bind(options.metrics_addr)
        .await
        .map_err(|source| RunError::Bind {
            addr: options.metrics_addr,
            source,
        })?;
    tokio::spawn(http::serve(listener, metrics.clone()));

    // Leadership: a standby is healthy and ready, it just does not reconcile.
    let lease = if options.leader_elect {
        metrics.set_ready(true);
        let lease = tokio::select! {
            lease = leader::acquire(&client, &options) => lease?,
            () = shutdown.clone() => {
                info!("shutting down while standing by");
                return Ok(());
            }
        };
        info!(identity = %options.identity, "became the leader");
        Some(lease)
    } else {
        None
    };
    metrics.leader.set(1);
    metrics.set_ready(false);

    let (track_store, track_writer) = reflector::store();
    let tracks = watcher::watcher(
        Api::<Track>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .filter(relist_at_once("tracks"))
    .backoff(watch_backoff())
    .modify(strip)
    .reflect(track_writer)
    .inspect(count_relists(&metrics, "tracks"))
    .filter_map(spec_changes());
    let path_stream = watcher::watcher(paths, watcher::Config::default().any_semantic())
        .filter(relist_at_once("learningpaths"))
        .backoff(watch_backoff())
        .modify(|lp| {
            strip(lp);
            cache::trim(lp);
        })
        .reflect(path_writer)
        .inspect(count_relists(&metrics, "learningpaths"))
        .applied_objects();
    // Learners waiting for a replan after their Track changed, handed to the controller a window
    // at a time so that a person's edit never waits behind a whole fan-out. The window holds the
    // writes in flight plus as many ready to follow (a finished write's slot is taken at once),
    // and stays below the concurrency, so that an edit always finds a free slot.
    let concurrency = usize::from(options.concurrency);
    let fanout_writes = usize::from(options.fanout_writes);
    let window = (2 * fanout_writes).min(concurrency.saturating_sub(1));
    let fanout = FanOut::new(window, concurrency, fanout_writes);

    let reporter = Reporter {
        controller: "learnpath".into(),
        instance: Some(options.identity.clone()),
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        track_store.clone(),
        Recorder::new(client.clone(), reporter),
        metrics.clone(),
        fanout.clone(),
    ));
    // Our own status write comes back as a watch event; it needs no second reconcile. Any other
    // event (a person's edit, a bot's signal) goes before the rest of a fan-out.
    let own_writes = ctx.clone();
    let urgent = fanout.clone();
    // Watch errors are logged here and kept from the controller: it would otherwise apply its own
    // trigger backoff (up to 30 s) to every trigger, the paced fan-out included, on top of the
    // watch's backoff above.
    let path_stream = path_stream
        .try_filter(move |lp| {
            let own = own_writes.is_own_write(lp);
            if !own {
                urgent.urgent(ObjectRef::from_obj(lp));
            }
            std::future::ready(!own)
        })
        .filter(|event| {
            if let Err(e) = event {
                warn!(error = %e, "LearningPath watch");
            }
            std::future::ready(event.is_ok())
        });

    // A Track change reaches every learner on it through the store: no list call per event.
    let mapper_store = path_store.clone();
    let track_fanout = fanout.clone();
    let (indexed, known_tracks) = (ctx.clone(), track_store.clone());
    let track_task = tokio::spawn(tracks.for_each(move |event| {
        match event {
            Ok(track) => {
                // The old generation's index is replaced by the first reconcile of the new one;
                // a deleted Track's is dropped here.
                indexed
                    .curricula
                    .retain(|name| known_tracks.get(&ObjectRef::new(name)).is_some());
                let name = track.name_any();
                track_fanout.enqueue(
                    mapper_store
                        .state()
                        .iter()
                        .filter(|lp| lp.spec.track_ref.name == name)
                        .map(|lp| ObjectRef::from_obj(lp.as_ref())),
                );
            }
            Err(e) => warn!(error = %e, "Track watch"),
        }
        std::future::ready(())
    }));

    let controller = Controller::for_stream(path_stream, path_store.clone())
        .with_config(kube::runtime::Config::default().concurrency(options.concurrency))
        .reconcile_on(fanout.stream());

    // kube's Store::wait_until_ready wakes only one of several concurrent waiters (it sits on a
    // oneshot channel), and the controller itself waits on the LearningPath store. So a single
    // task polls both stores and publishes readiness on a watch channel that any number of
    // reconciles and the /readyz handler can wait on.
    let ready_metrics = metrics.clone();
    let (ready_paths, ready_tracks) = (path_store.clone(), track_store.clone());
    let synced_tx = ctx.synced_sender();
    tokio::spawn(async move {
        for store_ready in [
            wait_polling(&ready_tracks).boxed(),
            wait_polling(&ready_paths).boxed(),
        ] {
            store_ready.await;
        }
        info!("caches synced");
        ready_metrics.set_ready(true);
        synced_tx.send_replace(true);
    });

    // SIGTERM: finish in-flight reconciles, then stop. The controller's shutdown future must be
    // Sync, so the signal is relayed through a oneshot channel.
    let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        info!("shutting down: finishing in-flight reconciles");
        let _ = stop_tx.send(());
    });
    let stop = async move {
        let _ = stop_rx.await;
    };
    // A lost lease is different: another replica may lead now, so nothing more may be written,
    // not even by reconciles in flight. The controller is dropped on the spot.
    let mut lost_watch = lease.as_ref().map(leader::Lease::watch_lost);
    let lost = async {
        match lost_watch.as_mut() {
            Some(w) => w.lost().await,
            None => std::future::pending().await,
        }
    };

    // Track status is a side show: its own small controller, stopped with the main one. Several
    // releases (one per namespace) may all write it; that converges, because each carries the
    // stored lastTransitionTime over and the content is a pure function of the Track.
    let (track_stop_tx, track_stop_rx) = futures::channel::oneshot::channel::<()>();
    let track_controller = Controller::new(
        Api::<Track>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .graceful_shutdown_on(async move {
        let _ = track_stop_rx.await;
    })
    .run(
        track::reconcile_track,
        track::track_error_policy,
        ctx.clone(),
    )
    .for_each(|_| async {});
    let track_status_task = tokio::spawn(track_controller);

    let run_controller = controller
        .graceful_shutdown_on(stop)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "controller");
            }
        });
    let lost_lease = tokio::select! {
        () = run_controller => false,
        () = lost => true,
    };
    track_task.abort();
    // Its receivers keep the lease manager's channel open, and `release` works by closing it.
    drop(lost_watch);
    if lost_lease {
        metrics.leader.set(0);
        track_status_task.abort();
        error!("lost the leader lease: stopped at once");
        return Err(RunError::LostLease);
    }
    let _ = track_stop_tx.send(());
    let _ = track_status_task.await;

    metrics.leader.set(0);
    if let Some(lease) = lease {
        lease.release().await;
    }
    info!("stopped");
    Ok(())
}

/// Waits for a store to be filled, re-polling so that another waiter cannot steal the wake-up.
async fn wait_polling<K>(store: &reflector::Store<K>)
where
    K: kube::runtime::reflector::Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        if let Ok(result) =
            tokio::time::timeout(Duration::from_millis(100), store.wait_until_ready()).await
        {
            if result.is_err() {
                warn!("a watch ended before its cache was filled");
            }
            return;
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is installed when this is called, not
/// when the future is first polled, so that no early SIGTERM takes the default (kill) action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = tokio::signal::ctrl_c();
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
}
