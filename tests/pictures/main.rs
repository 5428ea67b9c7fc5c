//! The roadmap picture and the cohort report in a real browser (Debian's headless Chromium):
//! no console error, no request leaving the page, the seed's facts in the DOM and in the SVG's
//! geometry, and a screenshot of each in target/pictures/ (`make pictures` copies them to
//! docs/images/). Chromium is installed by hack/chromium.sh when missing; a browser that cannot
//! start fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

mod browser;

use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use learnpath::api::{LearningPath, Track};
use learnpath::cli::picture::report::ReportOptions;
use serde_json::Value;

use browser::{Activity, Browser};
use testkit::fixtures;

/// The width pages are shown at, in CSS pixels.
const WIDTH: u32 = 1280;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// target/pictures: where the screenshots and pages go.
fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is under the target directory")
        .join("pictures");
    std::fs::create_dir_all(&dir).expect("target/pictures");
    dir
}

/// A page may load itself and nothing else, and may log no error.
fn assert_quiet(activity: &Activity, url: &str) {
    assert!(
        activity.errors.is_empty(),
        "console errors: {:#?}",
        activity.errors
    );
    let others: Vec<&String> = activity.requests.iter().filter(|r| *r != url).collect();
    assert!(others.is_empty(), "requests leaving {url}: {others:#?}");
    assert_eq!(
        activity.requests,
        [url],
        "the page's own load is seen, so requests are being observed"
    );
    assert!(activity.blocked.is_empty(), "{:?}", activity.blocked);
}

/// Facts about the radar and the timeline, read from the laid-out SVG.
const GEOMETRY: &str = r#"(() => {
  const box = e => { const b = e.getBoundingClientRect(); return {w: b.width, h: b.height}; };
  const radar = document.querySelector('svg.radar');
  const timeline = document.querySelector('svg.timeline');
  const ring = radar.querySelector('circle.threshold');
  const dims = [...radar.querySelectorAll('g.dimension')].map(g => {
    const p = g.querySelector('circle');
    return {id: g.dataset.dimension, cx: p.cx.baseVal.value, cy: p.cy.baseVal.value,
            text: g.querySelector('text.dim-score').textContent};
  });
  const modules = [...timeline.querySelectorAll('g.module')].map(g => {
    const r = g.querySelector('rect').getBBox();
    return {id: g.dataset.module, state: g.dataset.state, x: r.x, y: r.y, w: r.width,
            label: g.querySelector('text.module-label').textContent};
  });
  const pills = [...timeline.querySelectorAll('g.pill')].map(g => ({id: g.dataset.module, state: g.dataset.state, text: g.textContent}));
  return {
    radar: box(radar), radarShapes: radar.querySelectorAll('polygon, circle, line').length,
    timeline: box(timeline), timelineShapes: timeline.querySelectorAll('rect').length,
    ring: {cx: ring.cx.baseVal.value, cy: ring.cy.baseVal.value, r: ring.r.baseVal.value,
           full: Number(ring.dataset.radius)},
    ringLabel: radar.querySelector('text.threshold-label').textContent,
    dims, modules, pills,
    next: [...document.querySelectorAll('ol.next li')].map(li => li.dataset.module),
    rules: [...document.querySelectorAll('li[data-rule]')].map(li => li.dataset.rule),
    title: document.title, h1: document.querySelector('h1').textContent,
  };
})()"#;

fn dim<'a>(facts: &'a Value, id: &str) -> &'a Value {
    facts["dims"]
        .as_array()
        .expect("dims")
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no radar axis {id}: {}", facts["dims"]))
}

/// Distance of a radar point from the centre, as a share of the full radius: the score drawn.
fn drawn_score(facts: &Value, id: &str) -> f64 {
    let d = dim(facts, id);
    let ring = &facts["ring"];
    let (dx, dy) = (
        d["cx"].as_f64().expect("cx") - ring["cx"].as_f64().expect("ring cx"),
        d["cy"].as_f64().expect("cy") - ring["cy"].as_f64().expect("ring cy"),
    );
    100.0 * dx.hypot(dy) / ring["full"].as_f64().expect("full radius")
}

fn assert_pictures_drawn(facts: &Value) {
    for (which, shapes, min) in [
        ("radar", "radarShapes", 10),
        ("timeline", "timelineShapes", 5),
    ] {
        let b = &facts[which];
        assert!(
            b["w"].as_f64() > Some(100.0) && b["h"].as_f64() > Some(100.0),
            "the {which} is laid out: {b}"
        );
        assert!(
            facts[shapes].as_u64() >= Some(min),
            "the {which} holds shapes: {}",
            facts[shapes]
        );
    }
}

#[test]
fn the_backend_engineers_roadmap_shows_the_seeds_path_in_a_browser() {
    let page_path = out_dir().join("roadmap.html");
    let output = Command::new(env!("CARGO_BIN_EXE_learnpath"))
        .current_dir(root())
        .args([
            "plan",
            "--track",
            "examples/tracks/go-engineer.yaml",
            "--path",
            "examples/learners/backend-engineer.yaml",
            "-o",
            "html",
        ])
        .output()
        .expect("run learnpath plan");
    assert!(
        output.status.success(),
        "learnpath plan -o html: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&page_path, &output.stdout).expect("write the page");

    let mut browser = Browser::launch();
    let page = browser.open(&page_path, WIDTH);
    let facts = browser.eval(&page, GEOMETRY);
    let activity = browser.activity(&page);
    browser.screenshot(&page, WIDTH, &out_dir().join("roadmap.png"));
    assert_quiet(&activity, &page.url);
    assert_pictures_drawn(&facts);
    assert_eq!(facts["h1"], "Li Wei");

    // Docker basics is skipped: a mastered pill, and no bar of the plan.
    let pills = facts["pills"].as_array().expect("pills");
    assert!(
        pills
            .iter()
            .any(|p| p["id"] == "docker-basics" && p["state"] == "mastered"),
        "{pills:?}"
    );
    let modules = facts["modules"].as_array().expect("modules");
    assert!(modules.iter().all(|m| m["id"] != "docker-basics"));

    // The first three bars on the week axis, left to right.
    let mut by_start: Vec<(f64, f64, &str)> = modules
        .iter()
        .map(|m| {
            (
                m["x"].as_f64().expect("x"),
                m["y"].as_f64().expect("y"),
                m["id"].as_str().expect("id"),
            )
        })
        .collect();
    by_start.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let first: Vec<&str> = by_start.iter().take(3).map(|m| m.2).collect();
    assert_eq!(
        first,
        ["k8s-operator", "argo-cd-delivery", "distributed-tracing"],
        "{by_start:?}"
    );
    let operator = modules
        .iter()
        .find(|m| m["id"] == "k8s-operator")
        .expect("k8s-operator");
    assert_eq!(operator["state"], "next", "the operator module is next");
    assert!(
        facts["next"]
            .as_array()
            .expect("next")
            .iter()
            .all(|m| m == "k8s-operator"),
        "{}",
        facts["next"]
    );
    for rule in ["ci-failure-rate", "slow-recovery"] {
        assert!(
            facts["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .any(|r| r == rule),
            "{rule} fired: {}",
            facts["rules"]
        );
    }

    // The radar: cloud-native 42 and observability 0 as drawn, against the mastery ring at 80.
    let cloud = drawn_score(&facts, "cloud-native");
    assert!((cloud - 42.0).abs() < 0.5, "cloud-native drawn at {cloud}");
    assert_eq!(dim(&facts, "cloud-native")["text"], "42");
    let observability = drawn_score(&facts, "observability");
    assert!(
        observability < 0.5,
        "observability drawn at {observability}"
    );
    assert_eq!(dim(&facts, "observability")["text"], "0");
    let ring = &facts["ring"];
    let threshold = 100.0 * ring["r"].as_f64().expect("r") / ring["full"].as_f64().expect("full");
    assert!((threshold - 80.0).abs() < 0.5, "ring at {threshold}");
    assert!(
        facts["ringLabel"]
            .as_str()
            .is_some_and(|l| l.contains("80")),
        "{}",
        facts["ringLabel"]
    );
}

/// The example Track and learners, planned in-process as the operator would.
fn example_cohort() -> (Vec<Track>, Vec<LearningPath>) {
    let mut track: Track = fixtures::example_track();
    track.metadata.generation = Some(1);
    let mut paths = Vec::new();
    for name in fixtures::LEARNERS {
        let mut lp: LearningPath = fixtures::example_learner(name);
        lp.metadata.generation = Some(1);
        let status = learnpath::cli::plan_objects(&track, &lp, Time(Timestamp::UNIX_EPOCH))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        lp.status = Some(status);
        paths.push(lp);
    }
    (vec![track], paths)
}

const COHORT: &str = r#"(() => {
  const section = document.querySelector('section.track');
  const learners = [...section.querySelectorAll('table.learners')].pop();
  return {
    learners: [...learners.querySelectorAll('tr[data-learner]')].map(tr => ({
      id: tr.dataset.learner, progress: Number(tr.dataset.progress),
      name: tr.querySelector('a').textContent, href: tr.querySelector('a').getAttribute('href'),
      bar: tr.querySelector('.bar-fill').getBoundingClientRect().width,
      track: tr.querySelector('.bar-track').getBoundingClientRect().width})),
    attention: [...section.querySelectorAll('table.learners')][0].querySelectorAll('tr[data-learner]').length,
    heat: [...section.querySelectorAll('table.heat tr[data-module]')].map(tr => ({
      id: tr.dataset.module,
      cells: Object.fromEntries([...tr.querySelectorAll('td[data-column]')].map(td => [td.dataset.column, Number(td.textContent.replace(/,/g, '')) === Number(td.dataset.count) ? Number(td.dataset.count) : 'shown ' + td.textContent]))})),
    rules: Object.fromEntries([...section.querySelectorAll('tr[data-rule]')].map(tr => [tr.dataset.rule, Number(tr.dataset.count)])),
    histogram: document.querySelectorAll('section.track svg rect').length,
  };
})()"#;

#[test]
fn the_cohort_report_lists_every_example_learner_in_a_browser() {
    let (tracks, paths) = example_cohort();
    let dir = out_dir().join("cohort");
    let _ = std::fs::remove_dir_all(&dir);
    let summary =
        learnpath::cli::report::write_report(&tracks, &paths, &ReportOptions::default(), &dir)
            .expect("write the report");
    assert_eq!(summary.learners, paths.len());

    let mut browser = Browser::launch();
    let page = browser.open(&dir.join("index.html"), WIDTH);
    let facts = browser.eval(&page, COHORT);
    let activity = browser.activity(&page);
    browser.screenshot(&page, WIDTH, &out_dir().join("cohort.png"));
    assert_quiet(&activity, &page.url);

    // Every learner, by name, with a bar as long as their progress.
    let rows = facts["learners"].as_array().expect("learners");
    let mut shown: Vec<String> = rows
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect();
    shown.sort();
    let mut expected: Vec<String> = paths
        .iter()
        .map(|lp| {
            format!(
                "{}/{}",
                lp.metadata.namespace.as_deref().unwrap_or_default(),
                lp.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    expected.sort();
    assert_eq!(shown, expected);
    let progress: Vec<f64> = rows
        .iter()
        .map(|r| r["progress"].as_f64().expect("p"))
        .collect();
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "least progress first: {progress:?}"
    );
    for r in rows {
        let lp = paths
            .iter()
            .find(|lp| {
                r["id"].as_str()
                    == Some(&format!(
                        "{}/{}",
                        lp.metadata.namespace.as_deref().unwrap_or_default(),
                        lp.metadata.name.as_deref().unwrap_or_default()
                    ))
            })
            .expect("a learner of the cohort");
        assert_eq!(r["name"], lp.spec.learner.name.as_str());
        let share = r["bar"].as_f64().expect("bar") / r["track"].as_f64().expect("track");
        let percent = f64::from(
            lp.status
                .as_ref()
                .and_then(|s| s.progress.as_ref())
                .expect("progress")
                .percent,
        );
        assert!(
            (100.0 * share - percent).abs() < 1.0,
            "{}: bar {share} for {percent}%",
            r["id"]
        );
    }
    // Chen Jing's frozen short-link-service puts her on the attention list.
    let frozen = paths
        .iter()
        .filter(|lp| {
            lp.status
                .as_ref()
                .is_some_and(|s| !s.frozen_exercises.is_empty())
        })
        .count();
    assert!(frozen > 0);
    assert_eq!(facts["attention"].as_u64(), Some(frozen as u64));

    // The heat map: every module of the Track, with the learners whose next exercise is in it.
    let heat = facts["heat"].as_array().expect("heat");
    assert_eq!(heat.len(), tracks[0].spec.modules.len());
    for m in &tracks[0].spec.modules {
        let row = heat
            .iter()
            .find(|h| h["id"] == m.id.as_str())
            .expect("a heat row");
        let next = paths
            .iter()
            .filter(|lp| {
                lp.status
                    .as_ref()
                    .and_then(|s| s.next_exercises.first())
                    .is_some_and(|e| e.module == m.id)
            })
            .count();
        assert_eq!(row["cells"]["next"].as_u64(), Some(next as u64), "{}", m.id);
    }
    let operator = heat
        .iter()
        .find(|h| h["id"] == "k8s-operator")
        .expect("k8s-operator");
    assert!(
        operator["cells"]["next"].as_u64() >= Some(1),
        "Li Wei's next module"
    );
    // Rule counts: every rule of the Track, counted over the learners it fired for.
    for rule in &tracks[0].spec.rules {
        let fired = paths
            .iter()
            .filter(|lp| {
                lp.status
                    .as_ref()
                    .is_some_and(|s| s.triggered_rules.iter().any(|r| r.rule == rule.id))
            })
            .count();
        assert_eq!(
            facts["rules"][&rule.id].as_u64(),
            Some(fired as u64),
            "{}",
            rule.id
        );
    }

    // A learner's link leads to their roadmap, with a radar of every dimension.
    let li_wei = rows
        .iter()
        .find(|r| r["id"] == "learners/backend-engineer")
        .expect("Li Wei");
    let roadmap = dir.join(li_wei["href"].as_str().expect("href"));
    let page = browser.open(&roadmap, WIDTH);
    let facts = browser.eval(&page, GEOMETRY);
    let activity = browser.activity(&page);
    assert_quiet(&activity, &page.url);
    assert_pictures_drawn(&facts);
    assert_eq!(
        facts["dims"].as_array().map(Vec::len),
        Some(tracks[0].spec.dimensions.len())
    );
    assert!((drawn_score(&facts, "cloud-native") - 42.0).abs() < 0.5);
}

/// The checks above can fail: a page that fetches and logs an error is caught.
#[test]
fn the_browser_checks_see_a_request_and_a_console_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let page_path = dir.path().join("noisy.html");
    // Port 9 on loopback: refused at once, and nothing leaves the machine.
    std::fs::write(
        &page_path,
        "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/x.png\" alt=\"\"></body></html>",
    )
    .expect("write the page");
    let mut browser = Browser::launch();
    let page = browser.open(&page_path, 800);
    let activity = browser.activity(&page);
    assert!(
        activity
            .requests
            .iter()
            .any(|r| r == "http://127.0.0.1:9/x.png"),
        "{activity:?}"
    );
    assert!(
        !activity.errors.is_empty(),
        "the failed load is logged: {activity:?}"
    );

    // The same fetch under the pictures' CSP is stopped before it leaves, and the violation is
    // logged as an error.
    let guarded = dir.path().join("guarded.html");
    std::fs::write(
        &guarded,
        format!(
            "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"{}\"></head><body><img src=\"http://127.0.0.1:9/y.png\" alt=\"\"></body></html>",
            learnpath::cli::picture::CONTENT_SECURITY_POLICY
        ),
    )
    .expect("write the page");
    let page = browser.open(&guarded, 800);
    let activity = browser.activity(&page);
    assert!(
        activity
            .blocked
            .contains(&("http://127.0.0.1:9/y.png".to_string(), "csp".to_string())),
        "{activity:?}"
    );
    assert!(
        activity
            .errors
            .iter()
            .any(|e| e.contains("Content Security Policy")),
        "{activity:?}"
    );
}
