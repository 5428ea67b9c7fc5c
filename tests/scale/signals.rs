//! What a collection round costs at scale (docs/signals.md §5): N learners matched by one Git
//! source and one Prometheus source with four queries. A round costs one fetch and four queries,
//! whatever N; a round where nothing changed writes nothing; a round where one learner's value
//! changed writes that one learner's status.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use kube::api::DeleteParams;
use kube::{Api, Client};
use learnpath::api::{LearningPath, SignalSource, Track};
use serde_json::json;
use testkit::*;

use crate::watch::list_all;

/// The four signals the Prometheus source queries, with a value for learner `i`.
const QUERIES: [(&str, &str); 4] = [
    ("ciFailureRate", "ci_failure_rate"),
    ("mttrMinutes", "mttr_minutes"),
    ("sliRate7d", "sli_rate_7d"),
    ("sagaRollbacks", "saga_rollbacks"),
];

/// One round's cost, read from the operator's own counters.
pub(crate) struct SignalRow {
    pub n: usize,
    /// Seconds from the sources' creation until every learner held its signals.
    pub first_round: f64,
    /// HTTP exchanges per round: Git, then Prometheus.
    pub requests_per_round: (f64, f64),
    /// Status writes in the quiet rounds measured, and how many rounds that was.
    pub quiet_writes: f64,
    pub quiet_rounds: f64,
    /// Status writes for a round where one learner's value changed.
    pub one_change_writes: f64,
}

fn email(i: usize) -> String {
    format!("learner-{i}@example.com")
}

fn exposition(n: usize, changed: Option<usize>) -> String {
    let mut text = String::new();
    for (k, (_, metric)) in QUERIES.iter().enumerate() {
        let _ = writeln!(text, "# TYPE {metric} gauge");
        for i in 0..n {
            let value = (i + k) % 30 + if changed == Some(i) && k == 0 { 50 } else { 0 };
            let _ = writeln!(text, "{metric}{{author=\"{}\"}} {value}", email(i));
        }
    }
    text
}

pub(crate) async fn signal_round_costs(admin: &Client, n: usize) -> SignalRow {
    let track_name = "scale-signals".to_string();
    apply(
        &Api::<Track>::all(admin.clone()),
        &example_track(&track_name),
    )
    .await
    .expect("track");
    let ns = namespace(admin, "scalesig").await;
    let api: Api<LearningPath> = Api::namespaced(admin.clone(), &ns);
    futures::StreamExt::for_each_concurrent(futures::stream::iter(0..n), 32, |i| {
        let api = api.clone();
        let mut lp = example_learner(LEARNERS[i % LEARNERS.len()], &ns, &track_name);
        lp.metadata.name = Some(format!("learner-{i}"));
        lp.spec.learner.email = Some(email(i));
        lp.status = None;
        async move {
            apply(&api, &lp).await.expect("learner");
        }
    })
    .await;

    // A Git history by a tenth of the learners, and every learner's CI series.
    let work = cluster().dir.join(format!("signals-{ns}"));
    let repo = Repository::init(&work.join("git"), "platform");
    for i in (0..n).step_by(10) {
        repo.commit_as(
            &email(i),
            3600 + i as i64,
            &[("log.txt", &format!("{i}\n"))],
        );
    }
    let git_server = GitServer::start(&work.join("git"), &work.join("gitserver.log"));
    let exporter = Exporter::start(&exposition(n, None)).await;
    let prometheus = Prometheus::start(&work.join("prometheus"), &[&exporter.addr]).await;

    let user_kubeconfig = cluster().dir.join("user.kubeconfig");
    let operator = Operator::start(&user_kubeconfig, "", &[]);
    let sources: Api<SignalSource> = Api::all(admin.clone());
    let interval = 5u64;
    let git_name = format!("{ns}-git");
    let prom_name = format!("{ns}-ci");
    for (name, spec) in [
        (
            &git_name,
            json!({"interval": format!("{interval}s"), "learners": {"namespaces": [ns]},
                   "git": {"url": format!("{}/platform", git_server.url)}}),
        ),
        (
            &prom_name,
            json!({"interval": format!("{interval}s"), "learners": {"namespaces": [ns]},
                   "prometheus": {"url": prometheus.url, "learnerLabel": "author",
                                  "queries": QUERIES.iter().map(|(s, q)| json!({"signal": s, "query": q})).collect::<Vec<_>>()}}),
        ),
    ] {
        let source: SignalSource = serde_json::from_value(json!({
            "apiVersion": "learnpath.dev/v1alpha1", "kind": "SignalSource",
            "metadata": {"name": name}, "spec": spec,
        }))
        .expect("a SignalSource");
        apply(&sources, &source).await.expect("source");
    }
    let started = Instant::now();
    let all: Api<LearningPath> = Api::all(admin.clone());
    eventually(
        "every learner holds its signals",
        Duration::from_secs(1200),
        || async {
            let lps = list_all(&all).await;
            let done = lps
                .iter()
                .filter(|lp| lp.metadata.namespace.as_deref() == Some(ns.as_str()))
                .filter(|lp| {
                    lp.status
                        .as_ref()
                        .is_some_and(|s| s.observed_signals.len() >= QUERIES.len())
                })
                .count();
            (done == n).then_some(())
        },
    )
    .await;
    let first_round = started.elapsed().as_secs_f64();

    // Quiet rounds: nothing changes.
    let requests = |name: &str| format!("learnpath_signal_requests_total{{source=\"{name}\"}}");
    let rounds = |name: &str| {
        format!("learnpath_signal_collections_total{{source=\"{name}\",outcome=\"collected\"}}")
    };
    let writes = || operator.metric("learnpath_status_writes_total");
    tokio::time::sleep(Duration::from_secs(interval)).await;
    let mut before = Vec::new();
    for name in [&git_name, &prom_name] {
        before.push((
            operator.metric(&requests(name)).await.unwrap_or(0.0),
            operator.metric(&rounds(name)).await.unwrap_or(0.0),
        ));
    }
    let writes_before = writes().await.unwrap_or(0.0);
    tokio::time::sleep(Duration::from_secs(6 * interval)).await;
    let mut per_round = Vec::new();
    let mut quiet_rounds = f64::MAX;
    for (name, (requests_before, rounds_before)) in [&git_name, &prom_name].into_iter().zip(before)
    {
        let made = operator.metric(&requests(name)).await.unwrap_or(0.0) - requests_before;
        let done = operator.metric(&rounds(name)).await.unwrap_or(0.0) - rounds_before;
        per_round.push(made / done.max(1.0));
        quiet_rounds = quiet_rounds.min(done);
    }
    let quiet_writes = writes().await.unwrap_or(0.0) - writes_before;

    // One learner's value changes.
    let changed = n / 2;
    let writes_before = writes().await.unwrap_or(0.0);
    exporter.set(&exposition(n, Some(changed)));
    let target = ((changed) % 30 + 50) as f64;
    let one: Api<LearningPath> = Api::namespaced(admin.clone(), &ns);
    eventually(
        "the changed learner's status",
        Duration::from_secs(120),
        || async {
            let lp = one.get(&format!("learner-{changed}")).await.ok()?;
            lp.status?
                .observed_signals
                .iter()
                .any(|o| o.name == "ciFailureRate" && o.value == target)
                .then_some(())
        },
    )
    .await;
    // Two more rounds, so that a stray write would show.
    tokio::time::sleep(Duration::from_secs(2 * interval)).await;
    let one_change_writes = writes().await.unwrap_or(0.0) - writes_before;

    drop(operator);
    for name in [&git_name, &prom_name] {
        let _ = sources.delete(name, &DeleteParams::default()).await;
    }
    drop((git_server, prometheus, exporter));
    cleanup(admin, &ns, &track_name).await;
    SignalRow {
        n,
        first_round,
        requests_per_round: (per_round[0], per_round[1]),
        quiet_writes,
        quiet_rounds,
        one_change_writes,
    }
}
