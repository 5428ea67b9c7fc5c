//! Which Kubernetes events a status change deserves: transitions only, never every reconcile.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as EventObject;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Client};

use crate::api::LearningPathStatus;
use crate::planner::condition_types;

fn condition_status<'a>(status: Option<&'a LearningPathStatus>, type_: &str) -> Option<&'a str> {
    status?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

fn event(type_: EventType, reason: &str, action: &str, note: String) -> Event {
    Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1000).collect()),
        action: action.to_string(),
        secondary: None,
    }
}

/// Publishes each transition as an Event object of its own (events.k8s.io/v1).
///
/// kube's `Recorder` folds events that share a reason into one series and keeps the first note:
/// of four rules firing at once, the learner would read about one, counted four times. Our
/// events are transitions, never identical repeats, so each is created whole and none is patched.
pub struct Announcer {
    client: Client,
    controller: String,
    instance: String,
}

impl Announcer {
    /// Events reported by `controller` (the operator) from replica `instance`.
    pub fn new(client: Client, controller: &str, instance: String) -> Self {
        Announcer {
            client,
            controller: controller.to_string(),
            instance,
        }
    }

    /// Creates the event about `regarding`.
    ///
    /// # Errors
    /// The API server refused or failed the create.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let name = regarding.name.as_deref().unwrap_or(&self.controller);
        let object = EventObject {
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                // As the Events API's own clients name them: unique per object and moment.
                name: Some(format!("{name}.{:x}", now.as_nanosecond())),
                ..ObjectMeta::default()
            },
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            note: event.note.clone(),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: event.secondary.clone(),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(match event.type_ {
                EventType::Normal => "Normal".to_string(),
                EventType::Warning => "Warning".to_string(),
            }),
            ..EventObject::default()
        };
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        Api::<EventObject>::namespaced(self.client.clone(), namespace)
            .create(&PostParams::default(), &object)
            .await
            .map(|_| ())
    }
}

/// Events for the change from `old` to `new`, in a stable order: validity, then newly fired
/// rules, then progress.
pub fn transitions(old: Option<&LearningPathStatus>, new: &LearningPathStatus) -> Vec<Event> {
    let mut events: Vec<Event> = validity(old, new).into_iter().collect();
    events.extend(new_rules(old, new));
    // Only a plan that existed before can have modules newly mastered; the first plan is not news.
    if let Some(old) = old.filter(|o| o.progress.is_some()) {
        events.extend(progress(old, new));
    }
    events
}

/// A new problem, a different one than before, a recovery, or the first plan.
fn validity(old: Option<&LearningPathStatus>, new: &LearningPathStatus) -> Option<Event> {
    let was_valid = condition_status(old, condition_types::VALID);
    let old_reason = old
        .and_then(|o| {
            o.conditions
                .iter()
                .find(|c| c.type_ == condition_types::VALID)
        })
        .map(|c| c.reason.as_str());
    let valid = condition_status(Some(new), condition_types::VALID);
    let message = new
        .conditions
        .iter()
        .find(|c| c.type_ == condition_types::VALID)
        .map(|c| (c.reason.clone(), c.message.clone()));
    match (was_valid, valid, message) {
        // A new problem, or a different one than before: both are news to the learner.
        (w, Some("False"), Some((reason, message)))
            if w != Some("False") || old_reason != Some(reason.as_str()) =>
        {
            Some(event(EventType::Warning, &reason, "Validate", message))
        }
        (Some("False"), Some("True"), _) => Some(event(
            EventType::Normal,
            "Recovered",
            "Plan",
            "inputs are valid again; the roadmap is current".to_string(),
        )),
        (w, Some("True"), _) if w.is_none() => {
            let summary = new.summary.clone().unwrap_or_default();
            Some(event(EventType::Normal, "PlanComputed", "Plan", summary))
        }
        _ => None,
    }
}

fn new_rules(old: Option<&LearningPathStatus>, new: &LearningPathStatus) -> Vec<Event> {
    let old_rules: BTreeSet<&str> = old
        .map(|o| o.triggered_rules.iter().map(|r| r.rule.as_str()).collect())
        .unwrap_or_default();
    new.triggered_rules
        .iter()
        .filter(|r| !old_rules.contains(r.rule.as_str()))
        .map(|rule| {
            event(
                EventType::Normal,
                "RuleTriggered",
                "Plan",
                format!("rule {}: {}", rule.rule, rule.message),
            )
        })
        .collect()
}

/// Modules newly mastered, and the first stage finished.
fn progress(old: &LearningPathStatus, new: &LearningPathStatus) -> Vec<Event> {
    let mut events = Vec::new();
    let before: BTreeSet<&str> = old.mastered.iter().map(String::as_str).collect();
    let fresh: Vec<&str> = new
        .mastered
        .iter()
        .map(String::as_str)
        .filter(|m| !before.contains(m))
        .collect();
    if !fresh.is_empty() {
        events.push(event(
            EventType::Normal,
            "ModulesMastered",
            "Plan",
            format!("mastered {}", fresh.join(", ")),
        ));
    }
    if let Some(first) = old.stages.first()
        && first.modules.iter().all(|m| new.mastered.contains(&m.id))
    {
        let modules: Vec<&str> = first.modules.iter().map(|m| m.id.as_str()).collect();
        events.push(event(
            EventType::Normal,
            "StageCompleted",
            "Plan",
            format!("the first stage is done: {}", modules.join(", ")),
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::api::TriggeredRule;

    fn status(valid: &str, reason: &str, rules: &[&str], mastered: &[&str]) -> LearningPathStatus {
        LearningPathStatus {
            conditions: vec![Condition {
                type_: "Valid".into(),
                status: valid.into(),
                reason: reason.into(),
                message: "m".into(),
                observed_generation: Some(1),
                last_transition_time: Time(Timestamp::UNIX_EPOCH),
            }],
            triggered_rules: rules
                .iter()
                .map(|r| TriggeredRule {
                    rule: r.to_string(),
                    message: "msg".into(),
                    recommendation: None,
                })
                .collect(),
            mastered: mastered.iter().map(|m| m.to_string()).collect(),
            progress: Some(Default::default()),
            ..Default::default()
        }
    }

    fn reasons(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.reason.as_str()).collect()
    }

    #[test]
    fn nothing_new_means_no_event() {
        let s = status("True", "InputsValid", &["a"], &["m"]);
        assert!(transitions(Some(&s), &s).is_empty());
    }

    #[test]
    fn the_first_plan_announces_itself_and_its_rules() {
        let new = status("True", "InputsValid", &["a"], &["m"]);
        assert_eq!(
            reasons(&transitions(None, &new)),
            ["PlanComputed", "RuleTriggered"]
        );
    }

    #[test]
    fn invalid_input_warns_once_per_reason_and_recovery_is_told() {
        let good = status("True", "InputsValid", &[], &[]);
        let cycle = status("False", "PrerequisiteCycle", &[], &[]);
        let gone = status("False", "TrackNotFound", &[], &[]);
        assert_eq!(
            reasons(&transitions(Some(&good), &cycle)),
            ["PrerequisiteCycle"]
        );
        assert!(transitions(Some(&cycle), &cycle).is_empty());
        assert_eq!(
            reasons(&transitions(Some(&cycle), &gone)),
            ["TrackNotFound"]
        );
        assert_eq!(reasons(&transitions(Some(&gone), &good)), ["Recovered"]);
    }

    #[test]
    fn newly_mastered_modules_are_news() {
        let before = status("True", "InputsValid", &[], &["a"]);
        let after = status("True", "InputsValid", &[], &["a", "b"]);
        let events = transitions(Some(&before), &after);
        assert_eq!(reasons(&events), ["ModulesMastered"]);
        assert_eq!(events[0].note.as_deref(), Some("mastered b"));
    }
}
