//! Cognitive-load regulation (docs/planner.md §6): exercises failed too often are frozen, and
//! their remedies come first.

use std::collections::BTreeSet;

use crate::api::FrozenExercise;

use super::index::Index;
use super::order::Urgency;

/// The exercises frozen by the Track's struggle rule, sorted by exercise id.
pub(super) fn frozen_exercises(index: &Index) -> Vec<FrozenExercise> {
    let track = index.track;
    let max_failures = track.struggle.as_ref().map_or(3, |s| s.max_failures);
    let mut frozen: Vec<FrozenExercise> = index
        .spec
        .struggles
        .iter()
        .filter(|s| s.failures >= max_failures && !index.completed(&s.exercise))
        .filter_map(|s| {
            let &(module, _) = index.exercise_by_id.get(s.exercise.as_str())?;
            Some(FrozenExercise {
                exercise: s.exercise.clone(),
                module: index.modules[module].id.clone(),
                failures: s.failures,
                remedy: track
                    .struggle
                    .as_ref()
                    .and_then(|st| st.remedial.get(&s.exercise).cloned()),
            })
        })
        .collect();
    // An exercise listed twice keeps its highest failure count, whatever the list's order.
    frozen.sort_by(|a, b| {
        a.exercise
            .cmp(&b.exercise)
            .then(b.failures.cmp(&a.failures))
    });
    frozen.dedup_by(|a, b| a.exercise == b.exercise);
    frozen
}

/// A remedy to do before a frozen exercise.
pub(super) struct Remedy<'a> {
    /// The frozen exercise.
    pub frozen: &'a str,
    /// The module the remedy is in (or is).
    pub module: usize,
    /// The remedy exercise, when the remedy is one (and not already done or frozen itself).
    pub exercise: Option<&'a str>,
}

/// The remedies that can come first: a remedy exercise already done needs nothing, and one that
/// is itself frozen cannot be done first.
pub(super) fn remedies<'a>(index: &Index, frozen: &'a [FrozenExercise]) -> Vec<Remedy<'a>> {
    let frozen_ids: BTreeSet<&str> = frozen.iter().map(|f| f.exercise.as_str()).collect();
    let mut out = Vec::new();
    for f in frozen {
        let Some(remedy) = &f.remedy else { continue };
        if let Some(&(module, _)) = index.exercise_by_id.get(remedy.as_str()) {
            if !index.completed(remedy) && !frozen_ids.contains(remedy.as_str()) {
                out.push(Remedy {
                    frozen: &f.exercise,
                    module,
                    exercise: Some(remedy),
                });
            }
        } else if let Some(&module) = index.module_by_id.get(remedy.as_str()) {
            out.push(Remedy {
                frozen: &f.exercise,
                module,
                exercise: None,
            });
        }
    }
    out
}

/// Modules scheduled ahead of the priority order: remedies first, then the modules that fired
/// rules prioritize.
pub(super) fn urgent(index: &Index, remedies: &[Remedy], fired: &[usize]) -> Vec<(usize, Urgency)> {
    let mut urgent: Vec<(usize, Urgency)> = remedies
        .iter()
        .map(|r| (r.module, Urgency::Remedy(r.frozen.to_string())))
        .collect();
    for &r in fired {
        if let Some(p) = &index.track.rules[r].then.prioritize
            && let Some(&module) = index.module_by_id.get(p.module.as_str())
        {
            urgent.push((module, Urgency::Rule(r)));
        }
    }
    urgent
}
