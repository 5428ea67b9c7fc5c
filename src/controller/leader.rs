//! Leader election with a Lease, so that of several replicas only one writes.

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::{Options, RunError};

/// Seconds a lease stays valid without renewal; a standby takes over this long after the
/// leader dies.
const LEASE_SECONDS: u64 = 15;
/// Seconds before expiry at which the holder renews.
const GRACE_SECONDS: u64 = 5;

/// A held lease.
pub struct Lease {
    state: watch::Receiver<bool>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

/// Watches for the loss of a lease.
pub struct LostWatch(watch::Receiver<bool>);

impl LostWatch {
    /// Resolves when this replica no longer holds the lease.
    pub async fn lost(&mut self) {
        loop {
            if !*self.0.borrow_and_update() {
                return;
            }
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Lease {
    /// A watcher for the loss of this lease.
    pub fn watch_lost(&self) -> LostWatch {
        LostWatch(self.state.clone())
    }

    /// Gives the lease up so that a standby can take over at once instead of waiting for expiry.
    pub async fn release(self) {
        let Lease { state, task } = self;
        // Closing the channel makes the manager's task release the lease and return.
        drop(state);
        match task.await {
            Ok(Ok(_)) => info!("released the leader lease"),
            Ok(Err(e)) => warn!(error = %e, "could not release the leader lease"),
            Err(e) => warn!(error = %e, "lease task failed"),
        }
    }
}

/// Waits until this replica holds the configured Lease.
pub async fn acquire(client: &Client, options: &Options) -> Result<Lease, RunError> {
    let manager = LeaseManagerBuilder::new(client.clone(), options.lease_name.clone())
        .with_namespace(options.lease_namespace.clone())
        .with_identity(options.identity.clone())
        .with_duration(LEASE_SECONDS)
        .with_grace(GRACE_SECONDS)
        .build()
        .await?;
    let (mut state, task) = manager.watch().await;
    info!(identity = %options.identity, namespace = %options.lease_namespace, "waiting for the leader lease");
    while !*state.borrow_and_update() {
        if state.changed().await.is_err() {
            return Err(RunError::LostLease);
        }
    }
    Ok(Lease { state, task })
}
