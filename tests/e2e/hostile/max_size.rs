//! Maximum-size objects: a Track with every bound at once and one with every count at its
//! maximum are refused as too large; the biggest Track the API server stores is planned.

use std::time::Instant;

use kube::Api;
use kube::core::Status;
use learnpath::api::{LearningPath, Track, limits};
use serde_json::{Value, json};
use testkit::*;

use super::requests::*;

/// A module id of the big Tracks: short, so that size goes where the test wants it.
fn mid(i: usize) -> String {
    format!("m{i:03}")
}

/// Every list and map of a Track at its maximum count, and every string at its maximum length.
fn full_maximum_track() -> Value {
    let module = |i: usize| {
        let prereqs: Vec<String> = (0..limits::PREREQUISITES)
            .map(|k| long_id("p", i * 100 + k, 63))
            .collect();
        json!({
            "id": long_id("m", i, 63), "title": s(200, 't'), "hours": 10000,
            "dimension": long_id("d", i % 50, 63), "prerequisites": prereqs,
            "exercises": (0..limits::EXERCISES).map(|k| json!({
                "id": long_id("e", i * 100 + k, 63), "title": s(200, 'x'), "hours": 1000,
                "difficulty": "expert", "url": format!("https://{}", s(2040, 'u')),
            })).collect::<Vec<_>>(),
        })
    };
    let weights: serde_json::Map<String, Value> = (0..limits::WEIGHTS)
        .map(|k| (long_id("w", k, 63), json!(999.5)))
        .collect();
    let profiles: serde_json::Map<String, Value> = (0..limits::PROFILES)
        .map(|p| (long_id("p", p, 63), json!({"weights": weights})))
        .collect();
    json!({
        "title": s(200, 'T'), "description": s(4096, 'D'), "masteryThreshold": 100,
        "dimensions": (0..limits::DIMENSIONS).map(|d| json!({"id": long_id("d", d, 63), "title": s(200, 'd')})).collect::<Vec<_>>(),
        "modules": (0..limits::MODULES).map(module).collect::<Vec<_>>(),
        "profiles": {"industries": profiles, "roles": profiles},
        "rules": (0..limits::RULES).map(|r| json!({
            "id": long_id("r", r, 63),
            "when": (0..10).map(|c| json!({"signal": s(63, 's'), "operator": ">=", "value": c})).collect::<Vec<_>>(),
            "then": {"boost": {"module": s(63, 'b'), "factor": 1000}, "prioritize": {"module": s(63, 'p')}, "recommend": {"text": s(500, 'r')}},
            "message": s(500, 'm'),
        })).collect::<Vec<_>>(),
        "struggle": {"maxFailures": 100, "remedial": (0..500).map(|k| (long_id("e", k, 63), json!(long_id("x", k, 63)))).collect::<serde_json::Map<_, _>>()},
        "transfers": (0..200).map(|t| json!({"from": long_id("s", t, 63), "to": long_id("m", t, 63), "ratio": 1.0})).collect::<Vec<_>>(),
    })
}

/// Every count at its maximum, strings short: still more than the API server stores in one
/// object (25,000 exercises, 100 profiles of 550 weights).
fn every_count_at_maximum_track() -> Value {
    let weights: serde_json::Map<String, Value> = (0..limits::MODULES)
        .map(mid)
        .chain((0..limits::DIMENSIONS).map(|d| format!("d{d:02}")))
        .map(|k| (k, json!(2)))
        .collect();
    let profiles: serde_json::Map<String, Value> = (0..limits::PROFILES)
        .map(|p| (format!("p{p:02}"), json!({"weights": weights})))
        .collect();
    json!({
        "title": "t",
        "dimensions": (0..limits::DIMENSIONS).map(|d| json!({"id": format!("d{d:02}"), "title": "d"})).collect::<Vec<_>>(),
        "modules": (0..limits::MODULES).map(|i| json!({
            "id": mid(i), "title": "m", "hours": 1,
            "prerequisites": (i.saturating_sub(limits::PREREQUISITES)..i).map(mid).collect::<Vec<_>>(),
            "exercises": (0..limits::EXERCISES).map(|k| json!({"id": format!("e{i:03}-{k:02}"), "title": "x", "hours": 1})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "profiles": {"industries": profiles, "roles": profiles},
    })
}

/// A Track that the API server does store, with the bounds that drive the planner's work at
/// their maxima: 500 modules, each needing the (up to) 50 before it (the most prerequisite edges
/// an acyclic Track can have, 23,725), 100 rules of 10 conditions that all fire, 50 dimensions,
/// 50 industries and 50 roles (one of each with 550 weights), 200 transfers, 500 remedies, one
/// module with 50 exercises at every string bound, and two short exercises in every other module.
fn biggest_stored_track() -> Value {
    let full_weights: serde_json::Map<String, Value> = (0..limits::MODULES)
        .map(mid)
        .chain((0..limits::DIMENSIONS).map(|d| format!("d{d:02}")))
        .enumerate()
        .map(|(k, key)| (key, json!(((k % 7) as f64) * 0.5)))
        .collect();
    let profiles = |kind: &str| -> serde_json::Map<String, Value> {
        (0..limits::PROFILES)
            .map(|p| {
                let weights = if p == 0 {
                    full_weights.clone()
                } else {
                    (0..3).map(|k| (mid(p * 7 + k), json!(2))).collect()
                };
                (format!("{kind}{p:02}"), json!({"weights": weights}))
            })
            .collect()
    };
    let modules: Vec<Value> = (0..limits::MODULES)
        .map(|i| {
            let exercises: Vec<Value> = if i == 0 {
                (0..limits::EXERCISES)
                    .map(|k| json!({"id": long_id("big", k, 63), "title": s(200, 'x'), "hours": 1, "difficulty": "beginner", "url": format!("https://{}", s(2040, 'u'))}))
                    .collect()
            } else {
                (0..2)
                    .map(|k| json!({"id": format!("e{i:03}-{k}"), "title": "x", "hours": 1 + k}))
                    .collect()
            };
            json!({
                "id": mid(i), "title": format!("Module {i}"), "hours": 5 + i % 11,
                "dimension": format!("d{:02}", i % limits::DIMENSIONS),
                "prerequisites": (i.saturating_sub(limits::PREREQUISITES)..i).map(mid).collect::<Vec<_>>(),
                "exercises": exercises,
            })
        })
        .collect();
    json!({
        "title": s(200, 'T'), "description": s(4096, 'D'),
        "dimensions": (0..limits::DIMENSIONS).map(|d| json!({"id": format!("d{d:02}"), "title": format!("D{d}")})).collect::<Vec<_>>(),
        "modules": modules,
        "profiles": {"industries": profiles("i"), "roles": profiles("r")},
        "rules": (0..limits::RULES).map(|r| json!({
            "id": format!("r{r:03}"),
            "when": (0..10).map(|c| json!({"signal": format!("s{c}"), "operator": ">=", "value": c})).collect::<Vec<_>>(),
            "then": {"boost": {"module": mid(r * 5), "factor": 2}, "prioritize": {"module": mid(499 - r)}, "recommend": {"text": "r"}},
            "message": format!("rule {r}"),
        })).collect::<Vec<_>>(),
        // 500 remedies: the second exercise of modules 1..=499, and the first long one of m000.
        "struggle": {"maxFailures": 2, "remedial": (1..limits::MODULES).map(|i| format!("e{i:03}-1")).chain([long_id("big", 0, 63)]).enumerate().map(|(k, e)| (e, json!(mid((k + 250) % 500)))).collect::<serde_json::Map<_, _>>()},
        "transfers": (0..200).map(|t| json!({"from": format!("skill{t}"), "to": mid(t * 2), "ratio": 0.5})).collect::<Vec<_>>(),
    })
}

fn too_large(status: &Status) -> bool {
    let message = status.message.to_lowercase();
    status.code == 413 || message.contains("too large")
}

#[tokio::test]
async fn maximum_size_tracks_are_refused_as_too_large_or_stored_and_planned() {
    let client = client().await;
    let ns = namespace(&client, "maxsize").await;

    // (a) Every bound at once: tens of megabytes, refused before anything else looks at it.
    let full = bytes(&track_doc(&format!("full-{ns}"), &full_maximum_track()));
    let refused = refused_with(
        &create_raw::<Track>(&client, None, full.clone(), false).await,
        "the full maximum Track",
    );
    eprintln!(
        "full maximum Track: {} bytes of JSON -> {} {}",
        full.len(),
        refused.code,
        refused.message
    );
    assert!(too_large(&refused), "{refused:?}");

    // (b) Every count at its maximum with short strings: within the request limit, refused by storage.
    let counts = bytes(&track_doc(
        &format!("counts-{ns}"),
        &every_count_at_maximum_track(),
    ));
    let refused = refused_with(
        &create_raw::<Track>(&client, None, counts.clone(), false).await,
        "every count at its maximum",
    );
    eprintln!(
        "every count at maximum: {} bytes of JSON -> {} {}",
        counts.len(),
        refused.code,
        refused.message
    );
    assert!(too_large(&refused), "{refused:?}");
    for name in [format!("full-{ns}"), format!("counts-{ns}")] {
        assert!(
            Api::<Track>::all(client.clone())
                .get_opt(&name)
                .await
                .unwrap()
                .is_none(),
            "{name} must not exist"
        );
    }

    // (c) The biggest stored Track: accepted, and the operator plans a learner on it.
    let track_name = format!("biggest-{ns}");
    let big = bytes(&track_doc(&track_name, &biggest_stored_track()));
    let created = create_raw::<Track>(&client, None, big.clone(), false).await;
    accepted(&created, "the biggest Track");
    let stored = created.unwrap();
    eprintln!(
        "biggest stored Track: {} bytes of JSON sent, {} bytes stored with managedFields",
        big.len(),
        stored.len()
    );

    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let assessment: serde_json::Map<String, Value> = (0..limits::MODULES)
        .map(mid)
        .chain((0..50).map(|d| format!("d{d:02}")))
        .chain((0..50).map(|t| format!("skill{t}")))
        .enumerate()
        .map(|(k, key)| (key, json!(k % 80)))
        .collect();
    let learner = path_doc(
        "max",
        &ns,
        &json!({
            "trackRef": {"name": track_name}, "learner": {"name": s(200, 'L'), "email": format!("{}@example.com", s(242, 'e'))},
            "industry": "i00", "role": "r00",
            "assessment": assessment,
            "completedExercises": (100..400).flat_map(|i| [format!("e{i:03}-0"), format!("e{i:03}-1")]).collect::<Vec<_>>(),
            "signals": (0..64).map(|c| (format!("s{c}"), json!(c))).collect::<serde_json::Map<_, _>>(),
            "struggles": (1..500).map(|i| json!({"exercise": format!("e{i:03}-1"), "failures": 5})).collect::<Vec<_>>(),
            "hoursPerWeek": 1, "nextExercisesLimit": 20,
        }),
    );
    accepted(
        &create_raw::<LearningPath>(&client, Some(&ns), bytes(&learner), false).await,
        "the max-size learner",
    );
    let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    let started = Instant::now();
    let lp = eventually("the learner on the biggest Track Ready", WAIT, || async {
        let lp = paths.get("max").await.ok()?;
        if condition(&lp, "Valid").is_some_and(|c| c.status == "False") {
            panic!("{:?}", condition(&lp, "Valid"));
        }
        is_ready(&lp).then_some(lp)
    })
    .await;
    eprintln!("Ready after {:?}", started.elapsed());
    let status = lp.status.as_ref().unwrap();
    let track: Track = serde_json::from_str(&stored).unwrap();
    let planned: Vec<&str> = status
        .stages
        .iter()
        .flat_map(|s| &s.modules)
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(
        planned.len() + status.mastered.len() + status.optional.len(),
        limits::MODULES,
        "every module is planned, mastered or optional"
    );
    let position: std::collections::BTreeMap<&str, usize> =
        planned.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    for m in &track.spec.modules {
        for p in &m.prerequisites {
            if let (Some(at), Some(before)) =
                (position.get(m.id.as_str()), position.get(p.as_str()))
            {
                assert!(before < at, "{} planned before its prerequisite {p}", m.id);
            }
        }
    }
    assert_eq!(status.triggered_rules.len(), limits::RULES);
    assert_eq!(status.next_exercises.len(), 20);
    let size = serde_json::to_vec(&lp).unwrap().len();
    eprintln!(
        "its LearningPath with status: {size} bytes; {} stages, {} planned modules",
        status.stages.len(),
        planned.len()
    );
    let track_status = eventually("the biggest Track's status", WAIT, || async {
        let t = Api::<Track>::all(client.clone())
            .get(&track_name)
            .await
            .ok()?;
        let status = t.status?;
        (status.observed_generation == t.metadata.generation).then_some(status)
    })
    .await;
    assert_eq!(track_status.modules, Some(limits::MODULES as u32));
    assert_eq!(
        track_status.conditions[0].status, "True",
        "{track_status:?}"
    );
    drop(operator);
    cleanup(&client, &ns, &track_name).await;
}
