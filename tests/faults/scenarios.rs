//! The faults, each ending with every learner right: the API server or etcd killed during a
//! fan-out, the leader killed or terminated, a standby terminated, a forced re-list, the Track
//! deleted and restored, a status overwritten while no operator runs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::json;
use testkit::*;

use crate::LEASE_SECONDS;
use crate::fleet::Fleet;
use crate::replica::{Replica, control};

impl Fleet {
    /// `component` (apiserver or etcd) SIGKILLed during a fan-out and started again.
    pub(crate) async fn kill_during_fanout(
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
    pub(crate) async fn leader_killed_during_fanout(&mut self) {
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
    pub(crate) async fn leader_terminated_during_fanout(&mut self) {
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
    pub(crate) async fn standby_terminated(&mut self) {
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
    pub(crate) async fn forced_relist(&mut self) {
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
        // The re-list came as a stream of watch events, applied to the cache in place
        // (docs/controller.md §9): no list response, no second copy of the cache.
        assert_eq!(
            replica
                .metric("learnpath_watch_streaming_lists{resource=\"learningpaths\"}")
                .await,
            Some(1.0),
            "the LearningPath watch streams its lists\n{}",
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
    pub(crate) async fn track_deleted_and_restored(&mut self) {
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
    pub(crate) async fn overwritten_status_is_reported_and_repaired(&mut self) {
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
pub(crate) async fn relists(replica: &Replica) -> f64 {
    replica
        .metric("learnpath_watch_relists_total{resource=\"learningpaths\"}")
        .await
        .unwrap_or(0.0)
}
