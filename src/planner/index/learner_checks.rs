//! The checks of one learner's spec against an indexed Track, one pass per part of the spec.

use std::collections::BTreeSet;

use crate::api::{LearningPathSpec, ObservedSignal, TrackSpec, limits};

use super::super::invalid::Reason;
use super::{Problems, TrackIndex};

/// Count limits of the spec; over any of them, nothing else is checked.
pub(super) fn sizes(spec: &LearningPathSpec, problems: &mut Problems) {
    let mut too_large = |what: &str, len: usize, max: usize| {
        if len > max {
            problems.add(
                Reason::TooLarge,
                format!("{what} has {len} entries (at most {max})"),
            );
        }
    };
    too_large(
        "spec.completedExercises",
        spec.completed_exercises.len(),
        limits::COMPLETED_EXERCISES,
    );
    too_large("spec.struggles", spec.struggles.len(), limits::STRUGGLES);
    for s in &spec.struggles {
        if s.failed_at.len() > limits::FAILURE_TIMES {
            too_large(
                &format!("spec.struggles[{}].failedAt", s.exercise),
                s.failed_at.len(),
                limits::FAILURE_TIMES,
            );
        }
    }
}

/// The industry and role must be profiles of the Track; the message lists the known ones.
pub(super) fn profiles(track: &TrackSpec, spec: &LearningPathSpec, problems: &mut Problems) {
    for (kind, key, profiles) in [
        ("industry", &spec.industry, &track.profiles.industries),
        ("role", &spec.role, &track.profiles.roles),
    ] {
        if let Some(key) = key
            && !profiles.contains_key(key)
        {
            let known = profiles
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known
            };
            problems.add(
                Reason::UnknownProfile,
                format!("{kind} {key:?} is not a profile of the Track (known: {known})"),
            );
        }
    }
}

/// Scores name modules, dimensions or transferable skills, and are at most 100.
pub(super) fn assessment(shared: &TrackIndex, spec: &LearningPathSpec, problems: &mut Problems) {
    let unknown_scores: Vec<&str> = spec
        .assessment
        .keys()
        .map(String::as_str)
        .filter(|k| {
            !shared.module_by_id.contains_key(*k)
                && !shared.dimension_titles.contains_key(*k)
                && !shared.skills.contains(*k)
        })
        .collect();
    if !unknown_scores.is_empty() {
        problems.add(
            Reason::UnknownModule,
            format!("assessment names {}, which are not modules, dimensions or transferable skills of the Track", unknown_scores.join(", ")),
        );
    }
    for (k, v) in &spec.assessment {
        if *v > 100 {
            problems.add(
                Reason::InvalidValue,
                format!("assessment of {k:?} is {v} (at most 100)"),
            );
        }
    }
}

/// Completed exercises by flat exercise number; unknown ids are a problem.
pub(super) fn completed_exercises(
    shared: &TrackIndex,
    spec: &LearningPathSpec,
    problems: &mut Problems,
) -> Vec<bool> {
    let mut completed = vec![false; shared.exercises];
    // Sorted and deduplicated: the message must not depend on the order of the list.
    let mut unknown_done = BTreeSet::new();
    for e in &spec.completed_exercises {
        match shared.exercise_by_id.get(e.as_str()) {
            Some(&(m, k)) => completed[shared.exercise_base[m] + k] = true,
            None => {
                unknown_done.insert(e.as_str());
            }
        }
    }
    if !unknown_done.is_empty() {
        problems.add(
            Reason::UnknownExercise,
            format!(
                "completedExercises names unknown exercises {}",
                unknown_done.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    completed
}

/// Struggles name exercises of the Track.
pub(super) fn struggles(shared: &TrackIndex, spec: &LearningPathSpec, problems: &mut Problems) {
    for s in &spec.struggles {
        if !shared.exercise_by_id.contains_key(s.exercise.as_str()) {
            problems.add(
                Reason::UnknownExercise,
                format!("struggles names unknown exercise {:?}", s.exercise),
            );
        }
    }
}

/// Signal values, written or observed, are finite numbers.
pub(super) fn signals(
    spec: &LearningPathSpec,
    observed: &[ObservedSignal],
    problems: &mut Problems,
) {
    for (name, v) in &spec.signals {
        if !v.is_finite() {
            problems.add(
                Reason::InvalidValue,
                format!("signal {name:?} is {v}, not a finite number"),
            );
        }
    }
    for o in observed {
        if !o.value.is_finite() {
            problems.add(
                Reason::InvalidValue,
                format!(
                    "observed signal {:?} from {:?} is {}, not a finite number",
                    o.name, o.source, o.value
                ),
            );
        }
    }
}

pub(super) fn hours_per_week(spec: &LearningPathSpec, problems: &mut Problems) {
    if spec.hours_per_week == 0 || spec.hours_per_week > limits::HOURS_PER_WEEK {
        problems.add(
            Reason::InvalidValue,
            format!(
                "hoursPerWeek is {} (1 to {})",
                spec.hours_per_week,
                limits::HOURS_PER_WEEK
            ),
        );
    }
}
