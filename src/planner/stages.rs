//! Stages of at most four weeks, and the one-line summary (docs/planner.md §10, §13).

use crate::api::{NextExercise, PlannedModule, Stage};

use super::index::Index;
use super::phases::Planned;

/// Stages hold at most this many weeks of work.
const WEEKS_PER_STAGE: u32 = 4;

/// Consecutive modules of the order, each stage at most `WEEKS_PER_STAGE x hoursPerWeek`
/// remaining hours (at least one module).
pub(super) fn stages(planned: &Planned, ordered: &[usize], hours_per_week: u32) -> Vec<Stage> {
    let scores = planned.scores;
    let mut before = 0u32;
    group(planned, ordered, WEEKS_PER_STAGE * hours_per_week)
        .into_iter()
        .enumerate()
        .map(|(i, group)| {
            let hours: u32 = group.iter().map(|&m| scores[m].remaining_hours).sum();
            let first_week = before / hours_per_week + 1;
            let last_week = (before + hours).div_ceil(hours_per_week).max(first_week);
            before += hours;
            let weeks = if first_week == last_week {
                format!("week {first_week}")
            } else {
                format!("weeks {first_week}-{last_week}")
            };
            Stage {
                name: format!("Stage {} ({weeks})", i + 1),
                hours,
                modules: group
                    .into_iter()
                    .map(|m| PlannedModule {
                        id: planned.index.modules[m].id.clone(),
                        title: planned.index.modules[m].title.clone(),
                        state: planned.state(m),
                        hours: scores[m].remaining_hours,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The order cut into groups of at most `cap` remaining hours (a bigger module alone).
fn group(planned: &Planned, ordered: &[usize], cap: u32) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current_hours = 0u32;
    for &m in ordered {
        let hours = planned.scores[m].remaining_hours;
        match groups.last_mut() {
            Some(group) if current_hours + hours <= cap => {
                group.push(m);
                current_hours += hours;
            }
            _ => {
                groups.push(vec![m]);
                current_hours = hours;
            }
        }
    }
    groups
}

/// One line for the printer column.
pub(super) fn summary(
    index: &Index,
    ordered: &[usize],
    percent: u32,
    weeks: u32,
    paused: bool,
    next: Option<&NextExercise>,
) -> String {
    if ordered.is_empty() {
        return "100% done: every planned module is mastered".to_string();
    }
    let first = index.modules[ordered[0]];
    let head = if paused {
        format!("paused at {percent}%")
    } else {
        format!("{percent}% done, ~{weeks} weeks left")
    };
    match next {
        Some(n) => format!(
            "{head}; now {} ({}); next exercise {}",
            first.title, first.id, n.exercise
        ),
        None => format!("{head}; now {} ({})", first.title, first.id),
    }
}
