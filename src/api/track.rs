//! `Track`: a curriculum shared by many learners.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

/// Identifier of a module, exercise, dimension, rule or skill: a lowercase DNS label.
pub type Id = String;

/// A curriculum: skill modules with prerequisites and exercises, weighted per industry and role.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "learnpath.dev",
    version = "v1alpha1",
    kind = "Track",
    plural = "tracks",
    shortname = "trk",
    category = "learnpath",
    doc = "A curriculum shared by many learners: skill modules with prerequisites, exercises, hours, and weights per industry and role.",
    printcolumn = r#"{"name":"Title","type":"string","jsonPath":".spec.title"}"#,
    printcolumn = r#"{"name":"Modules","type":"integer","jsonPath":".status.modules"}"#,
    printcolumn = r#"{"name":"Valid","type":"string","jsonPath":".status.conditions[?(@.type==\"Valid\")].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    status = "TrackStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct TrackSpec {
    /// Human-readable name of the curriculum.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,

    /// What the curriculum is for and who should follow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub description: Option<String>,

    /// Score (0-100) at which a module counts as mastered and is skipped.
    #[serde(default = "default_mastery_threshold")]
    #[schemars(range(min = 0, max = 100))]
    pub mastery_threshold: u8,

    /// The capability axes (the radar chart) that modules belong to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::DIMENSIONS))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["id".into()]))]
    pub dimensions: Vec<Dimension>,

    /// The skill modules. Ids are unique; prerequisites must name modules of this Track.
    #[schemars(length(min = 1, max = limits::MODULES))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["id".into()]))]
    pub modules: Vec<Module>,

    /// Weights per industry and per role.
    #[serde(default, skip_serializing_if = "Profiles::is_empty")]
    pub profiles: Profiles,

    /// Adaptive rules: when every condition on the learner's signals holds, the action applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::RULES))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["id".into()]))]
    pub rules: Vec<TrackRule>,

    /// Cognitive-load regulation: exercises failed too often are frozen and their remedy comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub struggle: Option<Struggle>,

    /// Cross-role transfer: an assessed skill from another background credits a module here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::TRANSFERS))]
    pub transfers: Vec<Transfer>,
}

fn default_mastery_threshold() -> u8 {
    80
}

/// A capability axis.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Dimension {
    /// Identifier, referenced by modules, weights and assessments.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub id: Id,
    /// Display name.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
}

/// A skill module: a unit of study with prerequisites and exercises.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("!has(self.prerequisites) || !(self.id in self.prerequisites)").message("a module cannot be its own prerequisite"))]
pub struct Module {
    /// Identifier, unique within the Track.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub id: Id,
    /// Display name.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    /// The dimension (capability axis) this module belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub dimension: Option<Id>,
    /// Estimated hours of study for the whole module.
    #[schemars(range(min = 0, max = limits::MODULE_HOURS))]
    pub hours: u32,
    /// Modules that must be done before this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::PREREQUISITES), inner(length(min = 1, max = 63)))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Set)]
    pub prerequisites: Vec<Id>,
    /// Hands-on exercises, in the order the author suggests doing them. Ids are unique in the Track.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::EXERCISES))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["id".into()]))]
    pub exercises: Vec<Exercise>,
}

/// A hands-on exercise of a module.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Exercise {
    /// Identifier, unique within the Track.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub id: Id,
    /// What to do.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,
    /// Estimated hours.
    #[schemars(range(min = 1, max = limits::EXERCISE_HOURS))]
    pub hours: u32,
    /// How hard the exercise is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<Difficulty>,
    /// Where the exercise is described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub url: Option<String>,
}

/// How hard an exercise is.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    /// First contact with the topic.
    Beginner,
    /// Needs the basics of the topic.
    Intermediate,
    /// Needs working experience.
    Advanced,
    /// Production-grade depth.
    Expert,
}

/// Weight profiles per industry and per role.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("!has(self.industries) || self.industries.all(k, size(k) <= 63)").message("industry names are at most 63 characters"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.roles) || self.roles.all(k, size(k) <= 63)").message("role names are at most 63 characters"))]
pub struct Profiles {
    /// Profiles by industry name (for example `fintech`, `iot`, `cloud`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = limits::PROFILES))]
    pub industries: BTreeMap<String, Profile>,
    /// Profiles by role name (for example `backend`, `cloud-platform`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = limits::PROFILES))]
    pub roles: BTreeMap<String, Profile>,
}

impl Profiles {
    fn is_empty(&self) -> bool {
        self.industries.is_empty() && self.roles.is_empty()
    }
}

/// A set of weights.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("!has(self.weights) || self.weights.all(k, size(k) <= 63 && self.weights[k] >= 0.0 && self.weights[k] <= 1000.0)").message("weight keys are module or dimension ids (at most 63 characters) and weights are numbers from 0 to 1000"))]
pub struct Profile {
    /// Weight by module id or dimension id; a module key beats a dimension key; missing means 1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = limits::WEIGHTS))]
    pub weights: BTreeMap<Id, f64>,
}

/// An adaptive rule: conditions on the learner's signals, and an action.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TrackRule {
    /// Identifier, unique within the Track.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub id: Id,
    /// Conditions that must all hold.
    #[schemars(length(min = 1, max = limits::CONDITIONS))]
    pub when: Vec<SignalCondition>,
    /// What happens when the rule fires.
    pub then: RuleAction,
    /// Shown to the learner when the rule fires.
    #[schemars(length(min = 1, max = 500))]
    pub message: String,
}

/// A comparison of one signal with a number.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignalCondition {
    /// Name of a signal in the LearningPath's `spec.signals`. A missing signal never holds.
    #[schemars(length(min = 1, max = 63))]
    pub signal: String,
    /// How to compare.
    pub operator: Operator,
    /// The number to compare with.
    pub value: f64,
}

/// A comparison operator.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// Greater than.
    #[serde(rename = ">")]
    Gt,
    /// Greater than or equal.
    #[serde(rename = ">=")]
    Ge,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// Less than or equal.
    #[serde(rename = "<=")]
    Le,
    /// Equal.
    #[serde(rename = "==")]
    Eq,
}

impl Operator {
    /// Whether `left <op> right` holds.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Operator::Gt => left > right,
            Operator::Ge => left >= right,
            Operator::Lt => left < right,
            Operator::Le => left <= right,
            Operator::Eq => left == right,
        }
    }

    /// The operator as written in YAML.
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Eq => "==",
        }
    }
}

/// The action of a rule. At least one of `boost`, `prioritize` and `recommend`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("has(self.boost) || has(self.prioritize) || has(self.recommend)").message("a rule needs at least one action: boost, prioritize or recommend"))]
pub struct RuleAction {
    /// Multiply a module's priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boost: Option<Boost>,
    /// Schedule a module as early as its prerequisites allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prioritize: Option<Prioritize>,
    /// A recommendation reported to the learner; it does not change the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommend: Option<Recommend>,
}

/// Multiply a module's priority.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Boost {
    /// The module whose priority is multiplied.
    #[schemars(length(min = 1, max = 63))]
    pub module: Id,
    /// The factor (greater than 0).
    #[schemars(range(min = 0.001, max = 1000.0))]
    pub factor: f64,
}

/// Schedule a module as early as its prerequisites allow.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Prioritize {
    /// The module to bring forward.
    #[schemars(length(min = 1, max = 63))]
    pub module: Id,
}

/// A recommendation in words.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Recommend {
    /// What to recommend.
    #[schemars(length(min = 1, max = 500))]
    pub text: String,
}

/// Cognitive-load regulation.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = kube::core::Rule::new("!has(self.remedial) || self.remedial.all(k, size(k) <= 63 && size(self.remedial[k]) <= 63)").message("remedial keys and values are exercise or module ids of at most 63 characters"))]
pub struct Struggle {
    /// Failures after which an exercise is frozen.
    #[serde(default = "default_max_failures", rename = "maxFailures")]
    #[schemars(range(min = 1, max = 100))]
    pub max_failures: u32,
    /// Failures count only this long (a Go duration, for example `12h`): an exercise is frozen
    /// while `maxFailures` of its timed failures are this recent. Unset: every failure counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::duration::PATTERN), length(max = 32))]
    pub window: Option<String>,
    /// Remedy per exercise: an exercise id or a module id to do first when it is frozen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "remedial_schema")]
    pub remedial: BTreeMap<Id, Id>,
}

/// Map values need bounds too, and schemars has no attribute for them.
fn remedial_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": limits::REMEDIES,
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 63},
    })
}

fn default_max_failures() -> u32 {
    3
}

/// Cross-role transfer: `score(to) >= ratio * score(from)`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Transfer {
    /// A skill id assessed in the learner's `spec.assessment` (often from another background).
    #[schemars(length(min = 1, max = 63))]
    pub from: Id,
    /// The module of this Track that the skill credits.
    #[schemars(length(min = 1, max = 63))]
    pub to: Id,
    /// The share of the skill's score that carries over (0 to 1).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub ratio: f64,
}

/// What the controller observed about a Track.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrackStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Number of modules, for the printer column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<u32>,
    /// Number of exercises.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercises: Option<u32>,
    /// `Valid`: whether the curriculum itself is consistent (ids, prerequisites, weights, rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::STATUS_CONDITIONS))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
}
