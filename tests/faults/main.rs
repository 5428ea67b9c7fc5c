//! Faults on the real control plane: the API server and etcd killed during a fan-out, the leader
//! killed or terminated, a standby terminated, a forced re-list, a Track deleted and restored.
//!
//! "Nothing lost" is decided by an independent checker, `learnpath check`
//! ([`learnpath::cli::check`]): every LearningPath listed from the API server (no watch, no cache)
//! must hold exactly what `learnpath plan` makes of its current spec and current Track, with the
//! generations matching. Every fault ends with it, within the fan-out time measured without faults
//! plus 15 s.
//!
//! Its own control plane (faults would disturb other tests) and two operator replicas with leader
//! election, kept at two like a Deployment would: a replica that exits is replaced.
//!
//! `make test` runs [`every_fault_ends_with_every_learner_right`] with `LEARNPATH_FAULT_N` learners
//! (default 60). `make chaos` runs the ignored [`chaos`] test: `LEARNPATH_CHAOS_N` learners (default
//! 2,000), a fault every `LEARNPATH_CHAOS_INTERVAL_SECS` (30) for `LEARNPATH_CHAOS_SECS` (600).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

#[path = "../e2e/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, Track};
use learnpath::cli::check::{Report, check_cluster};
use serde_json::json;

use support::*;

/// Seconds the operator's Lease lasts (docs/controller.md §10): a standby can take over this long
/// after the leader's last renewal, and these tests allow 5 s more.
const LEASE_SECONDS: u64 = 15;
const LEASE_NAME: &str = "learnpath-faults";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs a supervisor command (`kill apiserver`, `start etcd`, ...) without blocking the runtime.
async fn control(command: &'static str) {
    let result = tokio::task::spawn_blocking(move || cluster().control(command))
        .await
        .expect("control task");
    if let Err(e) = result {
        panic!("fault injection failed: {e}");
    }
}

struct Replica {
    identity: String,
    operator: Operator,
}

impl Replica {
    fn start(identity: String) -> Replica {
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

    async fn metric(&self, name: &str) -> Option<f64> {
        self.operator.metric(name).await
    }

    async fn is_leader(&self) -> bool {
        self.metric("learnpath_leader").await == Some(1.0)
    }

    fn log_tail(&self) -> String {
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

/// The cluster under test: a Track, `n` learners over a few namespaces, two replicas.
struct Fleet {
    client: Client,
    track: String,
    namespaces: Vec<String>,
    n: usize,
    replicas: Vec<Replica>,
    started: usize,
    weight_changes: u32,
    /// Time for every learner to follow a Track change with no fault: the yardstick.
    fanout: Duration,
}

impl Fleet {
    async fn new(n: usize) -> Fleet {
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

    fn add_replica(&mut self) {
        self.started += 1;
        let identity = format!("replica-{}", self.started);
        self.replicas.push(Replica::start(identity));
    }

    /// Replaces replicas that exited, as a Deployment would.
    fn heal(&mut self) {
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

    async fn leaders(&self) -> Vec<usize> {
        let mut leaders = Vec::new();
        for (i, replica) in self.replicas.iter().enumerate() {
            if replica.is_leader().await {
                leaders.push(i);
            }
        }
        leaders
    }

    async fn writes(&self) -> f64 {
        let mut sum = 0.0;
        for replica in &self.replicas {
            sum += replica
                .metric("learnpath_status_writes_total")
                .await
                .unwrap_or(0.0);
        }
        sum
    }

    fn logs(&self) -> String {
        self.replicas
            .iter()
            .map(Replica::log_tail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn check(&self) -> Option<Report> {
        check_cluster(&self.client, None).await.ok()
    }

    /// Polls the checker until zero mismatches; never two leaders at once; exited replicas are
    /// replaced. Returns how long it took; panics with the mismatches after `within`.
    async fn converge(&mut self, what: &str, within: Duration) -> Duration {
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
    fn allowance(&self) -> Duration {
        self.fanout + Duration::from_secs(15)
    }

    /// Changes one Track weight, so that every learner must be replanned.
    async fn change_weight(&mut self) {
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
    async fn edit_one_learner(&self, within: Duration) -> Duration {
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

    async fn resource_versions(&self) -> BTreeMap<String, String> {
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
    async fn baseline(&mut self) {
        self.change_weight().await;
        self.fanout = self
            .converge("fan-out without faults", Duration::from_secs(120))
            .await;
        eprintln!(
            "[faults] fan-out of {} learners: {:.1?}",
            self.n, self.fanout
        );
    }

    /// `component` (apiserver or etcd) SIGKILLed during a fan-out and started again.
    async fn kill_during_fanout(
        &mut self,
        kill: &'static str,
        start: &'static str,
        edit_within: Option<Duration>,
    ) {
        self.change_weight().await;
        tokio::time::sleep(self.fanout / 3).await;
        let down = Instant::now();
        control(kill).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        control(start).await;
        // etcd being back does not make the API server ready at once.
        eventually(
            "the API server ready again",
            Duration::from_secs(60),
            || async {
                Api::<Track>::all(self.client.clone())
                    .get(&self.track)
                    .await
                    .ok()
            },
        )
        .await;
        let downtime = down.elapsed();
        let back = Instant::now();
        if let Some(within) = edit_within {
            // Watches are back when a fresh edit is followed.
            let edit = self.edit_one_learner(within).await;
            eprintln!("[faults] {kill}: an edit made after the restart shown in {edit:.1?}");
        }
        let healed = self
            .converge(
                &format!("after `{kill}` during a fan-out"),
                self.allowance(),
            )
            .await;
        eprintln!(
            "[faults] {kill} during a fan-out: down {downtime:.1?}, every learner right {:.1?} after the restart (allowed {:.1?})",
            back.elapsed().max(healed),
            self.allowance()
        );
    }

    /// The leader SIGKILLed during a fan-out and replaced: the standby takes over within the lease
    /// duration + 5 s, and objects that were right at the kill are not written again.
    async fn leader_killed_during_fanout(&mut self) {
        let leaders = self.leaders().await;
        assert_eq!(
            leaders.len(),
            1,
            "one leader before the kill\n{}",
            self.logs()
        );
        let leader = leaders[0];
        let standby = 1 - leader;
        assert_eq!(
            self.replicas[standby]
                .metric("learnpath_status_writes_total")
                .await,
            Some(0.0),
            "the standby wrote while standing by\n{}",
            self.logs()
        );

        self.change_weight().await;
        tokio::time::sleep(self.fanout / 3).await;
        let killed = self.replicas.remove(leader);
        let kill_time = Instant::now();
        drop(killed); // SIGKILL
        self.add_replica(); // the Deployment's replacement
        // Requests the dead leader had sent are finished by the API server in milliseconds.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = self.resource_versions().await;
        let report = self.check().await.expect("checker lists");
        let wrong: BTreeSet<String> = report.mismatches.iter().map(|m| m.object.clone()).collect();
        let writes_before = self.writes().await;

        let takeover = eventually(
            "a new leader",
            Duration::from_secs(LEASE_SECONDS + 5),
            || async {
                let leaders = self.leaders().await;
                (leaders.len() == 1).then(|| kill_time.elapsed())
            },
        )
        .await;
        let new_leader = self.leaders().await[0];
        let healed = self
            .converge(
                "after the leader was killed during a fan-out",
                takeover + self.allowance(),
            )
            .await;
        let after = self.resource_versions().await;
        let rewritten: Vec<&String> = before
            .iter()
            .filter(|(name, rv)| !wrong.contains(*name) && after.get(*name) != Some(*rv))
            .map(|(name, _)| name)
            .collect();
        assert!(
            rewritten.is_empty(),
            "objects that were right when the leader died were written again: {rewritten:?}\n{}",
            self.logs()
        );
        let writes = self.writes().await - writes_before;
        assert_eq!(
            writes,
            wrong.len() as f64,
            "status writes after the takeover: one per wrong object\n{}",
            self.logs()
        );
        eprintln!(
            "[faults] leader killed during a fan-out: {} took over after {takeover:.1?} (allowed {}s), {} of {} learners were behind and were written once each, the other {} untouched; all right after {healed:.1?}",
            self.replicas[new_leader].identity,
            LEASE_SECONDS + 5,
            wrong.len(),
            self.n,
            self.n - wrong.len(),
        );
    }

    /// SIGTERM to the leader during a fan-out: it finishes its in-flight reconciles, releases the
    /// lease and exits 0 within 10 s; the standby takes over at once, not after the lease expires.
    async fn leader_terminated_during_fanout(&mut self) {
        let leader = self.leaders().await[0];
        self.change_weight().await;
        tokio::time::sleep(self.fanout / 3).await;
        let started = Instant::now();
        let status = self.replicas[leader]
            .operator
            .terminate(Duration::from_secs(10));
        let exit = started.elapsed();
        let log = self.replicas[leader].log_tail();
        assert!(
            status.is_some_and(|s| s.success()),
            "the leader did not exit 0 within 10 s of SIGTERM ({status:?})\n{log}"
        );
        assert!(
            log.contains("released the leader lease"),
            "the leader did not release its lease\n{log}"
        );
        self.replicas.remove(leader);
        self.add_replica();
        let takeover = eventually(
            "a new leader",
            Duration::from_secs(LEASE_SECONDS),
            || async { (self.leaders().await.len() == 1).then(|| started.elapsed()) },
        )
        .await;
        let healed = self
            .converge("after SIGTERM to the leader", self.allowance())
            .await;
        eprintln!(
            "[faults] SIGTERM to the leader during a fan-out: exit 0 after {exit:.1?}, new leader after {takeover:.1?}, all right after {healed:.1?}"
        );
    }

    /// SIGTERM to a standby that is waiting for the lease: it exits 0 within 10 s.
    async fn standby_terminated(&mut self) {
        let leaders = self.leaders().await;
        assert_eq!(leaders.len(), 1, "{}", self.logs());
        let standby = 1 - leaders[0];
        let started = Instant::now();
        let status = self.replicas[standby]
            .operator
            .terminate(Duration::from_secs(10));
        assert!(
            status.is_some_and(|s| s.success()),
            "a standby did not exit 0 within 10 s of SIGTERM ({status:?})\n{}",
            self.replicas[standby].log_tail()
        );
        eprintln!(
            "[faults] SIGTERM to the standby: exit 0 after {:.1?}",
            started.elapsed()
        );
        self.replicas.remove(standby);
        self.add_replica();
    }

    /// The API server restarted while nothing changes: its new watch cache starts after the
    /// operator's last resourceVersion, so the watches get 410 Gone and list everything again.
    /// Every learner is reconciled again and nothing is written.
    async fn forced_relist(&mut self) {
        self.converge("before the re-list", self.allowance()).await;
        let leader = self.leaders().await[0];
        let relists_before = relists(&self.replicas[leader]).await;
        let reconciled = self.replicas[leader]
            .metric("learnpath_reconciles_total")
            .await
            .unwrap_or(0.0);
        let writes_before = self.writes().await;
        let before = self.resource_versions().await;
        // A write the operator never sees moves etcd's revision past its last resourceVersion.
        let marker: ConfigMap = serde_json::from_value(json!({
            "metadata": {"generateName": "relist-"}
        }))
        .expect("ConfigMap");
        Api::<ConfigMap>::namespaced(self.client.clone(), "default")
            .create(&PostParams::default(), &marker)
            .await
            .expect("ConfigMap created");
        control("kill apiserver").await;
        control("start apiserver").await;
        let replica = &self.replicas[leader];
        eventually(
            "the operator to list LearningPaths again",
            Duration::from_secs(30),
            || async { (relists(replica).await > relists_before).then_some(()) },
        )
        .await;
        // The re-listed learners go through a reconcile (all but those whose listed version is the
        // operator's own last write, which it knows to be current); once the count has rested for
        // 2 s, they had every chance to write something.
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut last, mut resting_since) = (reconciled, Instant::now());
        loop {
            let now = replica
                .metric("learnpath_reconciles_total")
                .await
                .unwrap_or(last);
            if now != last {
                (last, resting_since) = (now, Instant::now());
            }
            if now - reconciled >= self.n as f64 / 2.0
                && resting_since.elapsed() > Duration::from_secs(2)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the re-listed learners were not reconciled: {} reconciles\n{}",
                now - reconciled,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let after = self.resource_versions().await;
        assert_eq!(
            before,
            after,
            "a re-list changed LearningPaths\n{}",
            self.logs()
        );
        assert_eq!(
            self.writes().await,
            writes_before,
            "a re-list wrote statuses\n{}",
            self.logs()
        );
        self.converge("after a re-list", self.allowance()).await;
        eprintln!(
            "[faults] forced re-list: every learner reconciled again, 0 writes, 0 resourceVersions changed"
        );
    }

    /// The Track deleted while every learner references it, then restored.
    async fn track_deleted_and_restored(&mut self) {
        let tracks: Api<Track> = Api::all(self.client.clone());
        let all: Api<LearningPath> = Api::all(self.client.clone());
        let plans: BTreeMap<String, serde_json::Value> = all
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .iter()
            .map(|lp| {
                (
                    lp.name_any() + "@" + &lp.namespace().unwrap_or_default(),
                    serde_json::to_value(&lp.status.as_ref().expect("status").stages)
                        .expect("stages"),
                )
            })
            .collect();
        tracks
            .delete(&self.track, &DeleteParams::default())
            .await
            .expect("Track deleted");
        let gone = self
            .converge("after the Track was deleted", self.allowance())
            .await;
        // TrackNotFound everywhere (the checker's verdict), and every last good plan kept.
        for lp in all.list(&ListParams::default()).await.expect("list").items {
            let key = lp.name_any() + "@" + &lp.namespace().unwrap_or_default();
            let stages =
                serde_json::to_value(&lp.status.as_ref().expect("status").stages).expect("stages");
            assert_eq!(
                Some(&stages),
                plans.get(&key),
                "{key} lost its roadmap when the Track was deleted"
            );
        }
        apply(&tracks, &example_track(&self.track))
            .await
            .expect("Track restored");
        let back = self
            .converge("after the Track was restored", self.allowance())
            .await;
        eprintln!(
            "[faults] Track deleted under {} learners: all TrackNotFound with their plans kept after {gone:.1?}; restored: all Ready after {back:.1?}",
            self.n
        );
    }
}

/// `learnpath check`, the command, against the test cluster: (exit success, stdout).
fn check_command() -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_learnpath"))
        .arg("check")
        .env("KUBECONFIG", &cluster().kubeconfig)
        .output()
        .expect("learnpath check runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

impl Fleet {
    /// With every replica stopped, a status overwritten by someone else is what `learnpath check`
    /// reports (exit 1, naming the object and the field); a replica started again repairs it.
    async fn overwritten_status_is_reported_and_repaired(&mut self) {
        let (ok, out) = check_command();
        assert!(ok, "learnpath check on a healthy cluster: {out}");
        assert!(
            out.contains(&format!("checked {} LearningPaths: 0 mismatches", self.n)),
            "{out}"
        );
        for replica in &mut self.replicas {
            assert!(
                replica
                    .operator
                    .terminate(Duration::from_secs(10))
                    .is_some()
            );
        }
        self.replicas.clear();
        let ns = &self.namespaces[0];
        Api::<LearningPath>::namespaced(self.client.clone(), ns)
            .patch_status(
                "learner-0",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"summary": "edited by hand"}})),
            )
            .await
            .expect("status overwritten");
        let (ok, out) = check_command();
        assert!(
            !ok,
            "learnpath check must fail on an overwritten status: {out}"
        );
        assert!(
            out.contains(&format!(
                "{ns}/learner-0: status differs from the plan in summary"
            )),
            "{out}"
        );
        assert!(out.contains("1 mismatches"), "{out}");
        self.add_replica();
        let repaired = self
            .converge("after a status was overwritten", self.allowance())
            .await;
        eprintln!(
            "[faults] a status overwritten while no operator ran: reported by `learnpath check`, repaired {repaired:.1?} after a replica started"
        );
    }
}

/// Full listings of LearningPaths the replica's watch has made (`/metrics`).
async fn relists(replica: &Replica) -> f64 {
    replica
        .metric("learnpath_watch_relists_total{resource=\"learningpaths\"}")
        .await
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_ends_with_every_learner_right() {
    let n = env_or("LEARNPATH_FAULT_N", 60usize);
    let mut fleet = Fleet::new(n).await;
    fleet.baseline().await;
    // Watches back within 10 s of the API server being ready (the edit needs a reconcile too).
    fleet
        .kill_during_fanout(
            "kill apiserver",
            "start apiserver",
            Some(Duration::from_secs(10)),
        )
        .await;
    fleet
        .kill_during_fanout("kill etcd", "start etcd", Some(Duration::from_secs(10)))
        .await;
    fleet.leader_killed_during_fanout().await;
    fleet.leader_terminated_during_fanout().await;
    fleet.standby_terminated().await;
    fleet.forced_relist().await;
    fleet.track_deleted_and_restored().await;
    fleet.overwritten_status_is_reported_and_repaired().await;
}

/// `make chaos`: many learners, a fault every interval, every learner right at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: run by `make chaos`"]
async fn chaos() {
    let n = env_or("LEARNPATH_CHAOS_N", 2000usize);
    let total = Duration::from_secs(env_or("LEARNPATH_CHAOS_SECS", 600u64));
    let interval = Duration::from_secs(env_or("LEARNPATH_CHAOS_INTERVAL_SECS", 30u64));
    let mut fleet = Fleet::new(n).await;
    fleet.baseline().await;
    let started = Instant::now();
    let mut round = 0usize;
    while started.elapsed() < total {
        let fault_started = Instant::now();
        match round % 6 {
            0 => {
                fleet
                    .kill_during_fanout("kill apiserver", "start apiserver", None)
                    .await
            }
            1 => fleet.leader_killed_during_fanout().await,
            2 => {
                fleet
                    .kill_during_fanout("kill etcd", "start etcd", None)
                    .await
            }
            3 => fleet.track_deleted_and_restored().await,
            4 => fleet.leader_terminated_during_fanout().await,
            _ => fleet.forced_relist().await,
        }
        round += 1;
        if let Some(rest) = interval.checked_sub(fault_started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    let report = fleet.check().await.expect("checker lists");
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    eprintln!(
        "[chaos] {round} faults over {:.0?} on {n} learners: {} checked, 0 mismatches",
        started.elapsed(),
        report.checked
    );
}
