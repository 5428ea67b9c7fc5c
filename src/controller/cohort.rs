//! The cohort metrics: where each Track's learners are, counted from the LearningPath cache at
//! every scrape (docs/controller.md §13).
//!
//! Counting at scrape time means the numbers can never drift from the cluster the way
//! incrementally updated gauges can. Every label is bounded by the Track, never by the learner:
//! `track` (one per distinct `spec.trackRef.name`), a condition type and status (3 × 3), a
//! bucket of the progress histogram (12), and the id of a rule that fires for at least one
//! learner (at most the Track's 100 rules). A scrape visits each cached learner once and
//! allocates nothing per learner: the tallies borrow their keys from the cached objects.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::api::LearningPath;
use crate::planner::condition_types;

/// The condition types counted, in the order of [`Tally::conditions`].
const CONDITIONS: [&str; 3] = [
    condition_types::READY,
    condition_types::VALID,
    condition_types::STALLED,
];

/// A condition's status as a label, in the order of a row of [`Tally::conditions`]. A
/// LearningPath without the condition (no status yet) counts as `Unknown`, as kstatus reads it.
const STATUSES: [&str; 3] = ["True", "False", "Unknown"];

/// The upper bounds of the progress histogram, in percent of the plan's hours done: 0 (not
/// started), then steps of 10 up to 100 (done). Exposed as ratios (0, 0.1, ... 1).
const PROGRESS_STEP: u32 = 10;
/// Buckets, the `+Inf` one included.
const PROGRESS_BUCKETS: usize = (100 / PROGRESS_STEP) as usize + 2;

/// What the learners of one Track add up to.
#[derive(Debug, Default, PartialEq)]
struct Tally<'a> {
    learners: u64,
    /// Learners whose status does not reflect their spec's generation yet.
    pending: u64,
    /// `[condition][status]`, as [`CONDITIONS`] and [`STATUSES`] order them.
    conditions: [[u64; STATUSES.len()]; CONDITIONS.len()],
    /// Learners per progress bucket (not cumulative), the last one `+Inf`.
    progress: [u64; PROGRESS_BUCKETS],
    /// Sum of the learners' progress, in percent (an integer, so the order of the sum cannot
    /// change the result).
    progress_percent_sum: u64,
    progress_count: u64,
    with_frozen: u64,
    frozen_exercises: u64,
    /// Learners per rule that fires for them.
    rules: BTreeMap<&'a str, u64>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, lp: &'a LearningPath) {
        self.learners += 1;
        let status = lp.status.as_ref();
        if status.is_none_or(|s| s.observed_generation != lp.metadata.generation) {
            self.pending += 1;
        }
        for (row, condition) in self.conditions.iter_mut().zip(CONDITIONS) {
            let found = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == condition));
            let column = match found.map(|c| c.status.as_str()) {
                Some("True") => 0,
                Some("False") => 1,
                _ => 2,
            };
            row[column] += 1;
        }
        let Some(status) = status else {
            return;
        };
        if let Some(progress) = &status.progress {
            // `le` semantics: 35 % is counted under 0.4, 40 % too, 0 % only under 0.
            let bucket = progress.percent.div_ceil(PROGRESS_STEP) as usize;
            self.progress[bucket.min(PROGRESS_BUCKETS - 1)] += 1;
            self.progress_percent_sum += u64::from(progress.percent);
            self.progress_count += 1;
        }
        if !status.frozen_exercises.is_empty() {
            self.with_frozen += 1;
            self.frozen_exercises += status.frozen_exercises.len() as u64;
        }
        for rule in &status.triggered_rules {
            *self.rules.entry(rule.rule.as_str()).or_default() += 1;
        }
    }
}

/// The tallies of every Track that has learners, by Track name.
fn tally(learners: &[Arc<LearningPath>]) -> BTreeMap<&str, Tally<'_>> {
    let mut tracks: BTreeMap<&str, Tally<'_>> = BTreeMap::new();
    for lp in learners {
        tracks
            .entry(lp.spec.track_ref.name.as_str())
            .or_default()
            .add(lp);
    }
    tracks
}

/// Encodes the cohort metrics from the LearningPath cache at each scrape.
#[derive(Debug)]
pub(super) struct CohortCollector {
    pub(super) store: Store<LearningPath>,
}

impl Collector for CohortCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let learners = self.store.state();
        let tracks = tally(&learners);
        gauge(
            &mut encoder,
            "learners",
            "LearningPaths per Track (spec.trackRef.name).",
            &tracks,
            |t| t.learners,
        )?;
        conditions(&mut encoder, &tracks)?;
        gauge(
            &mut encoder,
            "learners_pending",
            "LearningPaths per Track whose status does not reflect their spec yet (no status, or status.observedGeneration behind metadata.generation).",
            &tracks,
            |t| t.pending,
        )?;
        progress(&mut encoder, &tracks)?;
        gauge(
            &mut encoder,
            "learners_with_frozen_exercises",
            "LearningPaths per Track with at least one frozen exercise (the Track's struggle rule).",
            &tracks,
            |t| t.with_frozen,
        )?;
        gauge(
            &mut encoder,
            "frozen_exercises",
            "Frozen exercises of all LearningPaths of a Track.",
            &tracks,
            |t| t.frozen_exercises,
        )?;
        rules(&mut encoder, &tracks)
    }
}

/// A gauge with one sample per Track.
fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    tracks: &BTreeMap<&str, Tally>,
    value: impl Fn(&Tally) -> u64,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (track, tally) in tracks {
        metric
            .encode_family(&[("track", *track)])?
            .encode_gauge(&value(tally))?;
    }
    Ok(())
}

/// `learner_conditions{track, condition, status}`: all nine of each Track, zeros included, so
/// that a ratio or an alert never meets a missing series.
fn conditions(encoder: &mut DescriptorEncoder, tracks: &BTreeMap<&str, Tally>) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(
        "learner_conditions",
        "LearningPaths per Track, condition type (Ready, Valid, Stalled) and its status (Unknown: no such condition yet).",
        None,
        MetricType::Gauge,
    )?;
    for (track, tally) in tracks {
        for (row, condition) in tally.conditions.iter().zip(CONDITIONS) {
            for (n, status) in row.iter().zip(STATUSES) {
                let labels = [
                    ("track", *track),
                    ("condition", condition),
                    ("status", status),
                ];
                metric.encode_family(&labels)?.encode_gauge(n)?;
            }
        }
    }
    Ok(())
}

/// `learner_progress_ratio{track}`: a histogram of where the learners are, as a snapshot (it
/// goes down when learners leave: read it, never `rate()` it).
fn progress(encoder: &mut DescriptorEncoder, tracks: &BTreeMap<&str, Tally>) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(
        "learner_progress_ratio",
        "LearningPaths per Track by status.progress.percent / 100 (the share of the plan's hours done), at the time of the scrape.",
        None,
        MetricType::Histogram,
    )?;
    for (track, tally) in tracks {
        let mut buckets = [(f64::INFINITY, 0u64); PROGRESS_BUCKETS];
        for (i, (bucket, n)) in buckets.iter_mut().zip(tally.progress).enumerate() {
            if i + 1 < PROGRESS_BUCKETS {
                // Exact decimals: 3.0 / 10.0 is the f64 nearest to 0.3.
                bucket.0 = (i as f64 * f64::from(PROGRESS_STEP)) / 100.0;
            }
            bucket.1 = n;
        }
        metric
            .encode_family(&[("track", *track)])?
            .encode_histogram::<NoLabelSet>(
                tally.progress_percent_sum as f64 / 100.0,
                tally.progress_count,
                &buckets,
                None,
            )?;
    }
    Ok(())
}

/// `learners_with_rule{track, rule}`: only rules that fire for someone have a series, so a
/// Track's series are at most its rules (100, the schema's limit) and usually a few.
fn rules(encoder: &mut DescriptorEncoder, tracks: &BTreeMap<&str, Tally>) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(
        "learners_with_rule",
        "LearningPaths per Track for which the Track's rule fires (status.triggeredRules); rules that fire for no one have no series.",
        None,
        MetricType::Gauge,
    )?;
    for (track, tally) in tracks {
        for (rule, n) in &tally.rules {
            metric
                .encode_family(&[("track", *track), ("rule", *rule)])?
                .encode_gauge(n)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use kube::runtime::reflector;
    use kube::runtime::watcher;

    use crate::api::{FrozenExercise, LearningPath, LearningPathStatus, Progress, TriggeredRule};
    use crate::controller::Metrics;

    /// A sample's name and labels (`le` normalised to a number, so that `1.0` and `1` agree).
    type Key = (String, BTreeMap<String, String>);

    /// The samples of a text exposition. Our own output only: no escapes inside label values,
    /// no timestamps or exemplars.
    fn samples(text: &str) -> BTreeMap<Key, f64> {
        let mut out = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    let v = v.trim_matches('"');
                    let v = match k {
                        "le" => v.parse::<f64>().expect("a bound").to_string(),
                        _ => v.to_string(),
                    };
                    (k.to_string(), v)
                })
                .collect();
            let value: f64 = value.parse().expect("a number");
            assert!(
                out.insert((name.to_string(), labels), value).is_none(),
                "duplicate sample {series}"
            );
        }
        out
    }

    fn key(name: &str, labels: &[(&str, &str)]) -> Key {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (format!("learnpath_{name}"), labels)
    }

    fn condition(type_: &str, status: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: "Test".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }
    }

    fn frozen(exercise: &str) -> FrozenExercise {
        FrozenExercise {
            exercise: exercise.into(),
            module: "m".into(),
            failures: 3,
            remedy: None,
            until: None,
        }
    }

    fn rule(id: &str) -> TriggeredRule {
        TriggeredRule {
            rule: id.into(),
            message: String::new(),
            recommendation: None,
        }
    }

    /// A learner on `track` at `generation`, with `status` as the cache holds it.
    fn learner(
        name: &str,
        track: &str,
        generation: i64,
        status: Option<LearningPathStatus>,
    ) -> LearningPath {
        let mut lp = crate::fixtures::example_learner("backend-engineer");
        lp.metadata.name = Some(name.into());
        lp.metadata.generation = Some(generation);
        lp.spec.track_ref.name = track.into();
        lp.status = status;
        lp
    }

    /// A current status (observedGeneration = `generation`) with the three conditions.
    fn status(
        generation: i64,
        [ready, valid, stalled]: [&str; 3],
        percent: u32,
    ) -> LearningPathStatus {
        LearningPathStatus {
            observed_generation: Some(generation),
            conditions: vec![
                condition("Ready", ready),
                condition("Valid", valid),
                condition("Stalled", stalled),
            ],
            progress: Some(Progress {
                percent,
                completed_modules: 0,
                total_modules: 10,
                remaining_hours: 10,
            }),
            ..LearningPathStatus::default()
        }
    }

    fn render(learners: Vec<LearningPath>) -> BTreeMap<Key, f64> {
        let (store, mut writer) = reflector::store::<LearningPath>();
        for lp in learners {
            writer.apply_watcher_event(&watcher::Event::Apply(lp));
        }
        samples(&Metrics::new(store).render())
    }

    /// The cohort families of a scrape, and nothing else.
    fn cohort(all: BTreeMap<Key, f64>) -> BTreeMap<Key, f64> {
        let families = [
            "learners",
            "learner_conditions",
            "learners_pending",
            "learner_progress_ratio_bucket",
            "learner_progress_ratio_sum",
            "learner_progress_ratio_count",
            "learners_with_frozen_exercises",
            "frozen_exercises",
            "learners_with_rule",
        ]
        .map(|f| format!("learnpath_{f}"));
        all.into_iter()
            .filter(|((name, _), _)| families.contains(name))
            .collect()
    }

    #[test]
    fn the_cohort_metrics_count_each_tracks_learners_by_condition_progress_frozen_and_rule() {
        let mut ada = status(2, ["True", "True", "False"], 35);
        ada.frozen_exercises = vec![frozen("a"), frozen("b")];
        ada.triggered_rules = vec![rule("ci-failure-rate"), rule("dependency-surge")];
        let mut bo = status(3, ["False", "False", "True"], 100);
        bo.triggered_rules = vec![rule("ci-failure-rate")];
        // Planned at generation 4, edited since: pending.
        let mut dee = status(4, ["True", "True", "False"], 0);
        dee.frozen_exercises = vec![frozen("c")];
        let got = cohort(render(vec![
            learner("ada", "go-engineer", 2, Some(ada)),
            learner("bo", "go-engineer", 3, Some(bo)),
            // Never planned: pending, every condition Unknown, no progress.
            learner("cy", "go-engineer", 1, None),
            learner("dee", "rust-engineer", 5, Some(dee)),
        ]));

        let mut want = BTreeMap::new();
        let go = ("track", "go-engineer");
        let rust = ("track", "rust-engineer");
        for (track, learners, pending, with_frozen, frozen) in
            [(go, 3.0, 1.0, 1.0, 2.0), (rust, 1.0, 1.0, 1.0, 1.0)]
        {
            want.insert(key("learners", &[track]), learners);
            want.insert(key("learners_pending", &[track]), pending);
            want.insert(key("learners_with_frozen_exercises", &[track]), with_frozen);
            want.insert(key("frozen_exercises", &[track]), frozen);
        }
        // go-engineer: ada (True, True, False), bo (False, False, True), cy (none).
        // rust-engineer: dee (True, True, False).
        for (track, condition, [t, f, u]) in [
            (go, "Ready", [1.0, 1.0, 1.0]),
            (go, "Valid", [1.0, 1.0, 1.0]),
            (go, "Stalled", [1.0, 1.0, 1.0]),
            (rust, "Ready", [1.0, 0.0, 0.0]),
            (rust, "Valid", [1.0, 0.0, 0.0]),
            (rust, "Stalled", [0.0, 1.0, 0.0]),
        ] {
            for (status, n) in [("True", t), ("False", f), ("Unknown", u)] {
                let labels = [track, ("condition", condition), ("status", status)];
                want.insert(key("learner_conditions", &labels), n);
            }
        }
        // go-engineer: 35 % and 100 %; rust-engineer: 0 %. Cumulative, as `le` reads.
        let go_buckets = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2];
        let rust_buckets = [1; 12];
        let bounds = [
            "0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1", "inf",
        ];
        for (track, counts, sum, count) in
            [(go, go_buckets, 1.35, 2.0), (rust, rust_buckets, 0.0, 1.0)]
        {
            for (le, n) in bounds.iter().zip(counts) {
                want.insert(
                    key("learner_progress_ratio_bucket", &[track, ("le", le)]),
                    f64::from(n),
                );
            }
            want.insert(key("learner_progress_ratio_sum", &[track]), sum);
            want.insert(key("learner_progress_ratio_count", &[track]), count);
        }
        // Only rules that fire for someone.
        want.insert(
            key("learners_with_rule", &[go, ("rule", "ci-failure-rate")]),
            2.0,
        );
        want.insert(
            key("learners_with_rule", &[go, ("rule", "dependency-surge")]),
            1.0,
        );

        let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
        let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?}, extra {extra:?}"
        );
        for (k, v) in &want {
            assert!((got[k] - v).abs() < 1e-9, "{k:?}: {} != {v}", got[k]);
        }
    }

    #[test]
    fn an_empty_cache_has_no_cohort_series_and_a_departed_track_leaves() {
        assert!(cohort(render(Vec::new())).is_empty());
        let (store, mut writer) = reflector::store::<LearningPath>();
        let metrics = Metrics::new(store);
        let lp = learner("ada", "go-engineer", 1, None);
        writer.apply_watcher_event(&watcher::Event::Apply(lp.clone()));
        assert_eq!(
            cohort(samples(&metrics.render())).get(&key("learners", &[("track", "go-engineer")])),
            Some(&1.0)
        );
        writer.apply_watcher_event(&watcher::Event::Delete(lp));
        assert!(
            cohort(samples(&metrics.render())).is_empty(),
            "a Track without learners has no series"
        );
    }
}
