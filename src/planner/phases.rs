//! One learner's plan, as named phases (docs/planner.md): the rules that fire, each module's
//! score, the frozen exercises and what they make urgent, the order, then what the status shows.

use crate::api::{ModuleState, Progress, TriggeredRule};

use super::index::Index;
use super::order::{self, Placement};
use super::score::{self, ModuleScore};
use super::{Plan, next, stages, struggle};

/// The plan of a checked learner.
pub(super) fn plan_indexed(index: &Index) -> Plan {
    let fired = fired_rules(index);
    let scores = score::score_all(index, &fired);
    let (frozen, next_change) = struggle::frozen_exercises(index);
    let remedies = struggle::remedies(index, &frozen);
    let urgent = struggle::urgent(index, &remedies, &fired);
    let placements = order::place(index, &scores, &urgent);
    let ordered = order::order(index, &scores, &placements);
    let planned = Planned {
        index,
        scores: &scores,
        placements: &placements,
    };

    let mastered = planned.module_ids(|m| scores[m].done);
    let optional = planned.module_ids(|m| !scores[m].done && !placements[m].needed);
    let hours_per_week = index.spec.hours_per_week.max(1);
    let stages = stages::stages(&planned, &ordered, hours_per_week);
    let progress = planned.progress(&ordered, mastered.len());
    let next_exercises = next::next_exercises(&planned, &ordered, &frozen, &remedies);
    let estimated_weeks = progress.remaining_hours.div_ceil(hours_per_week);
    let summary = stages::summary(
        index,
        &ordered,
        progress.percent,
        estimated_weeks,
        index.spec.paused,
        next_exercises.first(),
    );
    Plan {
        progress,
        stages,
        mastered,
        optional,
        frozen_exercises: frozen,
        next_exercises,
        triggered_rules: triggered_rules(index, &fired),
        estimated_weeks,
        summary,
        observed_signals: index.observed.to_vec(),
        next_change,
    }
}

/// The numbers every later phase reads.
pub(super) struct Planned<'a> {
    pub index: &'a Index<'a>,
    pub scores: &'a [ModuleScore<'a>],
    pub placements: &'a [Placement],
}

impl Planned<'_> {
    /// Whether every prerequisite of module `m` is done.
    pub fn prerequisites_met(&self, m: usize) -> bool {
        self.index.prerequisites[m]
            .iter()
            .all(|&p| self.scores[p].done)
    }

    /// Where a planned module stands.
    pub fn state(&self, m: usize) -> ModuleState {
        if !self.prerequisites_met(m) {
            ModuleState::Locked
        } else if self.scores[m].started {
            ModuleState::InProgress
        } else {
            ModuleState::Ready
        }
    }

    /// The ids of the modules that `keep`, in module-number (id) order.
    fn module_ids(&self, keep: impl Fn(usize) -> bool) -> Vec<String> {
        (0..self.index.modules.len())
            .filter(|&m| keep(m))
            .map(|m| self.index.modules[m].id.clone())
            .collect()
    }

    /// Progress over the modules that count: done ones, and the needed ones still to do.
    fn progress(&self, ordered: &[usize], completed_modules: usize) -> Progress {
        let counted: Vec<usize> = (0..self.index.modules.len())
            .filter(|&m| self.scores[m].done || self.placements[m].needed)
            .collect();
        let total_hours: u64 = counted
            .iter()
            .map(|&m| u64::from(self.index.modules[m].hours))
            .sum();
        let remaining_hours: u32 = ordered
            .iter()
            .map(|&m| self.scores[m].remaining_hours)
            .sum();
        let done_hours = total_hours.saturating_sub(u64::from(remaining_hours));
        let percent = (done_hours * 100)
            .checked_div(total_hours)
            .map_or(100, |p| p as u32);
        Progress {
            percent,
            completed_modules: completed_modules as u32,
            total_modules: counted.len() as u32,
            remaining_hours,
        }
    }
}

/// The rules whose every condition holds, sorted by rule id.
fn fired_rules(index: &Index) -> Vec<usize> {
    let rules = &index.track.rules;
    let mut fired: Vec<usize> = (0..rules.len())
        .filter(|&r| score::fires(&rules[r], index))
        .collect();
    fired.sort_by(|&a, &b| rules[a].id.cmp(&rules[b].id));
    fired
}

fn triggered_rules(index: &Index, fired: &[usize]) -> Vec<TriggeredRule> {
    fired
        .iter()
        .map(|&r| {
            let rule = &index.track.rules[r];
            TriggeredRule {
                rule: rule.id.clone(),
                message: rule.message.clone(),
                recommendation: rule.then.recommend.as_ref().map(|t| t.text.clone()),
            }
        })
        .collect()
}
