//! The planner: a pure function from a Track and a LearningPath spec to the learner's roadmap.
//!
//! No I/O, no async, no clock except the `now` handed to [`compose_status`]. Everything the
//! roadmap means lives here; the controller and the CLI only feed it and print or write its output.

mod explain;
mod index;
mod invalid;
mod next;
mod order;
mod phases;
mod radar;
mod score;
mod stages;
mod status;
mod struggle;

use std::borrow::Borrow;

use k8s_openapi::jiff::Timestamp;

use crate::api::{
    FrozenExercise, LearningPathSpec, NextExercise, ObservedSignal, Progress, Stage, TrackSpec,
    TriggeredRule,
};

pub use invalid::{Invalid, Problem, Reason};
pub use radar::DimensionScore;
pub use status::{Outcome, compose_status, condition_types};

use index::{Index, TrackIndex};
use phases::plan_indexed;

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
    /// The observed signals it was planned from, as given.
    pub observed_signals: Vec<ObservedSignal>,
    /// The next moment at which the plan would change with no new input (a frozen exercise
    /// thawing), if a time was given and there is one. Not part of the status: the controller
    /// plans again then.
    pub next_change: Option<Timestamp>,
}

/// What one plan is made from besides the Track (docs/planner.md §1).
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The learner.
    pub spec: &'a LearningPathSpec,
    /// Signals the operator collected for the learner; the spec's own `signals` win over these.
    pub observed: &'a [ObservedSignal],
    /// The time that windows are judged at. `None` judges no window: every failure counts.
    pub now: Option<Timestamp>,
}

impl<'a> Inputs<'a> {
    /// The spec alone: no observed signals, no time.
    pub fn new(spec: &'a LearningPathSpec) -> Self {
        Inputs {
            spec,
            observed: &[],
            now: None,
        }
    }
}

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

    /// Plans one learner from the spec alone (see [`Inputs::new`]).
    ///
    /// # Errors
    /// [`Invalid`] when the Track or the spec is inconsistent; the message names the offending
    /// ids of both.
    pub fn plan(&self, spec: &LearningPathSpec) -> Result<Plan, Invalid> {
        self.plan_inputs(Inputs::new(spec))
    }

    /// Plans one learner from everything the plan depends on.
    ///
    /// # Errors
    /// [`Invalid`] when the Track or the inputs are inconsistent; the message names the
    /// offending ids of both.
    pub fn plan_inputs(&self, inputs: Inputs) -> Result<Plan, Invalid> {
        Ok(plan_indexed(&Index::build(
            self.track(),
            &self.index,
            inputs,
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
            Inputs::new(spec),
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

/// Plans one learner on one Track from everything the plan depends on.
///
/// # Errors
/// [`Invalid`] when the Track or the inputs are inconsistent; the message names the offending ids.
pub fn plan_inputs(track: &TrackSpec, inputs: Inputs) -> Result<Plan, Invalid> {
    Curriculum::new(track).plan_inputs(inputs)
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

#[cfg(test)]
mod tests;
