//! GitOps with the real Flux controllers, end to end on the local control plane.
//!
//! Flux's source-controller, kustomize-controller and helm-controller are built from pinned Go
//! modules by `hack/build-flux.sh` (`make flux`) and run here as local processes against the test
//! cluster, with their CRDs from the same module versions. A Git repository with the layout of
//! `examples/flux` (the CRDs, the chart, the curriculum and the learners, renamed for this test)
//! is served over smart HTTP on loopback (`hack/flux/gitserver`, around `git http-backend`), and
//! the Flux objects are those of `examples/flux/clusters/local` with test-sized intervals. There is
//! no kubelet, so the HelmRelease installs the chart but its pod never runs: the operator runs as
//! a local process instead, started only after Flux has applied the learners.
//!
//! Nothing here skips: a Flux controller that is not built fails the test.

use std::time::Duration;

mod harness;
mod repository;
mod scenario;

const CONTROLLERS: [&str; 3] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
];
/// The Kustomization whose health check waits for the LearningPaths.
const LEARNERS_KS: &str = "learnpath-learners";
/// The learner a bot sends signals for, and whose exercise a commit completes.
const BOT_LEARNER: &str = "iot-engineer";
/// The signal the bot owns: the Git copy of BOT_LEARNER leaves it out.
const BOT_SIGNAL: &str = "newDependenciesToday";
const BOT_MANAGER: &str = "signals-bot";
/// The Track rule BOT_SIGNAL >= 5 triggers.
const BOT_RULE: &str = "dependency-surge";
/// Health-check timeout of the learners Kustomization in this test (examples: 5m); 30s is the
/// least kustomize-controller uses.
const LEARNERS_TIMEOUT: &str = "30s";
/// How long the health check must run without passing before the operator starts: more than
/// kustomize-controller's 5s health poll interval.
const HEALTH_HOLD: Duration = Duration::from_secs(7);
const WAIT: Duration = Duration::from_secs(180);
