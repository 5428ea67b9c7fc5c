//! The stream steps between the API server's watches and the controller: back off quietly,
//! re-list at once after 410 Gone, keep the caches small, count re-lists, and turn Track events
//! into the Tracks whose learners need a new plan (docs/controller.md §2, §4, §9).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use kube::runtime::utils::ResetTimerBackoff;
use kube::runtime::watcher::{self, ExponentialBackoff};
use kube::{Resource, ResourceExt};
use tracing::info;

use crate::api::Track;

use super::metrics::{self, Metrics};

/// Watches come back within seconds of the API server returning: client-go's default backoff
/// (up to 30 s) would leave learners stale for too long after an apiserver restart. Jitter adds
/// up to the delay again, so a retry comes at most 4 s after the previous one.
pub(super) fn watch_backoff() -> ResetTimerBackoff<ExponentialBackoff> {
    let builder = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(2))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    ResetTimerBackoff::new(ExponentialBackoff::from(builder), Duration::from_secs(60))
}

type WatchItem<K> = Result<watcher::Event<K>, watcher::Error>;

/// Turns Track watch events into the names of the Tracks whose learners must be replanned: a new
/// generation (a spec change) or a deletion. Status and metadata-only updates, such as the
/// Track status this operator writes itself, would otherwise send every learner through a second
/// reconcile while its cached status may still be stale, and cause a duplicate write. The first
/// listing triggers nothing: every learner is reconciled at startup anyway. A later re-list
/// (after a watch expired) triggers the Tracks that changed or disappeared while the watch was
/// down.
pub(super) fn spec_changes() -> impl FnMut(
    WatchItem<Track>,
) -> futures::stream::Iter<
    std::vec::IntoIter<Result<String, watcher::Error>>,
> {
    let mut generations = SpecGenerations::default();
    move |event| futures::stream::iter(generations.changed(event))
}

/// The generation of every Track seen, for [`spec_changes`].
#[derive(Default)]
struct SpecGenerations {
    seen: HashMap<String, Option<i64>>,
    /// The Tracks of the listing in progress.
    listing: HashSet<String>,
    listed_once: bool,
}

impl SpecGenerations {
    fn changed(&mut self, event: WatchItem<Track>) -> Vec<Result<String, watcher::Error>> {
        match event {
            Err(e) => vec![Err(e)],
            Ok(watcher::Event::Apply(track)) => self.record(&track).into_iter().map(Ok).collect(),
            Ok(watcher::Event::InitApply(track)) => {
                self.listing.insert(track.name_any());
                let changed = self.record(&track);
                changed
                    .filter(|_| self.listed_once)
                    .into_iter()
                    .map(Ok)
                    .collect()
            }
            Ok(watcher::Event::Delete(track)) => {
                let name = track.name_any();
                self.seen.remove(&name);
                vec![Ok(name)]
            }
            Ok(watcher::Event::Init) => {
                self.listing.clear();
                Vec::new()
            }
            Ok(watcher::Event::InitDone) => {
                let gone = self.forget_unlisted();
                let first = !std::mem::replace(&mut self.listed_once, true);
                if first {
                    Vec::new()
                } else {
                    gone.into_iter().map(Ok).collect()
                }
            }
        }
    }

    /// Remembers the Track's generation; its name when it is new or differs from the last seen.
    fn record(&mut self, track: &Track) -> Option<String> {
        let (name, generation) = (track.name_any(), track.metadata.generation);
        (self.seen.insert(name.clone(), generation) != Some(generation)).then_some(name)
    }

    /// Tracks deleted while the watch was down: seen before, absent from the new listing.
    fn forget_unlisted(&mut self) -> Vec<String> {
        let listing = std::mem::take(&mut self.listing);
        let mut gone: Vec<String> = self
            .seen
            .keys()
            .filter(|name| !listing.contains(*name))
            .cloned()
            .collect();
        gone.sort();
        for name in &gone {
            self.seen.remove(name);
        }
        gone
    }
}

/// A 410 Gone (the watch's resourceVersion was compacted or predates a restarted API server's
/// cache) only means "list again", and the watcher has already reset itself to do so. The error
/// is logged and dropped here, before the backoff layer, which would otherwise wait seconds
/// before the re-list. A failing list is a different error and still backs off.
pub(super) fn relist_at_once<K>(
    resource: &'static str,
) -> impl FnMut(&WatchItem<K>) -> std::future::Ready<bool> + use<K> {
    move |item| {
        let expired = is_expired(item);
        if expired {
            info!(resource, "watch expired (410 Gone): listing again");
        }
        std::future::ready(!expired)
    }
}

fn is_expired<K>(item: &WatchItem<K>) -> bool {
    matches!(item, Err(watcher::Error::WatchError(status)) if status.code == 410)
}

/// Counts the start of every full listing, so that a re-list after an expired watch shows.
pub(super) fn count_relists<K>(
    metrics: &Metrics,
    resource: &'static str,
) -> impl FnMut(&WatchItem<K>) + use<K> {
    let counter = metrics
        .relists
        .get_or_create(&metrics::ResourceLabels { resource })
        .clone();
    move |event| {
        if let Ok(watcher::Event::Init) = event {
            counter.inc();
        }
    }
}

/// Keeps only what the planner and the status comparison need in the caches.
pub(super) fn strip<K: Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
    if let Some(annotations) = obj.meta_mut().annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    use super::*;
    use crate::fixtures;

    fn track(name: &str, generation: i64) -> Track {
        let mut track = fixtures::example_track();
        track.metadata.name = Some(name.into());
        track.metadata.generation = Some(generation);
        track
    }

    fn names(g: &mut SpecGenerations, events: Vec<watcher::Event<Track>>) -> Vec<String> {
        events
            .into_iter()
            .flat_map(|e| g.changed(Ok(e)))
            .map(|t| t.unwrap_or_else(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn the_first_listing_triggers_nothing_and_only_spec_changes_trigger_after_it() {
        let mut g = SpecGenerations::default();
        let got = names(
            &mut g,
            vec![
                watcher::Event::Init,
                watcher::Event::InitApply(track("a", 1)),
                watcher::Event::InitDone,
                // Our own status write: same generation.
                watcher::Event::Apply(track("a", 1)),
                watcher::Event::Apply(track("a", 2)),
                watcher::Event::Apply(track("b", 1)),
                watcher::Event::Delete(track("b", 1)),
            ],
        );
        assert_eq!(got, ["a", "b", "b"]);
    }

    #[test]
    fn a_relist_triggers_the_tracks_that_changed_or_vanished_while_the_watch_was_down() {
        let mut g = SpecGenerations::default();
        let first = names(
            &mut g,
            vec![
                watcher::Event::Init,
                watcher::Event::InitApply(track("a", 1)),
                watcher::Event::InitApply(track("b", 1)),
                watcher::Event::InitApply(track("c", 1)),
                watcher::Event::InitDone,
            ],
        );
        assert!(first.is_empty());
        let got = names(
            &mut g,
            vec![
                watcher::Event::Init,
                watcher::Event::InitApply(track("a", 1)),
                watcher::Event::InitApply(track("b", 3)),
                watcher::Event::InitDone,
            ],
        );
        assert_eq!(got, ["b", "c"]);
        // c is forgotten: a later Track of that name is new again.
        assert_eq!(
            names(&mut g, vec![watcher::Event::Apply(track("c", 1))]),
            ["c"]
        );
    }

    #[test]
    fn only_410_gone_is_dropped_for_an_immediate_relist() {
        let status = |code| {
            watcher::Error::WatchError(Box::new(kube::core::Status {
                code,
                ..Default::default()
            }))
        };
        assert!(is_expired::<Track>(&Err(status(410))));
        assert!(!is_expired::<Track>(&Err(status(500))));
        assert!(!is_expired::<Track>(&Ok(watcher::Event::InitDone)));
    }

    #[test]
    fn strip_drops_managed_fields_and_the_last_applied_annotation_only() {
        let mut t = track("a", 1);
        t.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
        t.metadata.annotations = Some(
            [
                (
                    "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                    "{}".to_string(),
                ),
                ("team".to_string(), "platform".to_string()),
            ]
            .into(),
        );
        strip(&mut t);
        assert!(t.metadata.managed_fields.is_none());
        assert_eq!(
            t.metadata
                .annotations
                .map(|a| a.into_keys().collect::<Vec<_>>()),
            Some(vec!["team".to_string()])
        );
    }
}
