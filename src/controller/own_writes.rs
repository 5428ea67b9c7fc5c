//! Recognises the watch event of our own status write, so that it triggers no second reconcile.
//!
//! Each write comes back as a ~12 KB watch event. Reconciling it again would find nothing to do,
//! but would cost a plan, a digest and, worse, a place in the queue ahead of a person's edit. The
//! event can come back before the write's response does (they travel on different connections),
//! so a whole status is registered before it is sent and recognised by its content.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::LearningPath;

use super::cache;

type Ref = ObjectRef<LearningPath>;

#[derive(Debug)]
enum Expected {
    /// A whole status: the spec generation it was computed for, and its digest.
    Status {
        generation: Option<i64>,
        digest: cache::Digest,
    },
    /// A verdict merged into a plan this process does not hold: only the resourceVersion the
    /// response returned can tell its event.
    Version(String),
}

/// Status writes whose watch events have not come back yet: at most one per object.
#[derive(Debug, Default)]
pub struct OwnWrites(Mutex<HashMap<Ref, Expected>>);

/// The first pass after a start writes every learner: once all came back, the map gives back
/// the buckets it grew to (megabytes at 10,000 learners).
fn release_emptied(map: &mut HashMap<Ref, Expected>) {
    if map.is_empty() {
        map.shrink_to_fit();
    }
}

impl OwnWrites {
    fn map(&self) -> MutexGuard<'_, HashMap<Ref, Expected>> {
        // Every update is a single map operation: a panic elsewhere cannot leave it torn.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// About to write the status with this digest, computed for `lp`'s current spec.
    pub fn expect_status(&self, lp: &LearningPath, digest: cache::Digest) {
        self.map().insert(
            ObjectRef::from_obj(lp),
            Expected::Status {
                generation: lp.metadata.generation,
                digest,
            },
        );
    }

    /// Wrote a verdict by merge patch; the object is now at `version`.
    pub fn expect_version(&self, lp: &LearningPath, version: String) {
        self.map()
            .insert(ObjectRef::from_obj(lp), Expected::Version(version));
    }

    /// The write failed: no event will come back for it.
    pub fn forget(&self, lp: &LearningPath) {
        let mut map = self.map();
        map.remove(&ObjectRef::from_obj(lp));
        release_emptied(&mut map);
    }

    /// Whether this (cached, trimmed) watch event is our own write coming back: the object then
    /// holds exactly what we computed for its current spec. Forgotten once seen, or once the spec
    /// has moved past the one it was written for.
    pub fn is_own(&self, lp: &LearningPath) -> bool {
        let key = ObjectRef::from_obj(lp);
        let mut map = self.map();
        // Our write may have landed on a spec edited after we read it: then the object holds a
        // status for an older generation, and it needs a reconcile like any edit.
        let generation = lp.metadata.generation;
        let current = lp.status.as_ref().and_then(|s| s.observed_generation) == generation;
        let matched = match map.get(&key) {
            None => return false,
            Some(Expected::Version(version)) => {
                current && lp.resource_version().as_deref() == Some(version.as_str())
            }
            Some(Expected::Status {
                generation: written_for,
                digest,
            }) => {
                // The spec moved past the one we wrote for: no event will match any more.
                if generation > *written_for {
                    map.remove(&key);
                    release_emptied(&mut map);
                    return false;
                }
                // An earlier event (one that led to this write, say) can arrive while the write
                // is in flight: keep waiting for ours.
                if !(current
                    && generation == *written_for
                    && cache::cached_digest(lp) == Some(*digest))
                {
                    return false;
                }
                true
            }
        };
        map.remove(&key);
        release_emptied(&mut map);
        matched
    }

    /// Writes still waiting for their event.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether no write waits for its event.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LearningPathStatus;

    fn learner(
        generation: i64,
        observed: Option<i64>,
        summary: &str,
        version: &str,
    ) -> LearningPath {
        let mut lp: LearningPath = serde_json::from_value(serde_json::json!({
            "apiVersion": "learnpath.dev/v1alpha1",
            "kind": "LearningPath",
            "metadata": {"name": "ada", "namespace": "ns"},
            "spec": {"trackRef": {"name": "go"}, "learner": {"name": "Ada"}, "industry": "cloud", "role": "backend"},
        }))
        .expect("a LearningPath");
        lp.metadata.generation = Some(generation);
        lp.metadata.resource_version = Some(version.into());
        lp.status = observed.map(|g| LearningPathStatus {
            observed_generation: Some(g),
            summary: Some(summary.into()),
            ..LearningPathStatus::default()
        });
        cache::trim(&mut lp);
        lp
    }

    fn digest_of(lp: &LearningPath) -> cache::Digest {
        cache::cached_digest(lp).expect("trimmed")
    }

    #[test]
    fn our_status_is_recognised_even_before_the_response_and_only_once() {
        let own = OwnWrites::default();
        let before = learner(3, Some(2), "old", "10");
        let written = learner(3, Some(3), "new", "11");
        own.expect_status(&before, digest_of(&written));
        // The edit that caused the write, seen late: not ours, and ours is still awaited.
        assert!(!own.is_own(&before));
        assert!(!own.is_own(&learner(2, Some(2), "older", "9")));
        assert_eq!(own.len(), 1);
        assert!(own.is_own(&written));
        assert!(own.is_empty());
        assert!(!own.is_own(&written), "recognised once");
    }

    #[test]
    fn a_write_on_a_spec_edited_meanwhile_is_not_ours_to_skip() {
        let own = OwnWrites::default();
        let read = learner(3, Some(2), "old", "10");
        own.expect_status(&read, digest_of(&learner(3, Some(3), "new", "11")));
        // A person edited the spec (generation 4) before our write for generation 3 landed.
        let landed = learner(4, Some(3), "new", "12");
        assert!(!own.is_own(&landed), "generation 4 has no plan yet");
        assert!(
            own.is_empty(),
            "the spec moved on: nothing left to wait for"
        );
    }

    #[test]
    fn someone_elses_status_at_the_same_generation_is_not_ours() {
        let own = OwnWrites::default();
        let read = learner(3, Some(2), "old", "10");
        own.expect_status(&read, digest_of(&learner(3, Some(3), "new", "11")));
        assert!(!own.is_own(&learner(3, Some(3), "forged", "12")));
        own.forget(&read);
        assert!(own.is_empty());
    }

    #[test]
    fn a_merged_verdict_is_recognised_by_its_resource_version() {
        let own = OwnWrites::default();
        let read = learner(5, Some(4), "old", "20");
        own.expect_version(&read, "21".into());
        assert!(!own.is_own(&learner(5, Some(5), "verdict", "22")));
        assert!(own.is_empty(), "a version is matched once, right or wrong");
        own.expect_version(&read, "23".into());
        assert!(own.is_own(&learner(5, Some(5), "verdict", "23")));
    }
}
