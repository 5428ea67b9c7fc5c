//! LearningPath and Track CRDs of another release, which do not declare a status field this
//! binary writes: server-side apply then refuses every status patch with a 500. The operator must
//! say why (naming the CRD, the field and the fix), must back off as from a permanent error
//! instead of retrying every few seconds as from a restarting API server (at 10,000 learners that
//! would be thousands of refused patches a second), and must recover once the right CRDs are
//! applied.
//!
//! Its own control plane: the test changes a CRD, which every other test relies on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::json;
use testkit::*;

const CRD: &str = "learningpaths.learnpath.dev";
/// A status field the planner always fills in for a valid plan.
const PRUNED: &str = "estimatedWeeks";
const TRACK_CRD: &str = "tracks.learnpath.dev";
/// A Track status field the operator always fills in.
const TRACK_PRUNED: &str = "exercises";

/// Replaces the installed LearningPath CRD by this release's, less `PRUNED` in the status
/// schema when `stale`.
async fn install_crd(client: &Client, stale: bool) {
    install(client, CRD, PRUNED, stale).await;
}

/// Replaces the installed CRD `name` by this release's, less `pruned` in the status schema when
/// `stale`.
async fn install(client: &Client, name: &str, pruned: &str, stale: bool) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let installed = crds.get(name).await.expect("the CRD is installed");
    let mut crd = learnpath::api::crds()
        .into_iter()
        .find(|c| c.name_any() == name)
        .expect("this release defines the CRD");
    if stale {
        for version in &mut crd.spec.versions {
            let status = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
                .and_then(|root| root.properties.as_mut())
                .and_then(|p| p.get_mut("status"))
                .and_then(|s| s.properties.as_mut())
                .expect("a status schema");
            assert!(status.remove(pruned).is_some(), "{pruned} is in the schema");
        }
    }
    crd.metadata.resource_version = installed.metadata.resource_version;
    crds.replace(name, &PostParams::default(), &crd)
        .await
        .expect("the CRD is replaced");
}

/// Whether the API server keeps `PRUNED` in a LearningPath status now: merge-patched (which
/// prunes undeclared fields silently) into a learner no operator watches, then read back.
async fn keeps_field(probe: &Api<LearningPath>) -> bool {
    let patch = json!({"status": {PRUNED: 3, "summary": format!("probe {}", nonce())}});
    let written = probe
        .patch_status("probe", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("the probe's status is written");
    written.status.and_then(|s| s.estimated_weeks).is_some()
}

/// The same for `TRACK_PRUNED` in a Track's status: the patch's own response shows the pruning,
/// whatever the operator writes to the probe Track afterwards.
async fn track_keeps_field(tracks: &Api<Track>, probe: &str) -> bool {
    let patch = json!({"status": {TRACK_PRUNED: 7, "modules": nonce() % 1000}});
    let written = tracks
        .patch_status(probe, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("the probe Track's status is written");
    written.status.and_then(|s| s.exercises).is_some()
}

/// A value that differs between calls, so that every probe patch changes the object.
fn nonce() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_date_crd_is_named_backed_off_from_and_recovered_from() {
    let client = client().await;
    let ns = namespace(&client, "drift").await;
    let probe_ns = namespace(&client, "drift-probe").await;
    let track = format!("drift-{}", std::process::id());
    apply(&Api::<Track>::all(client.clone()), &example_track(&track))
        .await
        .expect("the Track");
    let probe: Api<LearningPath> = Api::namespaced(client.clone(), &probe_ns);
    let mut probe_lp = example_learner("backend-engineer", &probe_ns, &track);
    probe_lp.metadata.name = Some("probe".into());
    apply(&probe, &probe_lp).await.expect("the probe learner");
    let tracks = Api::<Track>::all(client.clone());
    let probe_track = format!("{track}-probe");
    apply(&tracks, &example_track(&probe_track))
        .await
        .expect("the probe Track");

    install_crd(&client, true).await;
    install(&client, TRACK_CRD, TRACK_PRUNED, true).await;
    eventually(
        "the stale CRDs prune the fields",
        Duration::from_secs(60),
        || async {
            (!keeps_field(&probe).await && !track_keeps_field(&tracks, &probe_track).await)
                .then_some(())
        },
    )
    .await;

    let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let learner = example_learner("backend-engineer", &ns, &track);
    let name = learner.name_any();
    apply(&paths, &learner).await.expect("the learner");

    let out_of_date = "learnpath_reconcile_errors_total{kind=\"crd_out_of_date\"}";
    // Failures 1, 2, 3, 4 wait 1, 2, 4, 8 s: a transient error would stay at 4 s.
    eventually(
        "the operator backs off past 4 s",
        Duration::from_secs(60),
        || async {
            let failures = operator.metric(out_of_date).await.unwrap_or(0.0);
            (failures >= 4.0 && operator.log_text().contains("delay=8s")).then_some(())
        },
    )
    .await;
    let log = operator.log_text();
    assert!(
        log.contains(&format!(
            "the installed LearningPath CRD does not declare .status.{PRUNED}"
        )) && log.contains("apply this release's CRDs"),
        "the log names the undeclared field and the fix:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "the installed Track CRD does not declare .status.{TRACK_PRUNED}"
        )),
        "the log names the Track CRD's undeclared field too:\n{log}"
    );
    assert_eq!(
        operator
            .metric("learnpath_reconcile_errors_total{kind=\"api\"}")
            .await,
        Some(0.0),
        "not counted as an ordinary API error"
    );
    let writes = || async {
        operator
            .metric("learnpath_status_writes_total")
            .await
            .unwrap_or(0.0)
    };

    install_crd(&client, false).await;
    install(&client, TRACK_CRD, TRACK_PRUNED, false).await;
    let restored = std::time::Instant::now();
    eventually(
        "the right CRDs keep the fields",
        Duration::from_secs(60),
        || async {
            (keeps_field(&probe).await && track_keeps_field(&tracks, &probe_track).await)
                .then_some(())
        },
    )
    .await;
    // Any event on the Track reconciles it again (the next timed retry is a minute away).
    let touch =
        json!({"metadata": {"annotations": {"learnpath.dev/drift-test": nonce().to_string()}}});
    tracks
        .patch(&track, &PatchParams::default(), &Patch::Merge(&touch))
        .await
        .expect("the Track is annotated");
    let exercises: usize = example_track(&track)
        .spec
        .modules
        .iter()
        .map(|m| m.exercises.len())
        .sum();
    eventually(
        "the Track's status is complete again",
        Duration::from_secs(60),
        || async {
            let status = tracks.get(&track).await.ok()?.status?;
            (status.exercises.map(|n| n as usize) == Some(exercises)).then_some(())
        },
    )
    .await;
    // The next retry (or any edit) writes the full status, and then it stays.
    let healed = eventually(
        "the learner's status is complete again",
        Duration::from_secs(120),
        || async {
            let lp = paths.get(&name).await.ok()?;
            let complete = lp
                .status
                .as_ref()
                .is_some_and(|s| s.estimated_weeks.is_some());
            (complete && is_ready(&lp)).then_some(lp)
        },
    )
    .await;
    println!(
        "the learner's status was complete {:.1?} after the right CRD was applied",
        restored.elapsed()
    );
    let expected = learnpath::controller::desired_status(
        &healed,
        Api::<Track>::all(client.clone())
            .get(&track)
            .await
            .ok()
            .as_ref(),
        learnpath::controller::now(),
    );
    assert_eq!(
        healed
            .status
            .as_ref()
            .map(|s| (s.estimated_weeks, &s.stages)),
        Some((expected.estimated_weeks, &expected.stages)),
        "the status is the plan of the current inputs"
    );
    let settled = writes().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(writes().await, settled, "no write once the status is kept");
    cleanup(&client, &ns, &track).await;
    cleanup(&client, &probe_ns, &probe_track).await;
}
