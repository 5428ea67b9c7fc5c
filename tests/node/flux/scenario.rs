//! The scenario: Flux installs the operator as a Pod, syncs the curriculum and the learners, its
//! health check waits for their roadmaps, a bot's signal and a Git commit both reach the roadmap,
//! neither undoes the other, and removing the operator from Flux keeps every learner.

use std::collections::BTreeMap;
use std::fs;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::{Value, json};
use testkit::*;

use crate::harness::{REPOSITORY, SERIAL, TAG, node, node_client, node_kubectl, pod_ready};

use super::harness::*;
use super::repository::*;
use super::*;

#[tokio::test]
async fn flux_runs_the_operator_pod_and_waits_for_the_learners_roadmaps() {
    let _turn = SERIAL.lock().await;
    let node = node();
    let started = Instant::now();
    let phase = |what: &str| eprintln!("flux: +{:.1}s {what}", started.elapsed().as_secs_f64());
    let client = node_client().await;
    // The operator's Pod runs here, under the restricted Pod Security Standard.
    let ns = restricted_namespace(&client, "flux").await;
    let track = format!("go-engineer-{ns}");
    let release = format!("lp-{ns}");
    let work = node.cluster.dir.join(format!("flux-{ns}"));
    fs::create_dir_all(&work).expect("work dir");
    let learners = flux_learners();
    assert!(
        learners.iter().any(|l| l == BOT_LEARNER),
        "examples/flux/learners must apply {BOT_LEARNER}"
    );
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let tracks: Api<Track> = Api::all(client.clone());

    // 1. Flux's CRDs, from the same module versions as the binaries.
    for name in CONTROLLERS {
        let crds = flux_dir(name).join("crds").display().to_string();
        node_kubectl(&["apply", "--server-side", "--force-conflicts", "-f", &crds])
            .expect(&format!("installing the {name} CRDs"));
        wait_established(&node.cluster.kubeconfig, &["-f", &crds])
            .expect(&format!("waiting for the {name} CRDs to be established"));
    }

    phase("control plane up, Flux CRDs installed");

    // 2. The Git repository, served on loopback.
    let root = work.join("git");
    let checkout = root.join("learnpath");
    fs::create_dir_all(&checkout).expect("repo dir");
    git(&checkout, &["init", "-q", "-b", "main"]);
    write_repository(&checkout, &ns, &track);
    let first = commit(&checkout, "curriculum and learners");
    let git_server = GitServer::start(&root, &work.join("gitserver.log"));
    let url = format!("{}/learnpath", git_server.url);

    // 3. The three controllers, watching this namespace.
    let mut procs = Vec::new();
    for name in CONTROLLERS {
        procs.push(start_controller(name, &ns, &work, &node.cluster.kubeconfig));
    }
    let health: Vec<String> = procs.iter().filter_map(|p| p.health.clone()).collect();
    let flux = Flux {
        client: client.clone(),
        ns: ns.clone(),
        work: work.clone(),
        procs: Mutex::new(procs),
        release: release.clone(),
    };
    flux.wait(
        "the Flux controllers' /readyz",
        Duration::from_secs(90),
        || {
            let health = health.clone();
            async move {
                for addr in &health {
                    http_get(addr, "/readyz").await?;
                }
                Some(Ok(()))
            }
        },
    )
    .await;

    phase("Flux controllers ready");

    // 4. GitRepository + the Kustomization chain crds -> operator -> curriculum -> learners.
    for obj in flux_objects(&ns, &url, &release) {
        let ar = match obj["kind"].as_str() {
            Some("GitRepository") => git_repositories(),
            _ => kustomizations(),
        };
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        flux.api(&ar)
            .patch(
                &name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await
            .unwrap_or_else(|e| panic!("applying {} {name}: {e}", ar.kind));
    }

    // 5. Flux applies the curriculum and the learners; nobody computes their roadmaps yet.
    let applied = flux
        .wait(
            "Flux to apply the curriculum and the learners",
            WAIT,
            || async {
                let lps = paths.list(&ListParams::default()).await.ok()?.items;
                (lps.len() == learners.len()).then_some(Ok(lps))
            },
        )
        .await;
    phase("Flux applied the CRDs, the HelmRelease, the curriculum and the learners");
    for name in [
        "learnpath-crds",
        "learnpath-operator",
        "learnpath-curriculum",
    ] {
        let ks = flux
            .get(&kustomizations(), name)
            .await
            .unwrap_or_else(|| panic!("Kustomization {name}"));
        assert!(
            condition_is(&ks, "Ready", "True"),
            "{name} is Ready before the learners are applied: {}",
            ready_summary(&ks)
        );
    }
    let t = tracks.get(&track).await.expect("Flux applied the Track");
    assert_eq!(
        t.labels()
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("learnpath-curriculum"),
        "the Track is applied by the curriculum Kustomization"
    );
    for lp in &applied {
        assert_eq!(
            lp.labels()
                .get("kustomize.toolkit.fluxcd.io/name")
                .map(String::as_str),
            Some(LEARNERS_KS),
            "{} is applied by Flux",
            lp.name_any()
        );
        // kstatus: a LearningPath the operator has not seen is not Current.
        let status = lp.status.as_ref();
        assert_eq!(
            status.and_then(|s| s.observed_generation),
            Some(-1),
            "{}: the CRD defaults status.observedGeneration to -1 ({:?})",
            lp.name_any(),
            lp.status
        );
        assert_ne!(
            status.and_then(|s| s.observed_generation),
            lp.metadata.generation
        );
        assert!(condition(lp, "Ready").is_none());
    }

    // The operator, as Flux delivered it: the HelmRelease is installed with Helm's wait, its
    // Deployment at zero replicas for now.
    let hr = flux
        .get(&helm_releases(), "learnpath")
        .await
        .expect("the HelmRelease exists");
    assert!(
        condition_is(&hr, "Ready", "True") && condition_is(&hr, "Released", "True"),
        "the HelmRelease is Ready and Released: {:?}",
        hr.data["status"]["conditions"]
    );
    assert_eq!(
        hr.data["status"]["history"][0]["status"], "deployed",
        "the Helm release is deployed: {:?}",
        hr.data["status"]["history"]
    );
    let deployment = operator_deployment(&client, &ns, &release).await;
    assert_eq!(
        deployment
            .labels()
            .get("helm.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("learnpath"),
        "the Deployment is the HelmRelease's: {:?}",
        deployment.labels()
    );
    assert_eq!(
        deployment.spec.replicas,
        Some(0),
        "the test's values start the operator at zero replicas"
    );

    // 6. Flux's health check does not pass while the roadmaps are not computed. Flux polls
    //    health every 5s (the first poll at once) and gives up only after LEARNERS_TIMEOUT;
    //    instead of waiting for that, watch the health check run for longer than a poll
    //    interval without passing, then start the operator's Pod while it still runs (step 7
    //    proves the check that finally passed is that same one).
    let checking = format!("Running health checks for revision main@sha1:{first}");
    flux.wait(
        "the learners Kustomization to run its health checks",
        WAIT,
        || async {
            let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
            let healthy = flux_condition(&ks, "Healthy")?;
            (healthy["status"] == "Unknown"
                && healthy["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(&checking)))
            .then_some(Ok(()))
        },
    )
    .await;
    let hold_until = Instant::now() + HEALTH_HOLD;
    while Instant::now() < hold_until {
        let ks = flux
            .get(&kustomizations(), LEARNERS_KS)
            .await
            .expect("the learners Kustomization");
        if condition_is(&ks, "Ready", "True") || condition_is(&ks, "Healthy", "True") {
            panic!(
                "Flux called the learners healthy before the operator ran: {}\n{}",
                ready_summary(&ks),
                flux.report().await
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for lp in paths.list(&ListParams::default()).await.unwrap().items {
        assert!(
            !is_ready(&lp),
            "{} Ready without an operator",
            lp.name_any()
        );
        assert_eq!(
            lp.status.as_ref().and_then(|s| s.observed_generation),
            Some(-1),
            "{}: nothing wrote its status",
            lp.name_any()
        );
    }
    phase(&format!(
        "health check ran {HEALTH_HOLD:?} without passing; scaling the operator to one Pod"
    ));

    // 7. The operator's Pod makes the learners Ready; only then is the Kustomization Ready.
    let operator_started = Instant::now();
    node_kubectl(&[
        "scale",
        "deployment",
        &deployment.name_any(),
        "-n",
        &ns,
        "--replicas=1",
    ])
    .expect("scaling the operator's Deployment");
    let (ks, lps) = flux
        .wait(
            "the learners Kustomization to become Ready after the operator started",
            WAIT,
            || async {
                let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
                let revision = ks.data["status"]["lastAppliedRevision"].as_str()?;
                if !(condition_is(&ks, "Ready", "True") && revision.ends_with(&first)) {
                    return None;
                }
                // Read right after observing Ready: every learner must already be Ready.
                let lps = paths.list(&ListParams::default()).await.ok()?.items;
                match lps.iter().find(|lp| !is_ready(lp)) {
                    Some(lp) => Some(Err(format!(
                        "the Kustomization is Ready but {} is not: {:?}",
                        lp.name_any(),
                        lp.status
                    ))),
                    None => Some(Ok((ks, lps))),
                }
            },
        )
        .await;
    assert_eq!(lps.len(), learners.len());
    let seen_ready = operator_started.elapsed();
    // "Health check passed in 12.3s": that check started before the operator did, i.e. it
    // ran through the operator-less period above without passing.
    let healthy = flux_condition(&ks, "Healthy").expect("a Healthy condition")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let passed_in = healthy
        .strip_prefix("Health check passed in ")
        .and_then(go_duration)
        .unwrap_or_else(|| panic!("unexpected Healthy message {healthy:?}"));
    assert!(
        passed_in > seen_ready,
        "the health check that passed ({healthy}) started after the operator ({seen_ready:?} ago)"
    );
    phase(&format!(
        "learners Ready {seen_ready:?} after the operator was scaled up ({healthy})"
    ));
    the_pod_did_it(&client, &ns, &release).await;
    let ks_ready = flux_condition(&ks, "Ready").unwrap()["lastTransitionTime"]
        .as_str()
        .unwrap()
        .to_string();
    let last_lp_ready = lps.iter().map(ready_time).max().unwrap();
    assert!(
        ks_ready >= last_lp_ready,
        "the Kustomization turned Ready ({ks_ready}) before the last LearningPath ({last_lp_ready})"
    );

    // 8. A bot owns spec.signals.<BOT_SIGNAL> by server-side apply; the roadmap follows.
    let bot = json!({
        "apiVersion": "learnpath.dev/v1alpha1",
        "kind": "LearningPath",
        "metadata": {"name": BOT_LEARNER, "namespace": ns},
        "spec": {"signals": {BOT_SIGNAL: 7}},
    });
    paths
        .patch(
            BOT_LEARNER,
            &PatchParams::apply(BOT_MANAGER),
            &Patch::Apply(&bot),
        )
        .await
        .expect("the bot's apply does not conflict with Flux (Git leaves the signal out)");
    let before = flux
        .wait("the operator to apply the bot's signal", WAIT, || async {
            let lp = paths.get(BOT_LEARNER).await.ok()?;
            let fired = lp
                .status
                .as_ref()?
                .triggered_rules
                .iter()
                .any(|r| r.rule == BOT_RULE);
            (is_ready(&lp) && fired).then_some(Ok(lp))
        })
        .await;

    // 9. A commit completes the learner's next exercise; Flux syncs it, the status follows, and
    //    the bot's signal survives Flux's apply.
    let exercise = before.status.as_ref().unwrap().next_exercises[0]
        .exercise
        .clone();
    let file = checkout.join(format!("examples/learners/{BOT_LEARNER}.yaml"));
    let mut obj: Value = read_yaml(&file);
    obj["spec"]["completedExercises"]
        .as_array_mut()
        .expect("completedExercises is a list")
        .push(json!(exercise));
    write_yaml(&file, &obj);
    let second = commit(&checkout, &format!("{BOT_LEARNER} completed {exercise}"));
    let synced_at = Instant::now();
    flux.wait(
        "Flux to apply the new commit and turn Ready again",
        WAIT,
        || async {
            let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
            let revision = ks.data["status"]["lastAppliedRevision"].as_str()?;
            (condition_is(&ks, "Ready", "True") && revision.ends_with(&second)).then_some(Ok(()))
        },
    )
    .await;
    let sync_time = synced_at.elapsed();
    phase(&format!(
        "commit {second} synced and Ready in {sync_time:?}"
    ));
    let after = paths.get(BOT_LEARNER).await.expect("the learner");
    let check_after = |lp: &LearningPath, when: &str| {
        assert!(
            lp.spec.completed_exercises.contains(&exercise),
            "{when}: the commit is synced: {:?}",
            lp.spec.completed_exercises
        );
        assert_eq!(
            lp.spec.signals.get(BOT_SIGNAL),
            Some(&7.0),
            "{when}: the bot's signal survives Flux's apply: {:?}",
            lp.spec.signals
        );
        assert!(
            lp.spec.signals.contains_key("commitsPerWeek"),
            "{when}: Git's signals stay: {:?}",
            lp.spec.signals
        );
        assert!(
            is_ready(lp),
            "{when}: Ready at the new generation: {:?}",
            lp.status
        );
        let status = lp.status.as_ref().unwrap();
        assert!(
            !status.next_exercises.iter().any(|e| e.exercise == exercise),
            "{when}: the completed exercise left nextExercises: {:?}",
            status.next_exercises
        );
        assert!(
            status.triggered_rules.iter().any(|r| r.rule == BOT_RULE),
            "{when}: the bot's rule still fires: {:?}",
            status.triggered_rules
        );
        let managers: BTreeMap<String, String> = lp
            .managed_fields()
            .iter()
            .map(|m| {
                (
                    m.manager.clone().unwrap_or_default(),
                    serde_json::to_string(&m.fields_v1).unwrap(),
                )
            })
            .collect();
        let bot_fields = managers.get(BOT_MANAGER).map(String::as_str);
        assert!(
            bot_fields.is_some_and(|f| f.contains(&format!("f:{BOT_SIGNAL}"))),
            "{when}: {BOT_MANAGER} still owns spec.signals.{BOT_SIGNAL}: {managers:?}"
        );
        assert!(
            managers
                .get("kustomize-controller")
                .is_some_and(|f| f.contains("f:completedExercises")),
            "{when}: Flux owns the rest of the spec: {managers:?}"
        );
    };
    assert!(after.metadata.generation > before.metadata.generation);
    check_after(&after, "after the commit");
    // 10. And Flux's next reconcile with nothing new in Git leaves it alone as well.
    let requested = format!("{}", chrono_like_now());
    flux.api(&kustomizations())
        .patch(
            LEARNERS_KS,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": requested
            }}})),
        )
        .await
        .expect("annotate the Kustomization");
    flux.wait("Flux to handle the requested reconcile", WAIT, || async {
        let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
        (ks.data["status"]["lastHandledReconcileAt"] == requested.as_str()
            && condition_is(&ks, "Ready", "True"))
        .then_some(Ok(()))
    })
    .await;
    let again = paths.get(BOT_LEARNER).await.expect("the learner");
    check_after(&again, "after a forced reconcile");
    assert_eq!(
        again.metadata.generation, after.metadata.generation,
        "nothing changed"
    );

    // 11. The operator removed from Flux: its Kustomization deleted, prune deletes the
    //     HelmRelease, helm-controller uninstalls the release; every learner stays.
    flux.api(&kustomizations())
        .delete("learnpath-operator", &DeleteParams::default())
        .await
        .expect("delete the operator's Kustomization");
    flux.wait("Flux to uninstall the operator", WAIT, || async {
        let deployments = of_release::<Deployment>(&client, &ns, &release).await?;
        let pods = of_release::<Pod>(&client, &ns, &release).await?;
        let released = flux.get(&helm_releases(), "learnpath").await.is_some();
        (!released && deployments.is_empty() && pods.is_empty()).then_some(Ok(()))
    })
    .await;
    let kept = paths.list(&ListParams::default()).await.expect("learners");
    assert_eq!(
        kept.items.len(),
        learners.len(),
        "uninstalling the operator keeps every learner"
    );
    phase("Flux uninstalled the operator; every learner stays");

    phase(&format!("passed; logs in {}", work.display()));
    drop(flux);
    cleanup(&client, &ns, &track).await;
}

/// The objects of kind `K` the chart labelled with the release's name, in `ns`; None when the
/// API server does not answer.
async fn of_release<K>(client: &kube::Client, ns: &str, release: &str) -> Option<Vec<K>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let selector = format!("app.kubernetes.io/instance={release}");
    Api::<K>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await
        .ok()
        .map(|list| list.items)
}

/// The release's operator Deployment (one).
async fn operator_deployment(client: &kube::Client, ns: &str, release: &str) -> Deployment {
    let mut list = of_release::<Deployment>(client, ns, release)
        .await
        .expect("list deployments");
    assert_eq!(
        list.len(),
        1,
        "the release created one operator Deployment in {ns}"
    );
    list.remove(0)
}

/// The roadmaps came from the release's one Pod on the node: Ready (its readiness probe may
/// pass a moment after its first reconcile), running the node's image, owned (through its
/// ReplicaSet) by the release's Deployment.
async fn the_pod_did_it(client: &kube::Client, ns: &str, release: &str) {
    let pod = eventually("one Ready operator Pod", WAIT, || async {
        let list = of_release::<Pod>(client, ns, release).await?;
        match list.as_slice() {
            [pod] if pod_ready(pod) => Some(pod.clone()),
            _ => None,
        }
    })
    .await;
    let image = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    assert_eq!(image, format!("{REPOSITORY}:{TAG}"), "the node's image");
    let owner = pod
        .owner_references()
        .first()
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let deployment = operator_deployment(client, ns, release).await.name_any();
    assert!(
        owner.starts_with(&format!("{deployment}-")),
        "the Pod belongs to the release's Deployment {deployment} (owner {owner})"
    );
}
