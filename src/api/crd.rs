//! The CustomResourceDefinitions, generated from the Rust types.
//!
//! `crds/` and the Helm chart hold the output of [`crds_yaml`]; tests fail when they drift.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;

use super::{LearningPath, Track};

/// Every CRD of the API, ready to apply.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut learning_path = LearningPath::crd();
    for version in &mut learning_path.spec.versions {
        if let Some(status) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|root| root.properties.as_mut())
            .and_then(|props| props.get_mut("status"))
        {
            default_observed_generation(status);
        }
    }
    vec![Track::crd(), learning_path]
}

/// kstatus treats an object with no `status.observedGeneration` as current once it has a Ready
/// condition from anywhere; defaulting it to -1 (as Flux does for its own kinds) makes a fresh
/// LearningPath read as "in progress" until the operator has written its first status.
fn default_observed_generation(status: &mut JSONSchemaProps) {
    status.default = Some(
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON(
            serde_json::json!({ "observedGeneration": -1 }),
        ),
    );
}

/// Every CRD as multi-document YAML, exactly what `crds/` holds.
///
/// # Errors
/// Fails only if a CRD cannot be serialized, which would be a bug in the types.
pub fn crds_yaml() -> Result<String, serde_saphyr::ser_error::Error> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd)?);
    }
    Ok(out)
}
