//! The operator binary against the real API server: the roadmap follows every edit, bad input
//! gets a precise condition, and nothing is written when nothing changed.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::json;

use testkit::*;

const WAIT: Duration = Duration::from_secs(60);

async fn all_paths(api: &Api<LearningPath>) -> Vec<LearningPath> {
    api.list(&ListParams::default()).await.expect("list").items
}

/// The status as JSON with transition times removed: they record when, not what.
fn comparable(status: &serde_json::Value) -> serde_json::Value {
    let mut status = status.clone();
    if let Some(conditions) = status.get_mut("conditions").and_then(|c| c.as_array_mut()) {
        for c in conditions {
            if let Some(c) = c.as_object_mut() {
                c.remove("lastTransitionTime");
            }
        }
    }
    status
}

async fn track_generation_everywhere(
    api: &Api<LearningPath>,
    generation: i64,
) -> Option<Vec<LearningPath>> {
    let paths = all_paths(api).await;
    paths
        .iter()
        .all(|lp| lp.status.as_ref().and_then(|s| s.track_generation) == Some(generation))
        .then_some(paths)
}

#[tokio::test]
async fn examples_become_ready_and_follow_every_edit() {
    let client = client().await;
    let ns = namespace(&client, "examples").await;
    let track_name = format!("go-engineer-{ns}");
    let tracks: Api<Track> = Api::all(client.clone());
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);

    apply_examples(&client, &ns, &track_name).await;
    let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);

    // 1. Every learner Ready, with the roadmap the seed describes.
    let mut ready = all_ready(&client, &ns, WAIT, || operator.log_text()).await;
    ready.sort_by_key(|lp| lp.metadata.name.clone());
    let backend = ready
        .iter()
        .find(|lp| lp.name_any() == "backend-engineer")
        .unwrap();
    let status = backend.status.as_ref().unwrap();
    assert_eq!(
        status.stages[0].modules[0].id,
        "k8s-operator",
        "{}",
        operator.log_text()
    );
    assert!(status.mastered.contains(&"docker-basics".to_string()));
    assert_eq!(status.track_generation, Some(1));
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let reasons: Vec<String> = eventually("events for the first plan", WAIT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        let reasons: Vec<String> = list.items.iter().filter_map(|e| e.reason.clone()).collect();
        reasons
            .iter()
            .any(|r| r == "RuleTriggered")
            .then_some(reasons)
    })
    .await;
    assert!(reasons.iter().any(|r| r == "PlanComputed"), "{reasons:?}");
    let track_status = eventually("Track status", WAIT, || async {
        tracks.get(&track_name).await.ok()?.status
    })
    .await;
    let modules = example_track(&track_name).spec.modules.len() as u32;
    assert_eq!(track_status.modules, Some(modules));
    assert_eq!(track_status.conditions[0].status, "True");

    // 2. `learnpath plan` on the live objects prints what the operator wrote.
    let dir = tempfile::tempdir().unwrap();
    let live_track = tracks.get(&track_name).await.unwrap();
    std::fs::write(
        dir.path().join("track.json"),
        serde_json::to_string(&live_track).unwrap(),
    )
    .unwrap();
    for lp in &ready {
        let file = dir.path().join(format!("{}.json", lp.name_any()));
        std::fs::write(&file, serde_json::to_string(lp).unwrap()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_learnpath"))
            .args(["plan", "--track"])
            .arg(dir.path().join("track.json"))
            .arg("--path")
            .arg(&file)
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let written = serde_json::to_value(lp.status.as_ref().unwrap()).unwrap();
        assert_eq!(
            comparable(&printed),
            comparable(&written),
            "{}",
            lp.name_any()
        );
    }

    // 3. Nothing changed: a restarted operator reconciles every learner and writes nothing.
    drop(operator);
    let versions: BTreeMap<String, String> = all_paths(&paths)
        .await
        .iter()
        .map(|lp| (lp.name_any(), lp.resource_version().unwrap()))
        .collect();
    let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    let settled = eventually(
        "a reconcile of every learner after the restart, then quiet",
        WAIT,
        || async {
            let first = operator.metric("learnpath_reconciles_total").await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let second = operator.metric("learnpath_reconciles_total").await?;
            (first >= LEARNERS.len() as f64 && first == second).then_some(second)
        },
    )
    .await;
    // A Track change that is not a spec change (a label) must not send anyone through a reconcile.
    tracks
        .patch(
            &track_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        operator
            .metric("learnpath_status_writes_total")
            .await
            .unwrap(),
        0.0,
        "{}",
        operator.log_text()
    );
    assert_eq!(
        operator.metric("learnpath_reconciles_total").await.unwrap(),
        settled,
        "a label on the Track reconciles nobody"
    );
    let after: BTreeMap<String, String> = all_paths(&paths)
        .await
        .iter()
        .map(|lp| (lp.name_any(), lp.resource_version().unwrap()))
        .collect();
    assert_eq!(versions, after, "no resourceVersion moved");

    // 4. A finished exercise: the learner's status follows.
    let patch = json!({
        "apiVersion": "learnpath.dev/v1alpha1", "kind": "LearningPath",
        "metadata": {"name": "backend-engineer"},
        "spec": {"completedExercises": ["operator-reconcile-debug"]},
    });
    paths
        .patch(
            "backend-engineer",
            &PatchParams::apply("progress-bot"),
            &Patch::Apply(&patch),
        )
        .await
        .unwrap();
    let followed = eventually(
        "backend-engineer's status to follow the exercise",
        WAIT,
        || async {
            let lp = paths.get("backend-engineer").await.ok()?;
            is_ready(&lp).then_some(lp)
        },
    )
    .await;
    let status = followed.status.unwrap();
    assert!(
        status
            .next_exercises
            .iter()
            .all(|e| e.exercise != "operator-reconcile-debug")
    );
    assert_eq!(
        status.stages[0].modules[0].state,
        learnpath::api::ModuleState::InProgress
    );

    // 5. A Track weight changes: every learner is recomputed from the new generation.
    let before_weight = all_paths(&paths).await;
    tracks
        .patch(
            &track_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"profiles": {"industries": {"cloud": {"weights": {"k8s-operator": 0.1}}}}}})),
        )
        .await
        .unwrap();
    let after_weight = eventually("trackGeneration 2 on every learner", WAIT, || {
        track_generation_everywhere(&paths, 2)
    })
    .await;
    let first = |all: &[LearningPath], name: &str| {
        all.iter()
            .find(|lp| lp.name_any() == name)
            .unwrap()
            .status
            .as_ref()
            .unwrap()
            .stages[0]
            .modules[0]
            .id
            .clone()
    };
    assert_eq!(first(&before_weight, "backend-engineer"), "k8s-operator");
    assert_ne!(
        first(&after_weight, "backend-engineer"),
        "k8s-operator",
        "the weight moved the operator module back"
    );

    // 6. A cycle: Valid=False naming it, and the last good plan stays.
    let mut cyclic = tracks.get(&track_name).await.unwrap();
    let basics = cyclic
        .spec
        .modules
        .iter_mut()
        .find(|m| m.id == "go-basics")
        .unwrap();
    basics.prerequisites.push("k8s-operator".into());
    apply(&tracks, &cyclic)
        .await
        .expect("a cycle passes the schema: only the planner can see it");
    let broken = eventually("Valid=False on every learner", WAIT, || async {
        let all = track_generation_everywhere(&paths, 3).await?;
        all.iter()
            .all(|lp| condition(lp, "Valid").is_some_and(|c| c.status == "False"))
            .then_some(all)
    })
    .await;
    for lp in &broken {
        let valid = condition(lp, "Valid").unwrap();
        assert_eq!(valid.reason, "PrerequisiteCycle");
        assert!(
            valid.message.contains("go-basics") && valid.message.contains("k8s-operator"),
            "{}",
            valid.message
        );
        assert_eq!(condition(lp, "Stalled").unwrap().status, "True");
        let good = after_weight
            .iter()
            .find(|g| g.name_any() == lp.name_any())
            .unwrap();
        assert_eq!(
            lp.status.as_ref().unwrap().stages,
            good.status.as_ref().unwrap().stages,
            "last good plan kept"
        );
    }

    let track_status = eventually("Valid=False on the Track itself", WAIT, || async {
        let status = tracks.get(&track_name).await.ok()?.status?;
        (status.conditions[0].status == "False").then_some(status)
    })
    .await;
    assert_eq!(track_status.conditions[0].reason, "PrerequisiteCycle");

    // 7. The Track deleted: TrackNotFound; recreated: recovery without any edit of the learners.
    tracks
        .delete(&track_name, &Default::default())
        .await
        .unwrap();
    eventually("TrackNotFound on every learner", WAIT, || async {
        let all = all_paths(&paths).await;
        all.iter()
            .all(|lp| condition(lp, "Valid").is_some_and(|c| c.reason == "TrackNotFound"))
            .then_some(())
    })
    .await;
    apply(&tracks, &example_track(&track_name)).await.unwrap();
    eventually("recovery once the Track is back", WAIT, || async {
        let all = all_paths(&paths).await;
        all.iter().all(is_ready).then_some(())
    })
    .await;
    let reasons: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|e| e.reason.clone())
        .collect();
    assert!(
        reasons.iter().any(|r| r == "TrackNotFound") && reasons.iter().any(|r| r == "Recovered"),
        "{reasons:?}"
    );

    drop(operator);
    cleanup(&client, &ns, &track_name).await;
}

#[tokio::test]
async fn an_unknown_profile_gets_a_condition_naming_the_known_ones() {
    let client = client().await;
    let ns = namespace(&client, "profile").await;
    let track_name = format!("go-engineer-{ns}");
    let tracks: Api<Track> = Api::all(client.clone());
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    apply(&tracks, &example_track(&track_name)).await.unwrap();
    let mut lp = example_learner("backend-engineer", &ns, &track_name);
    lp.spec.industry = Some("retail".into());
    apply(&paths, &lp).await.unwrap();
    let _operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    let lp = eventually("Valid=False", WAIT, || async {
        let lp = paths.get("backend-engineer").await.ok()?;
        condition(&lp, "Valid")
            .is_some_and(|c| c.status == "False")
            .then_some(lp)
    })
    .await;
    let valid = condition(&lp, "Valid").unwrap();
    assert_eq!(valid.reason, "UnknownProfile");
    assert!(
        valid.message.contains("\"retail\"") && valid.message.contains("cloud, fintech, iot"),
        "{}",
        valid.message
    );
    assert_eq!(condition(&lp, "Ready").unwrap().status, "False");
    cleanup(&client, &ns, &track_name).await;
}

#[tokio::test]
async fn sigterm_stops_the_operator_cleanly_within_ten_seconds() {
    let client = client().await;
    let ns = namespace(&client, "sigterm").await;
    let mut operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    eventually("/readyz ok", WAIT, || async {
        http_get(&operator.metrics_addr, "/readyz").await
    })
    .await;
    let status = operator
        .terminate(Duration::from_secs(10))
        .expect("exited within 10 s");
    assert!(status.success(), "exit {status:?}: {}", operator.log_text());
    cleanup(&client, &ns, "none").await;
}
