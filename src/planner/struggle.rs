//! Cognitive-load regulation (docs/planner.md §6): exercises failed too often are frozen, and
//! their remedies come first.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::api::{FrozenExercise, StruggleEntry};

use super::index::Index;
use super::order::Urgency;

/// The exercises frozen by the Track's struggle rule, sorted by exercise id, and the next moment
/// at which that would change with no new input.
pub(super) fn frozen_exercises(index: &Index) -> (Vec<FrozenExercise>, Option<Timestamp>) {
    let track = index.track;
    let max_failures = track.struggle.as_ref().map_or(3, |s| s.max_failures);
    let window = index.shared.struggle_window.zip(index.now);
    let mut next_change: Option<Timestamp> = None;
    let mut frozen: Vec<FrozenExercise> = Vec::new();
    for s in &index.spec.struggles {
        let count = match window {
            Some((window, now)) if !s.failed_at.is_empty() => {
                let count = recent_failures(s, window, now, max_failures);
                next_change = earliest(next_change, count.next_change);
                count
            }
            _ => Count {
                failures: s.failures,
                until: None,
                next_change: None,
            },
        };
        if count.failures < max_failures || index.completed(&s.exercise) {
            continue;
        }
        let Some(&(module, _)) = index.exercise_by_id.get(s.exercise.as_str()) else {
            continue;
        };
        frozen.push(FrozenExercise {
            exercise: s.exercise.clone(),
            module: index.modules[module].id.clone(),
            failures: count.failures,
            remedy: track
                .struggle
                .as_ref()
                .and_then(|st| st.remedial.get(&s.exercise).cloned()),
            until: count.until.map(Time),
        });
    }
    // An exercise listed twice keeps its highest failure count, whatever the list's order.
    frozen.sort_by(|a, b| {
        a.exercise
            .cmp(&b.exercise)
            .then(b.failures.cmp(&a.failures))
    });
    frozen.dedup_by(|a, b| a.exercise == b.exercise);
    (frozen, next_change)
}

/// An entry's failures as the window sees them at `now`.
struct Count {
    /// Failures within the window.
    failures: u32,
    /// When the count drops below `maxFailures`, if it is at or above it now.
    until: Option<Timestamp>,
    /// When the count next changes: a failure leaving the window, or one dated after now
    /// entering it.
    next_change: Option<Timestamp>,
}

/// Counts the failures in `(now - window, now]`. One that happened at `t` counts until
/// `t + window`; the exercise thaws when so many have left that fewer than `max` remain.
fn recent_failures(
    entry: &StruggleEntry,
    window: SignedDuration,
    now: Timestamp,
    max: u32,
) -> Count {
    let mut recent: Vec<Timestamp> = entry
        .failed_at
        .iter()
        .map(|t| t.0)
        .filter(|&t| t <= now && now < add(t, window))
        .collect();
    recent.sort_unstable();
    let later = entry
        .failed_at
        .iter()
        .map(|t| t.0)
        .filter(|&t| t > now)
        .min();
    let leaves = recent.first().map(|&t| add(t, window));
    let failures = u32::try_from(recent.len()).unwrap_or(u32::MAX);
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let until = recent
        .len()
        .checked_sub(max)
        .and_then(|i| recent.get(i))
        .map(|&t| add(t, window));
    Count {
        failures,
        until,
        next_change: earliest(leaves, later),
    }
}

/// `t + d`, or the latest time there is when that is beyond it.
fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A remedy to do before a frozen exercise.
pub(super) struct Remedy<'a> {
    /// The frozen exercise.
    pub frozen: &'a str,
    /// Its failures, as counted.
    pub failures: u32,
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
                    failures: f.failures,
                    module,
                    exercise: Some(remedy),
                });
            }
        } else if let Some(&module) = index.module_by_id.get(remedy.as_str()) {
            out.push(Remedy {
                frozen: &f.exercise,
                failures: f.failures,
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
