//! The Helm chart (`charts/learnpath`) on the real control plane: it lints and renders, its schema
//! refuses misspelt keys, its CRDs are the generated ones, it installs into a namespace that
//! enforces the restricted Pod Security Standard without a warning, the operator running as the
//! chart's ServiceAccount (a token for it, not admin) reconciles the examples to Ready, that
//! identity can do nothing beyond an allowlist, and `helm upgrade`/`helm uninstall` update and
//! keep the CRDs.
//!
//! The CRD lifecycle (install with `crds.enabled=true`, upgrade, uninstall) runs on a second,
//! dedicated control plane: the CRDs are cluster-scoped, the other e2e tests share the first
//! control plane's copy (applied by `kubectl` at start-up), and an upgrade that changes them or
//! an ownership hand-over to Helm must not race with those tests. Every other chart test runs on
//! the shared control plane with `crds.enabled=false`, in namespaces and releases of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use kube::config::Kubeconfig;
use kube::{Api, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::{Value, json};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(60);
/// The Lease the operator holds (src/controller/leader.rs).
const LEASE: &str = "learnpath-leader";

fn chart() -> PathBuf {
    repo().join("charts/learnpath")
}

fn chart_arg() -> String {
    chart().display().to_string()
}

// ---------------------------------------------------------------------------------------------
// Running helm and kubectl

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn expect(self, what: &str) -> Run {
        assert!(self.ok, "{what} failed:\n{}\n{}", self.stdout, self.stderr);
        self
    }
}

fn run(mut cmd: Command) -> Run {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Helm's own state (config, cache, data) in a throwaway directory: the tests never read or
/// write the user's ~/.config/helm.
fn helm_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("a temp dir for helm"))
        .path()
}

/// The pinned helm; against `kubeconfig` when given, else with no cluster at all.
fn helm(kubeconfig: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = Command::new(bin("helm"));
    cmd.env("HELM_CONFIG_HOME", helm_home().join("config"))
        .env("HELM_CACHE_HOME", helm_home().join("cache"))
        .env("HELM_DATA_HOME", helm_home().join("data"))
        .env_remove("KUBECONFIG")
        .args(args);
    if let Some(kc) = kubeconfig {
        cmd.env("KUBECONFIG", kc);
    }
    run(cmd)
}

fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(bin("kubectl"));
    cmd.env("KUBECONFIG", kubeconfig).args(args);
    run(cmd)
}

/// Renders the chart (`helm template`) and parses every document.
fn render(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["template", "rel", &chart_arg(), "--namespace", "lp-system"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    all.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = helm(None, &refs).expect(&format!("helm {}", refs.join(" ")));
    parse_documents(&out.stdout)
}

fn parse_documents(text: &str) -> Vec<Value> {
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

fn kinds(docs: &[Value]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for d in docs {
        *kinds
            .entry(d["kind"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    kinds
}

fn one<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind} in {:?}", kinds(docs));
    found[0]
}

fn args_of(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("container args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_string())
        .collect()
}

/// Every RBAC rule of a rendering, with no `*` anywhere in it.
fn assert_no_wildcards(docs: &[Value]) {
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
fn assert_hardened(deployment: &Value, uid: i64) {
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
        for resource in ["cpu", "memory"] {
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

// ---------------------------------------------------------------------------------------------
// Without a cluster: lint, render, schema, CRD drift

#[test]
fn chart_lints_and_renders_with_default_and_every_value() {
    let all_values = chart().join("ci/all-values.yaml").display().to_string();
    helm(None, &["lint", "--strict", &chart_arg()]).expect("helm lint --strict");
    helm(None, &["lint", "--strict", &chart_arg(), "-f", &all_values])
        .expect("helm lint --strict -f ci/all-values.yaml");

    // Defaults: CRDs kept, one replica, cluster-wide, no leader election (so no Lease Role).
    let docs = render(&[]);
    let expected: BTreeMap<String, usize> = [
        ("ClusterRole", 1),
        ("ClusterRoleBinding", 1),
        ("CustomResourceDefinition", 2),
        ("Deployment", 1),
        ("Pod", 1),
        ("Service", 1),
        ("ServiceAccount", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds(&docs), expected);
    assert_no_wildcards(&docs);
    let deployment = one(&docs, "Deployment");
    assert_hardened(deployment, 65532);
    let args = args_of(deployment);
    assert_eq!(args[0], "run");
    assert!(!args.iter().any(|a| a == "--leader-elect"), "{args:?}");
    assert!(
        !args.iter().any(|a| a.starts_with("--namespace")),
        "{args:?}"
    );
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/learnpath/learnpath:0.1.0"
    );
    for crd in docs
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
    {
        assert_eq!(
            crd["metadata"]["annotations"]["helm.sh/resource-policy"], "keep",
            "{}",
            crd["metadata"]["name"]
        );
    }
    // The rendered CRDs are the generated ones, apart from the chart's labels and annotation.
    let rendered: BTreeMap<String, Value> = docs
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .map(|d| {
            let mut d = d.clone();
            let meta = d["metadata"].as_object_mut().unwrap();
            meta.remove("labels");
            meta.remove("annotations");
            (d["metadata"]["name"].as_str().unwrap().to_string(), d)
        })
        .collect();
    let generated: BTreeMap<String, Value> = learnpath::api::crds()
        .into_iter()
        .map(|crd| {
            let v = serde_json::to_value(&crd).unwrap();
            (crd.metadata.name.unwrap(), v)
        })
        .collect();
    assert!(
        rendered == generated,
        "the rendered CRDs differ from the types: run `make chart-crds`"
    );
    // The helm test hook is a restricted Pod that the metrics Service does not select.
    let test_pod = one(&docs, "Pod");
    assert_eq!(test_pod["metadata"]["annotations"]["helm.sh/hook"], "test");
    assert_eq!(test_pod["spec"]["securityContext"]["runAsNonRoot"], true);
    let selector = one(&docs, "Service")["spec"]["selector"].clone();
    for (k, v) in selector.as_object().unwrap() {
        assert!(
            deployment["spec"]["template"]["metadata"]["labels"][k] == *v,
            "the Service selects the operator's pods ({k})"
        );
    }
    assert!(
        selector
            .as_object()
            .unwrap()
            .iter()
            .any(|(k, v)| test_pod["metadata"]["labels"][k] != *v),
        "the Service must not select the helm test pod"
    );

    // Every option set: watch one namespace, two replicas (leader election), everything optional on.
    let docs = render(&["-f", &all_values]);
    let expected: BTreeMap<String, usize> = [
        ("ClusterRole", 1),
        ("ClusterRoleBinding", 1),
        ("Deployment", 1),
        ("Pod", 1),
        ("PodDisruptionBudget", 1),
        ("Role", 2),
        ("RoleBinding", 2),
        ("Service", 1),
        ("ServiceAccount", 1),
        ("ServiceMonitor", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds(&docs), expected, "crds.enabled=false renders no CRD");
    assert_no_wildcards(&docs);
    let deployment = one(&docs, "Deployment");
    assert_hardened(deployment, 10001);
    let args = args_of(deployment);
    for expected in [
        "--leader-elect",
        "--namespace=learners",
        "--metrics-addr=0.0.0.0:9090",
        "--log-format=text",
        "--concurrency=4",
        "--fanout-writes=2",
    ] {
        assert!(args.iter().any(|a| a == expected), "{expected} in {args:?}");
    }
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/platform/learnpath@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    let roles: BTreeMap<String, &Value> = docs
        .iter()
        .filter(|d| d["kind"] == "Role")
        .map(|d| (d["metadata"]["namespace"].as_str().unwrap().to_string(), d))
        .collect();
    assert_eq!(
        roles.keys().cloned().collect::<Vec<_>>(),
        ["learners", "lp-system"],
        "a Role in the watched namespace and the Lease Role in the release namespace"
    );
    assert_eq!(
        one(&docs, "ClusterRole")["rules"].as_array().unwrap().len(),
        2,
        "with watchNamespaces the ClusterRole holds only the (cluster-scoped) Track rules"
    );
    assert_eq!(
        one(&docs, "ServiceMonitor")["spec"]["endpoints"][0]["port"],
        "metrics"
    );
    assert_eq!(
        one(&docs, "PodDisruptionBudget")["spec"]["maxUnavailable"],
        "50%"
    );

    // More than one replica turns leader election (and its Lease Role) on by itself.
    let docs = render(&["--set", "replicaCount=3"]);
    assert!(args_of(one(&docs, "Deployment")).contains(&"--leader-elect".to_string()));
    assert_eq!(kinds(&docs).get("Role"), Some(&1));
    // crds.keep=false: no resource policy; crds.enabled=false: no CRD.
    let docs = render(&["--set", "crds.keep=false"]);
    for crd in docs
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
    {
        assert!(crd["metadata"]["annotations"]["helm.sh/resource-policy"].is_null());
    }
    let docs = render(&["--set", "crds.enabled=false"]);
    assert_eq!(kinds(&docs).get("CustomResourceDefinition"), None);
    // Platforms that assign the UID (OpenShift) can leave it out; runAsNonRoot stays.
    let docs = render(&[
        "--set",
        "securityContext.runAsUser=null",
        "--set",
        "securityContext.runAsGroup=null",
    ]);
    let pod = &one(&docs, "Deployment")["spec"]["template"]["spec"];
    assert!(pod["securityContext"]["runAsUser"].is_null());
    assert_eq!(
        pod["containers"][0]["securityContext"]["runAsNonRoot"],
        true
    );
}

#[test]
fn chart_schema_refuses_misspelt_keys() {
    for (set, key) in [
        ("replicaCout=2", "replicaCout"),
        ("crds.keeep=false", "keeep"),
        ("serviceMonitor.intervall=1m", "intervall"),
        ("securityContext.privileged=true", "privileged"),
        ("resources.limits.memroy=1Gi", "memroy"),
    ] {
        let out = helm(None, &["template", "rel", &chart_arg(), "--set", set]);
        assert!(!out.ok, "--set {set} must fail");
        assert!(
            out.stderr.contains("schema") && out.stderr.contains(&format!("'{key}' not allowed")),
            "--set {set}: the error names the key: {}",
            out.stderr
        );
    }
    // One release watches one namespace: a second entry is refused, not silently dropped.
    let out = helm(
        None,
        &[
            "template",
            "rel",
            &chart_arg(),
            "--set",
            "watchNamespaces={a,b}",
        ],
    );
    assert!(!out.ok && out.stderr.contains("maxItems"), "{}", out.stderr);
    // Wrong types and values are refused too.
    for set in [
        "replicaCount=two",
        "logFormat=xml",
        "concurrency=0",
        "fanoutWrites=0",
    ] {
        let out = helm(None, &["template", "rel", &chart_arg(), "--set", set]);
        assert!(!out.ok, "--set {set} must fail");
    }
}

/// `additionalProperties: false` on every object of the chart's own structure, and
/// ci/all-values.yaml sets every option the schema has.
#[test]
fn chart_schema_is_closed_and_all_values_sets_every_option() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart().join("values.schema.json")).unwrap())
            .expect("values.schema.json is JSON");
    let definitions = schema["definitions"].clone();
    let resolve = |node: &Value| -> Value {
        match node["$ref"].as_str() {
            Some(r) => definitions[r.trim_start_matches("#/definitions/")].clone(),
            None => node.clone(),
        }
    };
    // Documented pass-through: free-form on purpose (Kubernetes affinity terms, Helm's global).
    let pass_through = [
        ".affinity.nodeAffinity",
        ".affinity.podAffinity",
        ".affinity.podAntiAffinity",
        ".global",
    ];
    let mut leaves = Vec::new();
    let mut open = Vec::new();
    fn walk(
        path: &str,
        node: &Value,
        resolve: &dyn Fn(&Value) -> Value,
        pass_through: &[&str],
        leaves: &mut Vec<String>,
        open: &mut Vec<String>,
    ) {
        let node = resolve(node);
        let is_object = node["type"] == "object";
        if is_object && pass_through.contains(&path) {
            leaves.push(path.to_string());
            return;
        }
        if let Some(props) = node["properties"].as_object() {
            if node["additionalProperties"] != false {
                open.push(path.to_string());
            }
            for (k, v) in props {
                walk(
                    &format!("{path}.{k}"),
                    v,
                    resolve,
                    pass_through,
                    leaves,
                    open,
                );
            }
        } else if is_object && !node["additionalProperties"].is_object() {
            // A map must say what its values are (e.g. strings for labels).
            open.push(path.to_string());
        } else {
            leaves.push(path.to_string());
        }
        if node["type"] == "array" && node["items"]["properties"].is_object() {
            let items = resolve(&node["items"]);
            if items["additionalProperties"] != false {
                open.push(format!("{path}[]"));
            }
        }
    }
    walk("", &schema, &resolve, &pass_through, &mut leaves, &mut open);
    assert!(
        open.is_empty(),
        "schema objects that accept unknown keys: {open:?}"
    );

    let all: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(chart().join("ci/all-values.yaml")).unwrap(),
    )
    .unwrap();
    let defaults: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart().join("values.yaml")).unwrap())
            .unwrap();
    let lookup = |v: &Value, path: &str| -> Value {
        path.trim_start_matches('.')
            .split('.')
            .fold(v.clone(), |v, k| v.get(k).cloned().unwrap_or(Value::Null))
    };
    // Every option is present; a map or a list is not empty (so that it renders).
    let unset: Vec<&String> = leaves
        .iter()
        .filter(|p| {
            let v = lookup(&all, p);
            v.is_null() || v == json!({}) || v == json!([])
        })
        .collect();
    assert!(
        unset.is_empty(),
        "ci/all-values.yaml does not set these options: {unset:?}"
    );
    // And every key in values.yaml is in the schema (the schema rejects the rest).
    let mut default_leaves = Vec::new();
    fn value_leaves(path: &str, v: &Value, out: &mut Vec<String>) {
        match v.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, v) in map {
                    value_leaves(&format!("{path}.{k}"), v, out);
                }
            }
            _ => out.push(path.to_string()),
        }
    }
    value_leaves("", &defaults, &mut default_leaves);
    let missing: Vec<&String> = default_leaves
        .iter()
        .filter(|p| {
            !leaves
                .iter()
                .any(|l| l == *p || l.starts_with(&format!("{p}.")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "values.yaml keys the schema lacks: {missing:?}"
    );
}

/// The chart's CRD templates are `learnpath crd` plus template lines only.
#[test]
fn chart_crds_are_generated_from_the_types() {
    let dir = chart().join("templates/crds");
    let files = learnpath::api::crd_files().expect("CRDs serialize");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "charts/learnpath/templates/crds is stale: run `make chart-crds`"
    );
    for (name, generated) in &files {
        let template = std::fs::read_to_string(dir.join(name)).unwrap();
        let stripped: String = template
            .lines()
            .filter(|l| !l.contains("{{"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            stripped == *generated,
            "charts/learnpath/templates/crds/{name} is stale: run `make chart-crds` (hack/chart-crds.sh) and commit the result"
        );
        assert!(template.starts_with("{{- /* Generated"));
        assert!(template.contains("{{- if .Values.crds.enabled }}"));
        assert!(template.contains("{{- include \"learnpath.crdMetadata\" . | nindent 2 }}"));
    }
}

// ---------------------------------------------------------------------------------------------
// On the shared control plane: restricted namespace, the chart's identity, the allowlist

/// A kubeconfig that authenticates with a token of the ServiceAccount `sa` in `ns`, and with
/// nothing else (no client certificate).
fn token_kubeconfig(sa: &str, ns: &str) -> PathBuf {
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
type Grant = (String, String, String, String);

fn can_i_list(kubeconfig: &Path, ns: &str) -> BTreeSet<Grant> {
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

fn grants(resource: &str, name: &str, verbs: &[&str]) -> Vec<Grant> {
    verbs
        .iter()
        .map(|v| (resource.into(), String::new(), name.into(), v.to_string()))
        .collect()
}

/// What every ServiceAccount may do on this control plane without any binding of its own (the
/// bootstrap ClusterRoleBindings); `baseline_is_what_a_bare_service_account_gets` checks it.
fn allowed_to_everyone() -> Vec<Grant> {
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

fn tracks_rules() -> Vec<Grant> {
    let mut all = grants("tracks.learnpath.dev", "", &["get", "list", "watch"]);
    all.extend(grants("tracks.learnpath.dev/status", "", &["patch"]));
    all
}

fn learner_rules() -> Vec<Grant> {
    let mut all = grants("learningpaths.learnpath.dev", "", &["get", "list", "watch"]);
    all.extend(grants("learningpaths.learnpath.dev/status", "", &["patch"]));
    all.extend(grants("events.events.k8s.io", "", &["create"]));
    all
}

fn lease_rules() -> Vec<Grant> {
    let mut all = grants("leases.coordination.k8s.io", "", &["create"]);
    all.extend(grants(
        "leases.coordination.k8s.io",
        LEASE,
        &["get", "patch"],
    ));
    all
}

fn assert_grants_exactly(kubeconfig: &Path, ns: &str, parts: &[Vec<Grant>]) {
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

async fn restricted_namespace(client: &kube::Client, prefix: &str) -> String {
    let ns = namespace(client, prefix).await;
    let patch = json!({"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
    }}});
    Api::<Namespace>::all(client.clone())
        .patch(&ns, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("namespace labelled");
    ns
}

async fn apply_examples(client: &kube::Client, learners_ns: &str, track: &str) {
    apply(&Api::<Track>::all(client.clone()), &example_track(track))
        .await
        .expect("Track applied");
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), learners_ns);
    for learner in LEARNERS {
        apply(&paths, &example_learner(learner, learners_ns, track))
            .await
            .expect("learner applied");
    }
}

async fn all_ready(client: &kube::Client, ns: &str, log: impl Fn() -> String) {
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), ns);
    let ready = tokio::time::timeout(WAIT, async {
        loop {
            let list = paths.list(&ListParams::default()).await.expect("list");
            if list.items.len() == LEARNERS.len() && list.items.iter().all(is_ready) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        ready.is_ok(),
        "the learners did not all become Ready under the chart's identity; operator log:\n{}",
        log()
    );
}

/// Events from the operator prove `events.k8s.io` create; the Track's status proves
/// `tracks/status` patch; a log without "forbidden" proves nothing else was refused.
async fn assert_no_denials(client: &kube::Client, ns: &str, track: &str, log: impl Fn() -> String) {
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

fn helm_install(release: &str, ns: &str, extra: &[&str]) -> Run {
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

/// Deletes namespaces, best effort.
async fn delete_namespaces(client: &kube::Client, names: &[&str]) {
    for name in names {
        let _ = Api::<Namespace>::all(client.clone())
            .delete(name, &Default::default())
            .await;
    }
}

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
    helm(
        None,
        &["uninstall", "unhardened", "-n", ns, "--kubeconfig", &kc],
    )
    .expect("helm uninstall unhardened");
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
    let manifest = helm(
        None,
        &[
            "get",
            "manifest",
            &release,
            "-n",
            &release_ns,
            "--kubeconfig",
            &cluster().kubeconfig.display().to_string(),
        ],
    )
    .expect("helm get manifest");
    let docs = parse_documents(&manifest.stdout);
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
    all_ready(&client, &learners_ns, || operator.log_text()).await;
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

    helm(
        None,
        &[
            "uninstall",
            &release,
            "-n",
            &release_ns,
            "--kubeconfig",
            &cluster().kubeconfig.display().to_string(),
        ],
    )
    .expect("helm uninstall");
    cleanup(&client, &learners_ns, &track).await;
    delete_namespaces(&client, &[&release_ns]).await;
}

/// The operator as the chart's Deployment runs it: its rendered arguments and environment.
struct ChartOperator {
    child: Child,
    log: PathBuf,
}

impl ChartOperator {
    fn start(deployment: &Value, kubeconfig: &Path, release_ns: &str, pod: &str) -> ChartOperator {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let args: Vec<String> = args_of(deployment)
            .into_iter()
            .map(|a| {
                if a.starts_with("--metrics-addr=") {
                    format!("--metrics-addr=127.0.0.1:{port}")
                } else {
                    a
                }
            })
            .collect();
        let log = cluster().dir.join(format!("chart-operator-{pod}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_learnpath"))
            .args(&args)
            // What the downward API gives the pod.
            .env("POD_NAMESPACE", release_ns)
            .env("POD_NAME", pod)
            .env("RUST_LOG", "info,learnpath=debug")
            .env("KUBECONFIG", kubeconfig)
            // JSON logs go to stdout, text logs to stderr: keep both.
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("learnpath starts");
        ChartOperator { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as the kubelet sends it; the exit status.
    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for ChartOperator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let kc = cluster().kubeconfig.display().to_string();

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
    let manifest = helm(
        None,
        &[
            "get",
            "manifest",
            &release,
            "-n",
            &release_ns,
            "--kubeconfig",
            &kc,
        ],
    )
    .expect("helm get manifest");
    let docs = parse_documents(&manifest.stdout);
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
    let mut operator = ChartOperator::start(&deployment, &kubeconfig, &release_ns, &pod);
    all_ready(&client, &learners_ns, || operator.log_text()).await;
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
    let status = operator.terminate().expect("the operator stops on SIGTERM");
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

    helm(
        None,
        &[
            "uninstall",
            &release,
            "-n",
            &release_ns,
            "--kubeconfig",
            &kc,
        ],
    )
    .expect("helm uninstall");
    cleanup(&client, &learners_ns, &track).await;
    delete_namespaces(&client, &[&other_ns, &release_ns]).await;
}

// ---------------------------------------------------------------------------------------------
// On a dedicated control plane: the CRD lifecycle

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

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
    kubectl_with(
        &own.kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
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
