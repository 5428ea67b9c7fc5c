//! Pictures of roadmaps: a learner's radar and timeline as SVG or as a self-contained HTML page,
//! and the cohort report.
//!
//! Drawing only: what is drawn comes from a LearningPath's status and from the planner
//! ([`crate::planner::radar`]); nothing here decides anything about a roadmap. Every page is
//! self-contained (inline CSS and SVG, no script, a Content-Security-Policy that forbids every
//! fetch), every text from user YAML is escaped (maud escapes every spliced value), and the same
//! input gives the same bytes (no clock, no hash-map order, numbers with a fixed precision).

mod radar;
pub mod report;
mod roadmap;
mod style;
mod svg;
mod timeline;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::api::LearningPathStatus;
use crate::planner::DimensionScore;

pub use roadmap::{roadmap_html, roadmap_svg};

/// What may be fetched by a page: nothing. Inline `<style>` and `style` attributes are the only
/// exception; there is no script at all.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Everything a roadmap picture shows about one learner.
#[derive(Clone, Debug)]
pub struct Roadmap<'a> {
    /// The learner's display name (`spec.learner.name`).
    pub learner: &'a str,
    /// `namespace/name` of the LearningPath, when known.
    pub object: Option<String>,
    /// The Track's title or, without the Track, its name.
    pub track: &'a str,
    /// `spec.hoursPerWeek`: the scale of the week axis.
    pub hours_per_week: u32,
    /// The roadmap.
    pub status: &'a LearningPathStatus,
    /// The capability radar, or why it is not drawn.
    pub radar: Radar,
}

/// The capability radar of a roadmap picture.
#[derive(Clone, Debug, PartialEq)]
pub enum Radar {
    /// Scores from [`crate::planner::radar`] and the Track's mastery threshold.
    Scores {
        /// One per dimension, in the Track's order.
        dimensions: Vec<DimensionScore>,
        /// `spec.masteryThreshold` of the Track.
        threshold: u8,
    },
    /// Not drawn; the picture says why in these words.
    Missing(String),
}

/// Output formats of the pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureFormat {
    /// One standalone SVG document.
    Svg,
    /// One self-contained HTML page.
    Html,
}

/// Renders a roadmap in `format`.
pub fn render_roadmap(roadmap: &Roadmap, format: PictureFormat) -> String {
    match format {
        PictureFormat::Svg => roadmap_svg(roadmap),
        PictureFormat::Html => roadmap_html(roadmap),
    }
}

/// A whole HTML page around `body`: the CSP, the stylesheet, the title.
pub(crate) fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CONTENT_SECURITY_POLICY);
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                style { (PreEscaped(style::page_css())) (PreEscaped(style::svg_css())) }
            }
            body { (body) }
        }
    }
    .into_string()
        + "\n"
}

/// The state words of the legend, with their CSS class, in the order they are explained.
pub(crate) const LEGEND: [(&str, &str); 7] = [
    ("s-mastered", "mastered (skipped)"),
    ("s-next", "next"),
    ("s-in-progress", "in progress"),
    ("s-frozen", "frozen exercise"),
    ("s-ready", "ready"),
    ("s-locked", "locked"),
    ("s-optional", "optional"),
];
