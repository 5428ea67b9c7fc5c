//! `LearningPath`: one learner on one Track, and the roadmap the operator computes for them.

#![allow(
    dead_code,
    reason = "every item here is public: only KubeSchema's private copy of LearningPathStatus \
              (made for its schema) has a dead field, the skipped cached_digest"
)]

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;
use super::track::Id;

/// One learner on one Track: who they are, what they already know, and what their work shows.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "learnpath.dev",
    version = "v1alpha1",
    kind = "LearningPath",
    plural = "learningpaths",
    shortname = "lp",
    category = "learnpath",
    namespaced,
    doc = "One learner on one Track. The operator writes the learner's weighted, prerequisite-respecting roadmap into status.",
    printcolumn = r#"{"name":"Learner","type":"string","jsonPath":".spec.learner.name"}"#,
    printcolumn = r#"{"name":"Track","type":"string","jsonPath":".spec.trackRef.name"}"#,
    printcolumn = r#"{"name":"Progress","type":"integer","jsonPath":".status.progress.percent","description":"Percent of the Track's hours done"}"#,
    printcolumn = r#"{"name":"Next","type":"string","jsonPath":".status.nextExercises[0].exercise","description":"The next exercise to do"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Summary","type":"string","jsonPath":".status.summary","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    status = "LearningPathStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct LearningPathSpec {
    /// The Track (cluster-scoped) this learner follows.
    pub track_ref: TrackRef,

    /// Who the learner is.
    pub learner: Learner,

    /// Key into the Track's `spec.profiles.industries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub industry: Option<String>,

    /// Key into the Track's `spec.profiles.roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub role: Option<String>,

    /// Scores from 0 to 100 by module id, dimension id or transferable skill id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = limits::ASSESSMENTS))]
    #[x_kube(validation = kube::core::Rule::new("self.all(k, size(k) <= 63 && self[k] >= 0 && self[k] <= 100)").message("assessment keys are ids of at most 63 characters and scores are integers from 0 to 100"))]
    pub assessment: BTreeMap<Id, u8>,

    /// Ids of the exercises the learner has finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::COMPLETED_EXERCISES), inner(length(min = 1, max = 63)))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Set)]
    pub completed_exercises: Vec<Id>,

    /// Production signals by name, for example `commitsPerWeek`, `ciFailureRate` (percent),
    /// `mttrMinutes`, `newDependenciesToday`. A value here wins over one the operator collects
    /// from a SignalSource (status.observedSignals). Bots may own this map with their own field
    /// manager.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = limits::SIGNALS))]
    #[x_kube(validation = kube::core::Rule::new("self.all(k, size(k) <= 63)").message("signal names are at most 63 characters"))]
    pub signals: BTreeMap<String, f64>,

    /// Exercises the learner keeps failing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::STRUGGLES))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["exercise".into()]))]
    pub struggles: Vec<StruggleEntry>,

    /// Hours the learner can spend each week.
    #[serde(default = "default_hours_per_week")]
    #[schemars(range(min = 1, max = limits::HOURS_PER_WEEK))]
    pub hours_per_week: u32,

    /// How many next exercises to list in status.
    #[serde(default = "default_next_exercises_limit")]
    #[schemars(range(min = 0, max = limits::NEXT_EXERCISES))]
    pub next_exercises_limit: u32,

    /// A learner on a break: the roadmap is still computed, but no exercises are proposed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

fn default_hours_per_week() -> u32 {
    5
}

fn default_next_exercises_limit() -> u32 {
    3
}

/// A reference to a Track.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TrackRef {
    /// Name of the Track.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// The learner.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Learner {
    /// Display name.
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Contact address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254))]
    pub email: Option<String>,
}

/// How often the learner failed one exercise.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StruggleEntry {
    /// The exercise id.
    #[schemars(length(min = 1, max = 63))]
    pub exercise: Id,
    /// Failed attempts so far.
    #[schemars(range(min = 0, max = limits::FAILURES))]
    pub failures: u32,
    /// When the recent failures happened. With the Track's `struggle.window`, only these times
    /// count, and only while they are within the window; without times, `failures` counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::FAILURE_TIMES))]
    pub failed_at: Vec<Time>,
}

/// The roadmap the operator computed, and how it got there.
///
/// `learnpath plan -o json` prints exactly this for the same inputs.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LearningPathStatus {
    /// The `metadata.generation` of the LearningPath this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The `metadata.generation` of the Track the plan was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_generation: Option<i64>,
    /// `Ready`, `Valid` and `Stalled`, as kstatus understands them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::STATUS_CONDITIONS))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// How far the learner is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// The ordered plan of the modules still to do, grouped into stages of at most four weeks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
    /// Modules done: mastered by assessment, credited by transfer, or all exercises finished.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mastered: Vec<Id>,
    /// Modules with weight 0 that no weighted module needs: left out of the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<Id>,
    /// Exercises failed too often: frozen while the struggle rule holds (until the exercise is
    /// completed, or its failures leave the Track's window); their remedies come first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frozen_exercises: Vec<FrozenExercise>,
    /// What to do next, from modules whose prerequisites are met, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_exercises: Vec<NextExercise>,
    /// The Track's rules that fire for this learner's signals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggered_rules: Vec<TriggeredRule>,
    /// Signals the operator collected for this learner from SignalSources, sorted by name. The
    /// spec's `signals` win over these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::OBSERVED_SIGNALS))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["name".into()]))]
    pub observed_signals: Vec<ObservedSignal>,
    /// Weeks to finish the plan at `spec.hoursPerWeek`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_weeks: Option<u32>,
    /// One line, for the printer column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Not part of the API, never read or written: set only on statuses in the operator's own
    /// cache, which keeps a digest of the whole status and drops what no reconcile reads. Here
    /// rather than in an annotation, which would cost every cached learner a map.
    #[serde(skip)]
    #[schemars(skip)]
    #[doc(hidden)]
    pub cached_digest: Option<u128>,
}

/// How far the learner is.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Share of the planned hours done, 0 to 100.
    pub percent: u32,
    /// Modules done.
    pub completed_modules: u32,
    /// Modules in the Track, less the optional ones.
    pub total_modules: u32,
    /// Hours still to study.
    pub remaining_hours: u32,
}

/// A group of consecutive modules of the plan.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// For example `Stage 1 (weeks 1-4)`.
    pub name: String,
    /// Remaining hours of the stage's modules.
    pub hours: u32,
    /// The modules, in order.
    pub modules: Vec<PlannedModule>,
}

/// A module in the plan.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlannedModule {
    /// Module id.
    pub id: Id,
    /// Module title.
    pub title: String,
    /// `in-progress`, `ready` (prerequisites met) or `locked`.
    pub state: ModuleState,
    /// Remaining hours.
    pub hours: u32,
}

/// Where a planned module stands.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleState {
    /// Prerequisites met and already started (an exercise done or a partial score of its own).
    InProgress,
    /// Prerequisites met.
    Ready,
    /// Waiting for prerequisites.
    Locked,
}

/// An exercise frozen by the struggle rule.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FrozenExercise {
    /// The exercise id.
    pub exercise: Id,
    /// Its module.
    pub module: Id,
    /// Failed attempts.
    pub failures: u32,
    /// The exercise or module to do first, if the Track names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Id>,
    /// When it thaws unless it fails again: its failures leave the Track's `struggle.window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Time>,
}

/// A signal the operator collected for the learner.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObservedSignal {
    /// The signal's name, as rules use it.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// Its value.
    pub value: f64,
    /// The SignalSource it came from.
    #[schemars(length(min = 1, max = 253))]
    pub source: String,
    /// When a collection first observed this value (it does not move while the value stays).
    pub observed_at: Time,
}

/// One of the next exercises.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NextExercise {
    /// Module id.
    pub module: Id,
    /// Exercise id.
    pub exercise: Id,
    /// Exercise title.
    pub title: String,
    /// Estimated hours.
    pub hours: u32,
    /// Why this exercise comes now, in words.
    pub reason: String,
}

/// A rule that fires.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TriggeredRule {
    /// Rule id.
    pub rule: Id,
    /// The rule's message.
    pub message: String,
    /// The rule's recommendation, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
}
