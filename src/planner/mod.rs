//! The planner: a pure function from a Track and a LearningPath spec to the learner's roadmap.
//!
//! No I/O, no async, no clock except the `now` handed to [`compose_status`]. Everything the
//! roadmap means lives here; the controller and the CLI only feed it and print or write its output.

mod explain;
mod index;
mod invalid;
mod order;
mod radar;
mod score;
mod status;

use std::borrow::Borrow;
use std::collections::BTreeSet;

use crate::api::{
    FrozenExercise, LearningPathSpec, ModuleState, NextExercise, PlannedModule, Progress, Stage,
    TrackSpec, TriggeredRule,
};

pub use invalid::{Invalid, Problem, Reason};
pub use radar::DimensionScore;
pub use status::{Outcome, compose_status, condition_types};

use index::{Index, TrackIndex};
use order::Urgency;

/// The computed roadmap: every status field that depends only on the Track and the spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// How far the learner is.
    pub progress: Progress,
    /// The modules still to do, in order, grouped into stages.
    pub stages: Vec<Stage>,
    /// Ids of the modules done, sorted.
    pub mastered: Vec<String>,
    /// Ids of the weight-0 modules nothing weighted needs, sorted.
    pub optional: Vec<String>,
    /// Exercises frozen by the struggle rule, sorted by exercise id.
    pub frozen_exercises: Vec<FrozenExercise>,
    /// What to do next, with reasons.
    pub next_exercises: Vec<NextExercise>,
    /// The rules that fire, sorted by rule id.
    pub triggered_rules: Vec<TriggeredRule>,
    /// Weeks to finish at the learner's pace.
    pub estimated_weeks: u32,
    /// One line for the printer column.
    pub summary: String,
}

/// Stages hold at most this many weeks of work.
const WEEKS_PER_STAGE: u32 = 4;

/// A Track checked and indexed once, ready to plan any number of learners on it.
///
/// Everything about a Track that does not depend on the learner (resolving ids, validating,
/// looking for cycles, the prerequisite order, each profile's weight for each module) is done
/// here, once; [`Curriculum::plan`] adds only the learner's part. `S` is the Track itself or a
/// reference to it.
pub struct Curriculum<S = TrackSpec> {
    track: S,
    index: TrackIndex,
}

impl<S: Borrow<TrackSpec>> Curriculum<S> {
    /// Checks and indexes a Track. An invalid Track is kept too: its problems are in
    /// [`Curriculum::check`], and in every plan's error together with the learner's own.
    pub fn new(track: S) -> Self {
        let index = TrackIndex::build(track.borrow());
        Curriculum { track, index }
    }

    /// The Track.
    pub fn track(&self) -> &TrackSpec {
        self.track.borrow()
    }

    /// The Track's own verdict, as a learner with no assessment, profile or signals would see it.
    ///
    /// # Errors
    /// [`Invalid`] naming the offending ids.
    pub fn check(&self) -> Result<(), Invalid> {
        self.index.verdict()
    }

    /// Plans one learner.
    ///
    /// # Errors
    /// [`Invalid`] when the Track or the spec is inconsistent; the message names the offending
    /// ids of both.
    pub fn plan(&self, spec: &LearningPathSpec) -> Result<Plan, Invalid> {
        Ok(plan_indexed(&Index::build(
            self.track(),
            &self.index,
            spec,
        )?))
    }

    /// One learner's capability radar: a score per dimension, in the Track's order (see
    /// [`radar()`] for where each score comes from).
    ///
    /// # Errors
    /// [`Invalid`] when the Track or the spec is inconsistent, as for [`Curriculum::plan`].
    pub fn radar(&self, spec: &LearningPathSpec) -> Result<Vec<DimensionScore>, Invalid> {
        Ok(radar::radar(&Index::build(
            self.track(),
            &self.index,
            spec,
        )?))
    }
}

impl<S> std::fmt::Debug for Curriculum<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Curriculum").finish_non_exhaustive()
    }
}

/// Checks a Track on its own, as a learner with no assessment, profile or signals would see it.
///
/// # Errors
/// [`Invalid`] naming the offending ids.
pub fn check_track(track: &TrackSpec) -> Result<(), Invalid> {
    Curriculum::new(track).check()
}

/// Plans one learner on one Track. To plan many learners on one Track, build a [`Curriculum`]
/// once instead.
///
/// # Errors
/// [`Invalid`] when the Track or the spec is inconsistent; the message names the offending ids.
pub fn plan(track: &TrackSpec, spec: &LearningPathSpec) -> Result<Plan, Invalid> {
    Curriculum::new(track).plan(spec)
}

/// One learner's capability radar on one Track: a score from 0 to 100 per dimension, in the
/// Track's order of dimensions.
///
/// A dimension the learner's `spec.assessment` scores directly keeps that score
/// (`assessed: true`). Any other dimension gets the mean of its modules' levels weighted by the
/// modules' hours, where a module's level is the higher of its score (its own assessment or a
/// transfer credit) and the percentage of its exercise hours done; a dimension without modules
/// scores 0.
///
/// # Errors
/// [`Invalid`] when the Track or the spec is inconsistent, as for [`plan`].
pub fn radar(track: &TrackSpec, spec: &LearningPathSpec) -> Result<Vec<DimensionScore>, Invalid> {
    Curriculum::new(track).radar(spec)
}

fn plan_indexed(index: &Index) -> Plan {
    let (track, spec) = (index.track, index.spec);
    let mut fired: Vec<usize> = (0..track.rules.len())
        .filter(|&r| score::fires(&track.rules[r], index))
        .collect();
    fired.sort_by(|&a, &b| track.rules[a].id.cmp(&track.rules[b].id));
    let scores = score::score_all(index, &fired);

    let max_failures = track.struggle.as_ref().map_or(3, |s| s.max_failures);
    let mut frozen_exercises: Vec<FrozenExercise> = spec
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
    frozen_exercises.sort_by(|a, b| {
        a.exercise
            .cmp(&b.exercise)
            .then(b.failures.cmp(&a.failures))
    });
    frozen_exercises.dedup_by(|a, b| a.exercise == b.exercise);
    // A remedy that is itself frozen cannot be done first.
    let frozen_ids: std::collections::BTreeSet<String> = frozen_exercises
        .iter()
        .map(|f| f.exercise.clone())
        .collect();

    // Remedies come first, then modules that rules prioritize.
    let mut urgent: Vec<(usize, Urgency)> = Vec::new();
    let mut remedy_exercises: Vec<(&str, &str)> = Vec::new();
    for f in &frozen_exercises {
        let Some(remedy) = &f.remedy else { continue };
        if let Some(&(module, _)) = index.exercise_by_id.get(remedy.as_str()) {
            if !index.completed(remedy) && !frozen_ids.contains(remedy) {
                urgent.push((module, Urgency::Remedy(f.exercise.clone())));
                remedy_exercises.push((remedy.as_str(), f.exercise.as_str()));
            }
        } else if let Some(&module) = index.module_by_id.get(remedy.as_str()) {
            urgent.push((module, Urgency::Remedy(f.exercise.clone())));
        }
    }
    for &r in &fired {
        if let Some(p) = &track.rules[r].then.prioritize
            && let Some(&module) = index.module_by_id.get(p.module.as_str())
        {
            urgent.push((module, Urgency::Rule(r)));
        }
    }

    let placements = order::place(index, &scores, &urgent);
    let ordered = order::order(index, &scores, &placements);

    let mastered: Vec<String> = (0..index.modules.len())
        .filter(|&m| scores[m].done)
        .map(|m| index.modules[m].id.clone())
        .collect();
    let optional: Vec<String> = (0..index.modules.len())
        .filter(|&m| !scores[m].done && !placements[m].needed)
        .map(|m| index.modules[m].id.clone())
        .collect();

    let prerequisites_met = |m: usize| index.prerequisites[m].iter().all(|&p| scores[p].done);
    let state = |m: usize| {
        if !prerequisites_met(m) {
            ModuleState::Locked
        } else if scores[m].started {
            ModuleState::InProgress
        } else {
            ModuleState::Ready
        }
    };

    let hours_per_week = spec.hours_per_week.max(1);
    let stages = stages(index, &scores, &ordered, hours_per_week, state);

    let counted: Vec<usize> = (0..index.modules.len())
        .filter(|&m| scores[m].done || placements[m].needed)
        .collect();
    let total_hours: u64 = counted
        .iter()
        .map(|&m| u64::from(index.modules[m].hours))
        .sum();
    let remaining_hours: u32 = ordered.iter().map(|&m| scores[m].remaining_hours).sum();
    let done_hours = total_hours.saturating_sub(u64::from(remaining_hours));
    let percent = (done_hours * 100)
        .checked_div(total_hours)
        .map_or(100, |p| p as u32);
    let progress = Progress {
        percent,
        completed_modules: mastered.len() as u32,
        total_modules: counted.len() as u32,
        remaining_hours,
    };

    let frozen: BTreeSet<&str> = frozen_exercises
        .iter()
        .map(|f| f.exercise.as_str())
        .collect();
    let limit = if spec.paused {
        0
    } else {
        spec.next_exercises_limit as usize
    };
    let mut next_exercises = Vec::new();
    let mut listed = BTreeSet::new();
    let explainer = explain::Explainer {
        index,
        scores: &scores,
        placements: &placements,
    };
    for (remedy, frozen_exercise) in remedy_exercises {
        if let Some(&(m, k)) = index.exercise_by_id.get(remedy)
            && prerequisites_met(m)
            && listed.insert(remedy)
        {
            let e = &index.modules[m].exercises[k];
            next_exercises.push(NextExercise {
                module: index.modules[m].id.clone(),
                exercise: e.id.clone(),
                title: e.title.clone(),
                hours: e.hours,
                reason: explainer.remedy_exercise(frozen_exercise, &spec.struggles),
            });
        }
    }
    // Reasons are the costliest part of a plan: only write the ones that will be shown.
    for &m in &ordered {
        if next_exercises.len() >= limit {
            break;
        }
        if !prerequisites_met(m) {
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
            if next_exercises.len() >= limit {
                break;
            }
            next_exercises.push(NextExercise {
                module: module.id.clone(),
                exercise: e.id.clone(),
                title: e.title.clone(),
                hours: e.hours,
                reason: reason.get_or_insert_with(|| explainer.module(m)).clone(),
            });
        }
    }
    next_exercises.truncate(limit);

    let triggered_rules = fired
        .iter()
        .map(|&r| {
            let rule = &track.rules[r];
            TriggeredRule {
                rule: rule.id.clone(),
                message: rule.message.clone(),
                recommendation: rule.then.recommend.as_ref().map(|t| t.text.clone()),
            }
        })
        .collect();

    let estimated_weeks = remaining_hours.div_ceil(hours_per_week);
    let summary = summary(
        index,
        &ordered,
        percent,
        estimated_weeks,
        spec.paused,
        next_exercises.first(),
    );
    Plan {
        progress,
        stages,
        mastered,
        optional,
        frozen_exercises,
        next_exercises,
        triggered_rules,
        estimated_weeks,
        summary,
    }
}

fn stages(
    index: &Index,
    scores: &[score::ModuleScore],
    ordered: &[usize],
    hours_per_week: u32,
    state: impl Fn(usize) -> ModuleState,
) -> Vec<Stage> {
    let cap = WEEKS_PER_STAGE * hours_per_week;
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current_hours = 0u32;
    for &m in ordered {
        let hours = scores[m].remaining_hours;
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
    let mut before = 0u32;
    groups
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
                        id: index.modules[m].id.clone(),
                        title: index.modules[m].title.clone(),
                        state: state(m),
                        hours: scores[m].remaining_hours,
                    })
                    .collect(),
            }
        })
        .collect()
}

fn summary(
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

#[cfg(test)]
mod tests;
