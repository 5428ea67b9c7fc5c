//! Re-listing without holding the list twice (docs/controller.md §9).
//!
//! kube's reflector collects a re-list into a second map and swaps it in at the end, so during a
//! re-list (after 410 Gone, or an API server restart) the cache exists twice; and a paginated
//! list from the API server's watch cache may arrive as one response. Here a re-list instead
//! updates the cache in place, object by object, and removes what the new listing lacks at its
//! end; and where the API server streams the initial list as watch events (WatchList,
//! `sendInitialEvents`), no list response is held at all.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, WatchEvent, WatchParams};
use kube::runtime::reflector::{Lookup, ObjectRef, Store};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tracing::info;

type WatchItem<K> = Result<watcher::Event<K>, watcher::Error>;

/// Page size of a paginated list, where lists cannot be streamed: a page of full objects is what
/// a re-list holds at a time.
const PAGE_SIZE: u32 = 100;

/// The watch configuration: streamed initial lists where the API server supports them, else
/// lists from its watch cache in bounded pages.
pub(super) fn watch_config(streaming: bool) -> watcher::Config {
    if streaming {
        watcher::Config::default().streaming_lists()
    } else {
        watcher::Config::default()
            .any_semantic()
            .page_size(PAGE_SIZE)
    }
}

/// Whether the API server streams an initial list as watch events: a watch with
/// `sendInitialEvents` for a label that no object carries must end its (empty) initial list
/// with the `k8s.io/initial-events-end` bookmark.
pub(super) async fn streaming_lists_supported<K>(api: &Api<K>) -> bool
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let params = WatchParams {
        label_selector: Some("learnpath.dev/streaming-list-probe=none".into()),
        bookmarks: true,
        send_initial_events: true,
        timeout: Some(10),
        ..WatchParams::default()
    };
    let probe = async {
        let Ok(stream) = api.watch(&params, "0").await else {
            return false;
        };
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(WatchEvent::Bookmark(b))
                    if b.metadata
                        .annotations
                        .contains_key("k8s.io/initial-events-end") =>
                {
                    return true;
                }
                Ok(WatchEvent::Error(_)) | Err(_) => return false,
                Ok(_) => {}
            }
        }
        false
    };
    let supported = tokio::time::timeout(Duration::from_secs(15), probe)
        .await
        .unwrap_or(false);
    info!(
        streaming = supported,
        "initial lists: {}",
        if supported {
            "streamed as watch events"
        } else {
            "paginated from the watch cache"
        }
    );
    supported
}

/// Turns every listing after the first into updates in place: each listed object an `Apply`,
/// then a `Delete` for each cached object the listing lacked. The first listing passes as it
/// is (the cache is empty then, so kube's buffer is its only copy).
pub(super) fn in_place<K>(
    store: Store<K>,
) -> impl FnMut(WatchItem<K>) -> futures::stream::Iter<std::vec::IntoIter<WatchItem<K>>>
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    let mut relist = InPlace::new(store);
    move |item| futures::stream::iter(relist.translate(item))
}

struct InPlace<K: Lookup + Clone + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    listed_once: bool,
    /// The objects of the listing in progress, after the first.
    seen: HashSet<ObjectRef<K>>,
}

impl<K> InPlace<K>
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone + Default,
{
    fn new(store: Store<K>) -> Self {
        InPlace {
            store,
            listed_once: false,
            seen: HashSet::new(),
        }
    }

    fn translate(&mut self, item: WatchItem<K>) -> Vec<WatchItem<K>> {
        let event = match item {
            Ok(event) => event,
            Err(e) => return vec![Err(e)],
        };
        if !self.listed_once {
            if matches!(event, watcher::Event::InitDone) {
                self.listed_once = true;
            }
            return vec![Ok(event)];
        }
        match event {
            watcher::Event::Init => {
                self.seen.clear();
                Vec::new()
            }
            watcher::Event::InitApply(obj) => {
                self.seen.insert(obj.to_object_ref(Default::default()));
                vec![Ok(watcher::Event::Apply(obj))]
            }
            watcher::Event::InitDone => {
                let seen = std::mem::take(&mut self.seen);
                self.store
                    .state()
                    .into_iter()
                    .filter(|obj| !seen.contains(&obj.to_object_ref(Default::default())))
                    .map(|obj| Ok(watcher::Event::Delete((*obj).clone())))
                    .collect()
            }
            other => vec![Ok(other)],
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use kube::runtime::WatchStreamExt;
    use kube::runtime::reflector;

    use super::*;
    use crate::api::LearningPath;
    use crate::fixtures;

    fn learner(name: &str, version: &str) -> LearningPath {
        let mut lp = fixtures::example_learner("fast-mover");
        lp.metadata.name = Some(name.into());
        lp.metadata.resource_version = Some(version.into());
        lp
    }

    fn names(store: &Store<LearningPath>) -> Vec<String> {
        let mut names: Vec<String> = store
            .state()
            .iter()
            .map(|lp| lp.metadata.name.clone().unwrap_or_default())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_relist_updates_the_cache_in_place_and_never_holds_it_twice() {
        let (store, writer) = reflector::store::<LearningPath>();
        let listing = |objects: Vec<LearningPath>| {
            let mut events = vec![watcher::Event::Init];
            events.extend(objects.into_iter().map(watcher::Event::InitApply));
            events.push(watcher::Event::InitDone);
            events
        };
        let mut events = listing(vec![
            learner("a", "1"),
            learner("b", "1"),
            learner("c", "1"),
        ]);
        // The API server restarted: b changed, c was deleted meanwhile, d is new.
        events.extend(listing(vec![
            learner("a", "1"),
            learner("b", "2"),
            learner("d", "1"),
        ]));
        let mut sizes = Vec::new();
        let applied: Vec<String> = futures::stream::iter(events.into_iter().map(Ok))
            .flat_map(in_place(store.clone()))
            .reflect(writer)
            .inspect(|_| sizes.push(store.state().len()))
            .applied_objects()
            .filter_map(|lp| async move { lp.ok().and_then(|lp| lp.metadata.name) })
            .collect()
            .await;
        assert_eq!(names(&store), ["a", "b", "d"]);
        let b = store
            .state()
            .into_iter()
            .find(|lp| lp.metadata.name.as_deref() == Some("b"))
            .expect("b");
        assert_eq!(b.metadata.resource_version.as_deref(), Some("2"));
        // Every listed object still triggers its reconcile, as from a plain re-list.
        assert_eq!(applied, ["a", "b", "c", "a", "b", "d"]);
        // The cache never held more than the objects there are: the first listing fills it at
        // its end (kube's buffer, the only copy then); the re-list replaces objects one by one
        // (4 with d before c is removed), never beside a second copy of the whole list.
        assert_eq!(sizes.iter().max(), Some(&4), "{sizes:?}");
        let during_relist = &sizes[5..];
        assert!(
            during_relist.iter().all(|&n| n >= 3),
            "objects stay readable during the re-list: {sizes:?}"
        );
    }
}
