//! The cohort metrics (docs/controller.md §13.1) of a real operator on the real API server: what
//! `/metrics` counts from its trimmed cache is what the LearningPaths the API server holds say.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::json;
use testkit::*;

const WAIT: Duration = Duration::from_secs(60);

/// The samples of `/metrics` whose name starts with `learnpath_`, by name and labels as written
/// (`name{a="x",b="y"}`); our label values hold no spaces.
async fn samples(operator: &Operator) -> Option<BTreeMap<String, f64>> {
    let text = operator.metrics().await?;
    Some(
        text.lines()
            .filter(|l| l.starts_with("learnpath_"))
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(series, v)| Some((series.to_string(), v.parse().ok()?)))
            .collect(),
    )
}

/// What the metrics of `track` must say, computed from the objects the API server returns.
fn expected(track: &str, learners: &[LearningPath]) -> BTreeMap<String, f64> {
    let mut want = BTreeMap::new();
    let mut add = |series: String, n: f64| *want.entry(series).or_insert(0.0) += n;
    add(format!("learnpath_learners{{track=\"{track}\"}}"), 0.0);
    for lp in learners {
        add(format!("learnpath_learners{{track=\"{track}\"}}"), 1.0);
        for (condition, status) in ["Ready", "Valid", "Stalled"]
            .iter()
            .flat_map(|c| ["True", "False", "Unknown"].map(|s| (*c, s)))
        {
            let has = condition_status(lp, condition) == status;
            add(
                format!(
                    "learnpath_learner_conditions{{track=\"{track}\",condition=\"{condition}\",status=\"{status}\"}}"
                ),
                f64::from(u8::from(has)),
            );
        }
        let status = lp.status.as_ref().expect("a written status");
        add(
            format!("learnpath_learners_pending{{track=\"{track}\"}}"),
            f64::from(u8::from(
                status.observed_generation != lp.metadata.generation,
            )),
        );
        let frozen = status.frozen_exercises.len();
        add(
            format!("learnpath_learners_with_frozen_exercises{{track=\"{track}\"}}"),
            f64::from(u8::from(frozen > 0)),
        );
        add(
            format!("learnpath_frozen_exercises{{track=\"{track}\"}}"),
            frozen as f64,
        );
        for r in &status.triggered_rules {
            add(
                format!(
                    "learnpath_learners_with_rule{{track=\"{track}\",rule=\"{}\"}}",
                    r.rule
                ),
                1.0,
            );
        }
        let percent = status.progress.as_ref().expect("a progress").percent;
        add(
            format!("learnpath_learner_progress_ratio_count{{track=\"{track}\"}}"),
            1.0,
        );
        add(
            format!("learnpath_learner_progress_ratio_sum{{track=\"{track}\"}}"),
            f64::from(percent) / 100.0,
        );
    }
    want
}

fn condition_status<'a>(lp: &'a LearningPath, type_: &str) -> &'a str {
    condition(lp, type_).map_or("Unknown", |c| c.status.as_str())
}

/// The samples of `want`'s series in `got`: equal when every series has its value.
fn agree(got: &BTreeMap<String, f64>, want: &BTreeMap<String, f64>) -> bool {
    want.iter()
        .all(|(k, v)| got.get(k).is_some_and(|g| (g - v).abs() < 1e-9))
}

#[tokio::test]
async fn cohort_metrics_count_what_the_api_server_holds() {
    let client = client().await;
    let ns = namespace(&client, "cohort").await;
    let track = format!("go-engineer-{ns}");
    let tracks: Api<Track> = Api::all(client.clone());
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    apply(&tracks, &example_track(&track)).await.expect("Track");
    for learner in LEARNERS {
        apply(&paths, &example_learner(learner, &ns, &track))
            .await
            .expect("learner");
    }
    let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);

    // Every learner Ready: the metrics say so, and say what their statuses hold.
    let ready = eventually("every example learner Ready", WAIT, || async {
        let all = paths.list(&ListParams::default()).await.ok()?.items;
        (all.len() == LEARNERS.len() && all.iter().all(is_ready)).then_some(all)
    })
    .await;
    let want = expected(&track, &ready);
    assert!(
        want.iter()
            .any(|(k, v)| k.contains("frozen_exercises") && *v > 0.0)
            && want.keys().any(|k| k.contains("learners_with_rule")),
        "the examples have frozen exercises and fired rules: {want:?}"
    );
    let got = eventually("the cohort metrics of the Ready learners", WAIT, || async {
        let got = samples(&operator).await?;
        agree(&got, &want).then_some(got)
    })
    .await;
    let rules = |m: &BTreeMap<String, f64>| {
        m.keys()
            .filter(|k| k.starts_with("learnpath_learners_with_rule{"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rules(&got),
        rules(&want),
        "no series for a rule that fires for no one"
    );
    assert!(got["learnpath_status_last_write_timestamp_seconds"] > 0.0);

    // A learner names an exercise the Track does not have: Stalled, and counted as such.
    paths
        .patch(
            "backend-engineer",
            &PatchParams::apply("cohort-test"),
            &Patch::Apply(json!({
                "apiVersion": "learnpath.dev/v1alpha1", "kind": "LearningPath",
                "metadata": {"name": "backend-engineer"},
                "spec": {"completedExercises": ["no-such-exercise"]},
            })),
        )
        .await
        .expect("patch");
    let stalled = format!(
        "learnpath_learner_conditions{{track=\"{track}\",condition=\"Stalled\",status=\"True\"}}"
    );
    let after = eventually("backend-engineer Stalled in the metrics", WAIT, || async {
        let got = samples(&operator).await?;
        (got.get(&stalled) == Some(&1.0)).then_some(got)
    })
    .await;
    let all = paths
        .list(&ListParams::default())
        .await
        .expect("list")
        .items;
    let backend = all
        .iter()
        .find(|lp| lp.name_any() == "backend-engineer")
        .expect("backend-engineer");
    assert_eq!(condition_status(backend, "Stalled"), "True");
    assert!(agree(&after, &expected(&track, &all)), "{after:?}");

    cleanup(&client, &ns, &track).await;
}
