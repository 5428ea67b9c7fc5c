//! kube-score, an independent checker (pinned, built by `make node`), on the rendered chart: no
//! CRITICAL finding is left but those the chart's README justifies, each ignored by name here.

use std::io::Write;
use std::process::{Command, Stdio};

use testkit::*;

use super::harness::*;

/// The kube-score checks the chart does not meet on purpose: each one's name and why, said again
/// in charts/learnpath/README.md ("kube-score").
const JUSTIFIED: &[(&str, &str)] = &[(
    "container-image-pull-policy",
    "IfNotPresent with an immutable tag or a digest (image.digest) pins the image as well as \
     Always does, without a registry round trip at every start, and works with preloaded images",
)];

/// kube-score's CRITICAL lines for a rendering of the chart with `values`, ignoring `ignored`.
fn critical_findings(values: &[&str], ignored: &[&str]) -> Vec<String> {
    let mut args = vec!["template", "rel", &chart_arg(), "--namespace", "lp-system"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    args.extend(values.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let rendered = helm(None, &refs).expect("helm template");
    let mut cmd = Command::new(bin("kube-score"));
    cmd.args([
        "score",
        "-",
        "--output-format",
        "ci",
        "--kubernetes-version",
        "v1.37",
    ]);
    for test in ignored {
        cmd.args(["--ignore-test", test]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kube-score starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(rendered.stdout.as_bytes())
        .expect("kube-score reads the chart");
    let out = child.wait_with_output().expect("kube-score runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("[OK]")),
        "kube-score checked nothing: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter(|l| l.starts_with("[CRITICAL]"))
        .map(String::from)
        .collect()
}

#[test]
fn kube_score_finds_nothing_critical_that_the_chart_does_not_justify() {
    let ignored: Vec<&str> = JUSTIFIED.iter().map(|(name, _)| *name).collect();
    let readme = std::fs::read_to_string(chart().join("README.md")).expect("chart README");
    for (name, why) in JUSTIFIED {
        assert!(
            readme.contains(&format!("`{name}`")),
            "the README justifies {name} ({why})"
        );
    }
    for values in [
        vec![],
        vec![
            "--set",
            "replicaCount=2",
            "--set",
            "podDisruptionBudget.enabled=true",
        ],
        vec!["--set", "watchNamespaces={learners}"],
    ] {
        let findings = critical_findings(&values, &ignored);
        assert!(
            findings.is_empty(),
            "kube-score with {values:?}:\n{}",
            findings.join("\n")
        );
    }
    // Each ignore is needed: without it, its check fires on some rendering.
    for (name, _) in JUSTIFIED {
        let others: Vec<&str> = ignored.iter().copied().filter(|n| n != name).collect();
        let fired = [vec![], vec!["--set", "replicaCount=2"]]
            .iter()
            .any(|values| !critical_findings(values, &others).is_empty());
        assert!(fired, "{name} is ignored but never fires");
    }
}
