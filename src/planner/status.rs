//! From a plan (or a reason it could not be made) to the LearningPath status.
//!
//! Pure: the clock is the `now` argument, and it is only read when a condition flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::LearningPathStatus;

use super::{Invalid, Plan};

/// The condition types the operator writes.
pub mod condition_types {
    /// The roadmap is current for the latest spec and Track.
    pub const READY: &str = "Ready";
    /// The Track and the spec are consistent.
    pub const VALID: &str = "Valid";
    /// Nothing will change without a user's edit (kstatus).
    pub const STALLED: &str = "Stalled";
}

/// What reconciling one LearningPath came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A fresh plan from the Track of the given generation.
    Planned {
        /// The plan.
        plan: Box<Plan>,
        /// `metadata.generation` of the Track.
        track_generation: Option<i64>,
    },
    /// No plan: the last good one stays.
    Invalid {
        /// Why.
        invalid: Invalid,
        /// `metadata.generation` of the Track, when there is one.
        track_generation: Option<i64>,
    },
}

/// The status to write, given the previous one.
///
/// Byte-for-byte stable: the same inputs and previous status give the same output, and a
/// condition's `lastTransitionTime` only moves when its `status` flips.
pub fn compose_status(
    previous: Option<&LearningPathStatus>,
    generation: Option<i64>,
    outcome: Outcome,
    now: Time,
) -> LearningPathStatus {
    let conditions = Conditions {
        previous: previous
            .map(|p| p.conditions.as_slice())
            .unwrap_or_default(),
        generation,
        now,
    };
    match outcome {
        Outcome::Planned {
            plan,
            track_generation,
        } => planned(*plan, generation, track_generation, &conditions),
        Outcome::Invalid {
            invalid,
            track_generation,
        } => invalid_status(
            previous,
            &invalid,
            generation,
            track_generation,
            &conditions,
        ),
    }
}

/// Builds conditions that keep the previous `lastTransitionTime` unless their status flips.
struct Conditions<'a> {
    previous: &'a [Condition],
    generation: Option<i64>,
    now: Time,
}

impl Conditions<'_> {
    fn make(&self, type_: &str, status: bool, reason: &str, message: &str) -> Condition {
        let status = if status { "True" } else { "False" };
        let last_transition_time = self
            .previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| self.now.clone());
        Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            observed_generation: self.generation,
            last_transition_time,
        }
    }
}

fn planned(
    plan: Plan,
    generation: Option<i64>,
    track_generation: Option<i64>,
    conditions: &Conditions,
) -> LearningPathStatus {
    let conditions = vec![
        conditions.make(condition_types::READY, true, "PlanComputed", &plan.summary),
        conditions.make(
            condition_types::STALLED,
            false,
            "PlanComputed",
            "the roadmap is current",
        ),
        conditions.make(
            condition_types::VALID,
            true,
            "InputsValid",
            "the Track and the spec are consistent",
        ),
    ];
    LearningPathStatus {
        observed_generation: generation,
        track_generation,
        conditions,
        progress: Some(plan.progress),
        stages: plan.stages,
        mastered: plan.mastered,
        optional: plan.optional,
        frozen_exercises: plan.frozen_exercises,
        next_exercises: plan.next_exercises,
        triggered_rules: plan.triggered_rules,
        observed_signals: plan.observed_signals,
        estimated_weeks: Some(plan.estimated_weeks),
        summary: Some(plan.summary),
        cached_digest: None,
    }
}

/// The last good plan stays: a typo in Git must not wipe a learner's roadmap. Only the verdict
/// and the generations change.
fn invalid_status(
    previous: Option<&LearningPathStatus>,
    invalid: &Invalid,
    generation: Option<i64>,
    track_generation: Option<i64>,
    conditions: &Conditions,
) -> LearningPathStatus {
    let reason = invalid.reason.as_str();
    let message = &invalid.message;
    let mut status = previous.cloned().unwrap_or_default();
    status.observed_generation = generation;
    if track_generation.is_some() {
        status.track_generation = track_generation;
    }
    status.conditions = vec![
        conditions.make(condition_types::READY, false, reason, message),
        conditions.make(condition_types::STALLED, true, reason, message),
        conditions.make(condition_types::VALID, false, reason, message),
    ];
    status.summary = Some(format!("invalid: {reason}"));
    status
}
