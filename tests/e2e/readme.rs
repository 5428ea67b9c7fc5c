//! The README's "On an existing cluster" commands, run as written, in order, on a control plane
//! of their own: `kubectl` is the pinned one, `learnpath` this build. A command that fails for a
//! user (a CRD install with `-f` on a kustomization, a missing wait) fails here.

use std::io::Write;
use std::process::{Command, Stdio};

use testkit::*;

/// The commands of the first code block under `heading`, comments and blank lines removed.
fn commands_under(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README.md has no {heading:?}"))
        .1;
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a sh code block")
        .0;
    block
        .lines()
        .map(|l| {
            l.split_once(" #")
                .map_or(l, |(code, _)| code)
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs `kubectl ARGS` (the pinned binary, `kubeconfig`'s identity) from the repository root.
fn kubectl_in_repo(kubeconfig: &std::path::Path, line: &str) -> Run {
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    let mut cmd = Command::new(bin("kubectl"));
    cmd.current_dir(repo())
        .env("KUBECONFIG", kubeconfig)
        .args(args);
    run(cmd)
}

#[test]
fn the_readme_commands_for_an_existing_cluster_work_as_written() {
    let commands = commands_under("## On an existing cluster");
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("kubectl apply -k crds/")),
        "{commands:?}"
    );
    let own = Cluster::supervise("readme").expect("a control plane for the README");
    let mut operator = None;
    for line in &commands {
        if line == "learnpath run" {
            let log = own.dir.join("readme-operator.log");
            let addr = format!("127.0.0.1:{}", free_port());
            operator = Some(Operator::spawn(
                &["run", "--metrics-addr", &addr],
                &[],
                &own.kubeconfig,
                addr.clone(),
                log,
            ));
        } else if let Some((left, right)) = line.split_once(" | ") {
            assert_eq!(right, "learnpath show", "a pipe into something new: {line}");
            let json = kubectl_in_repo(&own.kubeconfig, left).expect(left);
            let mut show = Command::new(learnpath_binary())
                .arg("show")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("learnpath show");
            show.stdin
                .take()
                .expect("stdin")
                .write_all(json.stdout.as_bytes())
                .expect("write");
            let out = show.wait_with_output().expect("learnpath show");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && text.contains("progress:"), "{text}");
        } else {
            assert!(
                line.starts_with("kubectl "),
                "a command this test cannot run: {line}"
            );
            let out = kubectl_in_repo(&own.kubeconfig, line);
            let log = operator
                .as_ref()
                .map(Operator::log_text)
                .unwrap_or_default();
            assert!(
                out.ok,
                "`{line}` failed as the README writes it:\n{}\n{}\noperator:\n{log}",
                out.stdout, out.stderr
            );
        }
    }
    assert!(operator.is_some(), "the README runs the operator");
}
