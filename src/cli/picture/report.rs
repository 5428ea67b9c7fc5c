//! The cohort report: every learner of every Track on one index page (progress, conditions,
//! frozen exercises), a module heat map, rule firing counts, pre-sorted paginated views of the
//! learners, and each learner's roadmap page.
//!
//! Pure: objects in, pages out through a sink, so that it is tested without a cluster and a
//! report of 10,000 learners never has to sit in memory at once. `learnpath report` lists the
//! objects and writes the pages to a directory.

use std::collections::BTreeMap;

use kube::ResourceExt;
use maud::{Markup, html};

use super::roadmap::{conditions, roadmap_body};
use super::svg::{count, num};
use super::{Radar, Roadmap, page};
use crate::api::{LearningPath, LearningPathStatus, ModuleState, Track};
use crate::planner::{Curriculum, condition_types};

/// Learners on one page of a sorted view.
pub const PAGE_SIZE: usize = 250;
/// Learners listed on the index page itself, per Track and per list.
pub const INDEX_ROWS: usize = 20;

/// What to put in the report.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// The namespace the LearningPaths were listed from, for the heading (`None`: all).
    pub namespace: Option<String>,
    /// Only the learners of this Track.
    pub track: Option<String>,
}

/// What a report came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportSummary {
    /// Learners in the report.
    pub learners: usize,
    /// Pages written, the index included.
    pub pages: usize,
    /// Bytes written.
    pub bytes: usize,
}

/// The sorted views of a Track's learners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    /// Least progress first: who is behind.
    Behind,
    /// Most progress first.
    Ahead,
    /// By namespace and name.
    Name,
    /// Only Stalled, invalid or frozen learners: Stalled or invalid first, then the most frozen
    /// exercises, then the least progress.
    Attention,
}

const VIEWS: [View; 4] = [View::Behind, View::Ahead, View::Name, View::Attention];

impl View {
    fn slug(self) -> &'static str {
        match self {
            View::Behind => "least-progress",
            View::Ahead => "most-progress",
            View::Name => "by-name",
            View::Attention => "needs-attention",
        }
    }

    fn words(self) -> &'static str {
        match self {
            View::Behind => "least progress first",
            View::Ahead => "most progress first",
            View::Name => "by name",
            View::Attention => "needs attention",
        }
    }
}

/// One learner as the report lists them.
struct Row<'a> {
    path: &'a LearningPath,
    status: &'a LearningPathStatus,
    namespace: String,
    name: String,
    percent: Option<u32>,
    stuck: bool,
    /// Stalled or invalid: nothing will change without someone's edit.
    blocked: bool,
    href: String,
}

/// Heat map columns, in order.
const HEAT: [&str; 4] = ["next", "in progress", "frozen", "mastered"];

/// One Track's learners and what they add up to.
struct Group<'a> {
    name: &'a str,
    track: Option<&'a Track>,
    rows: Vec<Row<'a>>,
    heat: BTreeMap<&'a str, [usize; 4]>,
    rules: BTreeMap<&'a str, usize>,
}

static EMPTY: LearningPathStatus = LearningPathStatus {
    observed_generation: None,
    track_generation: None,
    conditions: Vec::new(),
    progress: None,
    stages: Vec::new(),
    mastered: Vec::new(),
    optional: Vec::new(),
    frozen_exercises: Vec::new(),
    next_exercises: Vec::new(),
    triggered_rules: Vec::new(),
    observed_signals: Vec::new(),
    estimated_weeks: None,
    summary: None,
    cached_digest: None,
};

/// A file name for a Kubernetes name: the characters of a DNS name stay, anything else is
/// written `_xx` (hex), so that distinct names stay distinct and none escapes its directory.
fn file_stem(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => out.push(char::from(b)),
            b'.' if i > 0 => out.push('.'),
            _ => out.push_str(&format!("_{b:02x}")),
        }
    }
    if out.is_empty() { "_".into() } else { out }
}

fn condition_is(status: &LearningPathStatus, type_: &str, value: &str) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == value)
}

fn group<'a>(name: &'a str, track: Option<&'a Track>, paths: Vec<&'a LearningPath>) -> Group<'a> {
    let mut heat: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    if let Some(t) = track {
        for m in &t.spec.modules {
            heat.insert(m.id.as_str(), [0; 4]);
        }
        for r in &t.spec.rules {
            rules.insert(r.id.as_str(), 0);
        }
    }
    let rows = paths
        .into_iter()
        .map(|lp| {
            let status = lp.status.as_ref().unwrap_or(&EMPTY);
            if let Some(e) = status.next_exercises.first() {
                heat.entry(e.module.as_str()).or_default()[0] += 1;
            }
            for m in status.stages.iter().flat_map(|s| &s.modules) {
                if m.state == ModuleState::InProgress {
                    heat.entry(m.id.as_str()).or_default()[1] += 1;
                }
            }
            let mut frozen: Vec<&str> = status
                .frozen_exercises
                .iter()
                .map(|f| f.module.as_str())
                .collect();
            frozen.sort_unstable();
            frozen.dedup();
            for m in frozen {
                heat.entry(m).or_default()[2] += 1;
            }
            for m in &status.mastered {
                heat.entry(m.as_str()).or_default()[3] += 1;
            }
            for r in &status.triggered_rules {
                *rules.entry(r.rule.as_str()).or_default() += 1;
            }
            let (namespace, name) = (lp.namespace().unwrap_or_default(), lp.name_any());
            let blocked = condition_is(status, condition_types::STALLED, "True")
                || condition_is(status, condition_types::VALID, "False");
            let stuck = blocked || !status.frozen_exercises.is_empty();
            Row {
                path: lp,
                status,
                href: format!(
                    "learners/{}/{}.html",
                    file_stem(&namespace),
                    file_stem(&name)
                ),
                percent: status.progress.as_ref().map(|p| p.percent),
                stuck,
                blocked,
                namespace,
                name,
            }
        })
        .collect();
    Group {
        name,
        track,
        rows,
        heat,
        rules,
    }
}

fn sorted<'r, 'a>(rows: &'r [Row<'a>], view: View) -> Vec<&'r Row<'a>> {
    let mut out: Vec<&Row> = rows
        .iter()
        .filter(|r| view != View::Attention || r.stuck)
        .collect();
    // `rows` is in namespace/name order already, and the sorts are stable.
    match view {
        View::Behind => out.sort_by_key(|r| r.percent.unwrap_or(0)),
        View::Attention => out.sort_by_key(|r| {
            (
                !r.blocked,
                std::cmp::Reverse(r.status.frozen_exercises.len()),
                r.percent.unwrap_or(0),
            )
        }),
        View::Ahead => out.sort_by_key(|r| std::cmp::Reverse(r.percent.unwrap_or(0))),
        View::Name => {}
    }
    out
}

fn view_href(track: &str, view: View, page: usize) -> String {
    format!("tracks/{}/{}-{}.html", file_stem(track), view.slug(), page)
}

/// Renders the whole report, handing each page (a path relative to the report's directory, and
/// its HTML) to `sink` as soon as it is made.
///
/// # Errors
/// The first error of `sink`.
pub fn render_report<E>(
    tracks: &[Track],
    paths: &[LearningPath],
    options: &ReportOptions,
    mut sink: impl FnMut(&str, &str) -> Result<(), E>,
) -> Result<ReportSummary, E> {
    let by_name: BTreeMap<String, &Track> = tracks.iter().map(|t| (t.name_any(), t)).collect();
    let mut members: BTreeMap<&str, Vec<&LearningPath>> = BTreeMap::new();
    for lp in paths {
        let track = lp.spec.track_ref.name.as_str();
        if options.track.as_deref().is_none_or(|t| t == track) {
            members.entry(track).or_default().push(lp);
        }
    }
    if let Some(t) = &options.track {
        members.entry(t.as_str()).or_default();
    }
    let mut summary = ReportSummary::default();
    let mut emit = |path: &str, html: String, summary: &mut ReportSummary| {
        summary.pages += 1;
        summary.bytes += html.len();
        sink(path, &html)
    };
    let mut groups = Vec::new();
    for (name, mut list) in members {
        list.sort_by_key(|lp| (lp.namespace(), lp.name_any()));
        summary.learners += list.len();
        groups.push(group(name, by_name.get(name).copied(), list));
    }
    for g in &groups {
        for view in VIEWS {
            let rows = sorted(&g.rows, view);
            let pages = rows.len().div_ceil(PAGE_SIZE).max(1);
            for p in 1..=pages {
                let chunk = &rows[(p - 1) * PAGE_SIZE..(p * PAGE_SIZE).min(rows.len())];
                let html = view_page(g, view, p, pages, chunk);
                emit(&view_href(g.name, view, p), html, &mut summary)?;
            }
        }
        let curriculum = g.track.map(|t| Curriculum::new(&t.spec));
        for row in &g.rows {
            let html = learner_page(g, curriculum.as_ref(), row);
            emit(&row.href, html, &mut summary)?;
        }
    }
    let index = index_page(&groups, options, summary.learners);
    emit("index.html", index, &mut summary)?;
    Ok(summary)
}

fn learner_page(
    g: &Group,
    curriculum: Option<&Curriculum<&crate::api::TrackSpec>>,
    row: &Row,
) -> String {
    let spec = &row.path.spec;
    let radar = match (g.track, curriculum) {
        (Some(t), Some(c)) => match c.radar(spec) {
            Ok(dimensions) => Radar::Scores {
                dimensions,
                threshold: t.spec.mastery_threshold,
            },
            Err(invalid) => Radar::Missing(format!("No radar: {invalid}")),
        },
        _ => Radar::Missing(format!("No radar: Track {} was not found.", g.name)),
    };
    let roadmap = Roadmap {
        learner: &spec.learner.name,
        object: Some(format!("{}/{}", row.namespace, row.name)),
        track: g.track.map_or(g.name, |t| t.spec.title.as_str()),
        hours_per_week: spec.hours_per_week,
        status: row.status,
        radar,
    };
    page(
        &format!("Roadmap: {}", spec.learner.name),
        roadmap_body(&roadmap, Some(("../../index.html", "Cohort report"))),
    )
}

fn index_page(groups: &[Group], options: &ReportOptions, learners: usize) -> String {
    let scope = options
        .namespace
        .as_deref()
        .map_or("every namespace".to_string(), |ns| {
            format!("namespace {ns}")
        });
    let body = html! {
        header {
            h1 { "Cohort report" }
            p.meta {
                (count(learners)) " learners on " (groups.len())
                @if groups.len() == 1 { " Track, " } @else { " Tracks, " }
                (scope) "."
            }
        }
        @if groups.is_empty() { p.muted { "No LearningPaths." } }
        @for g in groups { (track_section(g)) }
    };
    page("Cohort report", body)
}

fn track_section(g: &Group) -> Markup {
    let title = g.track.map(|t| t.spec.title.as_str());
    let attention = sorted(&g.rows, View::Attention);
    let behind = sorted(&g.rows, View::Behind);
    html! {
        section.track data-track=(g.name) {
            h2 { (title.unwrap_or(g.name)) " " span.muted { "(" code { (g.name) } ")" } }
            @if g.track.is_none() { p.badge.bad { "Track " (g.name) " was not found" } }
            (numbers(g, attention.len()))
            div.cols {
                div.card {
                    h3 { "Progress" }
                    (histogram(g))
                }
                div.card {
                    h3 { "Rules that fired" }
                    (rule_counts(g))
                }
            }
            div.card {
                h3 { "Needs attention " span.muted { "(Stalled, invalid, or a frozen exercise)" } }
                @if attention.is_empty() {
                    p.muted { "Nobody is stuck." }
                } @else {
                    (learner_table(&attention[..attention.len().min(INDEX_ROWS)], ""))
                    @if attention.len() > INDEX_ROWS {
                        p { a href=(view_href(g.name, View::Attention, 1)) { "All " (count(attention.len())) " →" } }
                    }
                }
            }
            div.card {
                h3 { "Learners" }
                (view_nav(g, None, ""))
                (learner_table(&behind[..behind.len().min(INDEX_ROWS)], ""))
                @if behind.len() > INDEX_ROWS {
                    p { "The " (INDEX_ROWS) " with the least progress of " (count(behind.len())) ". "
                        a href=(view_href(g.name, View::Behind, 1)) { "All, " (PAGE_SIZE) " a page →" } }
                }
            }
            div.card {
                h3 { "Modules: where learners are" }
                p.muted { "Learners per module: whose next exercise is in it, who has it in progress, who has a frozen exercise in it, who has mastered it." }
                (heat_map(g))
            }
        }
    }
}

fn numbers(g: &Group, attention: usize) -> Markup {
    let with = |t: &str, v: &str| {
        g.rows
            .iter()
            .filter(|r| condition_is(r.status, t, v))
            .count()
    };
    let mut percents: Vec<u32> = g.rows.iter().filter_map(|r| r.percent).collect();
    percents.sort_unstable();
    let median = percents.get(percents.len() / 2).copied();
    let mut weeks: Vec<u32> = g
        .rows
        .iter()
        .filter_map(|r| r.status.estimated_weeks)
        .collect();
    weeks.sort_unstable();
    let median_weeks = weeks.get(weeks.len() / 2).copied();
    let frozen = g
        .rows
        .iter()
        .filter(|r| !r.status.frozen_exercises.is_empty())
        .count();
    let tiles = [
        ("learners", count(g.rows.len())),
        ("Ready", count(with(condition_types::READY, "True"))),
        ("Stalled", count(with(condition_types::STALLED, "True"))),
        ("invalid", count(with(condition_types::VALID, "False"))),
        ("with a frozen exercise", count(frozen)),
        ("need attention", count(attention)),
        (
            "median progress",
            median.map_or("-".into(), |m| format!("{m}%")),
        ),
        (
            "median weeks left",
            median_weeks.map_or("-".into(), |w| w.to_string()),
        ),
    ];
    html! {
        div.nums {
            @for (words, value) in tiles {
                div.num data-number=(words) { b { (value) } span { (words) } }
            }
        }
    }
}

fn histogram(g: &Group) -> Markup {
    let mut buckets = [0usize; 10];
    for p in g.rows.iter().filter_map(|r| r.percent) {
        buckets[(p.min(99) / 10) as usize] += 1;
    }
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, bar) = (544.0, 160.0, 50.0);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (num(w)) " " (num(h + 34.0))} width=(num(w)) height=(num(h + 34.0)) role="img" {
            title { "Learners by progress, in steps of 10%" }
            desc { @for (i, n) in buckets.iter().enumerate() { (i * 10) "-" (i * 10 + 9) "%: " (n) "; " } }
            @for (i, &n) in buckets.iter().enumerate() {
                @let bh = (h - 20.0) * n as f64 / max as f64;
                @let x = 4.0 + i as f64 * (bar + 4.0);
                rect class="bar s-mastered" x=(num(x)) y=(num(h - bh)) width=(num(bar)) height=(num(bh.max(1.0))) {}
                text class="small" x=(num(x + bar / 2.0)) y=(num(h - bh - 4.0)) text-anchor="middle" { (count(n)) }
                text class="small" x=(num(x + bar / 2.0)) y=(num(h + 14.0)) text-anchor="middle" { (i * 10) "%" }
            }
            text class="small" x="4" y=(num(h + 30.0)) { "share of the Track's hours done" }
        }
    }
}

fn rule_counts(g: &Group) -> Markup {
    let learners = g.rows.len().max(1);
    html! {
        @if g.rules.is_empty() { p.muted { "The Track has no rules." } }
        table {
            @for (rule, &n) in &g.rules {
                tr data-rule=(rule) data-count=(n) {
                    td { code { (rule) } }
                    td {
                        span.rule-bar style={"width:" (num(160.0 * n as f64 / learners as f64)) "px"} {}
                        (count(n)) " " span.muted { "(" ((n * 100 + learners / 2) / learners) "%)" }
                    }
                }
            }
        }
    }
}

fn heat_class(n: usize, max: usize, frozen: bool) -> String {
    if n == 0 {
        return "h h0".into();
    }
    let steps = if frozen { 4 } else { 5 };
    let level = (n * steps).div_ceil(max.max(1)).clamp(1, steps);
    format!("h {}{level}", if frozen { "hf" } else { "h" })
}

fn heat_map(g: &Group) -> Markup {
    let titles: BTreeMap<&str, &str> = g
        .track
        .map(|t| {
            t.spec
                .modules
                .iter()
                .map(|m| (m.id.as_str(), m.title.as_str()))
                .collect()
        })
        .unwrap_or_default();
    // The Track's own order of modules, then any a status names that the Track no longer has.
    let mut order: Vec<&str> = g
        .track
        .map(|t| t.spec.modules.iter().map(|m| m.id.as_str()).collect())
        .unwrap_or_default();
    order.extend(g.heat.keys().filter(|k| !titles.contains_key(*k)));
    let max: [usize; 4] = std::array::from_fn(|c| g.heat.values().map(|v| v[c]).max().unwrap_or(0));
    html! {
        table.heat {
            thead { tr { th { "module" } @for h in HEAT { th.n { (h) } } } }
            tbody {
                @for id in order {
                    @let counts = g.heat.get(id).copied().unwrap_or([0; 4]);
                    tr data-module=(id) {
                        td { code { (id) } @if let Some(t) = titles.get(id) { " " span.muted { (t) } } }
                        @for (c, &n) in counts.iter().enumerate() {
                            td class=(heat_class(n, max[c], c == 2)) data-column=(HEAT[c]) data-count=(n) { (count(n)) }
                        }
                    }
                }
            }
        }
    }
}

fn view_nav(g: &Group, current: Option<View>, prefix: &str) -> Markup {
    html! {
        nav.views aria-label="Sorted views" {
            "Views: "
            @for view in VIEWS {
                @if current == Some(view) { b { (view.words()) } }
                @else { a href={(prefix) (view_href(g.name, view, 1))} { (view.words()) } }
            }
        }
    }
}

fn learner_table(rows: &[&Row], prefix: &str) -> Markup {
    html! {
        table.learners {
            thead { tr {
                th { "learner" } th { "progress" } th.n { "weeks left" } th { "now" } th { "next exercise" }
                th { "conditions" } th { "frozen" }
            } }
            tbody {
                @for r in rows {
                    tr data-learner={(r.namespace) "/" (r.name)} data-progress=[r.percent] {
                        td { a href={(prefix) (r.href)} { (r.path.spec.learner.name) } br; span.muted { (r.namespace) "/" (r.name) } }
                        td {
                            @let p = r.percent.unwrap_or(0);
                            span.bar-track role="img" aria-label={(p) "% done"} { span.bar-fill style={"width:" (p.min(100)) "%"} {} }
                            @if let Some(p) = r.percent { (p) "%" } @else { "-" }
                        }
                        td.n { @if let Some(w) = r.status.estimated_weeks { (w) } @else { "-" } }
                        td { @if let Some(m) = r.status.stages.first().and_then(|s| s.modules.first()) { code { (m.id) } } }
                        td { @if let Some(e) = r.status.next_exercises.first() { code { (e.exercise) } } }
                        td { (conditions(r.status)) }
                        td { @for f in &r.status.frozen_exercises { code { (f.exercise) } " " } }
                    }
                }
            }
        }
    }
}

fn view_page(g: &Group, view: View, page_no: usize, pages: usize, rows: &[&Row]) -> String {
    let prefix = "../../";
    let title = g.track.map_or(g.name, |t| t.spec.title.as_str());
    let body = html! {
        p { a href={(prefix) "index.html"} { "← Cohort report" } }
        h1 { (title) }
        p.meta { "Learners, " (view.words()) ", page " (page_no) " of " (pages) }
        (view_nav(g, Some(view), prefix))
        nav.pages aria-label="Pages" {
            @for p in 1..=pages {
                @if p == page_no { b { (p) } } @else { a href={(prefix) (view_href(g.name, view, p))} { (p) } }
            }
        }
        div.card { (learner_table(rows, prefix)) }
    };
    page(&format!("{title}: learners, {}", view.words()), body)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn cohort(n: usize) -> (Track, Vec<LearningPath>) {
        let track = crate::fixtures::example_track();
        let lp = crate::fixtures::example_learner("frontend-to-backend");
        let status = crate::cli::plan_objects(&track, &lp, Time(Timestamp::UNIX_EPOCH))
            .expect("the example plans");
        let paths = (0..n)
            .rev()
            .map(|i| {
                let mut lp = lp.clone();
                lp.metadata.name = Some(format!("l{i:04}"));
                lp.spec.learner.name = format!("Learner {i}");
                let mut status = status.clone();
                if let Some(p) = status.progress.as_mut() {
                    p.percent = (i % 100) as u32;
                }
                lp.status = Some(status);
                lp
            })
            .collect();
        (track, paths)
    }

    fn render(tracks: &[Track], paths: &[LearningPath]) -> BTreeMap<String, String> {
        let mut pages = BTreeMap::new();
        let summary = render_report(tracks, paths, &ReportOptions::default(), |p, h| {
            assert!(
                pages.insert(p.to_string(), h.to_string()).is_none(),
                "{p} twice"
            );
            Ok::<(), ()>(())
        })
        .expect("an infallible sink");
        assert_eq!(summary.pages, pages.len());
        assert_eq!(
            summary.bytes,
            pages.values().map(String::len).sum::<usize>()
        );
        pages
    }

    #[test]
    fn a_large_cohort_is_paginated_and_every_learner_has_a_page() {
        let (track, paths) = cohort(PAGE_SIZE + 1);
        let pages = render(std::slice::from_ref(&track), &paths);
        let learners = pages.keys().filter(|p| p.starts_with("learners/")).count();
        assert_eq!(learners, PAGE_SIZE + 1);
        assert!(pages.contains_key("tracks/go-engineer/least-progress-2.html"));
        assert!(!pages.contains_key("tracks/go-engineer/least-progress-3.html"));
        let index = &pages["index.html"];
        // The index lists INDEX_ROWS per list: learners and needs-attention (every one has a
        // frozen exercise here).
        assert_eq!(index.matches("<tr data-learner=").count(), 2 * INDEX_ROWS);
        assert!(index.contains("least-progress-1.html"));
        // Least progress first, and the second page holds the one left over.
        let second = &pages["tracks/go-engineer/least-progress-2.html"];
        assert_eq!(second.matches("<tr data-learner=").count(), 1);
        assert!(
            second.contains(r#"data-progress="99""#),
            "the most advanced comes last"
        );
        let first = &pages["tracks/go-engineer/least-progress-1.html"];
        assert!(first.contains(r#"href="../../learners/learners/l0000.html""#));
        assert_eq!(pages, render(&[track], &paths), "the same bytes every time");
    }

    #[test]
    fn a_missing_track_and_a_learner_without_status_are_said_so() {
        let (_, mut paths) = cohort(2);
        paths[0].status = None;
        let pages = render(&[], &paths);
        let index = &pages["index.html"];
        assert!(index.contains("Track go-engineer was not found"), "{index}");
        assert!(index.contains("No status yet"));
        let page = &pages["learners/learners/l0001.html"];
        assert!(page.contains("No radar: Track go-engineer was not found."));
    }

    #[test]
    fn file_names_keep_dns_names_and_escape_anything_else() {
        assert_eq!(file_stem("backend-engineer"), "backend-engineer");
        assert_eq!(file_stem("a.b"), "a.b");
        assert_eq!(file_stem(".."), "_2e.");
        assert_eq!(file_stem("a/b"), "a_2fb");
        assert_eq!(file_stem(""), "_");
        assert_ne!(file_stem("a_2fb"), file_stem("a/b"));
    }

    #[test]
    fn who_needs_attention_comes_stalled_first_then_by_frozen_exercises() {
        let (track, mut paths) = cohort(4);
        // paths are l0003 .. l0000; every one has one frozen exercise.
        let mut second = paths[1].status.clone().expect("a status").frozen_exercises[0].clone();
        second.exercise = "another".into();
        paths[1]
            .status
            .as_mut()
            .expect("a status")
            .frozen_exercises
            .push(second);
        let stalled = paths[2].status.as_mut().expect("a status");
        stalled.frozen_exercises.clear();
        for c in &mut stalled.conditions {
            if c.type_ == condition_types::STALLED {
                c.status = "True".into();
            }
        }
        paths[3]
            .status
            .as_mut()
            .expect("a status")
            .frozen_exercises
            .clear();
        let pages = render(&[track], &paths);
        let view = &pages["tracks/go-engineer/needs-attention-1.html"];
        let order: Vec<&str> = view
            .split("data-learner=\"learners/")
            .skip(1)
            .map(|rest| &rest[..5])
            .collect();
        // l0001 Stalled, l0002 two frozen, l0003 one; l0000 has nothing wrong.
        assert_eq!(order, ["l0001", "l0002", "l0003"], "{view}");
    }
}
