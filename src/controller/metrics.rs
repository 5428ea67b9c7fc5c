//! Prometheus metrics of the controller.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, text::encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::LearningPath;
use crate::planner::condition_types;

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
    /// Registers every metric; `learners` counts LearningPaths per Track and Ready state at scrape time.
    pub fn new(learners: Store<LearningPath>) -> Self {
        let mut registry = Registry::with_prefix("learnpath");
        let reconciles = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles of LearningPaths, by outcome",
            reconciles.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconcile errors, by kind",
            errors.clone(),
        );
        let status_writes = Counter::default();
        registry.register(
            "status_writes",
            "LearningPath status patches sent",
            status_writes.clone(),
        );
        let events = Counter::default();
        registry.register("events", "Kubernetes events published", events.clone());
        let duration = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconciles",
            duration.clone(),
        );
        let trigger_wait = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "trigger_wait_seconds",
            "From a LearningPath watch event (not our own write; a list counts every learner) to the start of its reconcile",
            trigger_wait.clone(),
        );
        let write_duration = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "status_write_duration_seconds",
            "Round trip of a LearningPath status patch",
            write_duration.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica is the leader",
            leader.clone(),
        );
        let relists = Family::<ResourceLabels, Counter>::default();
        registry.register(
            "watch_relists",
            "Full listings by the watches: the initial one and one after each expired watch",
            relists.clone(),
        );
        let streaming_lists = Family::<ResourceLabels, Gauge>::default();
        registry.register(
            "watch_streaming_lists",
            "1 when a watch receives its listings as watch events (WatchList), 0 when it lists in pages",
            streaming_lists.clone(),
        );
        let signals = SignalMetrics::register(&mut registry);
        registry.register_collector(Box::new(LearnerCollector { store: learners }));
        Metrics {
            registry: Arc::new(registry),
            reconciles,
            errors,
            status_writes,
            events,
            duration,
            trigger_wait,
            write_duration,
            leader,
            relists,
            streaming_lists,
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

    /// Whether `/readyz` answers ok.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// Counts learners per Track and Ready state from the reflector store on each scrape, so the
/// numbers can never drift from the cluster the way incrementally updated gauges can.
#[derive(Debug)]
struct LearnerCollector {
    store: Store<LearningPath>,
}

impl Collector for LearnerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut counts: BTreeMap<(String, &'static str), i64> = BTreeMap::new();
        for lp in self.store.state() {
            let ready = lp
                .status
                .as_ref()
                .and_then(|s| {
                    s.conditions
                        .iter()
                        .find(|c| c.type_ == condition_types::READY)
                })
                .map_or(
                    "Unknown",
                    |c| if c.status == "True" { "True" } else { "False" },
                );
            *counts
                .entry((lp.spec.track_ref.name.clone(), ready))
                .or_default() += 1;
        }
        let gauge = ConstGauge::new(0i64);
        let mut metric = encoder.encode_descriptor(
            "learnpath_learners",
            "LearningPaths per Track and Ready condition",
            None,
            gauge.metric_type(),
        )?;
        for ((track, ready), n) in counts {
            let labels = [("track", track.as_str()), ("ready", ready)];
            ConstGauge::new(n).encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
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
