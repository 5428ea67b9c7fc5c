//! What learnpath's integration tests and benchmarks share, in one place: every test binary
//! (`tests/e2e`, `tests/drift`, `tests/faults`, `tests/scale`, ...) uses it with `use testkit::*`.
//!
//! - [`cluster()`]: one real control plane per test binary (`hack/cluster.sh supervise`), and
//!   [`Cluster::supervise`] for a dedicated one. Nothing here skips: a control plane that cannot
//!   start fails every test that needs it.
//! - [`kubectl`], [`kubectl_with`] and [`helm`]: the pinned command-line tools.
//! - [`client()`], [`namespace`], [`cleanup`], [`apply`]: clients and objects.
//! - [`example_track`], [`example_learner`] and [`fixtures`]: the example curriculum.
//! - [`Operator`]: the operator binary as a child process (killed with this process).
//! - [`git`], [`GitServer`], [`Prometheus`], [`Exporter`]: the real servers signals come from.
//! - [`eventually`]: waiting for a condition.
//!
//! The example curriculum loader and the planner invariants live in the library itself (behind
//! its `fixtures` and `invariants` features, which this crate turns on), so that the library's
//! unit tests and the fuzz targets share them too.

mod cluster;
mod commands;
mod git;
mod local;
mod objects;
mod operator;
mod prometheus;
mod wait;

pub use cluster::{Cluster, cluster, install_crds};
pub use commands::{Run, bin, helm, kubectl, kubectl_with, run, wait_established};
pub use git::{GitServer, Repository, flux_dir, git, git_with, go_mod};
pub use learnpath::fixtures;
pub use learnpath::fixtures::{LEARNERS, read_yaml};
pub use local::{copy_dir, env_or, free_port, repo};
pub use objects::{
    TEST_MANAGER, all_ready, apply, apply_examples, cleanup, client, client_from, condition,
    delete_namespaces, example_learner, example_track, is_ready, namespace, restricted_namespace,
};
pub use operator::{Operator, http_get, learnpath_binary};
pub use prometheus::{Exporter, Prometheus};
pub use wait::eventually;
