//! Kubernetes I/O: watches, reconcile, status writes, events, metrics, leader election.
//!
//! The controller owns no roadmap logic: it resolves the Track from a reflector store, calls the
//! planner, and writes what changed (docs/controller.md).

mod cache;
mod cohort;
mod context;
mod curricula;
mod errors;
mod events;
mod fanout;
mod http;
mod leader;
mod metrics;
mod own_writes;
mod reconcile;
mod relist;
mod run;
#[cfg(test)]
mod sequence_tests;
pub mod signals;
mod track;
mod watches;
mod write;

use std::net::SocketAddr;
use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{RoundMode, Timestamp, TimestampRound, Unit};

pub use errors::{CrdOutOfDate, RunError};
pub use events::{Announcer, transitions};
pub use fanout::FanOut;
pub use metrics::Metrics;
pub use reconcile::{Context, Error, FIELD_MANAGER, desired_status, error_policy, reconcile};
pub use run::run;
pub use track::desired_track_status;

/// The current time, to the second: conditions are stored with second precision, and a
/// sub-second timestamp would make a freshly composed status differ from the stored one.
pub fn now() -> Time {
    to_the_second(Timestamp::now())
}

/// A time truncated to the second, as the API server stores it.
pub fn to_the_second(t: Timestamp) -> Time {
    Time(
        t.round(
            TimestampRound::new()
                .smallest(Unit::Second)
                .mode(RoundMode::Trunc),
        )
        .unwrap_or(t),
    )
}

/// How `learnpath run` is configured: these are its command-line flags.
#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080", env = "LEARNPATH_METRICS_ADDR")]
    pub metrics_addr: SocketAddr,
    /// Hold a Lease before reconciling, so that of several replicas only one writes.
    #[arg(long)]
    pub leader_elect: bool,
    /// Name of the leader Lease (one per release, when several share a namespace).
    #[arg(long, default_value = "learnpath-leader")]
    pub lease_name: String,
    /// Namespace of the leader Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// This replica's name in the Lease (defaults to the pod name, else host and process id).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Watch LearningPaths in this namespace only.
    #[arg(long)]
    pub namespace: Option<String>,
    /// Reconciles running at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Status writes of a Track fan-out in flight at once. About the number at which the API
    /// server reaches its best write rate: more only lengthen its queue, and a person's edit,
    /// which bypasses this limit, would wait in that queue.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub fanout_writes: u16,
    /// Where signal collectors keep their working files (a Git source's repository).
    #[arg(
        long,
        env = "LEARNPATH_SIGNAL_CACHE_DIR",
        default_value = "/tmp/learnpath-signals"
    )]
    pub signal_cache_dir: PathBuf,
    /// The operator's own namespace: the only one whose Secrets signal sources may name.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub secret_namespace: String,
}

impl Options {
    /// This replica's name in the Lease: `--identity`, else the host name and process id.
    pub fn identity(&self) -> String {
        self.identity.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "learnpath".to_string());
            format!("{host}-{}", std::process::id())
        })
    }
}
