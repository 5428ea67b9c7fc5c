//! The next exercises and why (docs/planner.md §11): remedies first, then the exercises of the
//! ordered modules whose prerequisites are met.

use std::collections::BTreeSet;

use crate::api::{FrozenExercise, NextExercise};

use super::explain::Explainer;
use super::phases::Planned;
use super::struggle::Remedy;

/// Up to the learner's limit (none while paused).
pub(super) fn next_exercises(
    planned: &Planned,
    ordered: &[usize],
    frozen: &[FrozenExercise],
    remedies: &[Remedy],
) -> Vec<NextExercise> {
    let (index, spec) = (planned.index, planned.index.spec);
    let limit = if spec.paused {
        0
    } else {
        spec.next_exercises_limit as usize
    };
    let frozen: BTreeSet<&str> = frozen.iter().map(|f| f.exercise.as_str()).collect();
    let explainer = Explainer {
        index,
        scores: planned.scores,
        placements: planned.placements,
    };
    let mut next = Vec::new();
    let mut listed = BTreeSet::new();
    for remedy in remedies {
        if let Some(exercise) = remedy.exercise
            && let Some(&(m, k)) = index.exercise_by_id.get(exercise)
            && planned.prerequisites_met(m)
            && listed.insert(exercise)
        {
            let e = &index.modules[m].exercises[k];
            next.push(NextExercise {
                module: index.modules[m].id.clone(),
                exercise: e.id.clone(),
                title: e.title.clone(),
                hours: e.hours,
                reason: explainer.remedy_exercise(remedy.frozen, remedy.failures),
            });
        }
    }
    // Reasons are the costliest part of a plan: only write the ones that will be shown.
    for &m in ordered {
        if next.len() >= limit {
            break;
        }
        if !planned.prerequisites_met(m) {
            continue;
        }
        let module = index.modules[m];
        let mut reason: Option<String> = None;
        for (k, e) in module.exercises.iter().enumerate() {
            if index.exercise_done(m, k)
                || frozen.contains(e.id.as_str())
                || !listed.insert(e.id.as_str())
            {
                continue;
            }
            if next.len() >= limit {
                break;
            }
            next.push(NextExercise {
                module: module.id.clone(),
                exercise: e.id.clone(),
                title: e.title.clone(),
                hours: e.hours,
                reason: reason.get_or_insert_with(|| explainer.module(m)).clone(),
            });
        }
    }
    next.truncate(limit);
    next
}
