//! Living signals (docs/signals.md): SignalSources collected by the operator itself, their values
//! kept in memory per source, and handed to each learner's reconcile.
//!
//! - [`observed`]: which values a learner plans from (pure).
//! - [`sources`]: one collector task per SignalSource, started and stopped as sources change.
//! - [`collector`]: a source's rounds: collect, compare, replan the learners whose values
//!   changed, report in the source's status.
//! - [`source_status`]: that status (pure) and its write.

pub mod collector;
pub mod observed;
pub mod source_status;
pub mod sources;

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use kube::runtime::reflector::{ObjectRef, Store};

use crate::api::LearningPath;

pub use observed::{Collected, Seen, SourceView, learner_key, observed_for};

/// Every SignalSource as the reconciles see it, updated by the collectors.
#[derive(Debug, Default)]
pub struct SignalHub {
    sources: RwLock<BTreeMap<String, SourceView>>,
}

impl SignalHub {
    /// A snapshot of every source, for one reconcile.
    pub fn views(&self) -> Vec<SourceView> {
        self.read().values().cloned().collect()
    }

    /// One source's view.
    pub fn get(&self, name: &str) -> Option<SourceView> {
        self.read().get(name).cloned()
    }

    /// Adds or replaces a source's view.
    pub fn set(&self, view: SourceView) {
        self.write().insert(view.name.clone(), view);
    }

    /// Changes a source's view in place, if it is still there.
    pub fn update(&self, name: &str, change: impl FnOnce(&mut SourceView)) {
        if let Some(view) = self.write().get_mut(name) {
            change(view);
        }
    }

    /// Removes a source; its last view.
    pub fn remove(&self, name: &str) -> Option<SourceView> {
        self.write().remove(name)
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, SourceView>> {
        // Every write is one map operation: a panic elsewhere cannot leave it torn.
        self.sources
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, SourceView>> {
        self.sources
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The learners a source applies to whose key is in `keys` (all of its learners when `keys` is
/// `None`), from the cache: no list call.
pub fn learners_of(
    paths: &Store<LearningPath>,
    view: &SourceView,
    keys: Option<&[String]>,
) -> Vec<ObjectRef<LearningPath>> {
    paths
        .state()
        .iter()
        .filter(|lp| view.selects(lp))
        .filter(|lp| {
            keys.is_none_or(|keys| {
                learner_key(lp, view.match_by).is_some_and(|k| keys.binary_search(&k).is_ok())
            })
        })
        .map(|lp| ObjectRef::from_obj(lp.as_ref()))
        .collect()
}

/// How many of a source's learners have at least one value from it.
pub fn learners_with_values(paths: &Store<LearningPath>, view: &SourceView) -> usize {
    let Some(collected) = &view.collected else {
        return 0;
    };
    paths
        .state()
        .iter()
        .filter(|lp| view.selects(lp))
        .filter(|lp| {
            learner_key(lp, view.match_by).is_some_and(|k| collected.values.contains_key(&k))
        })
        .count()
}
