//! Cognitive-load regulation with a time window (docs/signals.md §7): three failures within the
//! window freeze an exercise and put its remedy first; with no edit at all, the exercise thaws
//! when the window ends, because the operator requeues the learner for exactly that moment.

use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use learnpath::api::StruggleEntry;

use crate::harness::*;

/// The Track's struggle window, short for the test (the seed's is 12 hours).
const WINDOW_SECS: i64 = 30;

#[tokio::test]
async fn three_failures_within_the_window_freeze_and_thaw_at_its_end_with_no_edit() {
    let living = Living::with_track("sig-window", |track| {
        if let Some(struggle) = track.spec.struggle.as_mut() {
            struggle.window = Some(format!("{WINDOW_SECS}s"));
        }
    })
    .await;
    let now = Timestamp::now().as_second();
    let failed = [now - 20, now - 15, now - 10];
    let thaws_at = failed[0] + WINDOW_SECS;
    living
        .learner("frontend-to-backend", |lp| {
            lp.spec.struggles = vec![StruggleEntry {
                exercise: "short-link-service".into(),
                failures: 3,
                failed_at: failed
                    .iter()
                    .map(|&s| Time(Timestamp::from_second(s).expect("a time")))
                    .collect(),
            }];
        })
        .await;

    let lp = living
        .until("the exercise is frozen", "frontend-to-backend", |lp| {
            lp.status
                .as_ref()
                .is_some_and(|s| !s.frozen_exercises.is_empty())
        })
        .await;
    let status = lp.status.as_ref().expect("a status");
    let frozen = &status.frozen_exercises[0];
    assert_eq!(frozen.exercise, "short-link-service");
    assert_eq!(frozen.failures, 3);
    assert_eq!(
        frozen.until.as_ref().map(|t| t.0.as_second()),
        Some(thaws_at),
        "it says when it thaws"
    );
    assert_eq!(
        status.next_exercises[0].exercise, "http-middleware",
        "its remedy comes first"
    );

    // Nobody touches anything. Watch for the thaw, every 100 ms.
    let paths = living.paths();
    let started = Instant::now();
    let thawed_at = loop {
        let lp = paths.get("frontend-to-backend").await.expect("the learner");
        if lp
            .status
            .as_ref()
            .is_some_and(|s| s.frozen_exercises.is_empty())
        {
            break Timestamp::now();
        }
        assert!(
            started.elapsed() < Duration::from_secs(WINDOW_SECS as u64 + 30),
            "it never thawed; operator log {}",
            living.operator.log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let thaw = Timestamp::from_second(thaws_at).expect("a time");
    let late: SignedDuration = thawed_at.duration_since(thaw);
    println!("thawed {late:?} after the window's end");
    assert!(
        late >= SignedDuration::from_millis(-500) && late <= SignedDuration::from_secs(2),
        "thawed {late:?} after the window's end (must be within 2 s, and not before)"
    );
    let lp = paths.get("frontend-to-backend").await.expect("the learner");
    let next = &lp.status.as_ref().expect("a status").next_exercises;
    assert_eq!(
        next[0].exercise, "short-link-service",
        "the thawed exercise is back where its module puts it, before the remedy"
    );

    let (clean, report) = check(&living.ns);
    assert!(clean, "learnpath check: {report}");
    living.cleanup().await;
}
