//! The chart's identity and what it may do: a token kubeconfig for a ServiceAccount, and the
//! allowlist of grants compared with `kubectl auth can-i --list`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;
use serde_json::json;
use testkit::*;

/// The Lease the operator holds (src/controller/leader.rs).
pub(super) const LEASE: &str = "learnpath-leader";

/// A kubeconfig that authenticates with a token of the ServiceAccount `sa` in `ns`, and with
/// nothing else (no client certificate).
pub(super) fn token_kubeconfig(sa: &str, ns: &str) -> PathBuf {
    let token = kubectl(
        cluster(),
        &["create", "token", sa, "-n", ns, "--duration=1h"],
    )
    .expect("a token for the ServiceAccount");
    let admin = Kubeconfig::read_from(&cluster().kubeconfig).expect("admin kubeconfig");
    let c = admin.clusters[0].cluster.as_ref().expect("a cluster");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {
            "server": c.server,
            "certificate-authority-data": c.certificate_authority_data,
        }}],
        "users": [{"name": sa, "user": {"token": token.trim()}}],
        "contexts": [{"name": sa, "context": {"cluster": "e2e", "user": sa, "namespace": ns}}],
        "current-context": sa,
    });
    let path = cluster().dir.join(format!("{ns}-{sa}.kubeconfig"));
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path
}

/// One permission as `kubectl auth can-i --list` prints it: (resource, non-resource URL,
/// resource name, verb), every list expanded.
pub(super) type Grant = (String, String, String, String);

/// What `kubeconfig`'s identity may do in `ns`, by `kubectl auth can-i --list`.
pub(super) fn can_i_list(kubeconfig: &Path, ns: &str) -> BTreeSet<Grant> {
    let out = kubectl_with(kubeconfig, &["auth", "can-i", "--list", "-n", ns])
        .expect("kubectl auth can-i --list");
    let mut grants = BTreeSet::new();
    let bracket = |s: &str| -> Vec<String> {
        let items: Vec<String> = s.split_whitespace().map(String::from).collect();
        if items.is_empty() {
            vec![String::new()]
        } else {
            items
        }
    };
    for line in out.stdout.lines().skip(1) {
        let Some(open) = line.find('[') else { continue };
        let resource = line[..open].trim().to_string();
        let groups: Vec<&str> = line[open..]
            .split(']')
            .filter_map(|s| s.trim().strip_prefix('['))
            .collect();
        assert_eq!(groups.len(), 3, "unexpected can-i line {line:?}");
        for url in bracket(groups[0]) {
            for name in bracket(groups[1]) {
                for verb in bracket(groups[2]) {
                    grants.insert((resource.clone(), url.clone(), name.clone(), verb));
                }
            }
        }
    }
    grants
}

/// The grants of `verbs` on `resource` (and resource `name`, if not empty).
pub(super) fn grants(resource: &str, name: &str, verbs: &[&str]) -> Vec<Grant> {
    verbs
        .iter()
        .map(|v| (resource.into(), String::new(), name.into(), v.to_string()))
        .collect()
}

/// What every ServiceAccount may do on this control plane without any binding of its own (the
/// bootstrap ClusterRoleBindings); the restricted-install test checks it against a bare one.
pub(super) fn allowed_to_everyone() -> Vec<Grant> {
    let mut all = Vec::new();
    // system:basic-user (group system:authenticated).
    for r in [
        "selfsubjectreviews.authentication.k8s.io",
        "selfsubjectaccessreviews.authorization.k8s.io",
        "selfsubjectrulesreviews.authorization.k8s.io",
    ] {
        all.extend(grants(r, "", &["create"]));
    }
    // system:cluster-trust-bundle-discovery (group system:serviceaccounts).
    all.extend(grants(
        "clustertrustbundles.certificates.k8s.io",
        "",
        &["get", "list", "watch"],
    ));
    // system:discovery and system:public-info-viewer (system:authenticated), and
    // system:service-account-issuer-discovery (system:serviceaccounts).
    for url in [
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/",
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/openid/v1/jwks",
        "/openid/v1/jwks/",
        "/readyz",
        "/version",
        "/version/",
    ] {
        all.push((String::new(), url.into(), String::new(), "get".into()));
    }
    all
}

/// What the operator needs of the cluster-scoped kinds, everywhere: Tracks (the curricula it
/// plans against, and their status) and SignalSources (the sources it collects, and their
/// status).
pub(super) fn tracks_rules() -> Vec<Grant> {
    let mut all = grants("tracks.learnpath.dev", "", &["get", "list", "watch"]);
    all.extend(grants("tracks.learnpath.dev/status", "", &["patch"]));
    all.extend(grants(
        "signalsources.learnpath.dev",
        "",
        &["get", "list", "watch"],
    ));
    all.extend(grants("signalsources.learnpath.dev/status", "", &["patch"]));
    all
}

/// What the operator needs in a namespace it watches: LearningPaths and Events.
pub(super) fn learner_rules() -> Vec<Grant> {
    let mut all = grants("learningpaths.learnpath.dev", "", &["get", "list", "watch"]);
    all.extend(grants("learningpaths.learnpath.dev/status", "", &["patch"]));
    all.extend(grants("events.events.k8s.io", "", &["create"]));
    all
}

/// What the operator needs for leader election, in the release namespace.
pub(super) fn lease_rules() -> Vec<Grant> {
    let mut all = grants("leases.coordination.k8s.io", "", &["create"]);
    all.extend(grants(
        "leases.coordination.k8s.io",
        LEASE,
        &["get", "patch"],
    ));
    all
}

/// The identity of `kubeconfig` may do exactly `parts` in `ns`, no more, no less.
pub(super) fn assert_grants_exactly(kubeconfig: &Path, ns: &str, parts: &[Vec<Grant>]) {
    let actual = can_i_list(kubeconfig, ns);
    let expected: BTreeSet<Grant> = parts.iter().flatten().cloned().collect();
    let extra: Vec<&Grant> = actual.difference(&expected).collect();
    let missing: Vec<&Grant> = expected.difference(&actual).collect();
    assert!(
        extra.is_empty(),
        "the identity may do more than the allowlist in namespace {ns}: {extra:#?}"
    );
    assert!(
        missing.is_empty(),
        "the allowlist names grants the identity lacks in namespace {ns}: {missing:#?}"
    );
}
