//! Which signals a learner has observed, from the sources that select them (docs/signals.md §1,
//! §4, §6). Pure: the sources as collected so far and the learner's cached status in, the
//! `observedSignals` to plan from out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

use crate::api::{LearningPath, MatchBy, ObservedSignal};

/// A value and the time of the collection that first saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Seen {
    /// The value.
    pub value: f64,
    /// The start of the collection that first saw this value.
    pub since: Timestamp,
}

/// What one source's last successful collection found: signal values by learner key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collected {
    /// Learner key (see [`learner_key`]) -> signal -> value.
    pub values: HashMap<String, BTreeMap<String, Seen>>,
}

impl Collected {
    /// Carries each unchanged value's `since` over from `previous`, so that a steady value keeps
    /// the time it was first seen.
    pub fn keep_since(mut self, previous: Option<&Collected>) -> Self {
        let Some(previous) = previous else {
            return self;
        };
        for (key, signals) in &mut self.values {
            for (signal, seen) in signals.iter_mut() {
                if let Some(old) = previous.values.get(key).and_then(|s| s.get(signal))
                    && old.value == seen.value
                {
                    seen.since = old.since;
                }
            }
        }
        self
    }

    /// The learner keys whose values differ between `self` and `previous` (times aside).
    pub fn changed_keys(&self, previous: Option<&Collected>) -> Vec<String> {
        let values = |c: Option<&Collected>, key: &str| -> Vec<(String, f64)> {
            c.and_then(|c| c.values.get(key))
                .map(|s| s.iter().map(|(k, v)| (k.clone(), v.value)).collect())
                .unwrap_or_default()
        };
        let mut keys: Vec<String> = self
            .values
            .keys()
            .chain(previous.iter().flat_map(|p| p.values.keys()))
            .filter(|key| values(Some(self), key) != values(previous, key))
            .cloned()
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// One SignalSource as a learner's reconcile sees it.
#[derive(Clone, Debug)]
pub struct SourceView {
    /// The source's name.
    pub name: String,
    /// Namespaces it applies to; empty: all.
    pub namespaces: Vec<String>,
    /// Labels the LearningPaths must carry.
    pub selector: Selector,
    /// Its selector cannot be used: it applies to no learner.
    pub selects_none: bool,
    /// How learners are recognised in its data.
    pub match_by: MatchBy,
    /// Its last successful collection in this process; `None` before the first.
    pub collected: Option<Arc<Collected>>,
    /// Its values are withdrawn: collections have failed for longer than `expireAfter`.
    pub expired: bool,
}

impl SourceView {
    /// Whether the source applies to this LearningPath.
    pub fn selects(&self, lp: &LearningPath) -> bool {
        if self.selects_none {
            return false;
        }
        let namespace_ok = self.namespaces.is_empty()
            || lp
                .metadata
                .namespace
                .as_ref()
                .is_some_and(|ns| self.namespaces.contains(ns));
        namespace_ok && self.selector.matches(lp.labels())
    }
}

/// How a learner appears in a source's data: their email trimmed and lowercased, or their
/// LearningPath's name. `None` when they have no email to match by.
pub fn learner_key(lp: &LearningPath, match_by: MatchBy) -> Option<String> {
    match match_by {
        MatchBy::Email => lp
            .spec
            .learner
            .email
            .as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty()),
        MatchBy::Name => Some(lp.name_any()),
    }
}

/// The observed signals a learner plans from, sorted by name. For each source that selects them:
/// its collected values when it has collected in this process, else the values their status
/// already holds from it (after a restart, until the source's first success). A withdrawn or
/// deleted source contributes nothing. Where two sources report one signal, the source whose
/// name sorts first wins. A value the status already holds keeps its `observedAt`.
pub fn observed_for(lp: &LearningPath, sources: &[SourceView]) -> Vec<ObservedSignal> {
    let previous: &[ObservedSignal] = lp
        .status
        .as_ref()
        .map_or(&[], |s| s.observed_signals.as_slice());
    let mut sources: Vec<&SourceView> = sources
        .iter()
        .filter(|s| !s.expired && s.selects(lp))
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    let mut by_name: BTreeMap<String, ObservedSignal> = BTreeMap::new();
    for source in sources {
        for observed in from_source(lp, source, previous) {
            by_name.entry(observed.name.clone()).or_insert(observed);
        }
    }
    by_name.into_values().collect()
}

fn from_source(
    lp: &LearningPath,
    source: &SourceView,
    previous: &[ObservedSignal],
) -> Vec<ObservedSignal> {
    let Some(collected) = &source.collected else {
        return previous
            .iter()
            .filter(|p| p.source == source.name)
            .cloned()
            .collect();
    };
    let Some(values) = learner_key(lp, source.match_by).and_then(|k| collected.values.get(&k))
    else {
        return Vec::new();
    };
    values
        .iter()
        .map(|(signal, seen)| {
            let kept = previous
                .iter()
                .find(|p| p.name == *signal && p.source == source.name && p.value == seen.value);
            ObservedSignal {
                name: signal.clone(),
                value: seen.value,
                source: source.name.clone(),
                observed_at: kept.map_or(Time(seen.since), |p| p.observed_at.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LearningPathStatus;
    use crate::fixtures;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + second).expect("a time")
    }

    fn collected(key: &str, signals: &[(&str, f64, i64)]) -> Arc<Collected> {
        let values = signals
            .iter()
            .map(|&(s, value, since)| {
                (
                    s.to_string(),
                    Seen {
                        value,
                        since: at(since),
                    },
                )
            })
            .collect();
        Arc::new(Collected {
            values: HashMap::from([(key.to_string(), values)]),
        })
    }

    fn source(name: &str, collected: Option<Arc<Collected>>) -> SourceView {
        SourceView {
            name: name.into(),
            namespaces: Vec::new(),
            selector: Selector::default(),
            selects_none: false,
            match_by: MatchBy::Email,
            collected,
            expired: false,
        }
    }

    fn li_wei() -> LearningPath {
        let mut lp = fixtures::example_learner("backend-engineer");
        lp.spec.learner.email = Some("  Li.Wei@Example.com ".into());
        lp
    }

    fn names_values(observed: &[ObservedSignal]) -> Vec<(&str, f64, &str)> {
        observed
            .iter()
            .map(|o| (o.name.as_str(), o.value, o.source.as_str()))
            .collect()
    }

    #[test]
    fn a_learner_gets_the_values_keyed_by_their_email_whatever_its_case() {
        let git = source(
            "git",
            Some(collected(
                "li.wei@example.com",
                &[("commitsPerWeek", 17.0, 0), ("commitsToday", 3.0, 0)],
            )),
        );
        let got = observed_for(&li_wei(), &[git]);
        assert_eq!(
            names_values(&got),
            [
                ("commitsPerWeek", 17.0, "git"),
                ("commitsToday", 3.0, "git")
            ]
        );
        assert_eq!(got[0].observed_at, Time(at(0)));
    }

    #[test]
    fn namespaces_and_labels_decide_whom_a_source_applies_to() {
        let mut lp = li_wei();
        lp.metadata.namespace = Some("learners".into());
        lp.metadata.labels = Some(BTreeMap::from([("team".into(), "platform".into())]));
        let mut view = source("git", None);
        assert!(view.selects(&lp));
        view.namespaces = vec!["other".into()];
        assert!(!view.selects(&lp));
        view.namespaces = vec!["learners".into()];
        view.selector = Selector::from_iter([("team", "payments")]);
        assert!(!view.selects(&lp));
        view.selector = Selector::from_iter([("team", "platform")]);
        assert!(view.selects(&lp));
    }

    #[test]
    fn a_steady_value_keeps_its_time_and_a_new_one_gets_the_round_s() {
        let mut lp = li_wei();
        lp.status = Some(LearningPathStatus {
            observed_signals: vec![ObservedSignal {
                name: "ciFailureRate".into(),
                value: 23.0,
                source: "prom".into(),
                observed_at: Time(at(-3600)),
            }],
            ..LearningPathStatus::default()
        });
        let same = source(
            "prom",
            Some(collected(
                "li.wei@example.com",
                &[("ciFailureRate", 23.0, 60)],
            )),
        );
        assert_eq!(observed_for(&lp, &[same])[0].observed_at, Time(at(-3600)));
        let changed = source(
            "prom",
            Some(collected(
                "li.wei@example.com",
                &[("ciFailureRate", 10.0, 60)],
            )),
        );
        let got = observed_for(&lp, &[changed]);
        assert_eq!((got[0].value, &got[0].observed_at), (10.0, &Time(at(60))));
    }

    #[test]
    fn before_its_first_collection_a_source_keeps_what_the_status_holds_and_when_withdrawn_nothing()
    {
        let mut lp = li_wei();
        let held = |name: &str, source: &str| ObservedSignal {
            name: name.into(),
            value: 1.0,
            source: source.into(),
            observed_at: Time(at(0)),
        };
        lp.status = Some(LearningPathStatus {
            observed_signals: vec![held("a", "prom"), held("b", "deleted-source")],
            ..LearningPathStatus::default()
        });
        let got = observed_for(&lp, &[source("prom", None)]);
        assert_eq!(names_values(&got), [("a", 1.0, "prom")]);
        let mut expired = source("prom", None);
        expired.expired = true;
        assert!(observed_for(&lp, &[expired]).is_empty());
    }

    #[test]
    fn of_two_sources_reporting_one_signal_the_first_by_name_wins() {
        let key = "li.wei@example.com";
        let b = source("b-prom", Some(collected(key, &[("ciFailureRate", 5.0, 0)])));
        let a = source("a-prom", Some(collected(key, &[("ciFailureRate", 9.0, 0)])));
        let got = observed_for(&li_wei(), &[b, a]);
        assert_eq!(names_values(&got), [("ciFailureRate", 9.0, "a-prom")]);
    }

    #[test]
    fn a_learner_without_an_email_gets_nothing_from_an_email_source() {
        let mut lp = li_wei();
        lp.spec.learner.email = None;
        let git = source("git", Some(collected("", &[("commitsToday", 1.0, 0)])));
        assert!(observed_for(&lp, &[git]).is_empty());
        assert_eq!(
            learner_key(&lp, MatchBy::Name).as_deref(),
            Some("backend-engineer")
        );
    }

    #[test]
    fn only_keys_whose_values_changed_are_news() {
        let before = collected("a@x", &[("s", 1.0, 0)]);
        let mut after = (*collected("a@x", &[("s", 1.0, 60)])).clone();
        after.values.insert(
            "b@x".into(),
            BTreeMap::from([(
                "s".to_string(),
                Seen {
                    value: 2.0,
                    since: at(60),
                },
            )]),
        );
        let after = after.keep_since(Some(&before));
        assert_eq!(after.changed_keys(Some(&before)), ["b@x"]);
        assert_eq!(
            after.values["a@x"]["s"].since,
            at(0),
            "a steady value keeps its time"
        );
        assert_eq!(
            before.changed_keys(Some(&after)),
            ["b@x"],
            "a vanished key is news too"
        );
        assert_eq!(after.changed_keys(None), ["a@x", "b@x"]);
    }
}
