//! What every reconcile shares: the client, the caches, metrics, the fan-out, the writes whose
//! watch events are awaited, the indexed Tracks and the failure counts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use kube::Client;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::{LearningPath, Track};

use super::FanOut;
use super::curricula::Curricula;
use super::events::Announcer;
use super::metrics::Metrics;
use super::own_writes::OwnWrites;
use super::signals::SignalHub;

/// Shared state of all reconciles.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Every Track, kept by a reflector: a reconcile never reads a Track from the API server.
    pub tracks: Store<Track>,
    /// Every LearningPath (statuses trimmed), for the collectors to find whom a change reaches.
    pub paths: Store<LearningPath>,
    /// Every SignalSource as collected so far.
    pub signals: SignalHub,
    /// Publishes events.
    pub announcer: Announcer,
    /// Metrics.
    pub metrics: Metrics,
    /// Consecutive failures per object, for exponential backoff.
    failures: Mutex<HashMap<ObjectRef<LearningPath>, u32>>,
    /// True once both caches are filled.
    synced: tokio::sync::watch::Sender<bool>,
    /// Learners waiting for a replan after a Track change.
    pub(super) fanout: Arc<FanOut>,
    /// Status writes whose watch events have not come back yet.
    pub(super) own_writes: OwnWrites,
    /// Each Track indexed once per generation, for all of its learners.
    pub curricula: Curricula,
}

impl Context {
    /// A context for a controller.
    pub fn new(
        client: Client,
        tracks: Store<Track>,
        paths: Store<LearningPath>,
        announcer: Announcer,
        metrics: Metrics,
        fanout: Arc<FanOut>,
    ) -> Self {
        Context {
            client,
            tracks,
            paths,
            signals: SignalHub::default(),
            announcer,
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

    /// Waits until both caches are filled; false when the controller is shutting down first.
    pub(super) async fn caches_synced(&self) -> bool {
        self.synced
            .subscribe()
            .wait_for(|synced| *synced)
            .await
            .is_ok()
    }

    /// Consecutive failures per object.
    pub(super) fn failures(&self) -> MutexGuard<'_, HashMap<ObjectRef<LearningPath>, u32>> {
        // A poisoned lock only means another reconcile panicked mid-update of a counter.
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
