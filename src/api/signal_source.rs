//! `SignalSource`: where the operator collects learners' production signals from.
//!
//! Cluster-scoped on purpose: a source makes the operator fetch a URL with credentials, so only
//! those who may create cluster-scoped objects (cluster admins) can declare one, and its Secret
//! is read in the operator's own namespace only (docs/security.md, "Signal sources").

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::limits;

/// Where learners' signals come from, how often they are collected, and whom they apply to.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "learnpath.dev",
    version = "v1alpha1",
    kind = "SignalSource",
    plural = "signalsources",
    shortname = "sigsrc",
    category = "learnpath",
    doc = "Where the operator collects learners' production signals (Git commits and dependencies, Prometheus queries), how often, and which LearningPaths they apply to. Cluster-scoped: only cluster admins can make the operator fetch a URL.",
    printcolumn = r#"{"name":"Interval","type":"string","jsonPath":".spec.interval"}"#,
    printcolumn = r#"{"name":"Learners","type":"integer","jsonPath":".status.learners","description":"LearningPaths with at least one signal from this source"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Message","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    status = "SignalSourceStatus"
)]
#[x_kube(validation = kube::core::Rule::new("has(self.git) != has(self.prometheus)").message("a SignalSource has exactly one of git and prometheus"))]
#[serde(rename_all = "camelCase")]
pub struct SignalSourceSpec {
    /// How often to collect, as a Go duration (`30s`, `5m`, `1h`); at least 1s.
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = super::duration::PATTERN), length(max = 32))]
    pub interval: String,

    /// Which LearningPaths the signals apply to.
    #[serde(default)]
    pub learners: LearnerSelector,

    /// How a learner is recognised in the collected data: `email` compares the LearningPath's
    /// `spec.learner.email` with a commit's author email or a series label, case-insensitively;
    /// `name` compares the LearningPath's name.
    #[serde(default)]
    pub match_by: MatchBy,

    /// When collections have failed for this long (a Go duration), the source's values are
    /// withdrawn from its learners. Unset: the last good values stay until collections succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = super::duration::PATTERN), length(max = 32))]
    pub expire_after: Option<String>,

    /// Signals from a Git repository: commits per week and per day, and dependencies added today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSource>,

    /// Signals from instant PromQL queries against a Prometheus HTTP API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSource>,
}

fn default_interval() -> String {
    "5m".to_string()
}

/// The LearningPaths a source applies to: all of those selected by both fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LearnerSelector {
    /// Namespaces of the LearningPaths; empty means every namespace the operator watches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::SOURCE_NAMESPACES), inner(length(min = 1, max = 63)))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Set)]
    pub namespaces: Vec<String>,
    /// Labels the LearningPaths must carry; unset means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "label_selector_schema")]
    pub selector: Option<LabelSelector>,
}

/// A Kubernetes label selector with bounds, so that the API server can cost the schema and no
/// source grows without limit.
fn label_selector_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A label selector: matchLabels and matchExpressions must all hold.",
        "type": "object",
        "properties": {
            "matchLabels": {
                "description": "Labels that must have these values.",
                "type": "object",
                "maxProperties": 32,
                "additionalProperties": {"type": "string", "maxLength": 63},
            },
            "matchExpressions": {
                "description": "Requirements on labels.",
                "type": "array",
                "maxItems": 16,
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"description": "The label.", "type": "string", "minLength": 1, "maxLength": 317},
                        "operator": {"description": "How the label relates to the values.", "type": "string", "enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                        "values": {
                            "description": "The values, for In and NotIn.",
                            "type": "array",
                            "maxItems": 32,
                            "items": {"type": "string", "maxLength": 63},
                        },
                    },
                },
            },
        },
    })
}

/// How a learner is recognised in collected data.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum MatchBy {
    /// `spec.learner.email`, case-insensitively.
    #[default]
    Email,
    /// The LearningPath's `metadata.name`.
    Name,
}

/// A Git repository over HTTP(S).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.url.startsWith('https://') || self.url.startsWith('http://')").message("url must be http:// or https://"))]
pub struct GitSource {
    /// The repository's URL, http:// or https://, without credentials (they go in the Secret).
    #[schemars(
        length(min = 8, max = 2048),
        regex(pattern = r"^https?://[^@/\s]+(/\S*)?$")
    )]
    pub url: String,
    /// The branch to read; unset means the repository's default branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub branch: Option<String>,
    /// A Secret in the operator's namespace with `username` and `password` (a token works as the
    /// password for most Git hosts), and optionally `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
}

/// A Prometheus HTTP API and the queries to run against it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.url.startsWith('https://') || self.url.startsWith('http://')").message("url must be http:// or https://"))]
pub struct PrometheusSource {
    /// The Prometheus base URL (the API is under `/api/v1`), without credentials.
    #[schemars(
        length(min = 8, max = 2048),
        regex(pattern = r"^https?://[^@/\s]+(/\S*)?$")
    )]
    pub url: String,
    /// A Secret in the operator's namespace with `token` (a bearer token) or `username` and
    /// `password`, and optionally `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// The label of a result series whose value names the learner (see `matchBy`).
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    )]
    pub learner_label: String,
    /// How long a query may take, as a Go duration.
    #[serde(default = "default_timeout")]
    #[schemars(regex(pattern = super::duration::PATTERN), length(max = 32))]
    pub timeout: String,
    /// One instant query per signal, each run once per interval for all learners.
    #[schemars(length(min = 1, max = limits::SOURCE_QUERIES))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["signal".into()]))]
    pub queries: Vec<SignalQuery>,
}

fn default_timeout() -> String {
    "10s".to_string()
}

/// A PromQL instant query whose result series give one signal's value per learner.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignalQuery {
    /// The signal's name, as the Track's rules use it (for example `ciFailureRate`).
    #[schemars(length(min = 1, max = 63))]
    pub signal: String,
    /// The PromQL expression; each result series must carry the learner label.
    #[schemars(length(min = 1, max = 4096))]
    pub query: String,
}

/// A Secret in the operator's own namespace.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SecretRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// What the operator last collected from a source.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignalSourceStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`: whether the last collection succeeded; its message names what failed. While it
    /// is False, learners keep the last good values, observed before its lastTransitionTime.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::STATUS_CONDITIONS))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// LearningPaths with at least one signal from this source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learners: Option<u32>,
    /// When a collection last changed what learners see. Collections that change nothing write
    /// nothing, so this is not the time of the last collection (see the metrics for that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<Time>,
    /// For a Git source, the commit the values were derived from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub revision: Option<String>,
}
