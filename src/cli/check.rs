//! `learnpath check`: an audit of every LearningPath against what `learnpath plan` makes of its
//! current spec and its current Track.
//!
//! It reads both straight from the API server (paginated lists, no watch, no cache), so it is
//! independent of the operator's state: after any fault, zero mismatches means nothing was lost.

use std::collections::BTreeMap;

use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use serde_json::Value;

use crate::api::{LearningPath, LearningPathStatus, Track};
use crate::planner::{Reason, condition_types};

use super::plan::{PlanError, plan_objects};

/// One LearningPath whose status is not what its inputs say it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// `namespace/name`.
    pub object: String,
    /// What differs, in words.
    pub problem: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.problem)
    }
}

/// The result of one audit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// LearningPaths looked at.
    pub checked: usize,
    /// Those that are wrong, ordered by namespace and name.
    pub mismatches: Vec<Mismatch>,
}

/// Audits `paths` against `tracks`: pure, for tests and for [`check_cluster`].
pub fn audit(tracks: &[Track], paths: &[LearningPath]) -> Report {
    let tracks: BTreeMap<String, &Track> = tracks.iter().map(|t| (t.name_any(), t)).collect();
    let mut sorted: Vec<&LearningPath> = paths.iter().collect();
    sorted.sort_by_key(|lp| (lp.namespace(), lp.name_any()));
    let mismatches = sorted
        .into_iter()
        .filter_map(|lp| {
            let track = tracks.get(&lp.spec.track_ref.name).copied();
            problem(lp, track).map(|problem| Mismatch {
                object: format!("{}/{}", lp.namespace().unwrap_or_default(), lp.name_any()),
                problem,
            })
        })
        .collect();
    Report {
        checked: paths.len(),
        mismatches,
    }
}

/// What is wrong with one LearningPath's status, if anything.
fn problem(lp: &LearningPath, track: Option<&Track>) -> Option<String> {
    let Some(status) = lp.status.as_ref() else {
        return Some("no status".into());
    };
    if status.observed_generation != lp.metadata.generation {
        return Some(format!(
            "observedGeneration {:?} but generation {:?}",
            status.observed_generation, lp.metadata.generation
        ));
    }
    let Some(track) = track else {
        return expect_invalid(status, Reason::TrackNotFound.as_str(), None, None);
    };
    match plan_objects(track, lp, crate::controller::now()) {
        Ok(expected) => {
            let (actual, expected) = (comparable(status), comparable(&expected));
            (actual != expected).then(|| differing_fields(&actual, &expected))
        }
        Err(PlanError::Invalid(invalid)) => expect_invalid(
            status,
            invalid.reason.as_str(),
            Some(&invalid.message),
            track.metadata.generation,
        ),
        Err(other) => Some(format!("cannot plan: {other}")),
    }
}

/// An invalid input keeps the last good plan, so only the conditions and generations are known.
fn expect_invalid(
    status: &LearningPathStatus,
    reason: &str,
    message: Option<&str>,
    track_generation: Option<i64>,
) -> Option<String> {
    if track_generation.is_some() && status.track_generation != track_generation {
        return Some(format!(
            "trackGeneration {:?} but the Track is at {:?}",
            status.track_generation, track_generation
        ));
    }
    let expected = [
        (condition_types::READY, "False"),
        (condition_types::STALLED, "True"),
        (condition_types::VALID, "False"),
    ];
    for (type_, want) in expected {
        let Some(c) = status.conditions.iter().find(|c| c.type_ == type_) else {
            return Some(format!(
                "no {type_} condition, expected {type_}={want} {reason}"
            ));
        };
        if c.status != want || c.reason != reason || message.is_some_and(|m| m != c.message) {
            return Some(format!(
                "{type_}={} {} ({:?}), expected {type_}={want} {reason}{}",
                c.status,
                c.reason,
                c.message,
                message.map(|m| format!(" ({m:?})")).unwrap_or_default()
            ));
        }
    }
    None
}

/// The status as JSON without transition times: they record when, not what.
fn comparable(status: &LearningPathStatus) -> Value {
    let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
    if let Some(conditions) = value.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conditions.iter_mut().filter_map(Value::as_object_mut) {
            c.remove("lastTransitionTime");
        }
    }
    value
}

fn differing_fields(actual: &Value, expected: &Value) -> String {
    let empty = serde_json::Map::new();
    let (a, e) = (
        actual.as_object().unwrap_or(&empty),
        expected.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = a.keys().chain(e.keys()).collect();
    keys.sort();
    keys.dedup();
    let fields: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != e.get(*k))
        .map(|k| match k.as_str() {
            "trackGeneration" => format!(
                "trackGeneration {} (expected {})",
                a.get(k).unwrap_or(&Value::Null),
                e.get(k).unwrap_or(&Value::Null)
            ),
            _ => k.clone(),
        })
        .collect();
    format!("status differs from the plan in {}", fields.join(", "))
}

/// Every object of `api`, a page of 500 at a time.
pub(crate) async fn list_all<K>(api: &Api<K>) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(items),
        }
    }
}

/// Lists every Track and the LearningPaths of `namespace` (all when `None`) and audits them.
///
/// # Errors
/// A failed list call.
pub async fn check_cluster(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Report, kube::Error> {
    let (tracks, paths) = list_cluster(client, namespace).await?;
    Ok(audit(&tracks, &paths))
}

/// Every Track, and the LearningPaths of `namespace` (all when `None`), straight from the API
/// server.
///
/// # Errors
/// A failed list call.
pub async fn list_cluster(
    client: &Client,
    namespace: Option<&str>,
) -> Result<(Vec<Track>, Vec<LearningPath>), kube::Error> {
    let paths: Api<LearningPath> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    // Tracks first: a Track edited between the two lists then shows as a mismatch (the learner
    // may not have caught up yet), never as a false match.
    let tracks = list_all(&Api::<Track>::all(client.clone())).await?;
    let paths = list_all(&paths).await?;
    Ok((tracks, paths))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::desired_status;

    fn example() -> (Track, LearningPath) {
        let mut track = crate::fixtures::example_track();
        track.metadata.generation = Some(3);
        let mut lp = crate::fixtures::example_learner("backend-engineer");
        lp.metadata.generation = Some(2);
        lp.metadata.namespace = Some("learners".into());
        (track, lp)
    }

    #[test]
    fn a_status_written_by_the_controller_passes() {
        let (track, mut lp) = example();
        lp.status = Some(desired_status(&lp, Some(&track), crate::controller::now()));
        let report = audit(&[track], &[lp]);
        assert_eq!(report.checked, 1);
        assert_eq!(report.mismatches, vec![]);
    }

    #[test]
    fn a_stale_track_generation_a_missing_status_and_an_old_generation_are_caught() {
        let (track, lp) = example();
        let mut stale = lp.clone();
        stale.metadata.name = Some("stale".into());
        stale.status = Some(desired_status(&lp, Some(&track), crate::controller::now()));
        let mut newer = track.clone();
        newer.metadata.generation = Some(4);

        let mut unplanned = lp.clone();
        unplanned.metadata.name = Some("unplanned".into());
        unplanned.status = None;

        let mut behind = stale.clone();
        behind.metadata.name = Some("behind".into());
        behind.metadata.generation = Some(5);

        let report = audit(&[newer], &[stale, unplanned, behind]);
        let problems: Vec<String> = report.mismatches.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("learners/behind: observedGeneration Some(2)"));
        assert!(
            problems[1].contains("learners/stale") && problems[1].contains("trackGeneration 3"),
            "{}",
            problems[1]
        );
        assert_eq!(problems[2], "learners/unplanned: no status");
    }

    #[test]
    fn a_changed_plan_is_caught_and_a_missing_track_expects_track_not_found() {
        let (track, lp) = example();
        let mut edited = lp.clone();
        edited.status = Some(desired_status(&lp, Some(&track), crate::controller::now()));
        edited.spec.hours_per_week = 2;
        let report = audit(std::slice::from_ref(&track), std::slice::from_ref(&edited));
        assert_eq!(report.mismatches.len(), 1, "{:?}", report.mismatches);

        // The same object, its Track gone: the only right status is TrackNotFound.
        let report = audit(&[], &[edited.clone()]);
        assert!(
            report.mismatches[0]
                .problem
                .contains("expected Ready=False TrackNotFound"),
            "{:?}",
            report.mismatches
        );
        edited.status = Some(desired_status(&edited, None, crate::controller::now()));
        assert_eq!(audit(&[], &[edited]).mismatches, vec![]);
    }
}
