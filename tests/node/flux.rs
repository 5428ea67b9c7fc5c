//! GitOps with the real Flux controllers: Flux delivers the operator as the Helm release's Pod
//! on the node, then the curriculum and the learners, and waits for their roadmaps.
//!
//! Flux's source-controller, kustomize-controller and helm-controller are built from pinned Go
//! modules by `hack/build-flux.sh` (`make flux`) and run here as local processes against the
//! node's control plane, with their CRDs from the same module versions. A Git repository with the
//! layout of `examples/flux` (the CRDs, the chart, the curriculum and the learners, renamed for
//! this test) is served over smart HTTP on loopback (`hack/flux/gitserver`, around
//! `git http-backend`), and the Flux objects are those of `examples/flux/clusters/local` with
//! test-sized intervals and the node's image. The HelmRelease installs the chart with Helm's
//! wait, as the example does; the operator's Deployment starts at zero replicas so that the test
//! can watch Flux's health check refuse the learners while no operator runs, then it is scaled to
//! one Pod, which computes the roadmaps.
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
/// Health-check timeout of the learners Kustomization in this test (examples: 5m): the hold
/// below, then the operator's Pod scheduled, started and Ready, must fit in it.
const LEARNERS_TIMEOUT: &str = "90s";
/// How long the health check must run without passing before the operator's Pod is started:
/// more than kustomize-controller's 5s health poll interval.
const HEALTH_HOLD: Duration = Duration::from_secs(7);
const WAIT: Duration = Duration::from_secs(180);
