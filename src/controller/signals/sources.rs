//! One collector task per SignalSource: started when a source appears or its spec changes,
//! stopped (and its values withdrawn) when it is deleted (docs/signals.md §5, §6).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::{Stream, StreamExt};
use kube::ResourceExt;
use kube::core::Selector;
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::api::SignalSource;

use super::super::Context;
use super::collector::{self, Settings};
use super::{SourceView, learners_of};

/// A running collector and the spec generation it collects for.
struct Running {
    generation: Option<i64>,
    task: JoinHandle<()>,
}

/// Follows the SignalSource watch (after its cache) until it ends, keeping one collector per
/// source; every collector is stopped when it ends.
pub async fn supervise(
    events: impl Stream<Item = Result<watcher::Event<SignalSource>, watcher::Error>>,
    ctx: Arc<Context>,
    settings: Settings,
    store: Store<SignalSource>,
) {
    let mut running: HashMap<String, Running> = HashMap::new();
    // A listing's sources reach the cache only when it is complete: their collectors, which
    // read the source from the cache, start then.
    let mut listing: Vec<SignalSource> = Vec::new();
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(source)) => {
                follow(&mut running, &source, &ctx, &settings, &store);
            }
            Ok(watcher::Event::InitApply(source)) => listing.push(source),
            Ok(watcher::Event::Delete(source)) => stop(&mut running, &source.name_any(), &ctx),
            Ok(watcher::Event::Init) => listing.clear(),
            Ok(watcher::Event::InitDone) => {
                let listed: HashSet<String> = listing.iter().map(ResourceExt::name_any).collect();
                // Sources deleted while the watch was down.
                let gone: Vec<String> = running
                    .keys()
                    .filter(|name| !listed.contains(*name))
                    .cloned()
                    .collect();
                for name in gone {
                    stop(&mut running, &name, &ctx);
                }
                for source in std::mem::take(&mut listing) {
                    follow(&mut running, &source, &ctx, &settings, &store);
                }
            }
            Err(e) => warn!(error = %e, "SignalSource watch"),
        }
    }
    for (_, r) in running {
        r.task.abort();
    }
}

/// Collects a source if it is this operator's (see [`Settings::collects`]), else stops
/// collecting it (another operator's, or one that stopped being ours).
fn follow(
    running: &mut HashMap<String, Running>,
    source: &SignalSource,
    ctx: &Arc<Context>,
    settings: &Settings,
    store: &Store<SignalSource>,
) {
    if settings.collects(source) {
        start(running, source, ctx, settings, store);
    } else {
        stop(running, &source.name_any(), ctx);
    }
}

/// Starts a collector for a new source or a new generation of one; a status-only change of a
/// running source changes nothing.
fn start(
    running: &mut HashMap<String, Running>,
    source: &SignalSource,
    ctx: &Arc<Context>,
    settings: &Settings,
    store: &Store<SignalSource>,
) {
    let name = source.name_any();
    let generation = source.metadata.generation;
    if running
        .get(&name)
        .is_some_and(|r| r.generation == generation)
    {
        return;
    }
    if let Some(old) = running.remove(&name) {
        old.task.abort();
    }
    ctx.signals.set(view(source));
    info!(source = %name, ?generation, "collecting signals");
    let task = tokio::spawn(collector::run(
        name.clone(),
        ctx.clone(),
        settings.clone(),
        store.clone(),
    ));
    running.insert(name, Running { generation, task });
}

/// Stops a source's collector and withdraws its values from its learners.
fn stop(running: &mut HashMap<String, Running>, name: &str, ctx: &Context) {
    if let Some(r) = running.remove(name) {
        r.task.abort();
    }
    ctx.metrics.forget_source(name);
    if let Some(view) = ctx.signals.remove(name) {
        info!(source = %name, "signal source gone: withdrawing its values");
        ctx.fanout.enqueue(learners_of(&ctx.paths, &view, None));
    }
}

/// The view of a source before its first collection. A selector that cannot be parsed selects
/// no learner (the schema admits operators the API does not define).
fn view(source: &SignalSource) -> SourceView {
    let learners = &source.spec.learners;
    let selector = match learners.selector.clone().map(Selector::try_from) {
        None => Some(Selector::default()),
        Some(Ok(selector)) => Some(selector),
        Some(Err(e)) => {
            warn!(source = %source.name_any(), error = %e, "learners.selector cannot be used: the source applies to no learner");
            None
        }
    };
    SourceView {
        name: source.name_any(),
        namespaces: learners.namespaces.clone(),
        selects_none: selector.is_none(),
        selector: selector.unwrap_or_default(),
        match_by: source.spec.match_by,
        collected: None,
        expired: false,
    }
}
