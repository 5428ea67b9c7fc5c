//! The seed's living roadmap (docs/signals.md): the backend engineer's 17 commits a week come from
//! a real Git server, his 23% CI failure rate and 47-minute MTTR from a real Prometheus; his plan
//! becomes the seed's; a changed series changes it back; nothing is written while nothing
//! changes; a stopped Prometheus leaves every value and plan as it was.

use std::time::Duration;

use serde_json::json;
use testkit::*;

use crate::harness::*;

const CHEN_JING: &str = "chen.jing@example.com";

fn series(ci_li_wei: u32) -> String {
    format!(
        "# TYPE ci_failure_rate gauge\n\
         ci_failure_rate{{author=\"{LI_WEI}\"}} {ci_li_wei}\n\
         ci_failure_rate{{author=\"{CHEN_JING}\"}} 5\n\
         ci_failure_rate{{author=\"nobody@example.com\"}} 50\n\
         # TYPE mttr_minutes gauge\n\
         mttr_minutes{{author=\"{LI_WEI}\"}} 47\n"
    )
}

#[tokio::test]
async fn git_and_prometheus_make_the_seeds_roadmap_and_keep_it_through_an_outage() {
    let mut living = Living::start("sig-live").await;

    // His week in Git: 17 commits over six days.
    let server_root = living.work.join("git");
    let repo = Repository::init(&server_root, "platform");
    for i in 0..17 {
        let text = format!("commit {i}\n");
        repo.commit_as(LI_WEI, 3600 + i * 29_000, &[("notes.txt", &text)]);
    }
    let git_server = GitServer::start(&server_root, &living.work.join("gitserver.log"));

    // His CI in Prometheus.
    let exporter = Exporter::start(&series(23)).await;
    let mut prometheus =
        Prometheus::start(&living.work.join("prometheus"), &[&exporter.addr]).await;

    living.learner("backend-engineer", |_| {}).await;
    living
        .learner("frontend-to-backend", |lp| {
            lp.spec.learner.email = Some(CHEN_JING.into());
        })
        .await;
    living.learner("fast-mover", |_| {}).await;
    let git = living
        .source(
            "git",
            json!({"interval": "2s", "git": {"url": format!("{}/platform", git_server.url)}}),
        )
        .await;
    let prom = living
        .source(
            "ci",
            json!({"interval": "2s", "prometheus": {
                "url": prometheus.url,
                "learnerLabel": "author",
                "queries": [
                    {"signal": "ciFailureRate", "query": "ci_failure_rate"},
                    {"signal": "mttrMinutes", "query": "mttr_minutes"},
                ],
            }}),
        )
        .await;

    // The seed's path, from observed signals alone.
    let li = living
        .until(
            "the backend engineer's signals observed",
            "backend-engineer",
            |lp| {
                observed(lp, "commitsPerWeek") == Some(17.0)
                    && observed(lp, "ciFailureRate") == Some(23.0)
                    && observed(lp, "mttrMinutes") == Some(47.0)
            },
        )
        .await;
    let fired = rules(&li);
    for rule in ["ci-failure-rate", "slow-recovery", "busy-but-red"] {
        assert!(fired.contains(&rule.to_string()), "{rule} fires: {fired:?}");
    }
    assert_eq!(
        order(&li)[..3],
        ["k8s-operator", "argo-cd-delivery", "distributed-tracing"],
        "Operator, then Argo CD, then tracing: {:?}",
        order(&li)
    );
    let chen = living
        .until(
            "her CI failure rate observed",
            "frontend-to-backend",
            |lp| observed(lp, "ciFailureRate") == Some(5.0),
        )
        .await;
    assert!(
        !rules(&chen).contains(&"ci-failure-rate".to_string()),
        "5% fires nothing for her"
    );
    let liu = living.paths().get("fast-mover").await.expect("fast-mover");
    assert_eq!(
        observed(&liu, "ciFailureRate"),
        None,
        "no email, no series: the signal is absent, not 0"
    );
    let source = living.stored_source(&prom).await;
    assert_eq!(source.status.as_ref().and_then(|s| s.learners), Some(2));

    // The series changes: the rule follows.
    exporter.set(&series(10));
    let li = living
        .until(
            "ci-failure-rate stops firing at 10%",
            "backend-engineer",
            |lp| observed(lp, "ciFailureRate") == Some(10.0),
        )
        .await;
    assert!(!rules(&li).contains(&"ci-failure-rate".to_string()));
    assert!(!rules(&li).contains(&"busy-but-red".to_string()));

    // Nothing changes for a minute: no status written, to learners or to sources.
    const WRITES: &str = "learnpath_status_writes_total";
    let learners_before = versions(&living.paths()).await;
    let sources_before = (
        living.stored_source(&git).await.metadata.resource_version,
        living.stored_source(&prom).await.metadata.resource_version,
    );
    let writes_before = living.operator.metric(WRITES).await;
    let rounds_before = living
        .operator
        .metric("learnpath_signal_collections_total")
        .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        living.operator.metric(WRITES).await,
        writes_before,
        "status writes while idle"
    );
    assert_eq!(versions(&living.paths()).await, learners_before);
    assert_eq!(
        (
            living.stored_source(&git).await.metadata.resource_version,
            living.stored_source(&prom).await.metadata.resource_version,
        ),
        sources_before
    );
    let rounds = living
        .operator
        .metric("learnpath_signal_collections_total")
        .await
        .unwrap_or_default()
        - rounds_before.unwrap_or_default();
    assert!(
        rounds >= 40.0,
        "the sources kept collecting: {rounds} rounds"
    );
    let (clean, report) = check(&living.ns);
    assert!(clean, "learnpath check: {report}");

    // Prometheus stops: the source says so, the values and plans stay.
    prometheus.stop();
    let failing = tokio::time::timeout(
        WAIT,
        eventually(
            "the Prometheus source reports the failure",
            WAIT,
            || async {
                let s = living.stored_source(&prom).await;
                ready(&s).filter(|(status, _, _)| status == "False")
            },
        ),
    )
    .await
    .expect("the source turns Ready=False");
    assert!(
        failing.2.contains("cannot reach Prometheus") && failing.2.contains("last good values"),
        "the message names the error: {failing:?}"
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        versions(&living.paths()).await,
        learners_before,
        "no learner's status moved"
    );
    let li = living.paths().get("backend-engineer").await.expect("him");
    assert_eq!(observed(&li, "ciFailureRate"), Some(10.0));
    assert_eq!(observed(&li, "commitsPerWeek"), Some(17.0));

    drop(git_server);
    living.cleanup().await;
}
