//! The chart as users install it: the operator's image as the release's Pod, Ready through its
//! probes under the restricted Pod Security Standard, reconciling the examples; `helm test` in
//! the operator's own image; `helm upgrade` to a new tag without a needless write;
//! `helm uninstall` keeping every Track and LearningPath.

use std::collections::BTreeMap;
use std::time::Instant;

use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::json;
use testkit::*;

use super::harness::*;

/// Each learner's resourceVersion: a write changes it.
pub async fn versions(client: &Client, ns: &str) -> BTreeMap<String, String> {
    Api::<LearningPath>::namespaced(client.clone(), ns)
        .list(&Default::default())
        .await
        .expect("list learners")
        .items
        .iter()
        .map(|lp| (lp.name_any(), lp.resource_version().unwrap_or_default()))
        .collect()
}

/// The uid a container's process runs as, read from the node's /proc: the process whose
/// environment names `pod` and whose command is the image's entrypoint.
pub fn container_pids(pod: &str) -> Vec<u32> {
    let wanted = format!("POD_NAME={pod}");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !cmdline.starts_with(b"/learnpath\0") {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ
            .split(|b| *b == 0)
            .any(|var| var == wanted.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids
}

/// The real uid of a process (`Uid:` in /proc/PID/status).
fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A learner's spec changes: their observability assessment becomes `score`; the new generation.
pub async fn assess_observability(client: &Client, ns: &str, name: &str, score: u8) -> i64 {
    let api = Api::<LearningPath>::namespaced(client.clone(), ns);
    let before = api.get(name).await.expect("learner");
    let patch = json!({"spec": {"assessment": {"observability": score}}});
    let after = api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("learner patched");
    let generation = after.metadata.generation.unwrap_or_default();
    assert!(
        generation > before.metadata.generation.unwrap_or_default(),
        "the patch changed the spec"
    );
    generation
}

/// Waits until `name` is Ready for `generation`.
pub async fn ready_for(client: &Client, ns: &str, name: &str, generation: i64, log: &Release) {
    let api = Api::<LearningPath>::namespaced(client.clone(), ns);
    let ok = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(lp) = api.get(name).await
                && is_ready(&lp)
                && lp.metadata.generation == Some(generation)
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        ok.is_ok(),
        "{ns}/{name} not Ready for generation {generation}\n{}",
        log.describe()
    );
}

#[tokio::test]
async fn the_chart_runs_the_operator_image_as_a_ready_restricted_pod() {
    let _turn = SERIAL.lock().await;
    let client = node_client().await;
    let ns = restricted_namespace(&client, "node-rel").await;
    let learners = namespace(&client, "node-lp").await;
    let track = format!("node-go-{}", std::process::id());

    let started = Instant::now();
    let release = Release::install("learnpath", &ns, &[]);
    eprintln!("helm install --wait: {:?}", started.elapsed());
    let pods = release.pods(&client).await;
    assert_eq!(pods.len(), 1, "one replica");
    assert!(pod_ready(&pods[0]), "{}", release.describe());
    let pod = pods[0].name_any();
    let status = &pods[0].status.as_ref().expect("status").container_statuses;
    let container = &status.as_ref().expect("container statuses")[0];
    assert_eq!(
        container.image,
        format!("docker.io/library/{REPOSITORY}:{TAG}")
    );
    eprintln!("image id {}", container.image_id);

    // The image's user, not root: the chart's securityContext and the image's USER agree.
    let pids = container_pids(&pod);
    assert_eq!(pids.len(), 1, "one operator process for {pod}");
    assert_eq!(uid_of(pids[0]), Some(65532));

    apply_examples(&client, &learners, &track).await;
    all_ready(&client, &learners, WAIT, || release.describe()).await;
    assert_eq!(check_mismatches(), 0);

    let out = node_helm(&[
        "test",
        "learnpath",
        "-n",
        &ns,
        "--timeout",
        "120s",
        "--logs",
    ]);
    assert!(
        out.ok && out.stdout.contains("200 OK"),
        "helm test: {}\n{}",
        out.stdout,
        out.stderr
    );

    // A new tag of the same build: the Pod is replaced, and nothing is written, because nothing
    // about any learner changed.
    let before = versions(&client, &learners).await;
    ctr(&[
        "images",
        "tag",
        "--force",
        &format!("docker.io/library/{REPOSITORY}:{TAG}"),
        &format!("docker.io/library/{REPOSITORY}:{TAG}-next"),
    ])
    .expect("ctr images tag");
    let chart = repo().join("charts/learnpath").display().to_string();
    let next = format!("image.tag={TAG}-next");
    node_helm(&[
        "upgrade",
        "learnpath",
        &chart,
        "-n",
        &ns,
        "--reuse-values",
        "--set",
        &next,
        "--wait",
        "--timeout",
        "180s",
    ])
    .expect("helm upgrade to a new tag");
    let pods = release.pods(&client).await;
    let upgraded: Vec<_> = pods.iter().filter(|p| pod_ready(p)).collect();
    assert_eq!(upgraded.len(), 1, "{}", release.describe());
    assert_ne!(upgraded[0].name_any(), pod, "the Pod was replaced");
    let learner = "backend-engineer";
    let generation = assess_observability(&client, &learners, learner, 30).await;
    ready_for(&client, &learners, learner, generation, &release).await;
    let after = versions(&client, &learners).await;
    for (name, version) in &before {
        if name != learner {
            assert_eq!(
                after.get(name),
                Some(version),
                "{name} was written though nothing about it changed"
            );
        }
    }
    assert_eq!(check_mismatches(), 0);

    // The probe fails when the operator does not answer: helm test can fail.
    node_kubectl(&[
        "scale",
        "deployment",
        "learnpath",
        "-n",
        &ns,
        "--replicas=0",
    ])
    .expect("scale to 0");
    // Until its Pod is gone, a terminating operator still answers: kube-proxy sends a Service's
    // traffic to serving, terminating endpoints when it has no ready one.
    let scaled = Instant::now();
    eventually("no operator Pod left", WAIT, || async {
        release.pods(&client).await.is_empty().then_some(())
    })
    .await;
    eprintln!("scaled to 0: no Pod left after {:?}", scaled.elapsed());
    let out = node_helm(&["test", "learnpath", "-n", &ns, "--timeout", "90s"]);
    assert!(!out.ok, "helm test passed with no operator: {}", out.stdout);

    drop(release);
    assert!(Api::<Track>::all(client.clone()).get(&track).await.is_ok());
    assert_eq!(
        versions(&client, &learners).await.len(),
        LEARNERS.len(),
        "helm uninstall keeps every LearningPath"
    );
    cleanup(&client, &learners, &track).await;
    delete_namespaces(&client, &[&ns]).await;
}
