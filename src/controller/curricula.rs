//! Tracks checked and indexed once per generation.
//!
//! A Track change replans every learner on it, all against the same Track generation. Checking
//! and indexing the Track was half of each plan; here it is done by the first reconcile that
//! needs a generation, and every other one shares the result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use kube::ResourceExt;

use crate::api::Track;
use crate::planner::Curriculum;

/// Which Track object, at which generation: a deleted and recreated Track has a new uid and
/// starts again at generation 1.
#[derive(Clone, Debug, PartialEq)]
struct Version {
    uid: Option<String>,
    generation: Option<i64>,
}

impl Version {
    fn of(track: &Track) -> Self {
        Version {
            uid: track.metadata.uid.clone(),
            generation: track.metadata.generation,
        }
    }

    /// Whether `self` may replace `cached`: a reconcile that read the store just before a
    /// change must not evict the newer generation that others already use.
    fn replaces(&self, cached: &Version) -> bool {
        self.uid != cached.uid || self.generation > cached.generation
    }
}

/// One Track generation, indexed (once, by whoever needs it first).
#[derive(Debug)]
struct Entry {
    version: Version,
    curriculum: OnceLock<Arc<Curriculum>>,
}

/// The indexed form of each Track, by name, at the newest generation seen.
#[derive(Debug, Default)]
pub struct Curricula {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
}

impl Curricula {
    /// `track` checked and indexed: shared with every other reconcile of the same Track
    /// generation.
    pub fn get(&self, track: &Track) -> Arc<Curriculum> {
        let version = Version::of(track);
        let name = track.name_any();
        let entry = {
            let mut entries = self.lock();
            match entries.get(&name) {
                Some(entry) if entry.version == version => entry.clone(),
                cached => {
                    let entry = Arc::new(Entry {
                        version,
                        curriculum: OnceLock::new(),
                    });
                    if cached.is_none_or(|c| entry.version.replaces(&c.version)) {
                        entries.insert(name, entry.clone());
                    }
                    entry
                }
            }
        };
        // Outside the map's lock: indexing a large Track takes milliseconds, and reconciles of
        // other Tracks need not wait for it. Those of the same generation wait and share it.
        entry
            .curriculum
            .get_or_init(|| Arc::new(Curriculum::new(track.spec.clone())))
            .clone()
    }

    /// Drops the Tracks that `exists` no longer knows.
    pub fn retain(&self, exists: impl Fn(&str) -> bool) {
        self.lock().retain(|name, _| exists(name));
    }

    /// How many Tracks are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no Track is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        // The map is consistent after every statement; a panic elsewhere cannot break it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(uid: &str, generation: i64, title: &str) -> Track {
        let mut track = crate::fixtures::example_track();
        track.metadata.uid = Some(uid.to_string());
        track.metadata.generation = Some(generation);
        track.spec.title = title.to_string();
        track
    }

    #[test]
    fn one_generation_is_indexed_once_and_shared() {
        let curricula = Curricula::default();
        let first = curricula.get(&track("u1", 1, "one"));
        let again = curricula.get(&track("u1", 1, "one"));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(curricula.len(), 1);
    }

    #[test]
    fn a_new_generation_or_a_recreated_track_is_indexed_again() {
        let curricula = Curricula::default();
        let first = curricula.get(&track("u1", 1, "one"));
        let second = curricula.get(&track("u1", 2, "two"));
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(second.track().title, "two");
        // Deleted and recreated under the same name: generation 1 again, but a new uid.
        let recreated = curricula.get(&track("u2", 1, "three"));
        assert_eq!(recreated.track().title, "three");
        assert!(Arc::ptr_eq(
            &recreated,
            &curricula.get(&track("u2", 1, "three"))
        ));
        assert_eq!(curricula.len(), 1);
    }

    #[test]
    fn a_late_reader_of_an_older_generation_does_not_evict_the_newer_one() {
        let curricula = Curricula::default();
        let newer = curricula.get(&track("u1", 3, "new"));
        let older = curricula.get(&track("u1", 2, "old"));
        assert_eq!(older.track().title, "old", "it still plans what it read");
        assert!(Arc::ptr_eq(&newer, &curricula.get(&track("u1", 3, "new"))));
    }

    #[test]
    fn deleted_tracks_are_dropped() {
        let curricula = Curricula::default();
        let mut other = track("u9", 1, "other");
        other.metadata.name = Some("other".into());
        curricula.get(&track("u1", 1, "one"));
        curricula.get(&other);
        assert_eq!(curricula.len(), 2);
        curricula.retain(|name| name == "other");
        assert_eq!(curricula.len(), 1);
        curricula.retain(|_| false);
        assert!(curricula.is_empty());
    }
}
