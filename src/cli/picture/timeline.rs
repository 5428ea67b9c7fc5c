//! The timeline: the plan's stages on a week axis (one row per module, a band per stage), and
//! the modules left out of it (mastered, optional) as pills above it.

use std::collections::{BTreeMap, BTreeSet};

use maud::{Markup, html};

use super::svg::{num, truncate};
use crate::api::{LearningPathStatus, ModuleState, Stage};

pub(crate) const WIDTH: f64 = 1160.0;
const BAR_LEFT: f64 = 400.0;
const BAR_RIGHT: f64 = WIDTH - 130.0;
const ROW: f64 = 21.0;
const STAGE_ROW: f64 = 24.0;
const PILL_ROW: f64 = 24.0;
/// SVG text does not measure itself: an upper bound of a character's width in the pills' bold
/// 11 px, so that pills never cut their text.
const PILL_CHAR: f64 = 7.6;

/// What the learner's next exercises and frozen exercises say about each module.
#[derive(Default)]
pub(crate) struct Marks<'a> {
    next: BTreeSet<&'a str>,
    frozen: BTreeMap<&'a str, usize>,
}

impl<'a> Marks<'a> {
    pub(crate) fn of(status: &'a LearningPathStatus) -> Self {
        let mut marks = Marks::default();
        for e in &status.next_exercises {
            marks.next.insert(e.module.as_str());
        }
        for f in &status.frozen_exercises {
            *marks.frozen.entry(f.module.as_str()).or_default() += 1;
        }
        marks
    }

    /// The CSS class (which is also the `data-state`) and the words shown beside the bar. A
    /// frozen exercise outranks being next: it is what someone should look at.
    pub(crate) fn state(&self, id: &str, state: ModuleState) -> (&'static str, String) {
        let next = self.next.contains(id);
        if let Some(&n) = self.frozen.get(id) {
            let words = if n == 1 {
                "1 frozen exercise".to_string()
            } else {
                format!("{n} frozen exercises")
            };
            return ("frozen", if next { words + ", next" } else { words });
        }
        if next {
            return ("next", "next".into());
        }
        match state {
            ModuleState::InProgress => ("in-progress", "in progress".into()),
            ModuleState::Ready => ("ready", "ready".into()),
            ModuleState::Locked => ("locked", "locked".into()),
        }
    }
}

/// Week axis: `hours / hours_per_week` weeks from now, `weeks` long in all.
struct Axis {
    hours_per_week: f64,
    weeks: f64,
}

impl Axis {
    fn x(&self, hours: f64) -> f64 {
        BAR_LEFT + (BAR_RIGHT - BAR_LEFT) * (hours / self.hours_per_week) / self.weeks
    }

    /// Week numbers to label: every week while they fit, else every 2nd, 4th, 8th ... week.
    fn step(&self) -> u32 {
        let mut step = 1u32;
        while self.weeks / f64::from(step) > 26.0 {
            step *= 2;
        }
        step
    }
}

/// The timeline as an `<svg>` element, and its height.
pub(crate) fn timeline_svg(status: &LearningPathStatus, hours_per_week: u32) -> (Markup, f64) {
    let hours: u32 = status.stages.iter().map(|s| s.hours).sum();
    let axis = Axis {
        hours_per_week: f64::from(hours_per_week.max(1)),
        weeks: (f64::from(hours) / f64::from(hours_per_week.max(1)))
            .ceil()
            .max(1.0),
    };
    let marks = Marks::of(status);
    let (pills, pills_height) = pills(status, 44.0);
    let axis_top = 44.0 + pills_height + 8.0;
    let rows_top = axis_top + 22.0;
    let rows_height: f64 = status
        .stages
        .iter()
        .map(|s| STAGE_ROW + ROW * s.modules.len() as f64)
        .sum();
    let height = rows_top + rows_height.max(40.0) + 12.0;
    let weeks = status.estimated_weeks.unwrap_or(axis.weeks as u32);
    let desc = format!(
        "{} stages over about {weeks} weeks at {hours_per_week} hours a week; in order: {}.",
        status.stages.len(),
        status
            .stages
            .iter()
            .flat_map(|s| &s.modules)
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let markup = html! {
        svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox={"0 0 " (num(WIDTH)) " " (num(height))}
            width=(num(WIDTH)) height=(num(height)) role="img" aria-labelledby="timeline-title timeline-desc" {
            title id="timeline-title" { "Roadmap timeline" }
            desc id="timeline-desc" { (desc) }
            text class="heading" x="0" y="18" { "Roadmap timeline" }
            text class="sub" x="0" y="36" {
                (status.stages.len()) " stages, about " (weeks) " weeks at " (hours_per_week) " h/week"
            }
            (pills)
            @if status.stages.is_empty() {
                text class="notice" x=(num(BAR_LEFT)) y=(num(rows_top + 20.0)) { "Nothing left to plan: every planned module is done." }
            } @else {
                (week_axis(&axis, axis_top, height - 8.0))
                (stages(&status.stages, &axis, &marks, rows_top))
            }
        }
    };
    (markup, height)
}

fn week_axis(axis: &Axis, top: f64, bottom: f64) -> Markup {
    let step = axis.step();
    let weeks = axis.weeks as u32;
    html! {
        g class="week-axis" {
            text class="week-label" x=(num(BAR_LEFT - 8.0)) y=(num(top + 12.0)) text-anchor="end" { "week" }
            @for w in (0..=weeks).step_by(step as usize) {
                @let x = axis.x(f64::from(w) * axis.hours_per_week);
                line class="week-tick" x1=(num(x)) y1=(num(top + 16.0)) x2=(num(x)) y2=(num(bottom)) {}
                @if w < weeks {
                    @let mid = axis.x((f64::from(w) + 0.5) * axis.hours_per_week);
                    text class="week-label" x=(num(mid)) y=(num(top + 12.0)) text-anchor="middle" { (w + 1) }
                }
            }
        }
    }
}

/// Where a stage and its modules go: (top, height, band from x0 to x1) and, per module,
/// (row top, bar from x0 to x1).
struct Placed {
    top: f64,
    height: f64,
    band: (f64, f64),
    rows: Vec<(f64, f64, f64)>,
}

fn place(stages: &[Stage], axis: &Axis, top: f64) -> Vec<Placed> {
    let (mut y, mut hours) = (top, 0u32);
    stages
        .iter()
        .map(|stage| {
            let height = STAGE_ROW + ROW * stage.modules.len() as f64;
            let band = (
                axis.x(f64::from(hours)),
                axis.x(f64::from(hours + stage.hours)),
            );
            let mut start = hours;
            let rows = stage
                .modules
                .iter()
                .enumerate()
                .map(|(k, m)| {
                    let row = (
                        y + STAGE_ROW + ROW * k as f64,
                        axis.x(f64::from(start)),
                        axis.x(f64::from(start + m.hours)),
                    );
                    start += m.hours;
                    row
                })
                .collect();
            let placed = Placed {
                top: y,
                height,
                band,
                rows,
            };
            y += height;
            hours += stage.hours;
            placed
        })
        .collect()
}

fn stages(stages: &[Stage], axis: &Axis, marks: &Marks, top: f64) -> Markup {
    let placed = place(stages, axis, top);
    html! {
        @for (i, (stage, p)) in stages.iter().zip(&placed).enumerate() {
            g class="stage" data-stage=(i + 1) {
                rect class={"stage-band" @if i % 2 == 1 { " odd" }} x=(num(p.band.0)) y=(num(p.top))
                    width=(num((p.band.1 - p.band.0).max(2.0))) height=(num(p.height)) {}
                text class="stage-name" x="0" y=(num(p.top + 16.0)) { (stage.name) " · " (stage.hours) " h" }
                @for (m, &(row_y, x0, x1)) in stage.modules.iter().zip(&p.rows) {
                    @let (class, words) = marks.state(&m.id, m.state);
                    @let x1 = x1.max(x0 + 3.0);
                    g class="module" data-module=(m.id) data-state=(class) {
                        title { (m.title) " (" (m.id) "): " (m.hours) " h left, " (words) }
                        text class="module-label" x="12" y=(num(row_y + 14.0)) { (truncate(&m.title, 56)) }
                        rect class={"bar s-" (class)} x=(num(x0)) y=(num(row_y + 3.0)) width=(num(x1 - x0))
                            height=(num(ROW - 6.0)) rx="3" {}
                        text class="state-word" x=(num(x1 + 6.0)) y=(num(row_y + 14.0)) { (m.hours) " h · " (words) }
                    }
                }
            }
        }
    }
}

/// The modules outside the plan, as pills: mastered (skipped) and optional.
fn pills(status: &LearningPathStatus, top: f64) -> (Markup, f64) {
    let mut rows: Vec<(&str, &str, &[String])> = Vec::new();
    if !status.mastered.is_empty() {
        rows.push(("Skipped, mastered", "mastered", &status.mastered));
    }
    if !status.optional.is_empty() {
        rows.push(("Optional, left out", "optional", &status.optional));
    }
    let mut placed: Vec<(&str, &str, f64, f64, f64)> = Vec::new();
    let mut labels: Vec<(&str, f64)> = Vec::new();
    let mut y = top;
    for (label, class, ids) in rows {
        labels.push((label, y));
        let mut x = BAR_LEFT;
        for id in ids {
            let width = PILL_CHAR * id.chars().count() as f64 + 16.0;
            if x + width > WIDTH && x > BAR_LEFT {
                x = BAR_LEFT;
                y += PILL_ROW;
            }
            placed.push((id.as_str(), class, x, y, width));
            x += width + 6.0;
        }
        y += PILL_ROW;
    }
    let markup = html! {
        @for (label, ly) in &labels {
            text class="stage-name" x="0" y=(num(ly + 15.0)) { (label) }
        }
        @for (id, class, x, y, width) in &placed {
            g class="pill" data-module=(id) data-state=(class) {
                rect class={"bar s-" (class)} x=(num(*x)) y=(num(*y + 2.0)) width=(num(*width)) height="18" rx="9" {}
                text class={"pill-text" @if *class == "optional" { " dark" }} x=(num(x + 8.0)) y=(num(y + 15.0)) { (id) }
            }
        }
    };
    (markup, y - top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FrozenExercise, NextExercise, PlannedModule};

    fn planned(id: &str, hours: u32, state: ModuleState) -> PlannedModule {
        PlannedModule {
            id: id.into(),
            title: format!("{id} <title>"),
            state,
            hours,
        }
    }

    fn status() -> LearningPathStatus {
        LearningPathStatus {
            stages: vec![
                Stage {
                    name: "Stage 1 (weeks 1-3)".into(),
                    hours: 24,
                    modules: vec![planned("a", 24, ModuleState::Ready)],
                },
                Stage {
                    name: "Stage 2 (weeks 4-5)".into(),
                    hours: 16,
                    modules: vec![
                        planned("b", 8, ModuleState::InProgress),
                        planned("c", 8, ModuleState::Locked),
                    ],
                },
            ],
            mastered: vec!["m1".into()],
            optional: vec!["o1".into()],
            next_exercises: vec![NextExercise {
                module: "a".into(),
                exercise: "a1".into(),
                title: "A1".into(),
                hours: 2,
                reason: "r".into(),
            }],
            frozen_exercises: vec![FrozenExercise {
                exercise: "b1".into(),
                module: "b".into(),
                failures: 3,
                remedy: None,
                until: None,
            }],
            estimated_weeks: Some(5),
            ..LearningPathStatus::default()
        }
    }

    #[test]
    fn modules_sit_on_the_week_axis_in_order_and_carry_their_state() {
        let svg = timeline_svg(&status(), 8).0.into_string();
        // 40 h at 8 h/week is 5 weeks: a (24 h) spans weeks 1-3, b starts at week 3.
        let axis = Axis {
            hours_per_week: 8.0,
            weeks: 5.0,
        };
        let a = r#"data-module="a" data-state="next""#;
        let b = r#"data-module="b" data-state="frozen""#;
        let c = r#"data-module="c" data-state="locked""#;
        let (ia, ib, ic) = (
            svg.find(a).expect("a"),
            svg.find(b).expect("b"),
            svg.find(c).expect("c"),
        );
        assert!(ia < ib && ib < ic);
        let b_group = &svg[ib..ic];
        assert!(
            b_group.contains(&format!(r#"x="{}""#, num(axis.x(24.0))))
                && b_group.contains(&format!(r#"width="{}""#, num(axis.x(32.0) - axis.x(24.0)))),
            "b runs from hour 24 to 32: {b_group}"
        );
        assert!(svg.contains("1 frozen exercise"));
        assert!(svg.contains(r#"data-module="m1" data-state="mastered""#));
        assert!(svg.contains(r#"data-module="o1" data-state="optional""#));
        assert!(svg.contains("a &lt;title&gt;"), "titles are escaped");
    }

    #[test]
    fn an_empty_plan_says_so() {
        let svg = timeline_svg(&LearningPathStatus::default(), 5)
            .0
            .into_string();
        assert!(svg.contains("Nothing left to plan"));
    }
}
