//! The capability radar: one axis per dimension, the learner's scores as a polygon, the mastery
//! threshold as a dashed ring.

use std::f64::consts::PI;

use maud::{Markup, html};

use super::Radar;
use super::svg::{num, points, truncate};
use crate::planner::DimensionScore;

/// The radar's size in SVG units.
pub(crate) const WIDTH: f64 = 560.0;
pub(crate) const HEIGHT: f64 = 440.0;
const CENTER: (f64, f64) = (WIDTH / 2.0, 232.0);
/// The radius of a score of 100.
const RADIUS: f64 = 150.0;
const RINGS: [f64; 5] = [20.0, 40.0, 60.0, 80.0, 100.0];

/// The radar as an `<svg>` element, or a framed notice saying why there is none.
pub(crate) fn radar_svg(radar: &Radar) -> Markup {
    let (title, desc) = describe(radar);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="radar" viewBox={"0 0 " (num(WIDTH)) " " (num(HEIGHT))}
            width=(num(WIDTH)) height=(num(HEIGHT)) role="img" aria-labelledby="radar-title radar-desc" {
            title id="radar-title" { (title) }
            desc id="radar-desc" { (desc) }
            text class="heading" x="0" y="18" { "Capability radar" }
            @match radar {
                Radar::Scores { dimensions, threshold } if !dimensions.is_empty() => {
                    (chart(dimensions, *threshold))
                }
                Radar::Scores { .. } => {
                    (notice("The Track has no dimensions to draw."))
                }
                Radar::Missing(why) => { (notice(why)) }
            }
        }
    }
}

fn describe(radar: &Radar) -> (String, String) {
    match radar {
        Radar::Scores {
            dimensions,
            threshold,
        } => {
            let scores: Vec<String> = dimensions
                .iter()
                .map(|d| {
                    format!(
                        "{} {}{}",
                        d.id,
                        num(d.score.round()),
                        if d.assessed { "" } else { " (derived)" }
                    )
                })
                .collect();
            (
                "Capability radar".to_string(),
                format!(
                    "Scores from 0 to 100 per dimension against the mastery threshold {threshold}: {}.",
                    scores.join(", ")
                ),
            )
        }
        Radar::Missing(why) => ("Capability radar (not drawn)".to_string(), why.clone()),
    }
}

fn notice(text: &str) -> Markup {
    html! {
        rect class="frame" x="1" y="32" width=(num(WIDTH - 2.0)) height=(num(HEIGHT - 34.0)) rx="8" {}
        @for (i, line) in super::svg::wrap(text, 60, 4).iter().enumerate() {
            text class="notice" x=(num(WIDTH / 2.0)) y=(num(HEIGHT / 2.0 + 18.0 * i as f64)) text-anchor="middle" { (line) }
        }
    }
}

/// Where a score lands on axis `i` of `n`: the first axis points up, the others follow clockwise.
fn at(i: usize, n: usize, score: f64) -> (f64, f64) {
    let angle = -PI / 2.0 + 2.0 * PI * i as f64 / n as f64;
    let r = RADIUS * score.clamp(0.0, 100.0) / 100.0;
    (CENTER.0 + r * angle.cos(), CENTER.1 + r * angle.sin())
}

fn chart(dimensions: &[DimensionScore], threshold: u8) -> Markup {
    let n = dimensions.len();
    let ring = |score: f64| points(&(0..n).map(|i| at(i, n, score)).collect::<Vec<_>>());
    let learner: Vec<(f64, f64)> = dimensions
        .iter()
        .enumerate()
        .map(|(i, d)| at(i, n, d.score))
        .collect();
    let threshold_radius = RADIUS * f64::from(threshold.min(100)) / 100.0;
    html! {
        g class="grid-lines" {
            @for score in RINGS {
                polygon class="grid" points=(ring(score)) {}
            }
            @for i in 0..n {
                @let (x, y) = at(i, n, 100.0);
                line class="axis" x1=(num(CENTER.0)) y1=(num(CENTER.1)) x2=(num(x)) y2=(num(y)) {}
            }
            @for score in [40.0, 80.0] {
                text class="grid-label" x=(num(CENTER.0 - 4.0)) y=(num(CENTER.1 - RADIUS * score / 100.0 - 3.0)) text-anchor="end" { (num(score)) }
            }
        }
        polygon class="learner-area" points=(points(&learner)) {}
        circle class="threshold" cx=(num(CENTER.0)) cy=(num(CENTER.1)) r=(num(threshold_radius))
            data-threshold=(threshold) data-radius=(num(RADIUS)) {}
        @for (i, d) in dimensions.iter().enumerate() {
            (axis_point(i, n, d))
        }
        (legend(threshold))
    }
}

fn axis_point(i: usize, n: usize, d: &DimensionScore) -> Markup {
    let (x, y) = at(i, n, d.score);
    let (lx, ly) = at(i, n, 100.0);
    let (dx, dy) = (lx - CENTER.0, ly - CENTER.1);
    let anchor = if dx > 20.0 {
        "start"
    } else if dx < -20.0 {
        "end"
    } else {
        "middle"
    };
    let label_x = lx + dx.signum() * if anchor == "middle" { 0.0 } else { 10.0 };
    // Labels above the centre sit above their axis end, those below it under it.
    let label_y = if dy < -20.0 {
        ly - 22.0
    } else if dy > 20.0 {
        ly + 18.0
    } else {
        ly - 4.0
    };
    let derived = if d.assessed { "" } else { " derived" };
    let score = num(d.score.round());
    html! {
        g class="dimension" data-dimension=(d.id) data-score=(score) data-assessed=(if d.assessed { "true" } else { "false" }) {
            title { (d.title) ": " (score) (if d.assessed { " (assessed)" } else { " (derived from its modules)" }) }
            circle class={"point" (derived)} cx=(num(x)) cy=(num(y)) r="4.5" {}
            text class="dim-label" x=(num(label_x)) y=(num(label_y)) text-anchor=(anchor) { (truncate(&d.id, 18)) }
            text class={"dim-score" (derived)} x=(num(label_x)) y=(num(label_y + 16.0)) text-anchor=(anchor) {
                @if !d.assessed { "≈" } (score)
            }
        }
    }
}

fn legend(threshold: u8) -> Markup {
    let y = HEIGHT - 10.0;
    html! {
        g class="radar-legend" {
            circle class="point" cx="8" cy=(num(y - 4.0)) r="4.5" {}
            text class="small" x="18" y=(num(y)) { "assessed" }
            circle class="point derived" cx="88" cy=(num(y - 4.0)) r="4.5" {}
            text class="small" x="98" y=(num(y)) { "≈ derived from its modules (hours-weighted)" }
            line class="threshold" x1="382" y1=(num(y - 4.0)) x2="410" y2=(num(y - 4.0)) {}
            text class="small threshold-label" x="416" y=(num(y)) { "mastery threshold " (threshold) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(id: &str, score: f64, assessed: bool) -> DimensionScore {
        DimensionScore {
            id: id.into(),
            title: format!("<{id}>"),
            score,
            assessed,
        }
    }

    #[test]
    fn a_score_lands_at_its_share_of_the_radius_and_the_ring_at_the_threshold() {
        let (x, y) = at(0, 4, 42.0);
        assert_eq!((num(x), num(y)), (num(CENTER.0), num(CENTER.1 - 63.0)));
        let (x, _) = at(1, 4, 100.0);
        assert_eq!(num(x), num(CENTER.0 + RADIUS));
        let svg = radar_svg(&Radar::Scores {
            dimensions: vec![
                dim("a", 42.0, true),
                dim("b", 0.0, true),
                dim("c", 90.0, false),
            ],
            threshold: 80,
        })
        .into_string();
        assert!(svg.contains(r#"r="120" data-threshold="80""#), "{svg}");
        assert!(svg.contains(r#"data-dimension="c" data-score="90" data-assessed="false""#));
        assert!(
            svg.contains("&lt;a&gt;: 42 (assessed)"),
            "titles are escaped"
        );
        assert!(
            svg.contains("a 42, b 0, c 90 (derived)"),
            "the desc says it in words"
        );
    }

    #[test]
    fn without_scores_the_radar_says_why() {
        let svg = radar_svg(&Radar::Missing("The radar needs the Track".into())).into_string();
        assert!(svg.contains("The radar needs the Track"));
        assert!(!svg.contains("learner-area"));
        let none = radar_svg(&Radar::Scores {
            dimensions: vec![],
            threshold: 80,
        })
        .into_string();
        assert!(none.contains("no dimensions"));
    }
}
