//! On a dedicated control plane: the CRD lifecycle. `helm install` with the CRDs, `helm upgrade`
//! with a changed CRD, `helm uninstall` keeping them.

use std::path::Path;

use kube::{Api, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::Value;
use testkit::*;

use super::harness::*;

fn printer_columns(kubeconfig: &Path, crd: &str) -> Vec<String> {
    let out = kubectl_with(
        kubeconfig,
        &[
            "get",
            "crd",
            crd,
            "-o",
            "jsonpath={.spec.versions[0].additionalPrinterColumns[*].name}",
        ],
    )
    .expect("the CRD");
    out.stdout.split_whitespace().map(String::from).collect()
}

/// `helm install` creates the CRDs (Established) and the RBAC objects; `helm upgrade` with a
/// changed CRD updates it in the cluster; `helm uninstall` keeps the CRDs and every custom
/// resource (crds.keep=true) and removes the rest of the release.
#[tokio::test]
async fn helm_installs_upgrades_and_keeps_the_crds() {
    let own =
        Cluster::supervise("helm-crds").unwrap_or_else(|e| panic!("second control plane: {e}"));
    let kc = own.kubeconfig.display().to_string();
    let client = client_from(&own.kubeconfig).await;
    let ns = "learnpath-system";
    kubectl_with(&own.kubeconfig, &["create", "namespace", ns]).expect("namespace");

    let out = helm(
        None,
        &[
            "install",
            "learnpath",
            &chart_arg(),
            "-n",
            ns,
            "--kubeconfig",
            &kc,
        ],
    )
    .expect("helm install with the CRDs");
    assert!(out.stdout.contains("STATUS: deployed"), "{}", out.stdout);
    wait_established(
        &own.kubeconfig,
        &[
            "crd/tracks.learnpath.dev",
            "crd/learningpaths.learnpath.dev",
        ],
    )
    .expect("the CRDs are Established");
    for crd in ["tracks.learnpath.dev", "learningpaths.learnpath.dev"] {
        let out = kubectl_with(&own.kubeconfig, &["get", "crd", crd, "-o", "json"]).expect("crd");
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            v["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
        assert_eq!(
            v["metadata"]["annotations"]["meta.helm.sh/release-name"],
            "learnpath"
        );
        assert_eq!(
            v["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
    }
    let cluster_name = format!("{ns}-learnpath");
    for args in [
        vec!["get", "serviceaccount", "learnpath", "-n", ns],
        vec!["get", "deployment", "learnpath", "-n", ns],
        vec!["get", "service", "learnpath-metrics", "-n", ns],
        vec!["get", "clusterrole", &cluster_name],
        vec!["get", "clusterrolebinding", &cluster_name],
    ] {
        kubectl_with(&own.kubeconfig, &args).expect(&args.join(" "));
    }

    // Custom resources that must outlive the release.
    let learners = "learners";
    kubectl_with(&own.kubeconfig, &["create", "namespace", learners]).expect("namespace");
    apply(
        &Api::<Track>::all(client.clone()),
        &example_track("go-engineer"),
    )
    .await
    .expect("Track");
    apply(
        &Api::<LearningPath>::namespaced(client.clone(), learners),
        &example_learner("backend-engineer", learners, "go-engineer"),
    )
    .await
    .expect("LearningPath");

    // A chart whose Track CRD has one more printer column.
    let before = printer_columns(&own.kubeconfig, "tracks.learnpath.dev");
    assert!(!before.contains(&"Mastery".to_string()));
    let patched = tempfile::tempdir().unwrap();
    let patched_chart = patched.path().join("learnpath");
    copy_dir(&chart(), &patched_chart);
    let crd_file = patched_chart.join("templates/crds/tracks.learnpath.dev.yaml");
    let text = std::fs::read_to_string(&crd_file).unwrap();
    let anchor = "  - additionalPrinterColumns:\n";
    assert_eq!(text.matches(anchor).count(), 1);
    std::fs::write(
        &crd_file,
        text.replace(
            anchor,
            &format!(
                "{anchor}    - jsonPath: .spec.masteryThreshold\n      name: Mastery\n      type: integer\n"
            ),
        ),
    )
    .unwrap();
    helm(
        None,
        &[
            "upgrade",
            "learnpath",
            &patched_chart.display().to_string(),
            "-n",
            ns,
            "--kubeconfig",
            &kc,
        ],
    )
    .expect("helm upgrade with a changed CRD");
    let after = printer_columns(&own.kubeconfig, "tracks.learnpath.dev");
    assert_eq!(
        after[0], "Mastery",
        "the upgrade changed the CRD: {after:?}"
    );
    assert_eq!(&after[1..], &before[..]);
    let table = kubectl_with(&own.kubeconfig, &["get", "trk", "go-engineer"]).expect("get trk");
    assert!(table.stdout.contains("MASTERY"), "{}", table.stdout);

    let out = helm(
        None,
        &["uninstall", "learnpath", "-n", ns, "--kubeconfig", &kc],
    )
    .expect("helm uninstall");
    assert!(
        out.stdout.contains("kept due to the resource policy"),
        "{}",
        out.stdout
    );
    for crd in ["tracks.learnpath.dev", "learningpaths.learnpath.dev"] {
        kubectl_with(&own.kubeconfig, &["get", "crd", crd]).expect("the CRD is kept");
    }
    Api::<Track>::all(client.clone())
        .get("go-engineer")
        .await
        .expect("the Track is kept");
    let lp = Api::<LearningPath>::namespaced(client.clone(), learners)
        .get("backend-engineer")
        .await
        .expect("the LearningPath is kept");
    assert_eq!(lp.name_any(), "backend-engineer");
    for args in [
        vec!["get", "deployment", "learnpath", "-n", ns],
        vec!["get", "clusterrole", &cluster_name],
    ] {
        let out = kubectl_with(&own.kubeconfig, &args);
        assert!(
            !out.ok && out.stderr.contains("NotFound"),
            "{} is gone",
            args.join(" ")
        );
    }
    drop(own);
}
