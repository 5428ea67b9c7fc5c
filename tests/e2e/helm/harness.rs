//! Running the chart: rendering and reading its documents, installing and uninstalling a
//! release on the shared control plane, the operator as the chart's Deployment runs it, and the
//! example learners reconciled under the chart's identity.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use learnpath::api::Track;
use serde_json::{Value, json};
use testkit::*;

/// How long the operator may take to get somewhere.
pub(super) const WAIT: Duration = Duration::from_secs(60);

/// The chart's directory.
pub(super) fn chart() -> PathBuf {
    repo().join("charts/learnpath")
}

/// The chart's directory as a command-line argument.
pub(super) fn chart_arg() -> String {
    chart().display().to_string()
}

/// Renders the chart (`helm template`) and parses every document.
pub(super) fn render(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["template", "rel", &chart_arg(), "--namespace", "lp-system"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    all.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = helm(None, &refs).expect(&format!("helm {}", refs.join(" ")));
    parse_documents(&out.stdout)
}

/// Every non-empty document of a multi-document YAML stream.
pub(super) fn parse_documents(text: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.lines().chain(std::iter::once("---")) {
        if line == "---" {
            if current
                .lines()
                .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
            {
                let doc: Value = serde_saphyr::from_str(&current)
                    .unwrap_or_else(|e| panic!("rendered YAML does not parse: {e}\n{current}"));
                docs.push(doc);
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    docs
}

/// How many documents of each kind.
pub(super) fn kinds(docs: &[Value]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for d in docs {
        *kinds
            .entry(d["kind"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    kinds
}

/// The only document of `kind`; panics unless there is exactly one.
pub(super) fn one<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind} in {:?}", kinds(docs));
    found[0]
}

/// The arguments of a Deployment's first container.
pub(super) fn args_of(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("container args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

/// Every RBAC rule of a rendering, with no `*` anywhere in it.
pub(super) fn assert_no_wildcards(docs: &[Value]) {
    for d in docs
        .iter()
        .filter(|d| d["kind"] == "ClusterRole" || d["kind"] == "Role")
    {
        let rules = d["rules"].as_array().expect("rules");
        assert!(!rules.is_empty());
        for rule in rules {
            let text = rule.to_string();
            assert!(
                !text.contains('*'),
                "wildcard in {}: {text}",
                d["metadata"]["name"]
            );
        }
    }
}

/// The restricted Pod Security Standard, read-only root, probes and resources.
pub(super) fn assert_hardened(deployment: &Value, uid: i64) {
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], uid);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], uid);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert!(sc["capabilities"]["add"].is_null());
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "metrics");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics");
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory", "ephemeral-storage"] {
            assert!(
                !c["resources"][kind][resource].is_null(),
                "resources.{kind}.{resource}"
            );
        }
    }
    let env: BTreeMap<&str, &Value> = c["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e))
        .collect();
    assert_eq!(
        env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(
        env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
}

/// Events from the operator prove `events.k8s.io` create; the Track's status proves
/// `tracks/status` patch; a log without "forbidden" proves nothing else was refused.
pub(super) async fn assert_no_denials(
    client: &kube::Client,
    ns: &str,
    track: &str,
    log: impl Fn() -> String,
) {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    eventually("events from the operator", WAIT, || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| e.reporting_controller.as_deref() == Some("learnpath"))
            .then_some(())
    })
    .await;
    let tracks: Api<Track> = Api::all(client.clone());
    eventually("the Track's status", WAIT, || async {
        tracks.get(track).await.ok()?.status?.modules
    })
    .await;
    let text = log();
    assert!(
        !text.to_lowercase().contains("forbidden"),
        "the API server refused the operator something:\n{text}"
    );
}

/// `helm install` of the chart on the shared control plane, with `extra` arguments.
pub(super) fn helm_install(release: &str, ns: &str, extra: &[&str]) -> Run {
    let chart = chart_arg();
    let kc = cluster().kubeconfig.display().to_string();
    let mut args = vec![
        "install",
        release,
        chart.as_str(),
        "--namespace",
        ns,
        "--kubeconfig",
        kc.as_str(),
    ];
    args.extend_from_slice(extra);
    helm(None, &args)
}

/// `helm uninstall` of a release on the shared control plane.
pub(super) fn helm_uninstall(release: &str, ns: &str) -> Run {
    let kc = cluster().kubeconfig.display().to_string();
    helm(None, &["uninstall", release, "-n", ns, "--kubeconfig", &kc])
}

/// What Helm applied for a release on the shared control plane (`helm get manifest`), parsed.
pub(super) fn helm_manifest(release: &str, ns: &str) -> Vec<Value> {
    let kc = cluster().kubeconfig.display().to_string();
    let manifest = helm(
        None,
        &["get", "manifest", release, "-n", ns, "--kubeconfig", &kc],
    )
    .expect("helm get manifest");
    parse_documents(&manifest.stdout)
}

/// The operator as the chart's Deployment runs it: its rendered arguments (serving metrics on a
/// free loopback port) and the downward API's environment.
pub(super) fn start_chart_operator(
    deployment: &Value,
    kubeconfig: &Path,
    release_ns: &str,
    pod: &str,
) -> Operator {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let log = cluster().dir.join(format!("chart-operator-{pod}.log"));
    // The pod's emptyDir for Git sources, here a directory of this test's.
    let cache = log.with_extension("signals");
    let args: Vec<String> = args_of(deployment)
        .into_iter()
        .map(|a| {
            if a.starts_with("--metrics-addr=") {
                format!("--metrics-addr={metrics_addr}")
            } else if a.starts_with("--signal-cache-dir=") {
                format!("--signal-cache-dir={}", cache.display())
            } else {
                a
            }
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // What the downward API gives the pod.
    let env = [("POD_NAMESPACE", release_ns), ("POD_NAME", pod)];
    Operator::spawn(&args, &env, kubeconfig, metrics_addr, log)
}
