//! Clients of a control plane, and the objects tests make there: namespaces, the example Track
//! and learners, anything server-side applied, and the conditions the operator writes.

use std::path::Path;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use learnpath::api::{LearningPath, Track};
use serde::de::DeserializeOwned;

use crate::cluster::cluster;
use crate::local::unique;

/// A client with the identity of `kubeconfig`.
pub async fn client_from(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("kubeconfig reads");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is usable");
    Client::try_from(config).expect("client builds")
}

/// An admin client of this test binary's control plane.
pub async fn client() -> Client {
    client_from(&cluster().kubeconfig).await
}

/// A fresh namespace (and a matching unique Track name) for one test.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}-{}", std::process::id(), unique());
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
    name
}

/// A fresh namespace that enforces (and warns and audits) the restricted Pod Security Standard.
pub async fn restricted_namespace(client: &Client, prefix: &str) -> String {
    let ns = namespace(client, prefix).await;
    let patch = serde_json::json!({"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
    }}});
    Api::<Namespace>::all(client.clone())
        .patch(&ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("namespace labelled");
    ns
}

/// Deletes namespaces, best effort.
pub async fn delete_namespaces(client: &Client, names: &[&str]) {
    for name in names {
        let _ = Api::<Namespace>::all(client.clone())
            .delete(name, &DeleteParams::default())
            .await;
    }
}

/// Deletes a namespace and a Track, best effort.
pub async fn cleanup(client: &Client, namespace: &str, track: &str) {
    delete_namespaces(client, &[namespace]).await;
    let _ = Api::<Track>::all(client.clone())
        .delete(track, &DeleteParams::default())
        .await;
}

/// The example Track under another name, so that tests running at once do not share it.
pub fn example_track(name: &str) -> Track {
    let mut track = learnpath::fixtures::example_track();
    track.metadata.name = Some(name.to_string());
    track
}

/// An example learner (one of [`LEARNERS`](crate::LEARNERS)) in `namespace`, on Track `track`.
pub fn example_learner(file: &str, namespace: &str, track: &str) -> LearningPath {
    let mut lp = learnpath::fixtures::example_learner(file);
    lp.metadata.namespace = Some(namespace.to_string());
    lp.spec.track_ref.name = track.to_string();
    lp
}

/// The field manager of everything the tests apply.
pub const TEST_MANAGER: &str = "e2e-tests";

/// Server-side applies any object as the test's own field manager.
pub async fn apply<K>(api: &Api<K>, obj: &K) -> Result<K, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = obj.meta().name.clone().expect("object has a name");
    let mut value = serde_json::to_value(obj).expect("serializes");
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            for server_owned in [
                "managedFields",
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
            ] {
                meta.remove(server_owned);
            }
        }
        map.insert(
            "apiVersion".into(),
            K::api_version(&Default::default()).into(),
        );
        map.insert("kind".into(), K::kind(&Default::default()).into());
    }
    api.patch(
        &name,
        &PatchParams::apply(TEST_MANAGER).force(),
        &Patch::Apply(&value),
    )
    .await
}

/// The condition `type_` of a LearningPath's status.
pub fn condition<'a>(lp: &'a LearningPath, type_: &str) -> Option<&'a Condition> {
    lp.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

/// Ready, and for the LearningPath's current generation.
pub fn is_ready(lp: &LearningPath) -> bool {
    condition(lp, "Ready").is_some_and(|c| c.status == "True")
        && lp.status.as_ref().and_then(|s| s.observed_generation) == lp.metadata.generation
}

/// The example Track as `track` and every example learner in `ns` on it.
pub async fn apply_examples(client: &Client, ns: &str, track: &str) {
    apply(&Api::<Track>::all(client.clone()), &example_track(track))
        .await
        .expect("Track applied");
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), ns);
    for learner in crate::LEARNERS {
        apply(&paths, &example_learner(learner, ns, track))
            .await
            .expect("learner applied");
    }
}

/// Every example learner in `ns` Ready within `within`; panics with `log()` (the operator's log)
/// when they are not.
pub async fn all_ready(
    client: &Client,
    ns: &str,
    within: std::time::Duration,
    log: impl Fn() -> String,
) -> Vec<LearningPath> {
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), ns);
    let ready = tokio::time::timeout(within, async {
        loop {
            if let Ok(list) = paths.list(&Default::default()).await
                && list.items.len() == crate::LEARNERS.len()
                && list.items.iter().all(is_ready)
            {
                return list.items;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    ready.unwrap_or_else(|_| {
        panic!(
            "the example learners in {ns} did not all become Ready within {within:?}; operator log:\n{}",
            log()
        )
    })
}
