//! Without a cluster: the chart lints and renders, its schema is closed and refuses misspelt
//! keys, and its CRDs are the generated ones.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use testkit::*;

use super::harness::*;

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
        ("CustomResourceDefinition", 3),
        ("Deployment", 1),
        ("NetworkPolicy", 2),
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
    assert_network_policies(&docs, deployment, test_pod);

    // Every option set: watch one namespace, two replicas (leader election), everything optional on.
    let docs = render(&["-f", &all_values]);
    let expected: BTreeMap<String, usize> = [
        ("ClusterRole", 1),
        ("ClusterRoleBinding", 1),
        ("Deployment", 1),
        ("NetworkPolicy", 2),
        ("Pod", 1),
        ("PodDisruptionBudget", 1),
        ("PrometheusRule", 1),
        ("Role", 3),
        ("RoleBinding", 3),
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
        .map(|d| (d["metadata"]["name"].as_str().unwrap().to_string(), d))
        .collect();
    let places: Vec<&str> = roles
        .values()
        .map(|r| r["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(
        places,
        ["learners", "lp-system", "lp-system"],
        "a Role in the watched namespace; the Lease Role and the signal-Secrets Role in the \
         release namespace"
    );
    let secrets = &roles["learnpath-operator-signal-secrets"]["rules"];
    assert_eq!(
        secrets,
        &serde_json::json!([{"apiGroups": [""], "resources": ["secrets"],
            "resourceNames": ["git-credentials", "prometheus-token"], "verbs": ["get"]}]),
        "exactly the Secrets signals.secrets names, get only"
    );
    assert_eq!(
        one(&docs, "ClusterRole")["rules"].as_array().unwrap().len(),
        4,
        "with watchNamespaces the ClusterRole holds only the cluster-scoped kinds' rules \
         (Tracks and SignalSources)"
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

/// The operator's NetworkPolicy selects its Pods and lets in only the metrics port; the test
/// Pod's lets it out only to that port of the operator's Pods.
fn assert_network_policies(docs: &[Value], deployment: &Value, test_pod: &Value) {
    let policies: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .collect();
    let matches = |pod_selector: &Value, labels: &Value| {
        pod_selector["matchLabels"]
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| labels[k] == *v)
    };
    let selects = |policy: &Value, labels: &Value| matches(&policy["spec"]["podSelector"], labels);
    let operator_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let test_labels = &test_pod["metadata"]["labels"];
    let operator: Vec<&&Value> = policies
        .iter()
        .filter(|p| selects(p, operator_labels))
        .collect();
    assert_eq!(operator.len(), 1, "one policy selects the operator");
    assert!(!selects(operator[0], test_labels));
    let ingress = operator[0]["spec"]["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 1);
    assert_eq!(
        ingress[0]["ports"],
        serde_json::json!([{"port": "metrics", "protocol": "TCP"}])
    );
    assert!(!operator[0]["spec"]["egress"].as_array().unwrap().is_empty());
    let test: Vec<&&Value> = policies
        .iter()
        .filter(|p| selects(p, test_labels))
        .collect();
    assert_eq!(test.len(), 1, "one policy selects the helm test Pod");
    assert_eq!(test[0]["spec"]["ingress"], serde_json::json!([]));
    let egress = test[0]["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 1);
    assert!(matches(&egress[0]["to"][0]["podSelector"], operator_labels));
}
