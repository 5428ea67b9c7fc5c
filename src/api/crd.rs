//! The CustomResourceDefinitions, generated from the Rust types.
//!
//! `crds/` and the Helm chart hold the output of [`crds_yaml`]; tests fail when they drift.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;

use super::{LearningPath, SignalSource, Track};

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
    let mut all = vec![Track::crd(), learning_path, SignalSource::crd()];
    for crd in &mut all {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                strip_rust_formats(schema);
            }
        }
    }
    all
}

/// schemars names Rust integer widths (`uint8`, `uint32`) as formats; the API server does not
/// know them and warns on every apply. The bounds they imply are already minimum/maximum.
fn strip_rust_formats(schema: &mut JSONSchemaProps) {
    if schema.format.as_deref().is_some_and(|f| {
        f.starts_with("uint")
            || f.starts_with("int") && f != "int32" && f != "int64"
            || f == "double"
    }) {
        schema.format = None;
    }
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        strip_rust_formats(child);
    }
    if let Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(items)) =
        schema.items.as_mut()
    {
        strip_rust_formats(items);
    }
    if let Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrBool::Schema(extra)) =
        schema.additional_properties.as_mut()
    {
        strip_rust_formats(extra);
    }
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

/// Why CRD files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// Serialization failed (a bug in the types).
    #[error("cannot serialize the CRDs: {0}")]
    Serialize(#[from] serde_saphyr::ser_error::Error),
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Each CRD as its own YAML document, with the file name it has in `crds/`.
///
/// # Errors
/// Fails only if a CRD cannot be serialized, which would be a bug in the types.
pub fn crd_files() -> Result<Vec<(String, String)>, serde_saphyr::ser_error::Error> {
    crds()
        .into_iter()
        .map(|crd| {
            let name = format!("{}.yaml", crd.metadata.name.clone().unwrap_or_default());
            Ok((name, format!("---\n{}", serde_saphyr::to_string(&crd)?)))
        })
        .collect()
}

/// The `kustomization.yaml` listing the CRD files.
pub fn crd_kustomization(files: &[(String, String)]) -> String {
    let mut out = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for (name, _) in files {
        out.push_str(&format!("- {name}\n"));
    }
    out
}

/// Writes one file per CRD and a `kustomization.yaml` into `dir`.
///
/// # Errors
/// Serialization or I/O failures.
pub fn write_crd_dir(dir: &std::path::Path) -> Result<(), CrdError> {
    let files = crd_files()?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| CrdError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    for (name, text) in &files {
        write(name, text)?;
    }
    write("kustomization.yaml", &crd_kustomization(&files))
}

/// Every CRD as multi-document YAML, exactly what `crds/` holds.
///
/// # Errors
/// Fails only if a CRD cannot be serialized, which would be a bug in the types.
pub fn crds_yaml() -> Result<String, serde_saphyr::ser_error::Error> {
    Ok(crd_files()?.into_iter().map(|(_, text)| text).collect())
}
