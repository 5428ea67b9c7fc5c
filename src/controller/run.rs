//! `learnpath run`: the operator's wiring, as named steps from start-up to shutdown
//! (docs/controller.md). The stream steps themselves are in [`super::watches`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::Shared;
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use kube::api::ListParams;
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Api, Client};
use tracing::{error, info, warn};

use crate::api::{LearningPath, SignalSource, Track};

use super::errors::RunError;
use super::events::Announcer;
use super::signals::{collector, sources};
use super::watches::{count_relists, relist_at_once, spec_changes, strip, watch_backoff};
use super::{
    Context, FanOut, Metrics, Options, cache, error_policy, http, leader, reconcile, relist, track,
};

/// Runs the operator until SIGTERM or Ctrl-C.
///
/// # Errors
/// A missing client configuration or CRD, an unbindable metrics address, or a lost lease.
pub async fn run(options: Options) -> Result<(), RunError> {
    let client = connect(&options).await?;
    let (path_store, path_writer) = reflector::store();
    let metrics = Metrics::new(path_store.clone());
    // Installed now, before the wait for the lease: a standby must exit promptly on SIGTERM too.
    let shutdown = shutdown_signal().boxed().shared();
    serve_probes(options.metrics_addr, &metrics).await?;
    let Leadership::Leading(lease) = lead(&client, &options, &metrics, shutdown.clone()).await?
    else {
        info!("shutting down while standing by");
        return Ok(());
    };

    let (track_store, track_writer) = reflector::store();
    let fanout = fan_out(&options);
    let ctx = Arc::new(Context::new(
        client.clone(),
        track_store.clone(),
        path_store.clone(),
        Announcer::new(client.clone(), "learnpath", options.identity()),
        metrics.clone(),
        fanout.clone(),
    ));
    let tracks = watch_tracks(&client, track_writer, &metrics);
    let streaming = relist::streaming_lists_supported(&learning_paths(&client, &options)).await;
    metrics
        .streaming_lists
        .get_or_create(&super::metrics::ResourceLabels {
            resource: "learningpaths",
        })
        .set(i64::from(streaming));
    let paths = watch_learning_paths(
        &client,
        &options,
        (path_store.clone(), path_writer),
        streaming,
        &metrics,
        &ctx,
    );
    let track_task = tokio::spawn(replan_on_track_changes(
        tracks,
        path_store.clone(),
        ctx.clone(),
    ));
    spawn_readiness(track_store, path_store.clone(), &metrics, &ctx);
    let signal_task = tokio::spawn(collect_signals(&client, &options, ctx.clone()));

    let stopped =
        run_controllers(&client, &options, paths, path_store, ctx, shutdown, &lease).await;
    track_task.abort();
    signal_task.abort();
    metrics.leader.set(0);
    match (stopped, lease) {
        (Stopped::LostLease, _) => {
            error!("lost the leader lease: stopped at once");
            Err(RunError::LostLease)
        }
        (Stopped::Shutdown, Some(lease)) => {
            lease.release().await;
            info!("stopped");
            Ok(())
        }
        (Stopped::Shutdown, None) => {
            info!("stopped");
            Ok(())
        }
    }
}

/// A client, and the check that both CRDs are served (a clear error beats a silent watch retry).
async fn connect(options: &Options) -> Result<Client, RunError> {
    let client = Client::try_default().await.map_err(RunError::Client)?;
    let params = ListParams::default().limit(1);
    let missing = |kind, plural| {
        move |source| RunError::MissingCrd {
            kind,
            plural,
            group: crate::api::GROUP,
            version: crate::api::VERSION,
            source,
        }
    };
    learning_paths(&client, options)
        .list_metadata(&params)
        .await
        .map_err(missing("LearningPath", "learningpaths"))?;
    Api::<Track>::all(client.clone())
        .list_metadata(&params)
        .await
        .map_err(missing("Track", "tracks"))?;
    Api::<SignalSource>::all(client.clone())
        .list_metadata(&params)
        .await
        .map_err(missing("SignalSource", "signalsources"))?;
    Ok(client)
}

fn learning_paths(client: &Client, options: &Options) -> Api<LearningPath> {
    match &options.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// `/metrics`, `/healthz` and `/readyz`, served until the process ends.
async fn serve_probes(addr: SocketAddr, metrics: &Metrics) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { addr, source })?;
    tokio::spawn(http::serve(listener, metrics.clone()));
    Ok(())
}

type Shutdown = Shared<futures::future::BoxFuture<'static, ()>>;

enum Leadership {
    /// This replica reconciles; with leader election, holding this lease.
    Leading(Option<leader::Lease>),
    /// Shut down while standing by.
    Stopped,
}

/// With leader election, waits for the lease; a standby is healthy and ready, it just does not
/// reconcile. Once leading, readiness waits for the caches.
async fn lead(
    client: &Client,
    options: &Options,
    metrics: &Metrics,
    shutdown: Shutdown,
) -> Result<Leadership, RunError> {
    let lease = if options.leader_elect {
        metrics.set_ready(true);
        let lease = tokio::select! {
            lease = leader::acquire(client, options) => lease?,
            () = shutdown => return Ok(Leadership::Stopped),
        };
        info!(identity = %options.identity(), "became the leader");
        Some(lease)
    } else {
        None
    };
    metrics.leader.set(1);
    metrics.set_ready(false);
    Ok(Leadership::Leading(lease))
}

/// Learners waiting for a replan after their Track changed, handed to the controller a window at
/// a time so that a person's edit never waits behind a whole fan-out. The window holds the writes
/// in flight plus as many ready to follow (a finished write's slot is taken at once), and stays
/// below the concurrency, so that an edit always finds a free slot.
fn fan_out(options: &Options) -> Arc<FanOut> {
    let concurrency = usize::from(options.concurrency);
    let fanout_writes = usize::from(options.fanout_writes);
    let window = (2 * fanout_writes).min(concurrency.saturating_sub(1));
    FanOut::new(window, concurrency, fanout_writes)
}

/// The Track cache, and the names of the Tracks whose spec changed (or that were deleted) since
/// it was filled.
fn watch_tracks(
    client: &Client,
    writer: Writer<Track>,
    metrics: &Metrics,
) -> impl Stream<Item = Result<String, watcher::Error>> + Send + 'static {
    watcher::watcher(
        Api::<Track>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .filter(relist_at_once("tracks"))
    .backoff(watch_backoff())
    .modify(strip)
    .reflect(writer)
    .inspect(count_relists(metrics, "tracks"))
    .flat_map(spec_changes())
}

/// The LearningPath cache (statuses trimmed), and the learners to reconcile: every event but our
/// own status writes coming back, each also marked urgent so that it goes before the rest of a
/// fan-out. Watch errors are logged here and kept from the controller, which would otherwise
/// apply its own trigger backoff (up to 30 s) to every trigger, the paced fan-out included.
fn watch_learning_paths(
    client: &Client,
    options: &Options,
    (store, writer): (Store<LearningPath>, Writer<LearningPath>),
    streaming: bool,
    metrics: &Metrics,
    ctx: &Arc<Context>,
) -> impl Stream<Item = Result<LearningPath, watcher::Error>> + Send + 'static {
    let own_writes = ctx.clone();
    watcher::watcher(
        learning_paths(client, options),
        relist::watch_config(streaming),
    )
    .filter(relist_at_once("learningpaths"))
    .backoff(watch_backoff())
    .modify(|lp| {
        strip(lp);
        cache::trim(lp);
    })
    .inspect(count_relists(metrics, "learningpaths"))
    .flat_map(relist::in_place(store))
    .reflect(writer)
    .applied_objects()
    .try_filter(move |lp| {
        let own = own_writes.is_own_write(lp);
        if !own {
            own_writes.fanout.urgent(ObjectRef::from_obj(lp));
        }
        std::future::ready(!own)
    })
    .filter(|event| {
        if let Err(e) = event {
            warn!(error = %e, "LearningPath watch");
        }
        std::future::ready(event.is_ok())
    })
}

/// A Track change reaches every learner on it through the cache: no list call per event. The old
/// generation's index is replaced by the first reconcile of the new one; a deleted Track's is
/// dropped here.
async fn replan_on_track_changes(
    tracks: impl Stream<Item = Result<String, watcher::Error>>,
    paths: Store<LearningPath>,
    ctx: Arc<Context>,
) {
    tracks
        .for_each(|event| {
            match event {
                Ok(name) => {
                    ctx.curricula
                        .retain(|name| ctx.tracks.get(&ObjectRef::new(name)).is_some());
                    ctx.fanout.enqueue(
                        paths
                            .state()
                            .iter()
                            .filter(|lp| lp.spec.track_ref.name == name)
                            .map(|lp| ObjectRef::from_obj(lp.as_ref())),
                    );
                }
                Err(e) => warn!(error = %e, "Track watch"),
            }
            std::future::ready(())
        })
        .await;
}

/// Collects every SignalSource, one collector each, once the LearningPath cache is filled (a
/// round maps its values to the learners in it).
fn collect_signals(
    client: &Client,
    options: &Options,
    ctx: Arc<Context>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (store, writer) = reflector::store();
    let events = watcher::watcher(
        Api::<SignalSource>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .filter(relist_at_once("signalsources"))
    .backoff(watch_backoff())
    .modify(strip)
    .reflect(writer);
    let settings = collector::Settings {
        cache_dir: options.signal_cache_dir.clone(),
        secret_namespace: options.secret_namespace.clone(),
        watched_namespace: options.namespace.clone(),
    };
    async move {
        if !ctx.caches_synced().await {
            return;
        }
        sources::supervise(events, ctx, settings, store).await;
    }
}

/// kube's `Store::wait_until_ready` wakes only one of several concurrent waiters (it sits on a
/// oneshot channel), and the controller itself waits on the LearningPath store. So a single task
/// polls both stores and publishes readiness on a watch channel that any number of reconciles and
/// the /readyz handler can wait on.
fn spawn_readiness(
    tracks: Store<Track>,
    paths: Store<LearningPath>,
    metrics: &Metrics,
    ctx: &Context,
) {
    let (metrics, synced) = (metrics.clone(), ctx.synced_sender());
    tokio::spawn(async move {
        wait_polling(&tracks).await;
        wait_polling(&paths).await;
        info!("caches synced");
        metrics.set_ready(true);
        synced.send_replace(true);
    });
}

/// Waits for a store to be filled, re-polling so that another waiter cannot steal the wake-up.
async fn wait_polling<K>(store: &Store<K>)
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

/// Why the controllers stopped.
enum Stopped {
    /// SIGTERM or Ctrl-C: in-flight reconciles finished.
    Shutdown,
    /// Another replica may lead now: dropped on the spot, with nothing more written.
    LostLease,
}

/// Runs the LearningPath controller and the Track status controller until shutdown (finishing
/// in-flight reconciles) or a lost lease (stopping at once).
async fn run_controllers(
    client: &Client,
    options: &Options,
    paths: impl Stream<Item = Result<LearningPath, watcher::Error>> + Send + 'static,
    path_store: Store<LearningPath>,
    ctx: Arc<Context>,
    shutdown: Shutdown,
    lease: &Option<leader::Lease>,
) -> Stopped {
    // The controller's shutdown future must be Sync, so the signal is relayed through a channel.
    let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        info!("shutting down: finishing in-flight reconciles");
        let _ = stop_tx.send(());
    });
    let learners = Controller::for_stream(paths, path_store)
        .with_config(kube::runtime::Config::default().concurrency(options.concurrency))
        .reconcile_on(ctx.fanout.clone().stream())
        .graceful_shutdown_on(async move {
            let _ = stop_rx.await;
        })
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "controller");
            }
        });
    let (track_stop, track_status) = spawn_track_status(client, ctx);
    let mut lost_watch = lease.as_ref().map(leader::Lease::watch_lost);
    let lost = async {
        match lost_watch.as_mut() {
            Some(w) => w.lost().await,
            None => std::future::pending().await,
        }
    };
    let stopped = tokio::select! {
        () = learners => Stopped::Shutdown,
        () = lost => Stopped::LostLease,
    };
    // Its receivers keep the lease manager's channel open, and `release` works by closing it.
    drop(lost_watch);
    match stopped {
        Stopped::LostLease => track_status.abort(),
        Stopped::Shutdown => {
            let _ = track_stop.send(());
            let _ = track_status.await;
        }
    }
    stopped
}

/// Track status is a side show: its own small controller, stopped with the main one. Several
/// releases (one per namespace) may all write it; that converges, because each carries the
/// stored lastTransitionTime over and the content is a pure function of the Track.
fn spawn_track_status(
    client: &Client,
    ctx: Arc<Context>,
) -> (
    futures::channel::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
    let controller = Controller::new(
        Api::<Track>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
    .graceful_shutdown_on(async move {
        let _ = stop_rx.await;
    })
    .run(track::reconcile_track, track::track_error_policy, ctx)
    .for_each(|_| async {});
    (stop_tx, tokio::spawn(controller))
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
