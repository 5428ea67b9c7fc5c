//! The API server itself enforces the schema: proof that the server is real and the CRDs say what we mean.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;
use learnpath::api::{LearningPath, Track};

use testkit::*;

#[tokio::test]
async fn generated_crds_are_established() {
    let client = client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in ["tracks.learnpath.dev", "learningpaths.learnpath.dev"] {
        let crd = crds.get(name).await.expect("CRD exists");
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{name} is not Established");
    }
    let version = client.apiserver_version().await.expect("/version");
    assert_eq!(
        version.git_version, "v1.37.2",
        "the pinned apiserver answers"
    );
}

/// Creates a raw object (it may lack required fields, so it is not typed) and returns the refusal.
async fn refused<K>(client: &kube::Client, obj: serde_json::Value) -> String
where
    K: kube::Resource<DynamicType = ()>,
{
    let resource = kube::api::ApiResource::erase::<K>(&());
    let raw: Api<kube::api::DynamicObject> = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let obj: kube::api::DynamicObject =
        serde_json::from_value(obj).expect("test object deserializes");
    match raw.create(&PostParams::default(), &obj).await {
        Ok(_) => panic!("the API server accepted an invalid object"),
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            status.message
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn track(name: &str, spec: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "Track", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn the_server_refuses_tracks_that_break_the_schema_with_a_readable_message() {
    let client = client().await;
    let module = |id: &str, prereqs: &[&str]| serde_json::json!({"id": id, "title": id, "hours": 1, "prerequisites": prereqs});

    let message = refused::<Track>(&client, track("bad-threshold", serde_json::json!({"title": "t", "masteryThreshold": 150, "modules": [module("a", &[])]}))).await;
    assert!(
        message.contains("masteryThreshold") && message.contains("100"),
        "{message}"
    );

    let message = refused::<Track>(
        &client,
        track(
            "bad-self",
            serde_json::json!({"title": "t", "modules": [module("a", &["a"])]}),
        ),
    )
    .await;
    assert!(
        message.contains("a module cannot be its own prerequisite"),
        "{message}"
    );

    let message = refused::<Track>(
        &client,
        track(
            "bad-dup",
            serde_json::json!({"title": "t", "modules": [module("a", &[]), module("a", &[])]}),
        ),
    )
    .await;
    assert!(message.contains("Duplicate value"), "{message}");

    let message = refused::<Track>(
        &client,
        track(
            "bad-id",
            serde_json::json!({"title": "t", "modules": [module("Not_An_Id", &[])]}),
        ),
    )
    .await;
    assert!(message.contains("spec.modules[0].id"), "{message}");

    let message = refused::<Track>(
        &client,
        track(
            "bad-weight",
            serde_json::json!({"title": "t", "modules": [module("a", &[])], "profiles": {"industries": {"x": {"weights": {"a": -2}}}}}),
        ),
    )
    .await;
    assert!(
        message.contains("weights are numbers from 0 to 1000"),
        "{message}"
    );

    let message = refused::<Track>(
        &client,
        track(
            "bad-rule",
            serde_json::json!({"title": "t", "modules": [module("a", &[])], "rules": [{"id": "r", "when": [{"signal": "s", "operator": ">", "value": 1}], "then": {}, "message": "m"}]}),
        ),
    )
    .await;
    assert!(
        message.contains("a rule needs at least one action"),
        "{message}"
    );

    let too_many: Vec<_> = (0..501).map(|i| module(&format!("m{i}"), &[])).collect();
    let message = refused::<Track>(
        &client,
        track(
            "bad-size",
            serde_json::json!({"title": "t", "modules": too_many}),
        ),
    )
    .await;
    assert!(message.contains("must have at most 500 items"), "{message}");
}

#[tokio::test]
async fn the_server_refuses_learning_paths_that_break_the_schema() {
    let client = client().await;
    let ns = namespace(&client, "schema").await;
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let lp = |spec: serde_json::Value| serde_json::json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "LearningPath", "metadata": {"name": "x", "namespace": ns}, "spec": spec});
    let message = refused::<LearningPath>(&client, lp(serde_json::json!({"trackRef": {"name": "t"}, "learner": {"name": "L"}, "assessment": {"a": 150}}))).await;
    assert!(
        message.contains("scores are integers from 0 to 100"),
        "{message}"
    );
    let message = refused::<LearningPath>(&client, lp(serde_json::json!({"trackRef": {"name": "t"}, "learner": {"name": "L"}, "nextExercisesLimit": 21}))).await;
    assert!(message.contains("nextExercisesLimit"), "{message}");
    let message =
        refused::<LearningPath>(&client, lp(serde_json::json!({"learner": {"name": "L"}}))).await;
    assert!(message.contains("trackRef"), "{message}");

    // Defaults come from the schema, applied by the server.
    let created = paths
        .create(
            &PostParams::default(),
            &serde_json::from_value(lp(
                serde_json::json!({"trackRef": {"name": "t"}, "learner": {"name": "L"}}),
            ))
            .unwrap(),
        )
        .await
        .expect("a minimal LearningPath is accepted");
    assert_eq!(created.spec.hours_per_week, 5);
    assert_eq!(created.spec.next_exercises_limit, 3);
    assert_eq!(
        created.status.and_then(|s| s.observed_generation),
        Some(-1),
        "a fresh object reads as not yet observed, so kstatus does not call it Current"
    );
    cleanup(&client, &ns, "none").await;
}
