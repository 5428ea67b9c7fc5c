//! Precise conditions: one learner walked through broken Tracks and broken specs in turn gets a
//! condition naming each problem, and keeps its last good plan.

use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::ListParams;
use learnpath::api::{LearningPath, Track};
use serde_json::{Value, json};
use testkit::*;

use super::requests::*;

fn good_track() -> Value {
    json!({
        "title": "hostile",
        "dimensions": [{"id": "lang", "title": "Language"}],
        "modules": [
            {"id": "basics", "title": "Basics", "dimension": "lang", "hours": 10, "exercises": [{"id": "b1", "title": "B1", "hours": 2}, {"id": "b2", "title": "B2", "hours": 2}]},
            {"id": "docker", "title": "Docker", "hours": 10, "prerequisites": ["basics"], "exercises": [{"id": "d1", "title": "D1", "hours": 3}]},
            {"id": "operator", "title": "Operator", "hours": 20, "prerequisites": ["docker"], "exercises": [{"id": "o1", "title": "O1", "hours": 5}]},
        ],
        "profiles": {"industries": {"cloud": {"weights": {"operator": 3}}}, "roles": {"sre": {"weights": {"docker": 2}}}},
        "rules": [{"id": "ci-red", "when": [{"signal": "ci", "operator": ">", "value": 20}], "then": {"boost": {"module": "docker", "factor": 2}}, "message": "CI is red"}],
        "struggle": {"maxFailures": 3, "remedial": {"o1": "d1"}},
        "transfers": [{"from": "react", "to": "docker", "ratio": 0.5}],
    })
}

fn good_learner() -> Value {
    json!({
        "trackRef": {"name": "set-below"}, "learner": {"name": "Hostile"},
        "industry": "cloud", "role": "sre",
        "assessment": {"basics": 50, "react": 40}, "completedExercises": ["b1"],
        "signals": {"ci": 30},
    })
}

async fn apply_value<K>(api: &Api<K>, doc: &Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let obj: K = serde_json::from_value(doc.clone()).expect("test object deserializes");
    apply(api, &obj).await.expect("applied")
}

#[tokio::test]
async fn a_learner_walked_through_broken_inputs_gets_a_precise_condition_and_keeps_its_plan() {
    let client = client().await;
    let ns = namespace(&client, "walk").await;
    let track_name = format!("walk-{ns}");
    let tracks: Api<Track> = Api::all(client.clone());
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let mut learner = good_learner();
    learner["trackRef"]["name"] = json!(track_name);

    apply_value(&tracks, &track_doc(&track_name, &good_track())).await;
    apply_value(&paths, &path_doc("walker", &ns, &learner)).await;
    let _operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    let good = eventually("the learner Ready on the good Track", WAIT, || async {
        let lp = paths.get("walker").await.ok()?;
        is_ready(&lp).then_some(lp)
    })
    .await;
    let good_status = good.status.clone().unwrap();
    assert!(!good_status.stages.is_empty() && !good_status.next_exercises.is_empty());

    let keeps_the_good_plan = |lp: &LearningPath, step: &str| {
        let status = lp.status.as_ref().unwrap();
        assert_eq!(status.stages, good_status.stages, "{step}: stages kept");
        assert_eq!(
            status.next_exercises, good_status.next_exercises,
            "{step}: next exercises kept"
        );
        assert_eq!(
            status.progress, good_status.progress,
            "{step}: progress kept"
        );
        assert_eq!(condition(lp, "Ready").unwrap().status, "False", "{step}");
        assert_eq!(condition(lp, "Stalled").unwrap().status, "True", "{step}");
    };
    let check = |lp: &LearningPath, step: &str, reason: &str, needles: &[&str]| {
        let valid = condition(lp, "Valid").unwrap();
        assert_eq!(valid.reason, reason, "{step}: {}", valid.message);
        for needle in needles {
            assert!(
                valid.message.contains(needle),
                "{step}: {:?} does not name {needle}",
                valid.message
            );
        }
        keeps_the_good_plan(lp, step);
    };

    // Broken Tracks, one after another, each a small edit of the good one.
    type Edit = fn(&mut Value);
    let track_steps: [(&str, Edit, &str, &[&str]); 8] = [
        (
            "a three-module cycle",
            |t| t["modules"][0]["prerequisites"] = json!(["operator"]),
            "PrerequisiteCycle",
            &["basics", "docker", "operator"],
        ),
        (
            "an unknown prerequisite",
            |t| t["modules"][1]["prerequisites"] = json!(["basics", "kubernetes-101"]),
            "UnknownModule",
            &["\"docker\"", "\"kubernetes-101\""],
        ),
        (
            "an exercise id in two modules",
            |t| t["modules"][2]["exercises"] = json!([{"id": "o1", "title": "O1", "hours": 5}, {"id": "d1", "title": "again", "hours": 1}]),
            "DuplicateId",
            &["\"d1\"", "\"docker\"", "\"operator\""],
        ),
        (
            "an unknown dimension",
            |t| t["modules"][2]["dimension"] = json!("cloud-native"),
            "UnknownDimension",
            &["\"operator\"", "\"cloud-native\""],
        ),
        (
            "a weight on a typo",
            |t| t["profiles"]["industries"]["cloud"]["weights"] = json!({"operater": 3}),
            "UnknownModule",
            &["industries.cloud", "\"operater\""],
        ),
        (
            "a rule boosting nothing",
            |t| t["rules"][0]["then"]["boost"]["module"] = json!("dokker"),
            "UnknownModule",
            &["\"ci-red\"", "\"dokker\""],
        ),
        (
            "a remedy for an unknown exercise",
            |t| t["struggle"]["remedial"] = json!({"o9": "d1"}),
            "UnknownExercise",
            &["\"o9\""],
        ),
        (
            "a transfer to an unknown module",
            |t| t["transfers"][0]["to"] = json!("redis"),
            "UnknownModule",
            &["\"react\"", "\"redis\""],
        ),
    ];
    for (step, edit, reason, needles) in track_steps {
        let mut spec = good_track();
        edit(&mut spec);
        let applied = apply_value(&tracks, &track_doc(&track_name, &spec)).await;
        let generation = applied.metadata.generation;
        let lp = eventually(step, WAIT, || async {
            let lp = paths.get("walker").await.ok()?;
            (lp.status.as_ref()?.track_generation == generation
                && condition(&lp, "Valid")?.status == "False")
                .then_some(lp)
        })
        .await;
        check(&lp, step, reason, needles);
        // The Track's authors see the same problem on the Track.
        let track_valid = eventually(&format!("{step} on the Track"), WAIT, || async {
            let status = tracks.get(&track_name).await.ok()?.status?;
            (status.observed_generation == generation).then_some(status.conditions)
        })
        .await;
        let valid = track_valid.iter().find(|c| c.type_ == "Valid").unwrap();
        assert_eq!(
            (valid.status.as_str(), valid.reason.as_str()),
            ("False", reason),
            "{step}"
        );
        for needle in needles {
            assert!(
                valid.message.contains(needle),
                "{step} on the Track: {}",
                valid.message
            );
        }
    }

    // The good Track again: the learner recovers with the same plan.
    let applied = apply_value(&tracks, &track_doc(&track_name, &good_track())).await;
    let recovered = eventually("recovery on the good Track", WAIT, || async {
        let lp = paths.get("walker").await.ok()?;
        (lp.status.as_ref()?.track_generation == applied.metadata.generation && is_ready(&lp))
            .then_some(lp)
    })
    .await;
    assert_eq!(
        recovered.status.as_ref().unwrap().stages,
        good_status.stages
    );

    // Broken specs, one after another.
    let path_steps: [(&str, Edit, &str, &[&str]); 4] = [
        (
            "an unknown completed exercise",
            |l| l["completedExercises"] = json!(["b1", "b9"]),
            "UnknownExercise",
            &["b9"],
        ),
        (
            "an unknown struggling exercise",
            |l| l["struggles"] = json!([{"exercise": "x7", "failures": 4}]),
            "UnknownExercise",
            &["\"x7\""],
        ),
        (
            "an unknown role and industry",
            |l| {
                l["role"] = json!("dba");
                l["industry"] = json!("retail");
            },
            "UnknownProfile",
            &["\"dba\"", "sre", "\"retail\"", "cloud"],
        ),
        (
            "an assessment of a typo",
            |l| l["assessment"] = json!({"basicz": 50}),
            "UnknownModule",
            &["basicz"],
        ),
    ];
    for (step, edit, reason, needles) in path_steps {
        let mut spec = learner.clone();
        edit(&mut spec);
        let applied = apply_value(&paths, &path_doc("walker", &ns, &spec)).await;
        let generation = applied.metadata.generation;
        let lp = eventually(step, WAIT, || async {
            let lp = paths.get("walker").await.ok()?;
            (lp.status.as_ref()?.observed_generation == generation
                && condition(&lp, "Valid")?.status == "False")
                .then_some(lp)
        })
        .await;
        check(&lp, step, reason, needles);
        if step == "an unknown completed exercise" {
            let message = &condition(&lp, "Valid").unwrap().message;
            assert!(!message.contains("b1"), "b1 exists: {message}");
        }
    }

    // Each new problem was a Warning event naming it.
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let wanted = [
        "PrerequisiteCycle",
        "UnknownModule",
        "DuplicateId",
        "UnknownDimension",
        "UnknownExercise",
        "UnknownProfile",
        "Recovered",
    ];
    let seen = eventually(
        "a Warning event for every kind of problem",
        WAIT,
        || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            let reasons: Vec<String> = list.items.iter().filter_map(|e| e.reason.clone()).collect();
            wanted
                .iter()
                .all(|w| reasons.iter().any(|r| r == w))
                .then_some(list.items)
        },
    )
    .await;
    for e in seen
        .iter()
        .filter(|e| e.reason.as_deref() == Some("UnknownDimension"))
    {
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert!(
            e.note
                .as_deref()
                .unwrap_or_default()
                .contains("cloud-native"),
            "{e:?}"
        );
    }
    cleanup(&client, &ns, &track_name).await;
}
