//! One operator replica with leader election, and the faults the control plane's supervisor
//! injects.

use testkit::*;

use crate::LEASE_NAME;

/// Runs a supervisor command (`kill apiserver`, `start etcd`, ...) without blocking the runtime.
pub(crate) async fn control(command: &'static str) {
    let result = tokio::task::spawn_blocking(move || cluster().control(command))
        .await
        .expect("control task");
    if let Err(e) = result {
        panic!("fault injection failed: {e}");
    }
}

/// One operator replica (`learnpath run --leader-elect`), by its identity.
pub(crate) struct Replica {
    pub(crate) identity: String,
    pub(crate) operator: Operator,
}

impl Replica {
    pub(crate) fn start(identity: String) -> Replica {
        let operator = Operator::start(
            &cluster().kubeconfig,
            "",
            &[
                "--leader-elect",
                "--lease-name",
                LEASE_NAME,
                "--identity",
                &identity,
            ],
        );
        Replica { identity, operator }
    }

    pub(crate) async fn metric(&self, name: &str) -> Option<f64> {
        self.operator.metric(name).await
    }

    pub(crate) async fn is_leader(&self) -> bool {
        self.metric("learnpath_leader").await == Some(1.0)
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = self.operator.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(25);
        format!(
            "--- replica {} ({}) ---\n{}",
            self.identity,
            self.operator.log.display(),
            lines[from..].join("\n")
        )
    }
}
