//! What Flux reads: the test's Git repository (the CRDs, the chart, `examples/flux` and the
//! example curriculum renamed for this test) and the Flux objects of
//! `examples/flux/clusters/local` adjusted for it.

use std::fs;
use std::path::Path;

use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};
use testkit::*;

use crate::harness::{REPOSITORY, TAG};

use super::{BOT_LEARNER, BOT_SIGNAL, LEARNERS_KS, LEARNERS_TIMEOUT};

/// Commits everything in `dir`; the new commit's id.
pub(super) fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Writes `value` as YAML, creating the parent directory.
pub(super) fn write_yaml(path: &Path, value: &Value) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("parent dir");
    let text = serde_saphyr::to_string(value).expect("YAML serializes");
    fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The `resources:` of a kustomization.yaml.
pub(super) fn kustomize_resources(dir: &Path) -> Vec<String> {
    read_yaml::<Value>(&dir.join("kustomization.yaml"))["resources"]
        .as_array()
        .expect("kustomization.yaml lists resources")
        .iter()
        .map(|r| r.as_str().expect("a path").to_string())
        .collect()
}

/// The learners' file names (without .yaml) that examples/flux/learners applies.
pub(super) fn flux_learners() -> Vec<String> {
    kustomize_resources(&repo().join("examples/flux/learners"))
        .iter()
        .filter_map(|r| {
            let file = Path::new(r).file_stem()?.to_str()?.to_string();
            (file != "namespace").then_some(file)
        })
        .collect()
}

/// Writes the test's Git repository: `crds/`, `charts/learnpath` and `examples/flux` as they
/// are, and the curriculum and learners under their example paths, renamed for this test.
pub(super) fn write_repository(dir: &Path, ns: &str, track: &str) {
    copy_dir(&repo().join("crds"), &dir.join("crds"));
    copy_dir(
        &repo().join("charts/learnpath"),
        &dir.join("charts/learnpath"),
    );
    copy_dir(&repo().join("examples/flux"), &dir.join("examples/flux"));

    // The same path in the test's repository as in this one.
    let in_repository = |file: &Path| {
        dir.join(
            file.strip_prefix(repo())
                .expect("the examples are in the repository"),
        )
    };
    let track_file = fixtures::example_track_file();
    let mut t: Value = read_yaml(&track_file);
    t["metadata"]["name"] = json!(track);
    write_yaml(&in_repository(&track_file), &t);

    let learners = fixtures::examples_dir().join("learners");
    for entry in fs::read_dir(&learners).expect("examples/learners") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let mut obj: Value = read_yaml(&path);
        if obj["kind"] == "Namespace" {
            obj["metadata"]["name"] = json!(ns);
        } else {
            obj["metadata"]["namespace"] = json!(ns);
            obj["spec"]["trackRef"]["name"] = json!(track);
            if path.file_stem().and_then(|s| s.to_str()) == Some(BOT_LEARNER) {
                // Git owns the learner except this signal, which the bot sets.
                if let Some(signals) = obj["spec"]["signals"].as_object_mut() {
                    signals.remove(BOT_SIGNAL);
                }
            }
        }
        write_yaml(&in_repository(&path), &obj);
    }
}

// ------------------------------------------------------------------------------ Flux objects

/// A Flux kind, for dynamic APIs.
pub(super) fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}
/// source.toolkit.fluxcd.io/v1 GitRepository.
pub(super) fn git_repositories() -> ApiResource {
    resource(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    )
}
/// source.toolkit.fluxcd.io/v1 HelmChart.
pub(super) fn helm_charts() -> ApiResource {
    resource("source.toolkit.fluxcd.io", "v1", "HelmChart", "helmcharts")
}
/// kustomize.toolkit.fluxcd.io/v1 Kustomization.
pub(super) fn kustomizations() -> ApiResource {
    resource(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
    )
}
/// helm.toolkit.fluxcd.io/v2 HelmRelease.
pub(super) fn helm_releases() -> ApiResource {
    resource(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
    )
}

/// The condition `type_` of a Flux object's status.
pub(super) fn flux_condition<'a>(obj: &'a DynamicObject, type_: &str) -> Option<&'a Value> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Whether the condition `type_` of a Flux object has `status`.
pub(super) fn condition_is(obj: &DynamicObject, type_: &str, status: &str) -> bool {
    flux_condition(obj, type_).is_some_and(|c| c["status"] == status)
}

/// A Flux object's Ready condition in one line, for reports.
pub(super) fn ready_summary(obj: &DynamicObject) -> String {
    match flux_condition(obj, "Ready") {
        Some(c) => format!(
            "Ready={} {}: {}",
            c["status"].as_str().unwrap_or("?"),
            c["reason"].as_str().unwrap_or("?"),
            c["message"].as_str().unwrap_or("")
        ),
        None => "no Ready condition".into(),
    }
}

/// The Flux objects of examples/flux/clusters/local, adjusted for this test: in `ns`, the Git
/// URL of the local server, short intervals, and a HelmRelease of the node's image whose
/// Deployment starts at zero replicas (the test scales it once it has seen the learners' health
/// check wait).
pub(super) fn flux_objects(ns: &str, url: &str, release: &str) -> Vec<Value> {
    let dir = repo().join("examples/flux/clusters/local");
    let mut objects = Vec::new();
    for file in kustomize_resources(&dir) {
        let mut obj: Value = read_yaml(&dir.join(&file));
        obj["metadata"]["namespace"] = json!(ns);
        let name = obj["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let spec = obj["spec"].as_object_mut().expect("a spec");
        match kind.as_str() {
            "GitRepository" => {
                spec.insert("url".into(), json!(url));
                spec.insert("interval".into(), json!("1s"));
            }
            "Kustomization" => {
                if let Some(source) = spec.get_mut("sourceRef").and_then(|s| s.as_object_mut()) {
                    source.remove("namespace");
                }
                spec.insert("interval".into(), json!("10m"));
                spec.insert("retryInterval".into(), json!("2s"));
                let timeout = if name == LEARNERS_KS {
                    LEARNERS_TIMEOUT
                } else {
                    "2m"
                };
                spec.insert("timeout".into(), json!(timeout));
                if spec["path"] == "./crds" {
                    // The policy the example documents, and essential on a shared cluster:
                    // never garbage-collect the CRDs.
                    assert_eq!(
                        spec["prune"], false,
                        "{file}: the CRDs Kustomization must not prune"
                    );
                }
                if spec["path"] == "./examples/flux/operator" {
                    spec.insert("targetNamespace".into(), json!(ns));
                    let patch = json!({
                        "apiVersion": "helm.toolkit.fluxcd.io/v2",
                        "kind": "HelmRelease",
                        "metadata": {"name": "learnpath"},
                        "spec": {
                            "releaseName": release,
                            "targetNamespace": ns,
                            "storageNamespace": ns,
                            "values": {
                                "image": {"repository": REPOSITORY, "tag": TAG},
                                "replicaCount": 0,
                            },
                        },
                    });
                    spec.insert(
                        "patches".into(),
                        json!([{
                            "target": {"kind": "HelmRelease", "name": "learnpath"},
                            "patch": serde_json::to_string(&patch).unwrap(),
                        }]),
                    );
                }
            }
            other => panic!("{file}: unexpected kind {other:?}"),
        }
        objects.push(obj);
    }
    objects
}
