//! Who can make the operator fetch a URL (docs/security.md, "Signal sources"): a namespace
//! admin cannot create a SignalSource (it is cluster-scoped), cannot smuggle a URL into a
//! LearningPath, and cannot lend a Secret of their namespace to a source (the operator reads
//! Secrets in its own namespace only). The refusals come from the real API server's RBAC and
//! schema, and from the operator.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use testkit::*;

use crate::harness::*;

/// A namespace admin: the built-in `admin` role there, and full rights on LearningPaths.
async fn namespace_admin(living: &Living, user: &str) {
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "learnpath-learners", "namespace": living.ns},
        "rules": [{"apiGroups": ["learnpath.dev"], "resources": ["learningpaths"],
                   "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}],
    }))
    .expect("a Role");
    Api::<Role>::namespaced(living.client.clone(), &living.ns)
        .create(&PostParams::default(), &role)
        .await
        .expect("Role created");
    let bindings = Api::<RoleBinding>::namespaced(living.client.clone(), &living.ns);
    for (name, kind, role) in [
        ("admin", "ClusterRole", "admin"),
        ("learnpath-learners", "Role", "learnpath-learners"),
    ] {
        let binding: RoleBinding = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": living.ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }))
        .expect("a RoleBinding");
        bindings
            .create(&PostParams::default(), &binding)
            .await
            .expect("RoleBinding created");
    }
}

/// kubectl as `user`, with a manifest on stdin: (succeeded, stdout, then stderr).
fn kubectl_as(user: &str, args: &[&str], manifest: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let mut command = std::process::Command::new(bin("kubectl"));
    command
        .env("KUBECONFIG", &cluster().kubeconfig)
        .arg(format!("--as={user}"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("kubectl runs");
    if let (Some(text), Some(mut stdin)) = (manifest, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).expect("manifest written");
    }
    let out = child.wait_with_output().expect("kubectl ends");
    (
        out.status.success(),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The first line of what kubectl printed on stdout (`yes` or `no` for `auth can-i`).
fn first_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or_default().trim()
}

#[tokio::test]
async fn a_namespace_admin_cannot_aim_the_operator_at_a_url_or_lend_it_a_secret() {
    let mut living = Living::start("sig-scope").await;
    let user = format!("alice-{}", living.ns);
    namespace_admin(&living, &user).await;

    // Not allowed to create a source, and refused by the API server when trying.
    let (_, answer) = kubectl_as(
        &user,
        &["auth", "can-i", "create", "signalsources.learnpath.dev"],
        None,
    );
    assert_eq!(first_line(&answer), "no", "{answer}");
    let ssrf = format!(
        "apiVersion: learnpath.dev/v1alpha1\nkind: SignalSource\nmetadata: {{name: {}-ssrf}}\nspec:\n  prometheus:\n    url: http://169.254.169.254/latest/meta-data\n    learnerLabel: author\n    queries: [{{signal: x, query: up}}]\n",
        living.ns
    );
    let (created, answer) = kubectl_as(&user, &["create", "-f", "-"], Some(&ssrf));
    assert!(
        !created,
        "a namespace admin created a SignalSource: {answer}"
    );
    assert!(answer.contains("forbidden"), "{answer}");

    // A LearningPath is theirs to write, but it has no field that names a URL.
    let (_, answer) = kubectl_as(
        &user,
        &[
            "auth",
            "can-i",
            "create",
            "learningpaths.learnpath.dev",
            "-n",
            &living.ns,
        ],
        None,
    );
    assert_eq!(first_line(&answer), "yes", "{answer}");
    let smuggled = format!(
        "apiVersion: learnpath.dev/v1alpha1\nkind: LearningPath\nmetadata: {{name: smuggler, namespace: {}}}\nspec:\n  trackRef: {{name: {}}}\n  learner: {{name: Mallory}}\n  signalSource: {{url: http://169.254.169.254/}}\n",
        living.ns, living.track
    );
    let (created, answer) = kubectl_as(
        &user,
        &["create", "--validate=strict", "-f", "-"],
        Some(&smuggled),
    );
    assert!(!created, "an unknown field was accepted: {answer}");
    assert!(answer.contains("signalSource"), "{answer}");

    // A Secret in their namespace is not the operator's to read, whatever a source names.
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "borrowed-token", "namespace": living.ns},
        "stringData": {"token": "not-for-the-operator"},
    }))
    .expect("a Secret");
    Api::<Secret>::namespaced(living.client.clone(), &living.ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("Secret created");
    let exporter = Exporter::start("up 1\n").await;
    let prometheus = Prometheus::start(&living.work.join("prometheus"), &[&exporter.addr]).await;
    // The test's operator reads Secrets in its own namespace; move it elsewhere to show the
    // rule: it must not find the Secret of the learners' namespace.
    let elsewhere = namespace(&living.client, "sig-operator").await;
    living.operator = Operator::start(
        &cluster().kubeconfig,
        &living.ns,
        &["--secret-namespace", &elsewhere],
    );
    let name = living
        .source(
            "borrow",
            json!({"interval": "2s", "prometheus": {
                "url": prometheus.url,
                "learnerLabel": "author",
                "secretRef": {"name": "borrowed-token"},
                "queries": [{"signal": "up", "query": "up"}],
            }}),
        )
        .await;
    let refused = tokio::time::timeout(
        WAIT,
        eventually("the source refuses the borrowed Secret", WAIT, || async {
            ready(&living.stored_source(&name).await).filter(|(s, _, _)| s == "False")
        }),
    )
    .await
    .expect("Ready=False");
    assert_eq!(refused.1, "SecretUnavailable", "{refused:?}");
    assert!(
        refused.2.contains(&format!("{elsewhere}/borrowed-token")),
        "it looked in its own namespace only: {refused:?}"
    );
    delete_namespaces(&living.client, &[&elsewhere]).await;
    living.cleanup().await;
}
