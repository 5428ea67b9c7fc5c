//! Scale harness (`make bench` at 1,000 / 5,000 / 10,000 learners; `make test` at a small N so that
//! it keeps working). Its own control plane, so no other test's operator can touch its objects.
//!
//! It measures, it does not time-assert: correctness (every learner converges, nothing is written
//! when idle, no 409) is asserted; the numbers are printed as a table and a last summary line.
//!
//! Knobs: `LEARNPATH_SCALE_SIZES` (comma-separated, default `200`), `LEARNPATH_SCALE_IDLE_SECS`
//! (default 5; the benchmark uses 60), `LEARNPATH_SCALE_CONCURRENCY` (operator, default 64).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

mod measure;
mod run;
mod signals;
mod watch;

use std::collections::BTreeMap;

use testkit::*;

use run::{grant_operator_rbac, run_size};

/// The sizes to run (`LEARNPATH_SCALE_SIZES`).
fn sizes() -> Vec<usize> {
    std::env::var("LEARNPATH_SCALE_SIZES")
        .unwrap_or_else(|_| "200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The measurements share two cores with the control plane: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_rounds_cost_queries_not_learners() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let admin = client().await;
    grant_operator_rbac(&admin).await;
    let n = sizes().into_iter().max().unwrap_or(200);
    let row = signals::signal_round_costs(&admin, n).await;
    println!();
    println!(
        "signals at N={}: first round {:.1} s; per round {:.1} Git fetch and {:.1} Prometheus queries; {} status writes in {} quiet rounds; {} status writes when one learner's value changed",
        row.n,
        row.first_round,
        row.requests_per_round.0,
        row.requests_per_round.1,
        row.quiet_writes,
        row.quiet_rounds,
        row.one_change_writes
    );
    assert!(row.quiet_rounds >= 3.0, "the sources kept collecting");
    assert_eq!(row.requests_per_round.0, 1.0, "one fetch per Git round");
    assert!(
        (row.requests_per_round.1 - 4.0).abs() < 0.5,
        "one query per signal per round, whatever N: {}",
        row.requests_per_round.1
    );
    assert_eq!(
        row.quiet_writes, 0.0,
        "rounds that change nothing write nothing"
    );
    assert_eq!(
        row.one_change_writes, 1.0,
        "one changed value, one status written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learners_converge_after_a_track_change_at_scale() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sizes = sizes();
    let admin = client().await;
    grant_operator_rbac(&admin).await;
    let user = client_from(&cluster().dir.join("user.kubeconfig")).await;
    let mut rows = Vec::new();
    for (round, n) in sizes.iter().enumerate() {
        let row = run_size(&admin, &user, *n, round).await;
        assert!(
            row.writes >= row.n as f64,
            "every learner was rewritten once: {} writes for {}",
            row.writes,
            row.n
        );
        assert_eq!(row.idle_writes, 0.0, "an idle operator writes nothing");
        assert_eq!(row.relist_writes, 0.0, "a re-list writes nothing");
        assert_eq!(
            row.conflicts, 0.0,
            "server-side apply with one field manager never conflicts"
        );
        rows.push(row);
    }
    let mut table = BTreeMap::new();
    println!();
    println!(
        "{:>6} {:>10} {:>10} {:>7} {:>10} {:>10} {:>9} {:>9} {:>10} {:>8} {:>11} {:>11} {:>5} {:>5} {:>5}",
        "N",
        "ceiling_s",
        "fanout_s",
        "ratio",
        "edit_p99_s",
        "edit_max_s",
        "rss_MiB",
        "peak_MiB",
        "relist_MiB",
        "cpu_s",
        "writes/N",
        "reconc/N",
        "409",
        "429",
        "idle"
    );
    for r in &rows {
        let ratio = r.fanout.as_secs_f64() / r.ceiling.as_secs_f64();
        println!(
            "{:>6} {:>10.2} {:>10.2} {:>7.2} {:>10.2} {:>10.2} {:>9.1} {:>9.1} {:>10.1} {:>8.1} {:>11.3} {:>11.3} {:>5} {:>5} {:>5}",
            r.n,
            r.ceiling.as_secs_f64(),
            r.fanout.as_secs_f64(),
            ratio,
            r.edit_latency_p99.as_secs_f64(),
            r.edit_latency_max.as_secs_f64(),
            r.steady_rss,
            r.peak_rss,
            r.relist_peak_rss,
            r.cpu,
            r.writes / r.n as f64,
            r.reconciles / r.n as f64,
            r.conflicts as u64,
            r.throttled as u64,
            r.idle_writes as u64
        );
        println!(
            "       (ceiling at concurrency {}; with two watches open {:.2} s, fan-out ratio against that {:.2}; {} edits during the fan-out, median {:.2} s; re-list wrote {})",
            r.ceiling_concurrency,
            r.watched_ceiling.as_secs_f64(),
            r.fanout.as_secs_f64() / r.watched_ceiling.as_secs_f64(),
            r.edit_count,
            r.edit_latency_median.as_secs_f64(),
            r.relist_writes
        );
        table.insert(
            r.n,
            (
                ratio,
                r.steady_rss,
                r.writes / r.n as f64,
                r.relist_peak_rss,
            ),
        );
    }
    // Memory: the steady slope between the smallest and the largest size, and the re-list peak
    // over the steady memory at the largest (docs/performance.md, "Memory").
    let first = table.iter().next().map(|(n, row)| (*n, row.1));
    if let Some((&n, &(ratio, rss, writes, relist_peak))) = table.iter().next_back() {
        let kib_per_learner = match first {
            Some((n0, rss0)) if n > n0 => (rss - rss0) * 1024.0 / (n - n0) as f64,
            _ => rss * 1024.0 / n as f64,
        };
        println!(
            "memory: {kib_per_learner:.2} KiB per learner steady (slope), re-list peak {relist_peak:.1} MiB over {rss:.1} MiB steady at {n}"
        );
        println!(
            "fanout_ratio={ratio:.2} rss_mib={rss:.1} writes_per_change={writes:.3} kib_per_learner={kib_per_learner:.2} relist_ratio={:.2}",
            relist_peak / rss
        );
    }
}
