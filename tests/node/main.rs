//! The operator as users run it: its image (packed without a container engine) as the Helm
//! release's Pod on a real node (hack/node.sh: containerd, runc, CNI, kubelet, kube-scheduler,
//! kube-proxy) beside the real control plane. The node needs root; the tests take turns on it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

mod chart;
mod failover;
mod flux;
mod harness;
mod image;
mod machine;
