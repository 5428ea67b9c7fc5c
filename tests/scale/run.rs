//! One size: the ceiling (a tight client writing the statuses the operator would), the operator's
//! first plans, a fan-out with a person's edits during it, idle, and a forced re-list.

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::json;
use testkit::*;

use crate::measure::*;
use crate::watch::*;

/// Grants the non-admin test identity exactly what the operator (and the ceiling client) uses:
/// admin traffic is exempt from API Priority and Fairness and would flatter the numbers.
pub(crate) async fn grant_operator_rbac(client: &Client) {
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "learnpath-scale"},
        "rules": [
            {"apiGroups": ["learnpath.dev"], "resources": ["learningpaths", "tracks", "signalsources"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["learnpath.dev"], "resources": ["learningpaths/status", "tracks/status", "signalsources/status"], "verbs": ["patch"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
        ]
    }))
    .unwrap();
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "learnpath-scale"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "learnpath-scale"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "learnpath-e2e"}]
    }))
    .unwrap();
    apply(&Api::<ClusterRole>::all(client.clone()), &role)
        .await
        .expect("role");
    apply(&Api::<ClusterRoleBinding>::all(client.clone()), &binding)
        .await
        .expect("binding");
}

/// What one size measured: a row of the printed table.
pub(crate) struct Row {
    pub(crate) n: usize,
    pub(crate) ceiling: Duration,
    pub(crate) ceiling_concurrency: usize,
    /// The ceiling's writes again, with two LearningPath watches open: no operator writes
    /// without one, and the harness follows the fan-out through the other.
    pub(crate) watched_ceiling: Duration,
    pub(crate) fanout: Duration,
    pub(crate) edit_latency_max: Duration,
    pub(crate) edit_latency_p99: Duration,
    pub(crate) edit_latency_median: Duration,
    pub(crate) edit_count: usize,
    pub(crate) relist_peak_rss: f64,
    pub(crate) relist_writes: f64,
    pub(crate) steady_rss: f64,
    pub(crate) peak_rss: f64,
    pub(crate) cpu: f64,
    pub(crate) writes: f64,
    pub(crate) reconciles: f64,
    pub(crate) conflicts: f64,
    pub(crate) throttled: f64,
    pub(crate) idle_writes: f64,
}

/// Measures one size: `n` learners on a Track of their own (`round` tells sizes apart).
pub(crate) async fn run_size(admin: &Client, user: &Client, n: usize, round: usize) -> Row {
    let namespaces = n.clamp(1, 100);
    let track_name = format!("scale-{round}");
    let tracks: Api<Track> = Api::all(admin.clone());
    apply(&tracks, &example_track(&track_name))
        .await
        .expect("track");
    let mut ns_names = Vec::new();
    for _ in 0..namespaces {
        ns_names.push(namespace(admin, &format!("scale{round}")).await);
    }
    let objects: Vec<LearningPath> = (0..n)
        .map(|i| {
            let mut lp = example_learner(
                LEARNERS[i % LEARNERS.len()],
                &ns_names[i % namespaces],
                &track_name,
            );
            lp.metadata.name = Some(format!("learner-{i}"));
            lp
        })
        .collect();
    futures::stream::iter(objects.iter())
        .for_each_concurrent(32, |lp| {
            let api: Api<LearningPath> =
                Api::namespaced(admin.clone(), lp.metadata.namespace.as_deref().unwrap());
            async move {
                apply(&api, lp).await.expect("learner");
            }
        })
        .await;

    // 1. Ceiling: a tight client applies the statuses the operator would write, as the same
    //    non-admin identity, at the best concurrency it finds.
    let track = tracks.get(&track_name).await.unwrap();
    let live = list_all(&Api::all(admin.clone())).await;
    let statuses: Vec<(String, String, serde_json::Value)> = live
        .iter()
        .filter(|lp| lp.spec.track_ref.name == track_name)
        .map(|lp| {
            let status = learnpath::controller::desired_status(
                lp,
                Some(&track),
                learnpath::controller::now(),
            );
            (
                lp.namespace().unwrap(),
                lp.name_any(),
                serde_json::to_value(status).unwrap(),
            )
        })
        .collect();
    let round = |label: String, concurrency: usize| {
        let statuses = &statuses;
        async move {
            let started = Instant::now();
            futures::stream::iter(statuses.iter())
                .for_each_concurrent(concurrency, |(ns, name, status)| {
                    let api: Api<LearningPath> = Api::namespaced(user.clone(), ns);
                    let mut status = status.clone();
                    // A different summary each round, so that every apply is a real write.
                    status["summary"] = json!(format!("ceiling {label}"));
                    async move {
                        let patch = json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "LearningPath", "status": status});
                        api.patch_status(name, &PatchParams::apply(learnpath::controller::FIELD_MANAGER).force(), &Patch::Apply(&patch))
                            .await
                            .expect("ceiling status write");
                    }
                })
                .await;
            started.elapsed()
        }
    };
    // The learners have no status yet. The fan-out replaces a status of the same size, and for
    // that the API server also decodes, merges and ratchets the validation of the old one, so
    // a first round gives every learner a status and the timed rounds all start from there.
    // (Before, the first timed round wrote onto bare learners and the second did not: the two
    // concurrencies were not compared on the same writes.)
    {
        let cpu_before = cpu_reading(None);
        let took = round("first".into(), 16).await;
        let cpu = cpu_per_write(cpu_before, cpu_reading(None), n as f64);
        println!(
            "N={n} first statuses (not part of the ceiling) at concurrency 16: {took:.2?}, CPU ms per write: apiserver {:.1}, etcd {:.1}",
            cpu.apiserver, cpu.etcd
        );
    }
    let mut best: Option<(Duration, usize)> = None;
    let mut ceiling_cpu = None;
    for concurrency in [16usize, 64] {
        let cpu_before = cpu_reading(None);
        let took = round(concurrency.to_string(), concurrency).await;
        let cpu = cpu_per_write(cpu_before, cpu_reading(None), n as f64);
        println!(
            "N={n} ceiling at concurrency {concurrency}: {took:.2?}, CPU ms per write: apiserver {:.1}, etcd {:.1}, harness {:.1}",
            cpu.apiserver, cpu.etcd, cpu.harness
        );
        if best.is_none_or(|(t, _)| took < t) {
            best = Some((took, concurrency));
            ceiling_cpu = Some(cpu);
        }
    }
    let (ceiling, ceiling_concurrency) = best.unwrap();
    let ceiling_cpu = ceiling_cpu.unwrap();
    // Not part of the ceiling, a second bar: the same writes while two watches of every
    // LearningPath are open, as the operator's and this harness's are during the fan-out.
    let watched_ceiling;
    {
        let (watching, listed): (Vec<_>, Vec<_>) = (0..2)
            .map(|_| {
                let api: Api<LearningPath> = Api::all(user.clone());
                let (listed_tx, listed) = tokio::sync::oneshot::channel();
                let task = tokio::spawn(async move {
                    use kube::runtime::{WatchStreamExt, watcher};
                    let stream =
                        watcher::watcher(api, watcher::Config::default()).default_backoff();
                    let mut stream = std::pin::pin!(stream);
                    let mut listed_tx = Some(listed_tx);
                    while let Some(event) = stream.next().await {
                        if let Ok(watcher::Event::InitDone) = event
                            && let Some(tx) = listed_tx.take()
                        {
                            let _ = tx.send(());
                        }
                    }
                });
                (task, listed)
            })
            .unzip();
        // The writes start once both watches have their first list (~100 MB at 10,000), or
        // the round would also measure the lists.
        for listed in listed {
            tokio::time::timeout(Duration::from_secs(300), listed)
                .await
                .expect("a watch listed every learner within 300 s")
                .expect("the watch task");
        }
        let cpu_before = cpu_reading(None);
        let took = round("watched".into(), ceiling_concurrency).await;
        watched_ceiling = took;
        let cpu = cpu_per_write(cpu_before, cpu_reading(None), n as f64);
        println!(
            "N={n} ceiling writes with two watches open: {took:.2?}, CPU ms per write: apiserver {:.1}, etcd {:.1}, harness (incl. its watches) {:.1}",
            cpu.apiserver, cpu.etcd, cpu.harness
        );
        for task in watching {
            task.abort();
        }
    }

    // 2. The operator, as the non-admin identity, brings every learner to Ready.
    let concurrency = env_or("LEARNPATH_SCALE_CONCURRENCY", 64u32).to_string();
    let fanout_writes = env_or("LEARNPATH_SCALE_FANOUT_WRITES", 24u32).to_string();
    let user_kubeconfig = cluster().dir.join("user.kubeconfig");
    let operator = Operator::start(
        &user_kubeconfig,
        "",
        &[
            "--concurrency",
            &concurrency,
            "--fanout-writes",
            &fanout_writes,
        ],
    );
    let pid = operator.pid();
    let all: Api<LearningPath> = Api::all(admin.clone());
    eventually("every learner Ready", Duration::from_secs(600), || async {
        let lps = list_all(&all).await;
        let ours: Vec<_> = lps
            .iter()
            .filter(|lp| lp.spec.track_ref.name == track_name)
            .collect();
        (ours.len() == n
            && ours.iter().all(|lp| {
                is_ready(lp)
                    && lp
                        .status
                        .as_ref()
                        .and_then(|s| s.summary.as_deref())
                        .is_some_and(|s| !s.starts_with("ceiling"))
            }))
        .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let steady_rss = rss_mib(pid);
    let writes_before = operator
        .metric("learnpath_status_writes_total")
        .await
        .unwrap_or(0.0);
    let reconciles_before = operator
        .metric("learnpath_reconciles_total")
        .await
        .unwrap_or(0.0);
    let fanout_cpu_before = cpu_reading(Some(pid));
    let metrics_before = operator.metrics().await.unwrap_or_default();

    // 3. Fan-out: one weight changes; time until every learner carries the new trackGeneration.
    //    The harness follows it through a watch of its own, established before the change, and
    //    confirms the end by listing. (Listing every 200 ms, as it once did, cost 120 MB of JSON
    //    per poll at 10,000 learners on the same two cores as the API server and the operator,
    //    a load the ceiling never carried.) Meanwhile a person edits one learner after another.
    let current = tracks.get(&track_name).await.unwrap().metadata.generation;
    let target = current.map(|g| g + 1);
    let (shown_tx, shown) = tokio::sync::watch::channel(Shown::new());
    let (following, listed, followed) =
        follow_track_generation(all.clone(), track_name.clone(), target, n, shown_tx);
    listed
        .await
        .expect("the harness's watch listed every learner");
    let started = Instant::now();
    let patched = tracks
        .patch(&track_name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"profiles": {"industries": {"cloud": {"weights": {"k8s-operator": 2.5}}}}}})))
        .await
        .unwrap();
    let new_generation = patched.metadata.generation;
    assert_eq!(new_generation, target, "one spec change, one generation");
    let edit_api: Api<LearningPath> = Api::namespaced(admin.clone(), &ns_names[0]);
    let fanout_done = std::sync::atomic::AtomicBool::new(false);
    // A person edits one learner after another, each as soon as the previous edit showed,
    // for as long as the fan-out lasts: how long does an edit wait behind bulk work?
    let edits = async {
        let mut latencies = Vec::new();
        let exercises = ["go-health-endpoint", "gomod-pin-deps", "short-link-service"];
        let learners_in_ns0 = n.div_ceil(namespaces);
        while !fanout_done.load(std::sync::atomic::Ordering::SeqCst) || latencies.len() < 3 {
            let k = latencies.len();
            let name = format!("learner-{}", (k % learners_in_ns0) * namespaces);
            tokio::time::sleep(Duration::from_millis(100)).await;
            let edited = edit_api
                .patch(
                    &name,
                    &PatchParams::apply("a-person"),
                    &Patch::Apply(json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "LearningPath", "spec": {"completedExercises": [exercises[k % exercises.len()]]}})),
                )
                .await
                .unwrap();
            let edit_started = Instant::now();
            let generation = edited.metadata.generation.expect("a generation");
            // Seen as a person watching would see it, through the harness's watch. (A GET every
            // 50 ms, as before, added some 20 reads a second that the ceiling never carried,
            // and each read's own wait under load to the latency.)
            let key = format!("{}/{name}", ns_names[0]);
            let mut seen = shown.clone();
            tokio::time::timeout(
                Duration::from_secs(600),
                seen.wait_for(|m| m.get(&key).is_some_and(|g| *g >= generation)),
            )
            .await
            .unwrap_or_else(|_| panic!("edit {k} did not show within 600 s"))
            .expect("the harness's watch");
            let took = edit_started.elapsed();
            if took > Duration::from_millis(1500) {
                println!(
                    "slow edit {k}: {name} took {took:.2?}, shown at {}",
                    k8s_openapi::jiff::Timestamp::now()
                );
            }
            latencies.push(took);
        }
        latencies
    };
    let converge = async {
        let seen_at = followed.await.expect("the harness's watch");
        // Before the confirming list, which the ceiling never pays for.
        let cpu_after = cpu_reading(Some(pid));
        // The watch saw it; a list confirms it.
        let lps = list_all(&all).await;
        let behind = lps
            .iter()
            .filter(|lp| lp.spec.track_ref.name == track_name)
            .filter(|lp| lp.status.as_ref().and_then(|s| s.track_generation) != new_generation)
            .count();
        assert_eq!(
            behind, 0,
            "the watch saw every learner converge, the list must agree"
        );
        fanout_done.store(true, std::sync::atomic::Ordering::SeqCst);
        (seen_at - started, cpu_after)
    };
    let (mut latencies, (fanout, fanout_cpu_after)) = tokio::join!(edits, converge);
    following.abort();
    latencies.sort();
    let edit_latency_max = latencies.last().copied().unwrap_or_default();
    // Nearest-rank p99 of the edits made during the fan-out.
    let edit_latency_p99 = latencies
        .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    let edit_count = latencies.len();
    let edit_latency_median = latencies
        .get(latencies.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes = operator
        .metric("learnpath_status_writes_total")
        .await
        .unwrap_or(0.0)
        - writes_before;
    let reconciles = operator
        .metric("learnpath_reconciles_total")
        .await
        .unwrap_or(0.0)
        - reconciles_before;
    let conflicts = operator
        .metric("learnpath_reconcile_errors_total{kind=\"conflict\"}")
        .await
        .unwrap_or(0.0);
    let throttled = operator
        .metric("learnpath_reconcile_errors_total{kind=\"throttled\"}")
        .await
        .unwrap_or(0.0);
    let cpu = fanout_cpu_after[2] - fanout_cpu_before[2];
    // Where the machine's two cores go per write: the ceiling pays only for its writes, the
    // fan-out also for the watch events they cause, the operator and the harness's watch.
    let fanout_cpu = cpu_per_write(fanout_cpu_before, fanout_cpu_after, writes);
    for (phase, c) in [("ceiling", &ceiling_cpu), ("fan-out", &fanout_cpu)] {
        println!(
            "N={n} CPU ms per write, {phase}: apiserver {:.1}, etcd {:.1}, operator {:.1}, harness {:.1}",
            c.apiserver, c.etcd, c.operator, c.harness
        );
    }
    let metrics_after = operator.metrics().await.unwrap_or_default();
    for (name, what) in [
        (
            "learnpath_trigger_wait_seconds",
            "watch event -> reconcile start",
        ),
        (
            "learnpath_status_write_duration_seconds",
            "status patch round trip",
        ),
    ] {
        let (p50, count) = quantile_between(&metrics_before, &metrics_after, name, 0.5);
        let (p99, _) = quantile_between(&metrics_before, &metrics_after, name, 0.99);
        let (max, _) = quantile_between(&metrics_before, &metrics_after, name, 1.0);
        println!("N={n} {what}: {count} observed, p50 <= {p50} s, p99 <= {p99} s, max <= {max} s");
    }

    // 4. Idle: nothing changes, nothing is written.
    let idle_before = operator
        .metric("learnpath_status_writes_total")
        .await
        .unwrap_or(0.0);
    tokio::time::sleep(Duration::from_secs(env_or(
        "LEARNPATH_SCALE_IDLE_SECS",
        5u64,
    )))
    .await;
    let idle_writes = operator
        .metric("learnpath_status_writes_total")
        .await
        .unwrap_or(0.0)
        - idle_before;
    let peak_rss = peak_rss_mib(pid);

    // 5. A forced re-list: a write the operator never sees moves etcd's revision past its last
    //    resourceVersion (its bookmarks may have caught up with everything else), then the API
    //    server restarts: its new watch cache starts after that write, so both watches get
    //    410 Gone and list everything again. (Without the write, one run in several saw no re-list.)
    //    Peak RSS is reset first (clear_refs), so it is the re-list's own peak.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let relists = || async {
        operator
            .metric("learnpath_watch_relists_total{resource=\"learningpaths\"}")
            .await
            .unwrap_or(0.0)
    };
    let relists_before = relists().await;
    let relist_writes_before = operator
        .metric("learnpath_status_writes_total")
        .await
        .unwrap_or(0.0);
    let marker: ConfigMap =
        serde_json::from_value(json!({"metadata": {"generateName": "relist-"}})).unwrap();
    Api::<ConfigMap>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &marker)
        .await
        .expect("ConfigMap created");
    let restart =
        |command: &'static str| tokio::task::spawn_blocking(move || cluster().control(command));
    restart("kill apiserver")
        .await
        .unwrap()
        .expect("apiserver killed");
    restart("start apiserver")
        .await
        .unwrap()
        .expect("apiserver started");
    eventually("a re-list", Duration::from_secs(120), || async {
        (relists().await > relists_before).then_some(())
    })
    .await;
    // Until every learner went through its reconcile again (the count rests).
    let mut last = -1.0;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = operator
            .metric("learnpath_reconciles_total")
            .await
            .unwrap_or(0.0);
        if now == last {
            break;
        }
        last = now;
    }
    let relist_peak_rss = peak_rss_mib(pid);
    let relist_writes = operator
        .metric("learnpath_status_writes_total")
        .await
        .unwrap_or(0.0)
        - relist_writes_before;
    drop(operator);

    for ns in &ns_names {
        cleanup(admin, ns, &track_name).await;
    }
    Row {
        n,
        ceiling,
        ceiling_concurrency,
        watched_ceiling,
        fanout,
        edit_latency_max,
        edit_latency_p99,
        edit_latency_median,
        edit_count,
        relist_peak_rss,
        relist_writes,
        steady_rss,
        peak_rss,
        cpu,
        writes,
        reconciles,
        conflicts,
        throttled,
        idle_writes,
    }
}
