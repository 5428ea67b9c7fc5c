//! The CEL cost budget: the CRDs' validation rules fit it with room to spare, found by probing
//! dry-run CRDs whose bounds are multiplied until the API server refuses them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use testkit::*;

/// Multiplies every key in `keys` (e.g. maxItems) anywhere in the schema by `factor`.
fn scale_bounds(schema: &mut Value, keys: &[&str], factor: u64) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if keys.contains(&k.as_str()) {
                    if let Some(n) = v.as_u64() {
                        *v = json!(n * factor);
                    }
                } else {
                    scale_bounds(v, keys, factor);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scale_bounds(v, keys, factor)),
        _ => {}
    }
}

/// The generated CRD of `kind`, moved to another group, with `keys` multiplied by `factor`.
fn probe_crd(kind: &str, group: &str, keys: &[&str], factor: u64) -> CustomResourceDefinition {
    let crd = learnpath::api::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap();
    let mut value = serde_json::to_value(&crd).unwrap();
    value["spec"]["group"] = json!(group);
    let plural = value["spec"]["names"]["plural"]
        .as_str()
        .unwrap()
        .to_string();
    value["metadata"] = json!({"name": format!("{plural}.{group}")});
    for version in value["spec"]["versions"].as_array_mut().unwrap() {
        scale_bounds(&mut version["schema"], keys, factor);
    }
    serde_json::from_value(value).unwrap()
}

/// Dry-run creates of the probe CRD: `Ok` when the server would accept it, else its message.
async fn probe(client: &Client, kind: &str, keys: &[&str], factor: u64) -> Result<(), String> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let group = format!("costprobe{}.learnpath.dev", std::process::id());
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    match crds
        .create(&pp, &probe_crd(kind, &group, keys, factor))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 422 => Err(status.message),
        Err(e) => panic!("{kind} x{factor}: {e}"),
    }
}

/// Factors beyond this are not probed: a bound 1,000 times larger is room enough.
const MAX_FACTOR: u64 = 1024;

/// The largest factor (to within 1, at most [`MAX_FACTOR`]) by which `keys` can be multiplied
/// before the server refuses the CRD, and the refusal at the smallest refused factor (`None`
/// when even `MAX_FACTOR` is accepted).
async fn largest_accepted_factor(
    client: &Client,
    kind: &str,
    keys: &[&str],
) -> (u64, Option<String>) {
    assert_eq!(
        probe(client, kind, keys, 1).await,
        Ok(()),
        "{kind} as generated"
    );
    let mut good = 1;
    let mut bad = 2;
    let mut refusal = loop {
        match probe(client, kind, keys, bad).await {
            Ok(()) if bad >= MAX_FACTOR => return (bad, None),
            Ok(()) => {
                good = bad;
                bad = (bad * 2).min(MAX_FACTOR);
            }
            Err(message) => break message,
        }
    };
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        match probe(client, kind, keys, mid).await {
            Ok(()) => good = mid,
            Err(message) => {
                bad = mid;
                refusal = message;
            }
        }
    }
    (good, Some(refusal))
}

#[tokio::test]
async fn the_cel_rules_fit_the_cost_budget_with_room_to_spare() {
    let client = client().await;
    // The probe can fail: a schema whose bounds are far too large for its rules is refused, and
    // the refusal is about the CEL cost.
    let (_, refusal) =
        largest_accepted_factor(&client, "Track", &["maxItems", "maxProperties"]).await;
    let refusal = refusal.expect("some factor up to 1024 exceeds the budget");
    assert!(
        refusal.contains("estimated rule cost exceeds budget"),
        "{refusal}"
    );
    for kind in ["Track", "LearningPath"] {
        for (what, keys) in [
            ("list and map bounds", &["maxItems", "maxProperties"][..]),
            ("string bounds", &["maxLength"][..]),
        ] {
            let (factor, refusal) = largest_accepted_factor(&client, kind, keys).await;
            match &refusal {
                Some(refusal) => {
                    eprintln!(
                        "{kind}: {what} x{factor} accepted, x{} refused: {refusal}",
                        factor + 1
                    );
                    assert!(refusal.contains("cost"), "{kind} {what}: {refusal}");
                }
                None => eprintln!("{kind}: {what} x{factor} accepted (not probed further)"),
            }
            assert!(
                factor >= 2,
                "{kind}: the {what} can only grow x{factor} before the CEL budget is exceeded"
            );
        }
    }
    // Nothing was created: the probes were dry runs.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let left: Vec<String> = crds
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .filter(|n| n.contains("costprobe"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
