//! Living signals on the real control plane (docs/signals.md): SignalSources collected by the
//! operator from a real Git server (hack/flux/gitserver) and a real Prometheus (the pinned build)
//! scraping an exporter the test controls; time windows that end with no edit; and who may make
//! the operator fetch a URL. Nothing is mocked: a component that cannot start fails the test.
//!
//! A test binary of its own, so a control plane of its own: SignalSources are cluster-scoped,
//! and an operator of another test that watches every namespace would collect these too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

mod git;
mod harness;
mod living;
mod scope;
mod windows;
