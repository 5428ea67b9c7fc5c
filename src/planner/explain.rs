//! Reasons in words: why a module's exercises come now.

use super::index::Index;
use super::order::{Placement, Urgency};
use super::score::{ModuleScore, ScoreSource};

pub(crate) struct Explainer<'a> {
    pub index: &'a Index<'a>,
    pub scores: &'a [ModuleScore<'a>],
    pub placements: &'a [Placement],
}

/// Numbers in reasons: short, and stable across platforms.
fn num(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Explainer<'_> {
    /// Why an exercise of module `m` is next: its urgency, its gap, its weight, its boosts and
    /// its priority, in that order.
    pub fn module(&self, m: usize) -> String {
        let module = self.index.modules[m];
        let (s, p) = (&self.scores[m], &self.placements[m]);
        let mut parts: Vec<String> = self.urgency(p).into_iter().collect();
        parts.push(self.gap(s));
        if !s.weight_parts.is_empty() {
            parts.push(weight(s));
        }
        parts.extend(s.boosted_by.iter().map(|&r| self.boost(r)));
        parts.push(match p.inherited_from {
            Some(d) => format!(
                "unlocks {} (priority {})",
                self.index.modules[d].id,
                num(p.priority)
            ),
            None => format!("priority {}", num(p.priority)),
        });
        format!("{}: {}", module.title, parts.join("; "))
    }

    fn urgency(&self, p: &Placement) -> Option<String> {
        Some(match p.urgency.as_ref()? {
            Urgency::Rule(r) => {
                let rule = &self.index.track.rules[*r];
                format!("brought forward by rule {}: {}", rule.id, rule.message)
            }
            Urgency::Remedy(exercise) => {
                format!("remedy for frozen exercise {exercise}: do this first")
            }
            Urgency::NeededBy(d) => format!(
                "needed first by {}, which comes early",
                self.index.modules[*d].id
            ),
        })
    }

    fn gap(&self, s: &ModuleScore) -> String {
        let gap = num(s.gap * 100.0);
        match &s.score_source {
            _ if s.completed_exercise_hours > 0 && s.exercise_fraction * 100.0 >= s.score => {
                format!(
                    "gap {gap}% ({} of {} exercise hours done)",
                    s.completed_exercise_hours, s.total_exercise_hours
                )
            }
            ScoreSource::None => "gap 100% (not assessed yet)".to_string(),
            ScoreSource::Module => format!("gap {gap}% (assessed {}/100)", num(s.score)),
            ScoreSource::Dimension(d) => {
                let title = self
                    .index
                    .dimension_titles
                    .get(*d)
                    .map_or(*d, String::as_str);
                format!("gap {gap}% ({title} assessed {}/100)", num(s.score))
            }
            ScoreSource::Transfer {
                skill,
                ratio,
                skill_score,
            } => format!(
                "gap {gap}% ({}/100 credited from {skill} {skill_score} x {})",
                num(s.score),
                num(*ratio)
            ),
        }
    }

    fn boost(&self, r: usize) -> String {
        let rule = &self.index.track.rules[r];
        let factor = rule.then.boost.as_ref().map_or(1.0, |b| b.factor);
        format!("x{} by rule {}: {}", num(factor), rule.id, rule.message)
    }

    /// Why a remedy exercise is next.
    pub fn remedy_exercise(&self, frozen: &str, failures: u32) -> String {
        format!(
            "remedy for {frozen}, frozen after {failures} failed attempts: do this first, then retry it"
        )
    }
}

fn weight(s: &ModuleScore) -> String {
    let why: Vec<String> = s
        .weight_parts
        .iter()
        .map(|w| {
            format!(
                "{} {} weighs {} x{}",
                w.kind,
                w.profile,
                w.key,
                num(w.value)
            )
        })
        .collect();
    format!("weight {} ({})", num(s.weight), why.join(", "))
}
