//! `learnpath report` against the real API server: it lists what the operator wrote and draws it.

use std::time::Duration;

use kube::ResourceExt;

use testkit::*;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_report_draws_every_learner_the_operator_planned() {
    let client = client().await;
    let ns = namespace(&client, "report").await;
    let track_name = format!("go-engineer-{ns}");
    apply_examples(&client, &ns, &track_name).await;
    let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    let ready = all_ready(&client, &ns, WAIT, || operator.log_text()).await;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_learnpath"))
        .env("KUBECONFIG", &cluster().kubeconfig)
        .args([
            "report",
            "--namespace",
            &ns,
            "--track",
            &track_name,
            "-o",
            "html",
        ])
        .arg("--out-dir")
        .arg(dir.path())
        .output()
        .expect("run learnpath report");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "learnpath report: {stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        operator.log_text()
    );
    assert!(
        stdout.contains(&format!("for {} learners", LEARNERS.len())),
        "{stdout}"
    );

    let index = std::fs::read_to_string(dir.path().join("index.html")).expect("index.html");
    for lp in &ready {
        let status = lp.status.as_ref().expect("a status");
        let percent = status.progress.as_ref().expect("progress").percent;
        let row = format!(
            r#"data-learner="{ns}/{}" data-progress="{percent}""#,
            lp.name_any()
        );
        assert!(index.contains(&row), "{row} in the index");
        let page = dir
            .path()
            .join(format!("learners/{ns}/{}.html", lp.name_any()));
        let page =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(page.contains(&lp.spec.learner.name));
        assert!(
            page.contains(r#"data-dimension="cloud-native""#),
            "the radar is drawn from the listed Track"
        );
        let first = &status.stages[0].modules[0].id;
        assert!(page.contains(&format!(r#"data-module="{first}""#)));
    }
    cleanup(&client, &ns, &track_name).await;
}
