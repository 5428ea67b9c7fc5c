//! Leader election with a Lease, so that of several replicas only one writes.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease as LeaseObject;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::{Api, Client};
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::{Options, RunError};

/// Seconds a lease stays valid without renewal; a standby takes over this long after the
/// leader dies.
const LEASE_SECONDS: u64 = 15;
/// Seconds before expiry at which the holder renews.
const GRACE_SECONDS: u64 = 8;
/// The leader stops acting this long before its lease could expire for a standby (client-go's
/// renew deadline). kube-lease-manager keeps reporting leadership while its renewals fail, so an
/// old leader cut off from the API server would otherwise write alongside the new one.
const FENCE_MARGIN: Duration = Duration::from_secs(3);
/// How often the leader reads its Lease back.
const FENCE_POLL: Duration = Duration::from_secs(1);

/// A held lease.
pub struct Lease {
    state: watch::Receiver<bool>,
    fenced: watch::Receiver<bool>,
    fence: JoinHandle<()>,
    task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

/// Watches for the loss of a lease.
pub struct LostWatch {
    /// True while the lease manager says we hold the lease.
    state: watch::Receiver<bool>,
    /// True once the fence says we may no longer act.
    fenced: watch::Receiver<bool>,
}

impl LostWatch {
    /// Resolves when this replica no longer holds the lease, or can no longer be sure it does.
    pub async fn lost(&mut self) {
        let state = async {
            let _ = self.state.wait_for(|held| !*held).await;
        };
        let fenced = async {
            let _ = self.fenced.wait_for(|fenced| *fenced).await;
        };
        tokio::select! {
            () = state => {}
            () = fenced => {}
        }
    }
}

/// Reads the Lease back every second and raises `fenced` when it names another holder, or when
/// the last renewal seen is about to expire (the API server has been unreachable too long).
async fn fence(api: Api<LeaseObject>, name: String, identity: String, fenced: watch::Sender<bool>) {
    // Just acquired: valid for a full term.
    let mut act_until = Instant::now() + Duration::from_secs(LEASE_SECONDS) - FENCE_MARGIN;
    loop {
        tokio::time::sleep(FENCE_POLL).await;
        if let Ok(Ok(lease)) = tokio::time::timeout(FENCE_POLL * 2, api.get(&name)).await {
            let spec = lease.spec.unwrap_or_default();
            if spec.holder_identity.as_deref() != Some(identity.as_str()) {
                warn!(holder = ?spec.holder_identity, "the leader lease names another holder");
                fenced.send_replace(true);
                return;
            }
            if let (Some(renewed), Some(seconds)) = (spec.renew_time, spec.lease_duration_seconds) {
                let expires = renewed
                    .0
                    .checked_add(SignedDuration::from_secs(i64::from(seconds)))
                    .unwrap_or(renewed.0);
                let left = expires.duration_since(Timestamp::now()).as_secs_f64();
                act_until = Instant::now() + Duration::from_secs_f64(left.max(0.0))
                    - FENCE_MARGIN.min(Duration::from_secs_f64(left.max(0.0)));
            }
        }
        if Instant::now() >= act_until {
            warn!("the leader lease was not renewed in time: stepping down");
            fenced.send_replace(true);
            return;
        }
    }
}

impl Lease {
    /// A watcher for the loss of this lease.
    pub fn watch_lost(&self) -> LostWatch {
        LostWatch {
            state: self.state.clone(),
            fenced: self.fenced.clone(),
        }
    }

    /// Gives the lease up so that a standby can take over at once instead of waiting for expiry.
    pub async fn release(self) {
        let Lease {
            state,
            fenced: _,
            fence,
            task,
        } = self;
        fence.abort();
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
        .with_identity(options.identity())
        .with_duration(LEASE_SECONDS)
        .with_grace(GRACE_SECONDS)
        .build()
        .await?;
    let (mut state, task) = manager.watch().await;
    info!(identity = %options.identity(), namespace = %options.lease_namespace, "waiting for the leader lease");
    while !*state.borrow_and_update() {
        if state.changed().await.is_err() {
            return Err(RunError::LostLease);
        }
    }
    let (fenced_tx, fenced) = watch::channel(false);
    let fence = tokio::spawn(fence(
        Api::namespaced(client.clone(), &options.lease_namespace),
        options.lease_name.clone(),
        options.identity(),
        fenced_tx,
    ));
    Ok(Lease {
        state,
        fenced,
        fence,
        task,
    })
}
