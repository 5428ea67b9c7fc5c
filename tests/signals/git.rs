//! The adaptive pace engine on a real Git server (docs/signals.md §2): five dependencies added to
//! go.mod in one day by the backend engineer make `dependency-surge` fire and
//! `dependency-security` come first; the day passing drops it again, with no edit.

use std::time::Instant;

use serde_json::json;
use testkit::*;

use crate::harness::*;

/// Seconds the surge commit stays within the last 24 hours: it is dated this long before the
/// window's far edge, so "a later day" comes during the test.
const TODAY_FOR: i64 = 40;
const DAY: i64 = 24 * 3600;
const INTERVAL_SECS: u64 = 2;

#[tokio::test]
async fn five_new_dependencies_today_put_dependency_security_first_until_the_day_is_over() {
    let mut living = Living::start("sig-git").await;
    let server_root = living.work.join("git");
    let repo = Repository::init(&server_root, "services");
    repo.commit_as(
        LI_WEI,
        2 * DAY,
        &[("go.mod", &go_mod(&["golang.org/x/net"]))],
    );
    let server = GitServer::start(&server_root, &living.work.join("gitserver.log"));
    living.learner("backend-engineer", |_| {}).await;
    let source = living
        .source(
            "git",
            json!({
                "interval": format!("{INTERVAL_SECS}s"),
                "git": {"url": format!("{}/services", server.url)},
            }),
        )
        .await;

    // The first round: one commit this week, no new dependency today.
    let lp = living
        .until("his commits observed", "backend-engineer", |lp| {
            observed(lp, "commitsPerWeek") == Some(1.0)
        })
        .await;
    assert_eq!(observed(&lp, "newDependenciesToday"), Some(0.0));
    assert!(!rules(&lp).contains(&"dependency-surge".to_string()));
    let stored = living.stored_source(&source).await;
    let (status, _, message) = ready(&stored).expect("a Ready condition");
    assert_eq!(status, "True", "{message}");
    assert_eq!(stored.status.as_ref().and_then(|s| s.learners), Some(1));

    // Five dependencies added today (a reformatting of the existing line besides).
    let surge = go_mod(&[
        "golang.org/x/net",
        "github.com/a/one",
        "github.com/b/two",
        "github.com/c/three",
        "github.com/d/four",
        "github.com/e/five",
    ]);
    repo.commit_as(LI_WEI, DAY - TODAY_FOR, &[("go.mod", &surge)]);
    let pushed = Instant::now();
    let lp = living
        .until("dependency-surge fires", "backend-engineer", |lp| {
            rules(lp).contains(&"dependency-surge".to_string())
        })
        .await;
    let fired_after = pushed.elapsed();
    assert!(
        fired_after.as_secs() <= INTERVAL_SECS + 10,
        "within one interval plus 10 s, took {fired_after:?}"
    );
    assert_eq!(observed(&lp, "newDependenciesToday"), Some(5.0));
    assert_eq!(
        order(&lp).first().map(String::as_str),
        Some("dependency-security"),
        "the prioritized module comes first: {:?}",
        order(&lp)
    );

    // A later day's view: the commit leaves the last 24 hours and the rule drops, no edit made.
    let lp = living
        .until(
            "dependency-surge drops when the day is over",
            "backend-engineer",
            |lp| !rules(lp).contains(&"dependency-surge".to_string()),
        )
        .await;
    let dropped_after = pushed.elapsed();
    assert!(
        dropped_after.as_secs() + 1 >= TODAY_FOR as u64,
        "not before the commit left the day: {dropped_after:?}"
    );
    assert_eq!(observed(&lp, "newDependenciesToday"), Some(0.0));
    assert_ne!(
        order(&lp).first().map(String::as_str),
        Some("dependency-security")
    );

    let (clean, report) = check(&living.ns);
    assert!(clean, "learnpath check: {report}");
    drop(server);
    living.cleanup().await;
}
