//! Why a Track or a LearningPath cannot be planned.

use std::fmt;

/// The `reason` of a `Valid=False` condition. Each names one kind of mistake in the inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The referenced Track does not exist.
    TrackNotFound,
    /// Two modules, exercises, dimensions or rules share an id.
    DuplicateId,
    /// Modules need each other, directly or through others.
    PrerequisiteCycle,
    /// An id that names no module (or no dimension, skill or exercise where those are allowed).
    UnknownModule,
    /// An exercise id that names no exercise of the Track.
    UnknownExercise,
    /// A module names a dimension the Track does not declare.
    UnknownDimension,
    /// The industry or role is not a profile of the Track.
    UnknownProfile,
    /// A number that is not finite or out of its range (weights, factors, ratios, scores, signals).
    InvalidValue,
    /// More entries than the API allows.
    TooLarge,
}

impl Reason {
    /// The CamelCase form used in conditions and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TrackNotFound => "TrackNotFound",
            Reason::DuplicateId => "DuplicateId",
            Reason::PrerequisiteCycle => "PrerequisiteCycle",
            Reason::UnknownModule => "UnknownModule",
            Reason::UnknownExercise => "UnknownExercise",
            Reason::UnknownDimension => "UnknownDimension",
            Reason::UnknownProfile => "UnknownProfile",
            Reason::InvalidValue => "InvalidValue",
            Reason::TooLarge => "TooLarge",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One mistake in the inputs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// What kind of mistake.
    pub reason: Reason,
    /// What exactly, naming the offending ids.
    pub message: String,
}

/// Condition messages stay readable and well under the API's limit.
const MAX_MESSAGE: usize = 1024;

/// The inputs cannot be planned. The reason is that of the first problem, the message lists all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Invalid {
    /// The first problem's kind.
    pub reason: Reason,
    /// Every problem, in a stable order, joined by "; ".
    pub message: String,
}

impl Invalid {
    /// An error for a single problem.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Invalid {
            reason,
            message: truncate(message.into()),
        }
    }

    /// Combines problems in a stable order; `None` when there are none.
    pub fn from_problems(mut problems: Vec<Problem>) -> Option<Self> {
        problems.sort();
        problems.dedup();
        let reason = problems.first()?.reason;
        let message = problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Some(Invalid {
            reason,
            message: truncate(message),
        })
    }
}

fn truncate(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE - 3;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    message
}
