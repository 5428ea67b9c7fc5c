//! Numbers JSON cannot carry (NaN, infinities, 1e400) never reach the operator.

use kube::Api;
use learnpath::api::{LearningPath, Track};
use testkit::*;

use super::requests::*;

/// NaN, infinities and out-of-range floats cannot be written in JSON; in YAML they can. None of
/// them reaches the operator: the API server refuses every such object.
#[tokio::test]
async fn numbers_that_are_not_finite_never_reach_the_operator() {
    let client = client().await;
    let ns = namespace(&client, "nan").await;
    let tracks: Api<Track> = Api::all(client.clone());
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let name = format!("nan-{ns}");

    for (what, weight) in [("NaN", ".nan"), ("+Inf", ".inf"), ("-Inf", "-.inf")] {
        let yaml = format!(
            "apiVersion: learnpath.dev/v1alpha1\nkind: Track\nmetadata: {{name: {name}}}\nspec:\n  title: t\n  modules: [{{id: a, title: A, hours: 1}}]\n  profiles: {{industries: {{x: {{weights: {{a: {weight}}}}}}}}}\n"
        );
        let status = refused_with(
            &apply_yaml::<Track>(&client, None, &name, &yaml).await,
            &format!("a {what} weight in YAML"),
        );
        eprintln!("{what} weight: {} {}", status.code, status.message);
        assert_eq!(status.code, 400, "{what}: {status:?}");
        assert!(status.message.contains(what), "{what}: {status:?}");
        assert!(tracks.get_opt(&name).await.unwrap().is_none(), "{what}");

        let yaml = format!(
            "apiVersion: learnpath.dev/v1alpha1\nkind: LearningPath\nmetadata: {{name: l, namespace: {ns}}}\nspec:\n  trackRef: {{name: t}}\n  learner: {{name: L}}\n  signals: {{ciFailureRate: {weight}}}\n"
        );
        let status = refused_with(
            &apply_yaml::<LearningPath>(&client, Some(&ns), "l", &yaml).await,
            &format!("a {what} signal in YAML"),
        );
        eprintln!("{what} signal: {} {}", status.code, status.message);
        assert_eq!(status.code, 400, "{what}: {status:?}");
        assert!(status.message.contains(what), "{what}: {status:?}");
        assert!(paths.get_opt("l").await.unwrap().is_none(), "{what}");
    }

    // A JSON number beyond f64 (1e400) in a rule's value and a weight.
    for (what, spec) in [
        (
            "rule value",
            r#"{"title": "t", "modules": [{"id": "a", "title": "A", "hours": 1}], "rules": [{"id": "r", "when": [{"signal": "s", "operator": ">", "value": 1e400}], "then": {"recommend": {"text": "x"}}, "message": "m"}]}"#,
        ),
        (
            "weight",
            r#"{"title": "t", "modules": [{"id": "a", "title": "A", "hours": 1}], "profiles": {"roles": {"x": {"weights": {"a": -1e400}}}}}"#,
        ),
    ] {
        let body = format!(
            r#"{{"apiVersion": "learnpath.dev/v1alpha1", "kind": "Track", "metadata": {{"name": "{name}"}}, "spec": {spec}}}"#
        );
        let status = refused_with(
            &create_raw::<Track>(&client, None, body.into_bytes(), false).await,
            &format!("1e400 as a {what}"),
        );
        eprintln!("1e400 {what}: {} {}", status.code, status.message);
        assert_eq!(status.code, 400, "{what}: {status:?}");
        assert!(status.message.contains("1e400"), "{what}: {status:?}");
        assert!(tracks.get_opt(&name).await.unwrap().is_none(), "{what}");
    }

    // The control: the same YAML with a finite weight is accepted, so the refusals above are
    // about the numbers.
    let yaml = format!(
        "apiVersion: learnpath.dev/v1alpha1\nkind: Track\nmetadata: {{name: {name}}}\nspec:\n  title: t\n  modules: [{{id: a, title: A, hours: 1}}]\n  profiles: {{industries: {{x: {{weights: {{a: 2.5}}}}}}}}\n"
    );
    accepted(
        &apply_yaml::<Track>(&client, None, &name, &yaml).await,
        "a finite weight in YAML",
    );
    cleanup(&client, &ns, &name).await;
}
