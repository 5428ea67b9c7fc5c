//! The cohort report at 10,000 learners: the time to render every page (index, sorted views,
//! one roadmap page per learner) into memory, and the sizes of what it writes.
//!
//! The learners are the six example learners of the go-engineer Track, repeated with varied
//! paces and struggles, and planned in-process as the operator would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use learnpath::api::{LearningPath, StruggleEntry, Track};
use learnpath::cli::picture::report::{ReportOptions, render_report};
use testkit::fixtures;

const LEARNERS: usize = 10_000;
/// `cargo test --all-targets` (so `make test`) runs this file once as a test, unoptimised and
/// without `--bench`: a small cohort keeps that check of the code quick.
const LEARNERS_IN_TEST: usize = 300;

fn cohort(n: usize) -> (Vec<Track>, Vec<LearningPath>) {
    let mut track: Track = fixtures::example_track();
    track.metadata.generation = Some(1);
    let mut examples: Vec<LearningPath> = fixtures::LEARNERS
        .iter()
        .map(|name| fixtures::example_learner(name))
        .collect();
    for lp in &mut examples {
        lp.metadata.generation = Some(1);
    }
    let paths = (0..n)
        .map(|i| {
            let mut lp = examples[i % examples.len()].clone();
            lp.metadata.name = Some(format!("learner-{i:05}"));
            lp.metadata.namespace = Some(format!("team-{:02}", i % 40));
            lp.spec.learner.name = format!("Learner {i}");
            lp.spec.hours_per_week = 3 + (i % 10) as u32;
            if i % 7 == 0 {
                lp.spec.struggles.push(StruggleEntry {
                    exercise: "crd-structural-schema".into(),
                    failures: 3,
                    failed_at: Vec::new(),
                });
            }
            let status = learnpath::cli::plan_objects(&track, &lp, Time(Timestamp::UNIX_EPOCH))
                .expect("the examples plan");
            lp.status = Some(status);
            lp
        })
        .collect();
    (vec![track], paths)
}

fn report(c: &mut Criterion) {
    let learners = if std::env::args().any(|a| a == "--bench") {
        LEARNERS
    } else {
        LEARNERS_IN_TEST
    };
    let (tracks, paths) = cohort(learners);
    let options = ReportOptions::default();

    let (mut index, mut views, mut roadmaps, mut largest_view) = (0usize, 0usize, 0usize, 0usize);
    let (mut view_pages, mut learner_pages) = (0usize, 0usize);
    let summary = render_report(&tracks, &paths, &options, |path, html| {
        if path == "index.html" {
            index = html.len();
        } else if path.starts_with("tracks/") {
            views += html.len();
            view_pages += 1;
            largest_view = largest_view.max(html.len());
        } else {
            roadmaps += html.len();
            learner_pages += 1;
        }
        Ok::<(), ()>(())
    })
    .expect("a sink that cannot fail");
    println!(
        "report of {} learners: {} pages, {:.1} MB in all; index.html {:.0} KB; {view_pages} \
         sorted-view pages, {:.1} MB, the largest {:.0} KB; {learner_pages} roadmap pages, {:.1} MB, \
         {:.1} KB each on average",
        summary.learners,
        summary.pages,
        summary.bytes as f64 / 1e6,
        index as f64 / 1e3,
        views as f64 / 1e6,
        largest_view as f64 / 1e3,
        roadmaps as f64 / 1e6,
        roadmaps as f64 / learner_pages.max(1) as f64 / 1e3,
    );

    // Once, with the disk: what `learnpath report --out-dir` spends after its two list calls.
    // LEARNPATH_REPORT_DIR keeps the pages there, to look at.
    let temporary = tempfile::tempdir().expect("a temporary directory");
    let dir = std::env::var_os("LEARNPATH_REPORT_DIR")
        .map_or_else(|| temporary.path().to_path_buf(), std::path::PathBuf::from);
    let started = std::time::Instant::now();
    learnpath::cli::report::write_report(&tracks, &paths, &options, &dir)
        .expect("write the report");
    println!(
        "writing it to {}: {:.2} s",
        dir.display(),
        started.elapsed().as_secs_f64()
    );

    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.bench_function(format!("render every page of {learners} learners"), |b| {
        b.iter(|| {
            render_report(&tracks, &paths, &options, |_, html| {
                black_box(html.len());
                Ok::<(), ()>(())
            })
        })
    });
    group.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
