//! A SignalSource's status: whether its last round succeeded and what failed, how many learners
//! have values from it, when a round last changed what they see (docs/signals.md §5, §6).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{Client, ResourceExt};

use crate::api::{SignalSource, SignalSourceStatus};
use crate::planner::condition_types;

use super::super::errors::{StatusPatchError, apply_status};

/// What a round came to, for the status.
#[derive(Clone, Debug, PartialEq)]
pub enum Round {
    /// The values were collected.
    Collected {
        /// Learners with at least one value from the source.
        learners: u32,
        /// Whether any learner's values changed.
        changed: bool,
        /// For Git, the commit collected.
        revision: Option<String>,
        /// What was collected, and anything left out (non-finite values, unlabelled series).
        message: String,
    },
    /// Nothing was collected; the last good values stay.
    Failed {
        /// A CamelCase reason, for example `Unreachable` or `QueryFailed`.
        reason: &'static str,
        /// What failed, in words.
        message: String,
    },
}

/// The status after a round, given the stored one; unchanged parts keep their times, so a round
/// that changes nothing gives the stored status back (and nothing is written).
pub fn desired(source: &SignalSource, round: &Round, now: Time) -> SignalSourceStatus {
    let previous = source.status.clone().unwrap_or_default();
    let (ready, reason, message) = match round {
        Round::Collected { message, .. } => (true, "Collected", message.as_str()),
        Round::Failed { reason, message } => (false, *reason, message.as_str()),
    };
    let status = if ready { "True" } else { "False" };
    let last_transition_time = previous
        .conditions
        .iter()
        .find(|c| c.type_ == condition_types::READY && c.status == status)
        .map_or(now.clone(), |c| c.last_transition_time.clone());
    let condition = Condition {
        type_: condition_types::READY.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.chars().take(1024).collect(),
        observed_generation: source.metadata.generation,
        last_transition_time,
    };
    match round {
        Round::Collected {
            learners,
            changed,
            revision,
            ..
        } => SignalSourceStatus {
            observed_generation: source.metadata.generation,
            conditions: vec![condition],
            learners: Some(*learners),
            last_change: if *changed {
                Some(now)
            } else {
                previous.last_change
            },
            revision: revision.clone().or(previous.revision),
        },
        Round::Failed { .. } => SignalSourceStatus {
            observed_generation: source.metadata.generation,
            conditions: vec![condition],
            ..previous
        },
    }
}

/// When the stored status says collections fail, since when: the first failure.
pub fn failing_since(source: &SignalSource) -> Option<Time> {
    source
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == condition_types::READY && c.status == "False")
        .map(|c| c.last_transition_time.clone())
}

/// Writes `desired` unless the stored status already is it; true when it wrote.
pub async fn write(
    client: &Client,
    source: &SignalSource,
    desired: &SignalSourceStatus,
) -> Result<bool, StatusPatchError> {
    if source.status.as_ref() == Some(desired) {
        return Ok(false);
    }
    apply_status::<SignalSource>(client, &source.name_any(), desired).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(1_767_225_600 + second).expect("a time"))
    }

    fn source() -> SignalSource {
        let mut s: SignalSource = serde_json::from_value(serde_json::json!({
            "apiVersion": "learnpath.dev/v1alpha1",
            "kind": "SignalSource",
            "metadata": {"name": "ci", "generation": 2},
            "spec": {"prometheus": {"url": "http://prometheus:9090", "learnerLabel": "author",
                     "queries": [{"signal": "ciFailureRate", "query": "ci_failure_rate"}]}},
        }))
        .expect("a SignalSource");
        s.metadata.generation = Some(2);
        s
    }

    fn collected(changed: bool) -> Round {
        Round::Collected {
            learners: 3,
            changed,
            revision: None,
            message: "ciFailureRate for 3 learners".into(),
        }
    }

    #[test]
    fn a_round_that_changes_nothing_gives_the_stored_status_back() {
        let mut s = source();
        s.status = Some(desired(&s, &collected(true), at(0)));
        let again = desired(&s, &collected(false), at(60));
        assert_eq!(s.status.as_ref(), Some(&again));
        assert_eq!(again.last_change, Some(at(0)));
    }

    #[test]
    fn a_failure_keeps_counts_and_times_and_names_what_failed_since_when() {
        let mut s = source();
        s.status = Some(desired(&s, &collected(true), at(0)));
        let failed = Round::Failed {
            reason: "Unreachable",
            message: "cannot reach Prometheus at http://prometheus:9090: connection refused".into(),
        };
        let status = desired(&s, &failed, at(120));
        assert_eq!(status.learners, Some(3));
        assert_eq!(status.last_change, Some(at(0)));
        let ready = &status.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "Unreachable")
        );
        assert!(ready.message.contains("connection refused"));
        s.status = Some(status);
        assert_eq!(failing_since(&s), Some(at(120)));
        // Still failing a round later: nothing moves.
        assert_eq!(
            desired(&s, &failed, at(180)),
            s.status.clone().expect("status")
        );
        // Recovered: True again, with a new transition time.
        let back = desired(&s, &collected(false), at(240));
        assert_eq!(back.conditions[0].status, "True");
        assert_eq!(back.conditions[0].last_transition_time, at(240));
        s.status = Some(back);
        assert_eq!(failing_since(&s), None);
    }
}
