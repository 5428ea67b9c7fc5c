//! Prometheus metrics of the controller.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kube::runtime::reflector::Store;
use prometheus_client::encoding::{EncodeLabelSet, text::encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

use super::cohort::CohortCollector;
use crate::api::LearningPath;

/// How a reconcile ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `written`, `unchanged` or `error`.
    pub outcome: &'static str,
}

/// Which watched resource.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    /// `learningpaths` or `tracks`.
    pub resource: &'static str,
}

/// Which kind of error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// A short error kind, for example `conflict` or `api`.
    pub kind: &'static str,
}

/// Which signal source.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// The SignalSource's name.
    pub source: String,
}

impl SourceLabels {
    /// Labels of one source.
    pub fn new(source: &str) -> Self {
        SourceLabels {
            source: source.to_string(),
        }
    }

    /// The same source, with how a round ended.
    pub fn with_outcome(&self, outcome: &'static str) -> SourceOutcomeLabels {
        SourceOutcomeLabels {
            source: self.source.clone(),
            outcome,
        }
    }
}

/// Which signal source, and how a round ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceOutcomeLabels {
    /// The SignalSource's name.
    pub source: String,
    /// `collected` or `failed`.
    pub outcome: &'static str,
}

/// The controller's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Reconciles by outcome.
    pub reconciles: Family<OutcomeLabels, Counter>,
    /// Reconcile errors by kind.
    pub errors: Family<ErrorLabels, Counter>,
    /// Status patches sent to the API server.
    pub status_writes: Counter,
    /// Events published.
    pub events: Counter,
    /// How long reconciles take.
    pub duration: Histogram,
    /// From a watch event that is not our own write (a person's edit, a bot's signal) to the
    /// start of the reconcile it asked for. A (re-)list delivers every learner as such an event,
    /// so right after a start or a 410 the histogram holds that queue too, not only edits.
    pub trigger_wait: Histogram,
    /// Round trip of a status patch.
    pub write_duration: Histogram,
    /// When the API server last accepted a LearningPath status patch (Unix seconds; 0: never,
    /// in this process).
    pub last_write: Gauge,
    /// 1 while this replica holds the leader lease (or leader election is off).
    pub leader: Gauge,
    /// Full listings by the watches: the first one, and one after every expired watch (410 Gone).
    pub relists: Family<ResourceLabels, Counter>,
    /// 1 when a watch receives its listings as a stream of watch events (WatchList), 0 when it
    /// lists in pages.
    pub streaming_lists: Family<ResourceLabels, Gauge>,
    /// Collection rounds, by source and outcome.
    pub signal_collections: Family<SourceOutcomeLabels, Counter>,
    /// HTTP exchanges of collection rounds (a Git fetch, or one query per signal), by source.
    pub signal_requests: Family<SourceLabels, Counter>,
    /// When a source last collected successfully (Unix seconds).
    pub signal_last_success: Family<SourceLabels, Gauge>,
    ready: Arc<AtomicBool>,
}

impl Metrics {
    /// Registers every metric; the cohort metrics are counted from `learners` at each scrape.
    pub fn new(learners: Store<LearningPath>) -> Self {
        let mut registry = Registry::with_prefix("learnpath");
        let reconciles = registered(
            &mut registry,
            "reconciles",
            "Reconciles of LearningPaths, by outcome",
            Family::<OutcomeLabels, Counter>::default(),
        );
        let errors = registered(
            &mut registry,
            "reconcile_errors",
            "Reconcile errors, by kind",
            Family::<ErrorLabels, Counter>::default(),
        );
        let status_writes = registered(
            &mut registry,
            "status_writes",
            "LearningPath status patches sent",
            Counter::default(),
        );
        let events = registered(
            &mut registry,
            "events",
            "Kubernetes events published",
            Counter::default(),
        );
        let duration = registered(
            &mut registry,
            "reconcile_duration_seconds",
            "Duration of reconciles",
            Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
        );
        let trigger_wait = registered(
            &mut registry,
            "trigger_wait_seconds",
            "From a LearningPath watch event (not our own write; a list counts every learner) to the start of its reconcile",
            Histogram::new(exponential_buckets(0.001, 2.0, 15)),
        );
        let write_duration = registered(
            &mut registry,
            "status_write_duration_seconds",
            "Round trip of a LearningPath status patch",
            Histogram::new(exponential_buckets(0.001, 2.0, 15)),
        );
        let last_write = registered(
            &mut registry,
            "status_last_write_timestamp_seconds",
            "When the API server last accepted a LearningPath status patch from this process (Unix seconds; 0: never)",
            Gauge::default(),
        );
        let watch = WatchMetrics::register(&mut registry);
        let signals = SignalMetrics::register(&mut registry);
        registry.register_collector(Box::new(CohortCollector { store: learners }));
        Metrics {
            registry: Arc::new(registry),
            reconciles,
            errors,
            status_writes,
            events,
            duration,
            trigger_wait,
            write_duration,
            last_write,
            leader: watch.leader,
            relists: watch.relists,
            streaming_lists: watch.streaming_lists,
            signal_collections: signals.collections,
            signal_requests: signals.requests,
            signal_last_success: signals.last_success,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// Marks the replica ready (caches synced, or standing by for the lease).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Drops the series of a source that is no longer collected (deleted, or another
    /// operator's): its last success would otherwise look older and older, and alert.
    pub fn forget_source(&self, source: &str) {
        let labels = SourceLabels::new(source);
        for outcome in ["collected", "failed"] {
            self.signal_collections
                .remove(&labels.with_outcome(outcome));
        }
        self.signal_requests.remove(&labels);
        self.signal_last_success.remove(&labels);
    }

    /// Whether `/readyz` answers ok.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// Registers `metric` and hands it back, for the struct that keeps it.
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// Leadership and the watches.
struct WatchMetrics {
    leader: Gauge,
    relists: Family<ResourceLabels, Counter>,
    streaming_lists: Family<ResourceLabels, Gauge>,
}

impl WatchMetrics {
    fn register(registry: &mut Registry) -> Self {
        let leader = registered(
            registry,
            "leader",
            "1 while this replica is the leader",
            Gauge::default(),
        );
        let relists = registered(
            registry,
            "watch_relists",
            "Full listings by the watches: the initial one and one after each expired watch",
            Family::<ResourceLabels, Counter>::default(),
        );
        let streaming_lists = registered(
            registry,
            "watch_streaming_lists",
            "1 when a watch receives its listings as watch events (WatchList), 0 when it lists in pages",
            Family::<ResourceLabels, Gauge>::default(),
        );
        WatchMetrics {
            leader,
            relists,
            streaming_lists,
        }
    }
}

/// The signal collectors' metrics (docs/signals.md §5).
struct SignalMetrics {
    collections: Family<SourceOutcomeLabels, Counter>,
    requests: Family<SourceLabels, Counter>,
    last_success: Family<SourceLabels, Gauge>,
}

impl SignalMetrics {
    fn register(registry: &mut Registry) -> Self {
        let collections = Family::<SourceOutcomeLabels, Counter>::default();
        registry.register(
            "signal_collections",
            "Signal collection rounds, by SignalSource and outcome",
            collections.clone(),
        );
        let requests = Family::<SourceLabels, Counter>::default();
        registry.register(
            "signal_requests",
            "HTTP exchanges of signal collections (a Git fetch, or one query per signal), by SignalSource",
            requests.clone(),
        );
        let last_success = Family::<SourceLabels, Gauge>::default();
        registry.register(
            "signal_last_success_timestamp_seconds",
            "When a SignalSource last collected successfully (Unix seconds)",
            last_success.clone(),
        );
        SignalMetrics {
            collections,
            requests,
            last_success,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use kube::runtime::{reflector, watcher};

    use super::*;

    #[test]
    fn a_forgotten_source_leaves_no_series_and_the_others_stay() {
        let (store, _) = reflector::store::<LearningPath>();
        let metrics = Metrics::new(store);
        for source in ["gone", "kept"] {
            let labels = SourceLabels::new(source);
            for outcome in ["collected", "failed"] {
                metrics
                    .signal_collections
                    .get_or_create(&labels.with_outcome(outcome))
                    .inc();
            }
            metrics.signal_requests.get_or_create(&labels).inc();
            metrics.signal_last_success.get_or_create(&labels).set(1);
        }
        metrics.forget_source("gone");
        let text = metrics.render();
        let series = |source: &str| {
            text.lines()
                .filter(|l| l.contains(&format!("source=\"{source}\"")))
                .count()
        };
        assert_eq!(series("gone"), 0, "{text}");
        assert_eq!(series("kept"), 4, "{text}");
    }

    /// Every metric a scrape can hold: one learner cached, and every labelled family used once.
    fn every_sample_name() -> BTreeSet<String> {
        let (store, mut writer) = reflector::store::<LearningPath>();
        let mut lp = crate::fixtures::example_learner("backend-engineer");
        lp.status = Some(crate::api::LearningPathStatus {
            triggered_rules: vec![crate::api::TriggeredRule {
                rule: "r".into(),
                message: String::new(),
                recommendation: None,
            }],
            ..Default::default()
        });
        writer.apply_watcher_event(&watcher::Event::Apply(lp));
        let metrics = Metrics::new(store);
        metrics
            .reconciles
            .get_or_create(&OutcomeLabels { outcome: "written" })
            .inc();
        metrics
            .errors
            .get_or_create(&ErrorLabels { kind: "api" })
            .inc();
        metrics
            .relists
            .get_or_create(&ResourceLabels { resource: "tracks" })
            .inc();
        let source = SourceLabels::new("s");
        metrics
            .signal_collections
            .get_or_create(&source.with_outcome("failed"))
            .inc();
        metrics.signal_requests.get_or_create(&source).inc();
        metrics.signal_last_success.get_or_create(&source).set(1);
        metrics
            .render()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(['{', ' ']).next())
            .map(str::to_string)
            .collect()
    }

    /// The `learnpath_...` names in a text.
    fn names_in(text: &str) -> BTreeSet<String> {
        text.match_indices("learnpath_")
            .map(|(at, _)| {
                text[at..]
                    .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn the_charts_alerts_use_only_metrics_the_operator_exports() {
        let exported = every_sample_name();
        let rules = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("charts/learnpath/templates/prometheusrule.yaml"),
        )
        .expect("the chart's PrometheusRule template");
        let used = names_in(&rules);
        assert!(used.len() >= 8, "{used:?}");
        let unknown: Vec<_> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "the alerts name metrics nobody exports: {unknown:?}"
        );
    }

    #[test]
    fn every_exported_metric_is_documented() {
        let docs = ["docs/controller.md", "docs/signals.md"]
            .map(|f| {
                std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(f))
                    .expect("the docs")
            })
            .concat();
        let documented = names_in(&docs);
        let undocumented: BTreeSet<_> = every_sample_name()
            .into_iter()
            .map(|name| {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .map_or(name.clone(), str::to_string)
            })
            .filter(|family| !documented.contains(family))
            .collect();
        assert!(
            undocumented.is_empty(),
            "metrics missing from docs/controller.md §13: {undocumented:?}"
        );
    }

    #[test]
    fn the_last_write_time_is_zero_until_a_write() {
        let (store, _) = reflector::store::<LearningPath>();
        let metrics = Metrics::new(store);
        assert!(
            metrics
                .render()
                .lines()
                .any(|l| l == "learnpath_status_last_write_timestamp_seconds 0"),
            "{}",
            metrics.render()
        );
        metrics.last_write.set(1_700_000_000);
        assert!(
            metrics
                .render()
                .lines()
                .any(|l| l == "learnpath_status_last_write_timestamp_seconds 1700000000")
        );
    }
}
