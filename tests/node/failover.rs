//! Two replicas as Pods: exactly one writes; the PodDisruptionBudget holds an eviction; the
//! leader Pod force-deleted, its container killed, and its process frozen, and each time
//! leadership is back within the lease duration + 5 s with every learner's status still right.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::{Api, Client, ResourceExt};
use testkit::*;

use super::chart::{assess_observability, container_pids, ready_for, versions};
use super::harness::*;

/// The operator's lease duration (src/controller/leader.rs).
const LEASE: Duration = Duration::from_secs(15);
/// How often the leader renews it (8 s before expiry: src/controller/leader.rs).
const RENEWAL: Duration = Duration::from_secs(7);
/// What a takeover may take: the lease running out, plus 5 s.
const TAKEOVER: Duration = Duration::from_secs(20);

/// `learnpath_leader` as a Pod's /metrics reports it (the test process reaches Pod IPs through
/// the node's bridge).
async fn leader_gauge(pod: &Pod) -> Option<f64> {
    let ip = pod.status.as_ref()?.pod_ip.clone()?;
    // A frozen process's socket still accepts connections: never wait on one for long.
    let addr = format!("{ip}:8080");
    let get = http_get(&addr, "/metrics");
    let text = tokio::time::timeout(Duration::from_secs(1), get)
        .await
        .ok()??;
    text.lines()
        .find(|l| l.starts_with("learnpath_leader "))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The names of the Pods (not being deleted) whose gauge says they lead: a new leader is not
/// Ready until its caches sync, and leads meanwhile.
async fn leading(release: &Release, client: &Client) -> Vec<String> {
    let mut leaders = Vec::new();
    let pods = release.pods(client).await;
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        if leader_gauge(pod).await == Some(1.0) {
            leaders.push(pod.name_any());
        }
    }
    leaders
}

/// Two Ready Pods, exactly one of them leading (by the Lease and by its own gauge); its name.
async fn one_leader_of_two(release: &Release, client: &Client) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let ready = release
            .pods(client)
            .await
            .iter()
            .filter(|p| pod_ready(p))
            .count();
        let leaders = leading(release, client).await;
        let holder = release.leader(client).await;
        if ready == 2 && leaders.len() == 1 && holder.as_deref() == Some(leaders[0].as_str()) {
            return leaders[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no single leader of two Ready Pods (leading: {leaders:?}, Lease: {holder:?})\n{}",
            release.describe()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Time from now until a Pod other than `old` holds the Lease and says it leads, or `old`'s
/// restarted container leads again (`old_may_return`); the leader's name and the time.
async fn takeover(
    release: &Release,
    client: &Client,
    old: &str,
    old_may_return: bool,
    since: Instant,
) -> (String, Duration) {
    loop {
        let leaders = leading(release, client).await;
        if let [leader] = leaders.as_slice()
            && (leader != old || old_may_return)
            && release.leader(client).await.as_deref() == Some(leader.as_str())
        {
            return (leader.clone(), since.elapsed());
        }
        assert!(
            since.elapsed() < TAKEOVER + Duration::from_secs(30),
            "nobody took over from {old} (leading: {leaders:?})\n{}",
            release.describe()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends a signal to a process of the node's.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Asks the API server to evict `pod` as `kubectl drain` does (the Eviction subresource, through
/// the pinned kubectl); whether it was allowed, and what it said.
fn evict(namespace: &str, pod: &str) -> (bool, String) {
    let body = format!(
        r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{pod}","namespace":"{namespace}"}}}}"#
    );
    let file = tempfile::NamedTempFile::new().expect("a temp file");
    std::fs::write(file.path(), body).expect("write the Eviction");
    let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}/eviction");
    let out = node_kubectl(&[
        "create",
        "--raw",
        &path,
        "-f",
        &file.path().display().to_string(),
    ]);
    (out.ok, format!("{}{}", out.stdout, out.stderr))
}

/// The PodDisruptionBudget (maxUnavailable 1) lets one Pod be evicted and refuses the second.
async fn budget_holds(release: &Release, client: &Client, leader: &str) {
    let budgets = Api::<PodDisruptionBudget>::namespaced(client.clone(), &release.namespace);
    eventually("the budget allows one disruption", WAIT, || async {
        let status = budgets.get("learnpath").await.ok()?.status?;
        (status.current_healthy == Some(2) && status.disruptions_allowed == Some(1)).then_some(())
    })
    .await;
    let standby = release
        .pods(client)
        .await
        .into_iter()
        .map(|p| p.name_any())
        .find(|p| p != leader)
        .expect("a standby");
    let (allowed, said) = evict(&release.namespace, &standby);
    assert!(allowed, "the first eviction is allowed: {said}");
    let (allowed, said) = evict(&release.namespace, leader);
    assert!(
        !allowed && said.contains("disruption budget"),
        "the budget did not refuse a second eviction: {said}\n{}",
        release.describe()
    );
}

#[tokio::test]
async fn the_standby_pod_takes_over_a_deleted_or_killed_leader() {
    let _turn = SERIAL.lock().await;
    let client = node_client().await;
    let ns = restricted_namespace(&client, "node-ha").await;
    let learners = namespace(&client, "node-ha-lp").await;
    let track = format!("node-ha-{}", std::process::id());
    let release = Release::install(
        "learnpath",
        &ns,
        &[
            "--set",
            "replicaCount=2",
            "--set",
            "podDisruptionBudget.enabled=true",
        ],
    );
    apply_examples(&client, &learners, &track).await;
    all_ready(&client, &learners, WAIT, || release.describe()).await;
    let leader = one_leader_of_two(&release, &client).await;

    budget_holds(&release, &client, &leader).await;
    let leader = one_leader_of_two(&release, &client).await;
    let before = versions(&client, &learners).await;

    // The leader Pod force-deleted: its process is killed without a chance to release the Lease.
    let started = Instant::now();
    node_kubectl(&[
        "delete",
        "pod",
        &leader,
        "-n",
        &ns,
        "--grace-period=0",
        "--force",
        "--wait=false",
    ])
    .expect("force delete");
    let (successor, took) = takeover(&release, &client, &leader, false, started).await;
    eprintln!(
        "takeover after the leader Pod was force-deleted: {took:?} ({leader} -> {successor})"
    );
    assert!(took <= TAKEOVER, "took {took:?}, more than {LEASE:?} + 5 s");
    let generation = assess_observability(&client, &learners, "backend-engineer", 30).await;
    ready_for(&client, &learners, "backend-engineer", generation, &release).await;
    assert_eq!(check_mismatches(), 0);

    // The leader's container killed (SIGKILL to its process): the kubelet restarts it, and
    // whichever process gets the Lease first leads.
    let leader = one_leader_of_two(&release, &client).await;
    let pids = container_pids(&leader);
    assert_eq!(pids.len(), 1, "one operator process in {leader}");
    let started = Instant::now();
    signal(pids[0], "-KILL");
    let (successor, took) = takeover(&release, &client, &leader, true, started).await;
    eprintln!(
        "takeover after the leader's container was killed: {took:?} ({leader} -> {successor})"
    );
    assert!(took <= TAKEOVER, "took {took:?}, more than {LEASE:?} + 5 s");
    let generation = assess_observability(&client, &learners, "backend-engineer", 40).await;
    ready_for(&client, &learners, "backend-engineer", generation, &release).await;
    assert_eq!(check_mismatches(), 0);

    // The leader frozen (SIGSTOP: a hung process, or one cut off from the API server): it stops
    // renewing, and the other Pod takes the Lease once it runs out. Thawed, the old leader must
    // not write again: one leader.
    let leader = one_leader_of_two(&release, &client).await;
    let pids = container_pids(&leader);
    assert_eq!(pids.len(), 1, "one operator process in {leader}");
    let started = Instant::now();
    signal(pids[0], "-STOP");
    let (successor, took) = takeover(&release, &client, &leader, false, started).await;
    // Its liveness probe may have had the kubelet kill it meanwhile.
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &pids[0].to_string()])
        .status();
    eprintln!("takeover from a frozen leader: {took:?} ({leader} -> {successor})");
    assert!(took <= TAKEOVER, "took {took:?}, more than {LEASE:?} + 5 s");
    // The leader renews 8 s before expiry, i.e. every 7 s: its last renewal was at most 7 s
    // before the freeze, so the Lease ran out no sooner than 8 s after it.
    assert!(
        took >= LEASE - RENEWAL - Duration::from_secs(1),
        "{took:?}: the Lease had not run out"
    );
    let generation = assess_observability(&client, &learners, "backend-engineer", 50).await;
    ready_for(&client, &learners, "backend-engineer", generation, &release).await;
    let leaders = leading(&release, &client).await;
    assert_eq!(
        leaders,
        vec![successor],
        "one leader after the old one thawed"
    );
    assert_eq!(check_mismatches(), 0);

    // Nobody else was written through three hand-overs.
    let after = versions(&client, &learners).await;
    for (name, version) in &before {
        if name != "backend-engineer" {
            assert_eq!(after.get(name), Some(version), "{name} was rewritten");
        }
    }
    drop(release);
    cleanup(&client, &learners, &track).await;
    delete_namespaces(&client, &[&ns]).await;
}
