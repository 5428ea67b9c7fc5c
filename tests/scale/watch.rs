//! Following the learners as a person would: through a watch of the harness's own, and lists
//! of every page.

use std::time::Instant;

use futures::StreamExt;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use learnpath::api::LearningPath;

/// Every LearningPath, listed a page of 1,000 at a time.
pub(crate) async fn list_all(api: &Api<LearningPath>) -> Vec<LearningPath> {
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(1000);
    loop {
        let page = api.list(&params).await.expect("list");
        out.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return out,
        }
    }
}

/// The observedGeneration of every learner's status as the harness's watch last saw it, by
/// `namespace/name`.
pub(crate) type Shown = std::collections::HashMap<String, i64>;

/// Follows the learners on `track` through the harness's own watch (not the operator's). The
/// first receiver resolves once the watch has listed them all, the second at the moment its
/// watch shows all `n` of them with `target` as their trackGeneration. Throughout, it publishes
/// each learner's observedGeneration on `shown`, so that edits are seen without polling; it
/// runs until it is aborted.
pub(crate) fn follow_track_generation(
    api: Api<LearningPath>,
    track: String,
    target: Option<i64>,
    n: usize,
    shown: tokio::sync::watch::Sender<Shown>,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Receiver<Instant>,
) {
    use kube::runtime::WatchStreamExt;
    use kube::runtime::watcher::{self, Event};
    let (listed_tx, listed_rx) = tokio::sync::oneshot::channel();
    let (converged_tx, converged_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut listed = Some(listed_tx);
        let mut converged = Some(converged_tx);
        let mut on_target: std::collections::HashMap<String, bool> = Default::default();
        let mut done = 0usize;
        let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Apply(lp) | Event::InitApply(lp)) if lp.spec.track_ref.name == track => {
                    let on = lp.status.as_ref().and_then(|s| s.track_generation) == target;
                    let key = format!("{}/{}", lp.namespace().unwrap_or_default(), lp.name_any());
                    if let Some(observed) = lp.status.as_ref().and_then(|s| s.observed_generation) {
                        shown.send_modify(|m| {
                            m.insert(key.clone(), observed);
                        });
                    }
                    match (on_target.insert(key, on).unwrap_or(false), on) {
                        (false, true) => done += 1,
                        (true, false) => done -= 1,
                        _ => {}
                    }
                }
                Ok(Event::InitDone) => {
                    if let Some(tx) = listed.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("harness watch: {e}"),
            }
            if listed.is_none()
                && done == n
                && let Some(tx) = converged.take()
            {
                let _ = tx.send(Instant::now());
            }
        }
        panic!("the harness's watch ended");
    });
    (task, listed_rx, converged_rx)
}
