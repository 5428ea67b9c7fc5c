//! What the signal scenarios share: a namespace with the example Track and an operator watching
//! it, SignalSources (cluster-scoped, so named after the namespace and deleted at the end), a
//! served Git repository with commits by learners, and readings of statuses.

use std::path::PathBuf;
use std::time::Duration;

use kube::api::DeleteParams;
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, SignalSource, Track};
use serde_json::{Value, json};
use testkit::*;

/// Long enough for a collection round (2 s), a reconcile and a write on a loaded machine.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// The backend engineer's email in examples/learners/backend-engineer.yaml.
pub(crate) const LI_WEI: &str = "li.wei@example.com";

/// A namespace with the example Track (under a name of its own) and an operator for it.
pub(crate) struct Living {
    pub client: Client,
    pub ns: String,
    pub track: String,
    pub operator: Operator,
    pub work: PathBuf,
    sources: Vec<String>,
}

impl Living {
    pub async fn start(prefix: &str) -> Living {
        Living::with_track(prefix, |_| {}).await
    }

    /// As [`Living::start`], with the Track changed by `edit` first.
    pub async fn with_track(prefix: &str, edit: impl FnOnce(&mut Track)) -> Living {
        let client = client().await;
        let ns = namespace(&client, prefix).await;
        let track_name = format!("go-engineer-{ns}");
        let mut track = example_track(&track_name);
        edit(&mut track);
        apply(&Api::<Track>::all(client.clone()), &track)
            .await
            .expect("Track applied");
        let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
        let work = cluster().dir.join(format!("signals-{ns}"));
        std::fs::create_dir_all(&work).expect("a work directory");
        Living {
            client,
            ns,
            track: track_name,
            operator,
            work,
            sources: Vec::new(),
        }
    }

    pub fn paths(&self) -> Api<LearningPath> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// An example learner in this namespace, without the status its file carries.
    pub async fn learner(&self, file: &str, edit: impl FnOnce(&mut LearningPath)) {
        let mut lp = example_learner(file, &self.ns, &self.track);
        lp.status = None;
        edit(&mut lp);
        apply(&self.paths(), &lp)
            .await
            .expect("LearningPath applied");
    }

    /// A SignalSource for this namespace's learners, named `<namespace>-<suffix>`.
    pub async fn source(&mut self, suffix: &str, spec: Value) -> String {
        let name = format!("{}-{suffix}", self.ns);
        let mut spec = spec;
        spec["learners"] = json!({"namespaces": [self.ns]});
        let source: SignalSource = serde_json::from_value(json!({
            "apiVersion": "learnpath.dev/v1alpha1",
            "kind": "SignalSource",
            "metadata": {"name": name},
            "spec": spec,
        }))
        .expect("a SignalSource");
        apply(&Api::<SignalSource>::all(self.client.clone()), &source)
            .await
            .expect("SignalSource applied");
        self.sources.push(name.clone());
        name
    }

    /// Waits until learner `name` satisfies `check`; the learner when it does.
    pub async fn until(
        &self,
        what: &str,
        name: &str,
        check: impl Fn(&LearningPath) -> bool,
    ) -> LearningPath {
        let paths = self.paths();
        let log = self.operator.log.clone();
        let found = tokio::time::timeout(
            WAIT,
            eventually(what, WAIT, || async {
                let lp = paths.get(name).await.ok()?;
                check(&lp).then_some(lp)
            }),
        )
        .await;
        found.unwrap_or_else(|_| {
            panic!(
                "{what}: not within {WAIT:?}; operator log {}",
                log.display()
            )
        })
    }

    /// The source as stored.
    pub async fn stored_source(&self, name: &str) -> SignalSource {
        Api::<SignalSource>::all(self.client.clone())
            .get(name)
            .await
            .expect("the SignalSource")
    }

    pub async fn cleanup(self) {
        let sources = Api::<SignalSource>::all(self.client.clone());
        for name in &self.sources {
            let _ = sources.delete(name, &DeleteParams::default()).await;
        }
        cleanup(&self.client, &self.ns, &self.track).await;
    }
}

/// The rules that fired for a learner.
pub(crate) fn rules(lp: &LearningPath) -> Vec<String> {
    lp.status
        .iter()
        .flat_map(|s| &s.triggered_rules)
        .map(|r| r.rule.clone())
        .collect()
}

/// An observed signal's value.
pub(crate) fn observed(lp: &LearningPath, name: &str) -> Option<f64> {
    lp.status
        .as_ref()?
        .observed_signals
        .iter()
        .find(|o| o.name == name)
        .map(|o| o.value)
}

/// The ids of the planned modules, in order.
pub(crate) fn order(lp: &LearningPath) -> Vec<String> {
    lp.status
        .iter()
        .flat_map(|s| &s.stages)
        .flat_map(|s| &s.modules)
        .map(|m| m.id.clone())
        .collect()
}

/// The source's Ready condition: (status, reason, message).
pub(crate) fn ready(source: &SignalSource) -> Option<(String, String, String)> {
    let c = source
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// `learnpath check` on the namespace: its exit status and output.
pub(crate) fn check(ns: &str) -> (bool, String) {
    let out = std::process::Command::new(learnpath_binary())
        .args(["check", "--namespace", ns])
        .env("KUBECONFIG", &cluster().kubeconfig)
        .output()
        .expect("learnpath check runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every learner's resourceVersion, by name.
pub(crate) async fn versions(paths: &Api<LearningPath>) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = paths
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|lp| (lp.name_any(), lp.resource_version().unwrap_or_default()))
        .collect();
    all.sort();
    all
}
