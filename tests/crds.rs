//! `crds/` must hold exactly what the types generate.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

use std::path::Path;

#[test]
fn crds_directory_matches_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let files = learnpath::api::crd_files().expect("CRDs serialize");
    assert_eq!(files.len(), 3);
    for (name, generated) in &files {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            committed == *generated,
            "crds/{name} is stale: run `make crds` (cargo run -- crd --out-dir crds) and commit the result"
        );
    }
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap_or_default();
    assert_eq!(kustomization, learnpath::api::crd_kustomization(&files));
}

#[test]
fn every_string_list_and_map_in_the_spec_schemas_is_bounded() {
    // Unbounded fields make CEL costs unestimable and let a single object grow without limit.
    fn walk(path: &str, schema: &serde_json::Value, unbounded: &mut Vec<String>) {
        let Some(obj) = schema.as_object() else {
            return;
        };
        match obj.get("type").and_then(|t| t.as_str()) {
            Some("string")
                if !obj.contains_key("maxLength")
                    && !obj.contains_key("enum")
                    && !obj.contains_key("format") =>
            {
                unbounded.push(path.to_string())
            }
            Some("array") if !obj.contains_key("maxItems") => unbounded.push(path.to_string()),
            Some("object")
                if obj.contains_key("additionalProperties")
                    && !obj.contains_key("maxProperties") =>
            {
                unbounded.push(path.to_string())
            }
            _ => {}
        }
        if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in props {
                walk(&format!("{path}.{k}"), v, unbounded);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(v) = obj.get(key) {
                walk(&format!("{path}[]"), v, unbounded);
            }
        }
    }
    for crd in learnpath::api::crds() {
        let version = &crd.spec.versions[0];
        let schema =
            serde_json::to_value(&version.schema.as_ref().unwrap().open_api_v3_schema).unwrap();
        let mut unbounded = Vec::new();
        walk("spec", &schema["properties"]["spec"], &mut unbounded);
        assert!(
            unbounded.is_empty(),
            "{}: unbounded spec fields {unbounded:?}",
            crd.spec.names.kind
        );
    }
}
