//! On the shared control plane: the chart installs into a namespace that enforces the restricted
//! Pod Security Standard without a warning, and the operator with the chart's identity (cluster-
//! wide, or one namespace with leader election) reconciles the examples and may do exactly the
//! allowlist.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use serde_json::Value;
use testkit::*;

use super::harness::*;
use super::rbac::*;

/// Helm does show the API server's warnings: a Deployment without a security context, installed
/// the same way into a restricted namespace, draws "would violate PodSecurity".
fn helm_shows_pod_security_warnings(ns: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: unhardened\nversion: 0.0.1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: unhardened\nspec:\n  selector:\n    matchLabels: {app: unhardened}\n  template:\n    metadata:\n      labels: {app: unhardened}\n    spec:\n      containers: [{name: c, image: example.com/c:1}]\n",
    )
    .unwrap();
    let kc = cluster().kubeconfig.display().to_string();
    let chart = dir.path().display().to_string();
    let out = helm(
        None,
        &[
            "install",
            "unhardened",
            &chart,
            "-n",
            ns,
            "--kubeconfig",
            &kc,
        ],
    )
    .expect("helm install of an unhardened chart");
    assert!(
        out.stderr.contains("would violate PodSecurity"),
        "helm printed no PodSecurity warning for an unhardened Deployment, so its silence proves nothing: {}",
        out.stderr
    );
    helm_uninstall("unhardened", ns).expect("helm uninstall unhardened");
}

/// Cluster-wide RBAC (the default): installed into a namespace that enforces the restricted
/// Pod Security Standard with no warning; the operator as the chart's ServiceAccount reconciles
/// every example learner; the ServiceAccount may do exactly the allowlist.
#[tokio::test]
async fn chart_installs_restricted_and_its_identity_reconciles_the_examples() {
    let client = client().await;
    let release_ns = restricted_namespace(&client, "helm-rel").await;
    let learners_ns = namespace(&client, "helm-learners").await;
    let release = format!("lp-{release_ns}");

    let out = helm_install(&release, &release_ns, &["--set", "crds.enabled=false"])
        .expect("helm install");
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !stream.contains("would violate PodSecurity"),
            "helm install drew a PodSecurity warning:\n{stream}"
        );
    }
    helm_shows_pod_security_warnings(&release_ns);
    // What Helm applied: names, and the Deployment as the API server stored it.
    let docs = helm_manifest(&release, &release_ns);
    let deployment = one(&docs, "Deployment");
    let fullname = deployment["metadata"]["name"].as_str().unwrap().to_string();
    let sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .unwrap()
        .to_string();
    let cluster_name = format!("{release_ns}-{fullname}");
    for (kind, name, ns) in [
        ("serviceaccount", sa.as_str(), Some(release_ns.as_str())),
        ("deployment", &fullname, Some(&release_ns)),
        ("service", &format!("{fullname}-metrics"), Some(&release_ns)),
        ("clusterrole", &cluster_name, None),
        ("clusterrolebinding", &cluster_name, None),
    ] {
        let mut args = vec!["get", kind, name];
        if let Some(ns) = ns {
            args.extend(["-n", ns]);
        }
        kubectl(cluster(), &args).unwrap_or_else(|e| panic!("{kind}/{name} exists: {e}"));
    }
    let deployment_kc = kubectl_with(
        &cluster().kubeconfig,
        &[
            "get",
            "deployment",
            &fullname,
            "-n",
            &release_ns,
            "-o",
            "json",
        ],
    )
    .expect("the Deployment");
    let stored: Value = serde_json::from_str(&deployment_kc.stdout).unwrap();
    assert_hardened(&stored, 65532);
    // No Lease Role without leader election.
    let roles = kubectl(
        cluster(),
        &["get", "roles", "-n", &release_ns, "-o", "name"],
    )
    .unwrap();
    assert_eq!(roles.trim(), "", "no Role without leader election");

    // The operator with the ServiceAccount's token, watching one namespace.
    let kubeconfig = token_kubeconfig(&sa, &release_ns);
    let track = format!("go-engineer-{learners_ns}");
    apply_examples(&client, &learners_ns, &track).await;
    let operator = Operator::start(&kubeconfig, &learners_ns, &[]);
    all_ready(&client, &learners_ns, WAIT, || operator.log_text()).await;
    assert_no_denials(&client, &learners_ns, &track, || operator.log_text()).await;
    drop(operator);

    // The baseline is what a ServiceAccount without any binding gets: the learners' namespace's
    // `default` ServiceAccount.
    let bare = token_kubeconfig("default", &learners_ns);
    assert_grants_exactly(&bare, &learners_ns, &[allowed_to_everyone()]);
    // Exactly the allowlist, in the learners' namespace, the release namespace and elsewhere.
    for ns in [learners_ns.as_str(), release_ns.as_str(), "default"] {
        assert_grants_exactly(
            &kubeconfig,
            ns,
            &[allowed_to_everyone(), tracks_rules(), learner_rules()],
        );
    }

    helm_uninstall(&release, &release_ns).expect("helm uninstall");
    cleanup(&client, &learners_ns, &track).await;
    delete_namespaces(&client, &[&release_ns]).await;
}

/// `watchNamespaces` and two replicas: a Role in the watched namespace, the Track ClusterRole,
/// and the Lease Role in the release namespace. The binary runs with exactly the Deployment's
/// arguments and downward-API environment, takes the Lease, reconciles, and releases it on
/// SIGTERM — all as the ServiceAccount, which may do exactly the allowlist in each namespace.
#[tokio::test]
async fn chart_watch_namespace_and_leader_election_identity_suffices() {
    let client = client().await;
    let release_ns = restricted_namespace(&client, "helm-le").await;
    let learners_ns = namespace(&client, "helm-le-learners").await;
    let other_ns = namespace(&client, "helm-le-other").await;
    let release = format!("lp-{release_ns}");

    let out = helm_install(
        &release,
        &release_ns,
        &[
            "--set",
            "crds.enabled=false",
            "--set",
            "replicaCount=2",
            "--set",
            "podDisruptionBudget.enabled=true",
            "--set",
            &format!("watchNamespaces={{{learners_ns}}}"),
        ],
    )
    .expect("helm install");
    assert!(
        !out.stderr.contains("would violate PodSecurity"),
        "helm install drew a PodSecurity warning:\n{}",
        out.stderr
    );
    let docs = helm_manifest(&release, &release_ns);
    let deployment = one(&docs, "Deployment").clone();
    let args = args_of(&deployment);
    assert!(args.contains(&"--leader-elect".to_string()), "{args:?}");
    assert!(
        args.contains(&format!("--namespace={learners_ns}")),
        "{args:?}"
    );
    let sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .unwrap()
        .to_string();
    let fullname = deployment["metadata"]["name"].as_str().unwrap().to_string();
    kubectl(cluster(), &["get", "role", &fullname, "-n", &learners_ns]).expect("the learners Role");
    kubectl(
        cluster(),
        &[
            "get",
            "role",
            &format!("{fullname}-leader-election"),
            "-n",
            &release_ns,
        ],
    )
    .expect("the Lease Role");
    kubectl(cluster(), &["get", "pdb", &fullname, "-n", &release_ns]).expect("the PDB");

    let kubeconfig = token_kubeconfig(&sa, &release_ns);
    let track = format!("go-engineer-{learners_ns}");
    apply_examples(&client, &learners_ns, &track).await;
    let pod = format!("{fullname}-5d8f9c7b6-x2k4q");
    let mut operator = start_chart_operator(&deployment, &kubeconfig, &release_ns, &pod);
    all_ready(&client, &learners_ns, WAIT, || operator.log_text()).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &release_ns);
    let lease = leases
        .get(LEASE)
        .await
        .expect("the Lease in the release namespace");
    assert_eq!(
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref()),
        Some(pod.as_str())
    );
    assert_no_denials(&client, &learners_ns, &track, || operator.log_text()).await;
    let status = operator
        .terminate(Duration::from_secs(20))
        .expect("the operator stops on SIGTERM");
    assert!(
        status.success(),
        "exit {status:?}:\n{}",
        operator.log_text()
    );
    let text = operator.log_text();
    assert!(text.contains("released the leader lease"), "{text}");
    assert!(!text.to_lowercase().contains("forbidden"), "{text}");
    let lease = leases.get(LEASE).await.unwrap();
    assert_ne!(
        lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref()),
        Some(pod.as_str()),
        "the Lease was released"
    );

    assert_grants_exactly(
        &kubeconfig,
        &learners_ns,
        &[allowed_to_everyone(), tracks_rules(), learner_rules()],
    );
    assert_grants_exactly(
        &kubeconfig,
        &release_ns,
        &[allowed_to_everyone(), tracks_rules(), lease_rules()],
    );
    assert_grants_exactly(
        &kubeconfig,
        &other_ns,
        &[allowed_to_everyone(), tracks_rules()],
    );

    helm_uninstall(&release, &release_ns).expect("helm uninstall");
    cleanup(&client, &learners_ns, &track).await;
    delete_namespaces(&client, &[&other_ns, &release_ns]).await;
}
