//! The cluster under test (a Track, its learners over a few namespaces, two replicas kept at two)
//! and how it is judged: `learnpath check` finds every learner right, within a time allowed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, Track};
use learnpath::cli::check::{Report, check_cluster};
use serde_json::json;
use testkit::*;

use crate::replica::Replica;

/// The cluster under test: a Track, `n` learners over a few namespaces, two replicas.
pub(crate) struct Fleet {
    pub(crate) client: Client,
    pub(crate) track: String,
    pub(crate) namespaces: Vec<String>,
    pub(crate) n: usize,
    pub(crate) replicas: Vec<Replica>,
    pub(crate) started: usize,
    pub(crate) weight_changes: u32,
    /// Time for every learner to follow a Track change with no fault: the yardstick.
    pub(crate) fanout: Duration,
}

impl Fleet {
    pub(crate) async fn new(n: usize) -> Fleet {
        let client = client_from(&cluster().kubeconfig).await;
        let track = "go-engineer".to_string();
        apply(&Api::<Track>::all(client.clone()), &example_track(&track))
            .await
            .expect("Track applied");
        let mut namespaces = Vec::new();
        for _ in 0..n.clamp(1, 10) {
            namespaces.push(namespace(&client, "faults").await);
        }
        let learners: Vec<LearningPath> = (0..n)
            .map(|i| {
                let mut lp = example_learner(
                    LEARNERS[i % LEARNERS.len()],
                    &namespaces[i % namespaces.len()],
                    &track,
                );
                lp.metadata.name = Some(format!("learner-{i}"));
                lp
            })
            .collect();
        futures::stream::iter(learners.iter())
            .for_each_concurrent(16, |lp| {
                let api: Api<LearningPath> = Api::namespaced(
                    client.clone(),
                    lp.metadata.namespace.as_deref().expect("namespace"),
                );
                async move {
                    apply(&api, lp).await.expect("learner applied");
                }
            })
            .await;
        let mut fleet = Fleet {
            client,
            track,
            namespaces,
            n,
            replicas: Vec::new(),
            started: 0,
            weight_changes: 0,
            fanout: Duration::ZERO,
        };
        for _ in 0..2 {
            fleet.add_replica();
        }
        // The first plan of every learner, a cold start: generous.
        let took = fleet
            .converge("first plans", Duration::from_secs(60 + n as u64 / 10))
            .await;
        eprintln!("[faults] {n} learners planned in {took:.1?} after start-up");
        fleet
    }

    pub(crate) fn add_replica(&mut self) {
        self.started += 1;
        let identity = format!("replica-{}", self.started);
        self.replicas.push(Replica::start(identity));
    }

    /// Replaces replicas that exited, as a Deployment would.
    pub(crate) fn heal(&mut self) {
        let mut exited = Vec::new();
        for (i, replica) in self.replicas.iter_mut().enumerate() {
            if let Some(status) = replica.operator.exited() {
                eprintln!(
                    "[faults] {} exited ({status}); replacing it",
                    replica.identity
                );
                exited.push(i);
            }
        }
        for i in exited.into_iter().rev() {
            self.replicas.remove(i);
            self.add_replica();
        }
    }

    pub(crate) async fn leaders(&self) -> Vec<usize> {
        let mut leaders = Vec::new();
        for (i, replica) in self.replicas.iter().enumerate() {
            if replica.is_leader().await {
                leaders.push(i);
            }
        }
        leaders
    }

    pub(crate) async fn writes(&self) -> f64 {
        let mut sum = 0.0;
        for replica in &self.replicas {
            sum += replica
                .metric("learnpath_status_writes_total")
                .await
                .unwrap_or(0.0);
        }
        sum
    }

    pub(crate) fn logs(&self) -> String {
        self.replicas
            .iter()
            .map(Replica::log_tail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(crate) async fn check(&self) -> Option<Report> {
        check_cluster(&self.client, None).await.ok()
    }

    /// Polls the checker until zero mismatches; never two leaders at once; exited replicas are
    /// replaced. Returns how long it took; panics with the mismatches after `within`.
    pub(crate) async fn converge(&mut self, what: &str, within: Duration) -> Duration {
        let started = Instant::now();
        let mut last: Option<Report> = None;
        loop {
            self.heal();
            let leaders = self.leaders().await;
            assert!(
                leaders.len() <= 1,
                "{what}: two replicas lead at once: {:?}\n{}",
                leaders
                    .iter()
                    .map(|i| &self.replicas[*i].identity)
                    .collect::<Vec<_>>(),
                self.logs()
            );
            if let Some(report) = self.check().await {
                if report.checked == self.n && report.mismatches.is_empty() {
                    return started.elapsed();
                }
                last = Some(report);
            }
            if started.elapsed() > within {
                let detail = last.map_or("the checker could not list".to_string(), |r| {
                    let shown: Vec<String> = r
                        .mismatches
                        .iter()
                        .take(10)
                        .map(ToString::to_string)
                        .collect();
                    format!(
                        "{} of {} LearningPaths wrong, for example:\n{}",
                        r.mismatches.len(),
                        r.checked,
                        shown.join("\n")
                    )
                });
                panic!(
                    "{what}: not converged within {within:?}: {detail}\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// How long a fault may take to heal: the fan-out without faults plus 15 s.
    pub(crate) fn allowance(&self) -> Duration {
        self.fanout + Duration::from_secs(15)
    }

    /// Changes one Track weight, so that every learner must be replanned.
    pub(crate) async fn change_weight(&mut self) {
        self.weight_changes += 1;
        let weight = 0.1 + f64::from(self.weight_changes % 20) * 0.1;
        Api::<Track>::all(self.client.clone())
            .patch(
                &self.track,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"profiles": {"industries": {"cloud": {"weights": {"k8s-operator": weight}}}}}})),
            )
            .await
            .expect("Track weight changed");
    }

    /// Edits one learner and returns when its status shows the new generation.
    pub(crate) async fn edit_one_learner(&self, within: Duration) -> Duration {
        let api: Api<LearningPath> = Api::namespaced(self.client.clone(), &self.namespaces[0]);
        let hours = 4 + (self.weight_changes % 8);
        let started = Instant::now();
        let edited = api
            .patch(
                "learner-0",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"hoursPerWeek": hours}})),
            )
            .await
            .expect("learner edited");
        let generation = edited.metadata.generation;
        eventually("the edited learner's status", within, || async {
            let lp = api.get("learner-0").await.ok()?;
            (lp.status.as_ref()?.observed_generation == generation).then_some(())
        })
        .await;
        started.elapsed()
    }

    pub(crate) async fn resource_versions(&self) -> BTreeMap<String, String> {
        let all: Api<LearningPath> = Api::all(self.client.clone());
        all.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .iter()
            .map(|lp| {
                (
                    format!("{}/{}", lp.namespace().unwrap_or_default(), lp.name_any()),
                    lp.resource_version().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The yardstick: a weight change with no fault.
    pub(crate) async fn baseline(&mut self) {
        self.change_weight().await;
        self.fanout = self
            .converge("fan-out without faults", Duration::from_secs(120))
            .await;
        eprintln!(
            "[faults] fan-out of {} learners: {:.1?}",
            self.n, self.fanout
        );
    }
}
