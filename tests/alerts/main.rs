//! The chart's PrometheusRule (charts/learnpath/templates/prometheusrule.yaml), rendered by the
//! pinned helm and unit-tested by the pinned promtool (`make prometheus`): no cluster, no
//! Prometheus server. A missing helm or promtool fails the test.
//!
//! - `promtool check rules` on the rendered groups (the PromQL and the annotation templates);
//! - `promtool test rules tests/alerts/rules_test.yaml` with the default values: every alert
//!   fires when it should, not before its `for`, not when healthy;
//! - what every alert carries (severity, summary, a description that says what to do), and
//!   that values reach the rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at the first broken expectation, with its message"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use testkit::*;

/// The PrometheusRule the chart renders with `set` (more `--set`/`-f` arguments), as release
/// `rel` in namespace `lp-system`: the test file's series are job="rel-learnpath-metrics",
/// namespace="lp-system".
fn prometheus_rule(set: &[&str]) -> Value {
    let chart = repo().join("charts/learnpath").display().to_string();
    let mut args = vec![
        "template",
        "rel",
        &chart,
        "--namespace",
        "lp-system",
        "--set",
        "prometheusRule.enabled=true",
        "--show-only",
        "templates/prometheusrule.yaml",
    ];
    args.extend(set);
    let out = helm(None, &args).expect(&format!("helm {}", args.join(" ")));
    let rule: Value = serde_saphyr::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("the PrometheusRule is not YAML: {e}\n{}", out.stdout));
    assert_eq!(rule["kind"], "PrometheusRule", "{rule}");
    rule
}

/// Every rule of every group.
fn rules(rule: &Value) -> Vec<&Value> {
    rule["spec"]["groups"]
        .as_array()
        .expect("spec.groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("a group's rules"))
        .collect()
}

fn alert_names(rule: &Value) -> BTreeSet<String> {
    rules(rule)
        .iter()
        .map(|r| {
            r["alert"]
                .as_str()
                .expect("only alerting rules")
                .to_string()
        })
        .collect()
}

/// Runs the pinned promtool in `dir`; panics with its output unless it succeeds.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(bin("promtool"));
    cmd.current_dir(dir).args(args);
    run(cmd)
        .expect(&format!("promtool {}", args.join(" ")))
        .stdout
}

/// Writes the groups as a Prometheus rule file (JSON is YAML).
fn write_rules(path: &Path, rule: &Value) {
    let file = json!({ "groups": rule["spec"]["groups"] });
    std::fs::write(path, serde_json::to_vec_pretty(&file).expect("JSON"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn the_alerts_pass_promtool_check_and_their_unit_tests() {
    let rule = prometheus_rule(&[]);
    let dir = tempfile::tempdir().expect("a temp dir");

    write_rules(&dir.path().join("full.yaml"), &rule);
    let checked = promtool(dir.path(), &["check", "rules", "full.yaml"]);
    let count = rules(&rule).len();
    assert!(
        checked.contains(&format!("SUCCESS: {count} rules found")),
        "{checked}"
    );

    // The descriptions are prose for a person; the test file checks labels and summaries.
    let mut short = rule.clone();
    for group in short["spec"]["groups"].as_array_mut().expect("groups") {
        for r in group["rules"].as_array_mut().expect("rules") {
            r["annotations"]
                .as_object_mut()
                .expect("annotations")
                .remove("description");
        }
    }
    write_rules(&dir.path().join("rules.yaml"), &short);
    let tests = repo().join("tests/alerts/rules_test.yaml");
    std::fs::copy(&tests, dir.path().join("rules_test.yaml"))
        .unwrap_or_else(|e| panic!("{}: {e}", tests.display()));
    let out = promtool(dir.path(), &["test", "rules", "rules_test.yaml"]);
    assert!(out.contains("SUCCESS"), "{out}");

    // Every alert is tested both ways: quiet at some time, firing at another.
    let file: Value = serde_saphyr::from_str(&std::fs::read_to_string(&tests).expect("test file"))
        .expect("the test file is YAML");
    let checks: Vec<&Value> = file["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().expect("alert_rule_test"))
        .collect();
    for alert in alert_names(&rule) {
        let of_alert = || checks.iter().filter(|c| c["alertname"] == alert.as_str());
        let quiet = of_alert().any(|c| c["exp_alerts"] == json!([]));
        let firing = of_alert().any(|c| c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(
            quiet && firing,
            "{alert}: quiet checked {quiet}, firing checked {firing}"
        );
    }
}

#[test]
fn every_alert_has_a_severity_a_summary_and_says_what_to_do() {
    let rule = prometheus_rule(&[]);
    assert_eq!(
        alert_names(&rule),
        [
            "LearnpathFrozenExercises",
            "LearnpathLearnersStalled",
            "LearnpathNoLeader",
            "LearnpathOperatorNotWriting",
            "LearnpathReconcileErrors",
            "LearnpathSignalSourceFailing",
        ]
        .map(String::from)
        .into(),
    );
    for r in rules(&rule) {
        let name = &r["alert"];
        assert!(
            r["for"].as_str().is_some_and(|f| !f.is_empty()),
            "{name}: for"
        );
        assert!(
            ["info", "warning", "critical"]
                .contains(&r["labels"]["severity"].as_str().unwrap_or("")),
            "{name}: severity"
        );
        assert!(
            r["annotations"]["summary"]
                .as_str()
                .is_some_and(|s| s.len() > 10),
            "{name}"
        );
        let description = r["annotations"]["description"].as_str().unwrap_or("");
        // A command to run or a page to read: something to act on.
        assert!(
            description.contains("kubectl") || description.contains("learnpath report"),
            "{name}: the description names no command: {description}"
        );
        assert!(
            description.contains(&format!("for {}", r["for"].as_str().unwrap_or("?"))),
            "{name}: the description says how long: {description}"
        );
    }
}

#[test]
fn values_reach_the_rules() {
    let rule = prometheus_rule(&[
        "--set",
        "prometheusRule.selector=job=\"learnpath\"",
        "--set",
        "prometheusRule.labels.release=kube-prometheus-stack",
        "--set",
        "prometheusRule.alertLabels.team=enablement",
        "--set",
        "prometheusRule.alertLabels.severity=ignored",
        "--set",
        "prometheusRule.learnersStalled.for=2h",
        "--set",
        "prometheusRule.learnersStalled.threshold=7",
        "--set",
        "prometheusRule.noLeader.severity=page",
        "--set",
        "prometheusRule.reconcileErrors.window=1h",
    ]);
    assert_eq!(
        rule["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    for r in rules(&rule) {
        let expr = r["expr"].as_str().expect("expr");
        // Every series selector is this release's, and only that.
        let selectors = expr.matches("learnpath_").count();
        assert!(selectors > 0, "{expr}");
        assert_eq!(
            expr.matches("{job=\"learnpath\"").count(),
            selectors,
            "{expr}"
        );
        assert!(!expr.contains("lp-system"), "{expr}");
        assert_eq!(r["labels"]["team"], "enablement");
        assert_ne!(
            r["labels"]["severity"], "ignored",
            "an alert's own severity wins"
        );
    }
    let by_name = |name: &str| {
        rules(&rule)
            .into_iter()
            .find(|r| r["alert"] == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    let stalled = by_name("LearnpathLearnersStalled");
    assert_eq!(stalled["for"], "2h");
    assert!(
        stalled["expr"]
            .as_str()
            .unwrap()
            .trim_end()
            .ends_with("> 7"),
        "{stalled}"
    );
    assert_eq!(by_name("LearnpathNoLeader")["labels"]["severity"], "page");
    assert!(
        by_name("LearnpathReconcileErrors")["expr"]
            .as_str()
            .unwrap()
            .contains("[1h]")
    );

    // Off by default.
    let chart = repo().join("charts/learnpath").display().to_string();
    let out = helm(
        None,
        &[
            "template",
            "rel",
            &chart,
            "--show-only",
            "templates/prometheusrule.yaml",
        ],
    );
    assert!(
        !out.ok && out.stderr.contains("could not find template"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_schema_refuses_bad_thresholds() {
    let chart = repo().join("charts/learnpath").display().to_string();
    for set in [
        "prometheusRule.learnersStalled.for=30 minutes",
        "prometheusRule.reconcileErrors.ratio=2",
        "prometheusRule.operatorNotWriting.seconds=0",
        "prometheusRule.frozenExercises.treshold=3",
        "prometheusRule.noLeader.severity=",
    ] {
        let out = helm(None, &["template", "rel", &chart, "--set", set]);
        assert!(
            !out.ok && out.stderr.contains("schema"),
            "--set {set} must fail: {}",
            out.stderr
        );
    }
}
