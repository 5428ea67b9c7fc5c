//! One learner's roadmap: the radar, the next exercises with their reasons, the rules that
//! fired and the timeline, as an HTML page or as one SVG.

use maud::{Markup, PreEscaped, html};

use super::radar::{self, radar_svg};
use super::svg::{num, wrap};
use super::timeline::{self, timeline_svg};
use super::{LEGEND, Roadmap, page, style};
use crate::api::LearningPathStatus;
use crate::planner::condition_types;

/// The roadmap as a self-contained HTML page.
pub fn roadmap_html(roadmap: &Roadmap) -> String {
    page(
        &format!("Roadmap: {}", roadmap.learner),
        roadmap_body(roadmap, None),
    )
}

/// The page body; `back` is a link (href, words) to the page that lists this learner.
pub(crate) fn roadmap_body(roadmap: &Roadmap, back: Option<(&str, &str)>) -> Markup {
    let status = roadmap.status;
    html! {
        @if let Some((href, words)) = back {
            p { a href=(href) { "← " (words) } }
        }
        header {
            h1 { (roadmap.learner) }
            p.meta {
                @if let Some(object) = &roadmap.object { code { (object) } " · " }
                "Track " b { (roadmap.track) } " · " (roadmap.hours_per_week) " h/week"
            }
            p { (conditions(status)) " " (progress_words(status)) }
        }
        div.cols {
            section.card.radar-card aria-label="Capability radar" { (radar_svg(&roadmap.radar)) }
            section.card aria-label="What to do next" { (next_and_rules(status)) }
        }
        section.card aria-label="Roadmap timeline" {
            (timeline_svg(status, roadmap.hours_per_week).0)
            p.legend.small {
                "Legend:"
                @for (class, words) in LEGEND {
                    span class={"sw " (class)} {} (words)
                }
            }
        }
    }
}

/// `Ready`, `Valid` and `Stalled` as badges that say their state in words.
pub(crate) fn conditions(status: &LearningPathStatus) -> Markup {
    let find = |t: &str| status.conditions.iter().find(|c| c.type_ == t);
    let ready = find(condition_types::READY);
    let valid = find(condition_types::VALID);
    let stalled = find(condition_types::STALLED);
    html! {
        span.conditions {
            @match ready {
                Some(c) if c.status == "True" => span.badge.good data-condition="Ready" { "Ready" },
                Some(c) => span.badge.bad data-condition="Ready" title=(c.message) { "Not ready: " (c.reason) },
                None => span.badge.neutral data-condition="Ready" { "No status yet" },
            }
            @if let Some(c) = valid.filter(|c| c.status == "False") {
                span.badge.bad data-condition="Valid" title=(c.message) { "Invalid: " (c.reason) }
            }
            @if let Some(c) = stalled.filter(|c| c.status == "True") {
                span.badge.bad data-condition="Stalled" title=(c.message) { "Stalled" }
            }
        }
    }
}

fn progress_words(status: &LearningPathStatus) -> String {
    match &status.progress {
        Some(p) => format!(
            "{}% done · {} of {} modules · {} h left · about {} weeks",
            p.percent,
            p.completed_modules,
            p.total_modules,
            p.remaining_hours,
            status.estimated_weeks.unwrap_or(0)
        ),
        None => String::new(),
    }
}

fn next_and_rules(status: &LearningPathStatus) -> Markup {
    html! {
        h3 { "Next exercises" }
        @if status.next_exercises.is_empty() {
            p.muted { "None proposed." }
        } @else {
            ol.next {
                @for (i, e) in status.next_exercises.iter().enumerate() {
                    li data-exercise=(e.exercise) data-module=(e.module) {
                        b { (e.title) } " " span.muted { "(" code { (e.exercise) } ", " (e.module) ", " (e.hours) " h)" }
                        br;
                        @if i > 0 && status.next_exercises[i - 1].reason == e.reason {
                            span.why { "Why: as above." }
                        } @else {
                            span.why { "Why: " (e.reason) }
                        }
                    }
                }
            }
        }
        h3 { "Rules that fired" }
        @if status.triggered_rules.is_empty() {
            p.muted { "None." }
        } @else {
            ul.plain {
                @for r in &status.triggered_rules {
                    li data-rule=(r.rule) {
                        code { (r.rule) } " " (r.message)
                        @if let Some(text) = &r.recommendation { br; span.why { "Recommendation: " (text) } }
                    }
                }
            }
        }
        @if !status.frozen_exercises.is_empty() {
            h3 { "Frozen exercises" }
            ul.plain {
                @for f in &status.frozen_exercises {
                    li data-frozen=(f.exercise) {
                        code { (f.exercise) } " (" (f.module) ") failed " (f.failures) " times"
                        @match &f.remedy {
                            Some(remedy) => { "; do " code { (remedy) } " first" },
                            None => { "; the Track names no remedy" },
                        }
                    }
                }
            }
        }
    }
}

/// The text of the right-hand panel of the SVG: (CSS class, line).
fn panel_lines(status: &LearningPathStatus) -> Vec<(&'static str, String)> {
    // Characters per line in the panel's 580 units, by font: 13 px bold, 11 px, 12 px.
    const HEAD: usize = 66;
    const SMALL: usize = 88;
    const SUB: usize = 78;
    let mut lines = vec![("heading", "Next exercises".to_string())];
    if status.next_exercises.is_empty() {
        lines.push(("sub", "None proposed.".into()));
    }
    for (i, e) in status.next_exercises.iter().enumerate() {
        let head = format!("{}. {} ({}, {} h)", i + 1, e.title, e.module, e.hours);
        lines.extend(wrap(&head, HEAD, 2).into_iter().map(|l| ("dim-label", l)));
        let why = if i > 0 && status.next_exercises[i - 1].reason == e.reason {
            "why: as above.".to_string()
        } else {
            format!("why: {}", e.reason)
        };
        lines.extend(wrap(&why, SMALL, 4).into_iter().map(|l| ("small", l)));
    }
    lines.push(("gap", String::new()));
    lines.push(("heading", "Rules that fired".into()));
    if status.triggered_rules.is_empty() {
        lines.push(("sub", "None.".into()));
    }
    for r in &status.triggered_rules {
        let text = format!("{}: {}", r.rule, r.message);
        lines.extend(wrap(&text, SUB, 2).into_iter().map(|l| ("sub", l)));
    }
    if !status.frozen_exercises.is_empty() {
        lines.push(("gap", String::new()));
        lines.push(("heading", "Frozen exercises".into()));
        for f in &status.frozen_exercises {
            let remedy = f
                .remedy
                .as_deref()
                .map_or("no remedy named".to_string(), |r| format!("do {r} first"));
            let text = format!(
                "{} ({}) failed {} times; {remedy}",
                f.exercise, f.module, f.failures
            );
            lines.extend(wrap(&text, SUB, 2).into_iter().map(|l| ("sub", l)));
        }
    }
    lines
}

/// The roadmap as one standalone SVG document: header, radar, panel, timeline.
pub fn roadmap_svg(roadmap: &Roadmap) -> String {
    let status = roadmap.status;
    let top = 84.0;
    let lines = panel_lines(status);
    let line_height = |class: &str| match class {
        "heading" => 24.0,
        "gap" => 10.0,
        _ => 17.0,
    };
    let panel_height: f64 = lines.iter().map(|(c, _)| line_height(c)).sum();
    let timeline_top = top + radar::HEIGHT.max(panel_height) + 20.0;
    let (timeline, timeline_height) = timeline_svg(status, roadmap.hours_per_week);
    let height = timeline_top + timeline_height + 40.0;
    let mut y = top;
    let placed: Vec<(&str, String, f64)> = lines
        .into_iter()
        .map(|(class, text)| {
            y += line_height(class);
            (class, text, y)
        })
        .collect();
    let mut title = format!("Roadmap of {}", roadmap.learner);
    if let Some(object) = &roadmap.object {
        title.push_str(&format!(" ({object})"));
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (num(timeline::WIDTH + 40.0)) " " (num(height))}
            width=(num(timeline::WIDTH + 40.0)) height=(num(height)) role="img" aria-labelledby="roadmap-title" {
            title id="roadmap-title" { (title) }
            style { (PreEscaped(style::svg_css())) }
            rect x="0" y="0" width="100%" height="100%" fill="#ffffff" {}
            g transform="translate(20,0)" {
                text class="title" x="0" y="30" { (roadmap.learner) }
                text class="sub" x="0" y="52" {
                    @if let Some(object) = &roadmap.object { (object) " · " }
                    "Track " (roadmap.track) " · " (roadmap.hours_per_week) " h/week"
                }
                text class="sub" x="0" y="70" { (progress_words(status)) }
                g transform={"translate(0," (num(top)) ")"} { (radar_svg(&roadmap.radar)) }
                g class="panel" {
                    @for (class, text, y) in &placed {
                        @if !text.is_empty() {
                            text class=(class) x=(num(radar::WIDTH + 30.0)) y=(num(*y)) { (text) }
                        }
                    }
                }
                g transform={"translate(0," (num(timeline_top)) ")"} { (timeline) }
                (svg_legend(timeline_top + timeline_height + 20.0))
            }
        }
    }
    .into_string()
        + "\n"
}

fn svg_legend(y: f64) -> Markup {
    html! {
        g class="legend" {
            @for (i, (class, words)) in LEGEND.iter().enumerate() {
                @let x = 150.0 * i as f64;
                rect class={"bar " (class)} x=(num(x)) y=(num(y - 10.0)) width="12" height="12" rx="2" {}
                text class="small" x=(num(x + 18.0)) y=(num(y)) { (words) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{LearningPath, Track};
    use crate::cli::picture::{CONTENT_SECURITY_POLICY, PictureFormat, Radar, render_roadmap};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn example() -> (Track, LearningPath) {
        (
            crate::fixtures::example_track(),
            crate::fixtures::example_learner("frontend-to-backend"),
        )
    }

    fn picture(track: &Track, lp: &LearningPath, format: PictureFormat) -> String {
        let status = crate::cli::plan_objects(track, lp, Time(Timestamp::UNIX_EPOCH))
            .expect("the example plans");
        let roadmap = Roadmap {
            learner: &lp.spec.learner.name,
            object: Some("learners/x".into()),
            track: &track.spec.title,
            hours_per_week: lp.spec.hours_per_week,
            status: &status,
            radar: Radar::Scores {
                dimensions: crate::planner::radar(&track.spec, &lp.spec).expect("radar"),
                threshold: track.spec.mastery_threshold,
            },
        };
        render_roadmap(&roadmap, format)
    }

    #[test]
    fn the_same_roadmap_is_the_same_bytes_and_fetches_nothing() {
        let (track, lp) = example();
        for format in [PictureFormat::Html, PictureFormat::Svg] {
            let (a, b) = (picture(&track, &lp, format), picture(&track, &lp, format));
            assert_eq!(a, b, "{format:?} is deterministic");
            assert!(!a.contains("<script"), "{format:?} has no script");
            assert!(!a.contains("href=\"http"), "{format:?} links nowhere");
            assert!(!a.contains("url("), "{format:?} loads nothing from CSS");
        }
        let html = picture(&track, &lp, PictureFormat::Html);
        assert!(html.contains(&format!(
            r#"<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">"#
        )));
        // Chen Jing's frozen exercise is said in words, not only in orange.
        assert!(html.contains("short-link-service"));
        assert!(
            html.contains("1 frozen exercise, next"),
            "the state in words"
        );
    }

    #[test]
    fn titles_from_user_yaml_are_escaped_in_html_and_svg() {
        let (mut track, mut lp) = example();
        lp.spec.learner.name = "<script>alert(1)</script> & \"co\"".into();
        track.spec.title = "<img src=x onerror=alert(1)>".into();
        let evil = "</text><script>alert(2)</script>";
        track.spec.modules[0].title = evil.into();
        track.spec.dimensions[0].title = evil.into();
        for format in [PictureFormat::Html, PictureFormat::Svg] {
            let out = picture(&track, &lp, format);
            assert!(!out.contains("<script"), "{format:?}: {out}");
            assert!(!out.contains("<img"), "{format:?}");
            assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;"));
        }
        let svg = picture(&track, &lp, PictureFormat::Svg);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    }

    #[test]
    fn without_the_track_the_picture_says_the_radar_needs_it() {
        let (track, lp) = example();
        let status = crate::cli::plan_objects(&track, &lp, Time(Timestamp::UNIX_EPOCH))
            .expect("the example plans");
        let mut with_status = lp.clone();
        with_status.status = Some(status);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("lp.json");
        std::fs::write(&file, serde_json::to_string(&with_status).expect("JSON")).expect("write");
        let html = crate::cli::show_picture(&file, None, PictureFormat::Html).expect("a page");
        assert!(html.contains("The radar needs the Track"), "{html}");
        assert!(
            html.contains(r#"data-module="net-http-services""#),
            "the timeline is drawn"
        );

        let track_file = dir.path().join("track.yaml");
        std::fs::write(
            &track_file,
            std::fs::read_to_string(crate::fixtures::example_track_file()).expect("the Track"),
        )
        .expect("write");
        let html = crate::cli::show_picture(&file, Some(&track_file), PictureFormat::Html)
            .expect("a page");
        assert!(!html.contains("The radar needs the Track"));
        assert!(html.contains(r#"data-dimension="language""#));

        let mut other = track.clone();
        other.metadata.name = Some("other".into());
        std::fs::write(&track_file, serde_json::to_string(&other).expect("JSON")).expect("write");
        let err = crate::cli::show_picture(&file, Some(&track_file), PictureFormat::Svg)
            .expect_err("another Track");
        assert!(err.contains("\"other\""), "{err}");
    }
}
