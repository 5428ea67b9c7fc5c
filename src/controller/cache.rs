//! What the LearningPath cache keeps of each status.
//!
//! A written status is about 10 KB of roadmap; 10,000 learners would hold 100+ MB of it in the
//! reflector for nothing but a comparison. The cache keeps a digest of the whole status instead,
//! plus the small parts that the next reconcile reads: the conditions (their transition times),
//! the generations, the observed signals (an input of the next plan), what the events compare
//! (mastered modules, the ids of the triggered rules and of the first stage's modules,
//! progress), and the frozen exercises, which the cohort metrics count at each scrape (a learner
//! has few, often none). Texts only a new status needs are dropped: the rules' messages, and,
//! while the input is valid, the conditions' messages and the summary (an invalid input's verdict
//! keeps them: the next verdict is compared with them). An invalid input keeps the last good plan
//! without reading it: only its verdict is written, by a merge patch that leaves the plan's
//! fields in place (docs/controller.md §2, §5).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::OnceLock;

use crate::api::{LearningPath, LearningPathStatus, PlannedModule, Stage, TriggeredRule};
use crate::planner::condition_types;

/// A 128-bit digest of a status, stable within this process (two independently keyed SipHash
/// states; nothing is persisted, so per-process keys are fine).
pub type Digest = u128;

/// The [`Digest`] of a status.
pub fn digest(status: &LearningPathStatus) -> Digest {
    static KEYS: OnceLock<(RandomState, RandomState)> = OnceLock::new();
    let (a, b) = KEYS.get_or_init(|| (RandomState::new(), RandomState::new()));
    // Serializing a status cannot fail: it has no maps with non-string keys.
    let bytes = serde_json::to_vec(status).unwrap_or_default();
    let (mut ha, mut hb) = (a.build_hasher(), b.build_hasher());
    ha.write(&bytes);
    hb.write(&bytes);
    (u128::from(ha.finish()) << 64) | u128::from(hb.finish())
}

/// Replaces a status by its digest and the parts a reconcile reads (see the module docs).
pub fn trim(lp: &mut LearningPath) {
    let Some(status) = lp.status.take() else {
        return;
    };
    let cached_digest = Some(digest(&status));
    let valid = !is_invalid(&status);
    let first_stage = status.stages.into_iter().next().map(|stage| Stage {
        name: String::new(),
        hours: 0,
        modules: stage
            .modules
            .into_iter()
            .map(|m| PlannedModule {
                title: String::new(),
                ..m
            })
            .collect(),
    });
    let mut conditions = status.conditions;
    if valid {
        for c in &mut conditions {
            c.message = String::new();
        }
    }
    lp.status = Some(LearningPathStatus {
        observed_generation: status.observed_generation,
        track_generation: status.track_generation,
        conditions,
        progress: status.progress,
        stages: first_stage.into_iter().collect(),
        mastered: status.mastered,
        frozen_exercises: status.frozen_exercises,
        triggered_rules: status
            .triggered_rules
            .into_iter()
            .map(|r| TriggeredRule {
                rule: r.rule,
                message: String::new(),
                recommendation: None,
            })
            .collect(),
        observed_signals: status.observed_signals,
        summary: if valid { None } else { status.summary },
        cached_digest,
        ..LearningPathStatus::default()
    });
    shrink_lists(lp);
}

/// Gives back the spare capacity of every list a cached learner keeps: a list read from JSON
/// grows by doubling, so up to half of it can be empty, and the cache keeps it for as long as
/// the learner exists (docs/performance.md, session 8).
fn shrink_lists(lp: &mut LearningPath) {
    lp.spec.completed_exercises.shrink_to_fit();
    lp.spec.struggles.shrink_to_fit();
    for entry in &mut lp.spec.struggles {
        entry.failed_at.shrink_to_fit();
    }
    let Some(status) = lp.status.as_mut() else {
        return;
    };
    status.conditions.shrink_to_fit();
    for stage in &mut status.stages {
        stage.modules.shrink_to_fit();
    }
    status.mastered.shrink_to_fit();
    status.frozen_exercises.shrink_to_fit();
    status.triggered_rules.shrink_to_fit();
    status.observed_signals.shrink_to_fit();
}

/// Whether a status says the input is invalid (`Valid=False`).
pub fn is_invalid(status: &LearningPathStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == condition_types::VALID && c.status == "False")
}

/// Whether `lp`'s status was trimmed by [`trim`].
pub fn is_trimmed(lp: &LearningPath) -> bool {
    cached_digest(lp).is_some()
}

/// The digest [`trim`] left on a cached object.
pub fn cached_digest(lp: &LearningPath) -> Option<Digest> {
    lp.status.as_ref()?.cached_digest
}

/// Whether the stored status has the verdict of `desired` (conditions, generations, summary):
/// for an invalid input that is all that can change, as the plan is carried over.
pub fn same_verdict(lp: &LearningPath, desired: &LearningPathStatus) -> bool {
    lp.status.as_ref().is_some_and(|s| {
        s.conditions == desired.conditions
            && s.observed_generation == desired.observed_generation
            && s.track_generation == desired.track_generation
            && s.summary == desired.summary
    })
}

/// Whether the stored status already is the one whose [`digest`] is `desired`.
pub fn holds(lp: &LearningPath, desired: Digest) -> bool {
    match cached_digest(lp) {
        Some(stored) => stored == desired,
        None => lp.status.as_ref().is_some_and(|s| digest(s) == desired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{desired_status, now, transitions};

    fn planned() -> (crate::api::Track, LearningPath) {
        let track = crate::fixtures::example_track();
        let mut lp = crate::fixtures::example_learner("fast-mover");
        lp.status = Some(desired_status(&lp, Some(&track), now()));
        (track, lp)
    }

    #[test]
    fn a_trimmed_status_still_matches_what_it_was_and_nothing_else() {
        let (track, lp) = planned();
        let full = lp.status.clone().expect("status");
        let mut cached = lp.clone();
        trim(&mut cached);
        assert!(is_trimmed(&cached));
        let kept = serde_json::to_vec(cached.status.as_ref().expect("trimmed")).expect("json");
        let all = serde_json::to_vec(&full).expect("json");
        assert!(
            kept.len() * 2 < all.len(),
            "{} of {} bytes kept",
            kept.len(),
            all.len()
        );

        assert!(holds(&cached, digest(&full)));
        assert!(
            holds(&lp, digest(&full)),
            "an untrimmed object compares in full"
        );
        let mut other = full.clone();
        other.next_exercises.pop();
        assert!(
            !holds(&cached, digest(&other)),
            "a different status must not match"
        );
        assert!(!holds(&lp, digest(&other)));

        // The next reconcile computes the same status from the trimmed cache.
        assert_eq!(desired_status(&cached, Some(&track), now()), full);
    }

    #[test]
    fn a_cached_learner_read_from_json_keeps_no_spare_list_capacity() {
        let track = crate::fixtures::example_track();
        let mut lp = crate::fixtures::example_learner("backend-engineer");
        lp.status = Some(desired_status(&lp, Some(&track), now()));
        let json = serde_json::to_vec(&lp).expect("json");
        let mut cached: LearningPath = serde_json::from_slice(&json).expect("a LearningPath");
        let read = cached.status.as_ref().expect("status");
        // Three conditions and six mastered modules, read into lists that grew by doubling.
        assert!(read.conditions.capacity() > read.conditions.len());
        assert!(read.mastered.capacity() > read.mastered.len());

        trim(&mut cached);
        let kept = cached.status.as_ref().expect("trimmed");
        let slack = |len: usize, capacity: usize| capacity - len;
        assert_eq!(
            [
                slack(kept.conditions.len(), kept.conditions.capacity()),
                slack(kept.mastered.len(), kept.mastered.capacity()),
                slack(kept.triggered_rules.len(), kept.triggered_rules.capacity()),
                slack(
                    kept.stages[0].modules.len(),
                    kept.stages[0].modules.capacity()
                ),
                slack(
                    cached.spec.completed_exercises.len(),
                    cached.spec.completed_exercises.capacity()
                ),
            ],
            [0; 5]
        );
    }

    #[test]
    fn a_trimmed_status_keeps_the_frozen_exercises_the_metrics_count() {
        let track = crate::fixtures::example_track();
        let mut lp = crate::fixtures::example_learner("frontend-to-backend");
        lp.status = Some(desired_status(&lp, Some(&track), now()));
        let frozen = lp.status.as_ref().expect("status").frozen_exercises.clone();
        assert_eq!(
            frozen
                .iter()
                .map(|f| f.exercise.as_str())
                .collect::<Vec<_>>(),
            ["short-link-service"],
            "the example learner has one frozen exercise"
        );
        trim(&mut lp);
        assert_eq!(lp.status.expect("trimmed").frozen_exercises, frozen);
    }

    #[test]
    fn events_from_a_trimmed_status_are_the_events_from_the_full_one() {
        let (track, lp) = planned();
        let mut next = lp.clone();
        next.spec.assessment.insert("go-modules".into(), 100);
        next.spec.assessment.insert("k8s-basics".into(), 100);
        let new = desired_status(&next, Some(&track), now());
        let mut cached = lp.clone();
        trim(&mut cached);
        let from_full = transitions(lp.status.as_ref(), &new);
        let from_trimmed = transitions(cached.status.as_ref(), &new);
        assert!(!from_full.is_empty(), "the edit should be news");
        let words = |events: &[kube::runtime::events::Event]| -> Vec<(String, Option<String>)> {
            events
                .iter()
                .map(|e| (e.reason.clone(), e.note.clone()))
                .collect()
        };
        assert_eq!(words(&from_full), words(&from_trimmed));
    }
}
