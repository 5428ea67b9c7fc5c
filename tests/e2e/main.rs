//! End-to-end tests against a real kube-apiserver and etcd (see the `testkit` crate).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

mod cohort;
mod helm;
mod hostile;
mod operator;
mod readme;
mod report;
mod schema;
