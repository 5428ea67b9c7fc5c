//! Faults and hostile input, on the real API server: objects at and beyond every bound, numbers
//! JSON cannot carry, the CEL cost budget (docs/security.md, "Sizes: what the API server
//! enforces"), and a learner walked through one broken Track after another (docs/planner.md §2
//! and §14: every problem named, the last good plan kept).

use std::time::{Duration, Instant};

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::core::Status;
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, Track, limits};
use serde_json::{Value, json};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(90);

fn s(n: usize, c: char) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// An id of exactly `len` characters (a DNS label), distinct for distinct `n`.
fn long_id(prefix: &str, n: usize, len: usize) -> String {
    let head = format!("{prefix}{n}");
    assert!(head.len() < len);
    format!("{head}{}", s(len - head.len(), 'x'))
}

fn url_path<K: kube::Resource<DynamicType = ()>>(namespace: Option<&str>) -> String {
    K::url_path(&(), namespace)
}

/// What the API server answered to a request: the created object's JSON, or its refusal.
type Answer = Result<String, Box<Status>>;

fn answer(result: Result<String, kube::Error>) -> Answer {
    match result {
        Ok(text) => Ok(text),
        Err(kube::Error::Api(status)) => Err(status),
        Err(e) => Err(Box::new(Status::failure(
            &format!("client error: {e}"),
            "ClientError",
        ))),
    }
}

/// POSTs raw bytes (a JSON document of any size, valid or not) as a create.
async fn create_raw<K: kube::Resource<DynamicType = ()>>(
    client: &Client,
    namespace: Option<&str>,
    body: Vec<u8>,
    dry_run: bool,
) -> Answer {
    let pp = PostParams {
        dry_run,
        ..Default::default()
    };
    let request = kube::core::Request::new(url_path::<K>(namespace))
        .create(&pp, body)
        .expect("request builds");
    answer(client.request_text(request).await)
}

/// Server-side apply with a YAML body, as `kubectl apply --server-side` would send it.
async fn apply_yaml<K: kube::Resource<DynamicType = ()>>(
    client: &Client,
    namespace: Option<&str>,
    name: &str,
    yaml: &str,
) -> Answer {
    let mut request = kube::core::Request::new(url_path::<K>(namespace))
        .patch(
            name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&()),
        )
        .expect("request builds");
    // The content type is already application/apply-patch+yaml; only the body changes.
    *request.body_mut() = yaml.as_bytes().to_vec();
    answer(client.request_text(request).await)
}

fn track_doc(name: &str, spec: &Value) -> Value {
    json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "Track", "metadata": {"name": name}, "spec": spec})
}

fn path_doc(name: &str, namespace: &str, spec: &Value) -> Value {
    json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "LearningPath", "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}

fn bytes(doc: &Value) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap()
}

fn refused_with(answer: &Answer, what: &str) -> Box<Status> {
    match answer {
        Ok(_) => panic!("{what}: the API server accepted it"),
        Err(status) => status.clone(),
    }
}

fn accepted(answer: &Answer, what: &str) {
    if let Err(status) = answer {
        panic!("{what}: refused with {} {}", status.code, status.message);
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Maximum-size objects

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

/// A field at its bound is accepted; one step over, the refusal names the field.
#[tokio::test]
async fn one_step_over_any_bound_is_refused_naming_the_field() {
    let client = client().await;
    let ns = namespace(&client, "bounds").await;
    let base_track = || json!({"title": "t", "modules": [{"id": "a", "title": "A", "hours": 1}]});
    let base_path = || json!({"trackRef": {"name": "t"}, "learner": {"name": "L"}});
    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }
    fn map(prefix: &str, n: usize, v: Value) -> Value {
        Value::Object(ids(prefix, n).into_iter().map(|k| (k, v.clone())).collect())
    }
    fn exercises(n: usize) -> Value {
        ids("e", n)
            .into_iter()
            .map(|id| json!({"id": id, "title": "x", "hours": 1}))
            .collect()
    }
    fn rule(id: String) -> Value {
        json!({"id": id, "when": [{"signal": "s", "operator": ">", "value": 1}], "then": {"recommend": {"text": "x"}}, "message": "m"})
    }

    // (what, JSON pointer into spec, value at the bound, value one step over, field path in the message)
    type Setter = Box<dyn Fn(bool) -> Value>;
    let track_cases: Vec<(&str, &str, Setter, &str)> = vec![
        (
            "title",
            "/title",
            Box::new(|over| json!(s(200 + usize::from(over), 't'))),
            "spec.title",
        ),
        (
            "description",
            "/description",
            Box::new(|over| json!(s(4096 + usize::from(over), 'd'))),
            "spec.description",
        ),
        (
            "dimensions",
            "/dimensions",
            Box::new(|over| {
                ids("d", 50 + usize::from(over))
                    .into_iter()
                    .map(|id| json!({"id": id, "title": "D"}))
                    .collect()
            }),
            "spec.dimensions",
        ),
        (
            "module id",
            "/modules/0/id",
            Box::new(|over| json!(long_id("a", 0, 63 + usize::from(over)))),
            "spec.modules[0].id",
        ),
        (
            "module title",
            "/modules/0/title",
            Box::new(|over| json!(s(200 + usize::from(over), 't'))),
            "spec.modules[0].title",
        ),
        (
            "module hours",
            "/modules/0/hours",
            Box::new(|over| json!(10000 + u32::from(over))),
            "spec.modules[0].hours",
        ),
        (
            "prerequisites",
            "/modules/0/prerequisites",
            Box::new(|over| json!(ids("p", 50 + usize::from(over)))),
            "spec.modules[0].prerequisites",
        ),
        (
            "exercises",
            "/modules/0/exercises",
            Box::new(|over| exercises(50 + usize::from(over))),
            "spec.modules[0].exercises",
        ),
        (
            "exercise url",
            "/modules/0/exercises",
            Box::new(
                |over| json!([{"id": "e", "title": "x", "hours": 1, "url": s(2048 + usize::from(over), 'u')}]),
            ),
            "spec.modules[0].exercises[0].url",
        ),
        (
            "exercise hours",
            "/modules/0/exercises",
            Box::new(|over| json!([{"id": "e", "title": "x", "hours": 1000 + u32::from(over)}])),
            "spec.modules[0].exercises[0].hours",
        ),
        (
            "industries",
            "/profiles",
            Box::new(|over| json!({"industries": map("i", 50 + usize::from(over), json!({}))})),
            "spec.profiles.industries",
        ),
        (
            "weights",
            "/profiles",
            Box::new(
                |over| json!({"roles": {"sre": {"weights": map("w", 550 + usize::from(over), json!(1))}}}),
            ),
            "spec.profiles.roles.sre.weights",
        ),
        (
            "weight value",
            "/profiles",
            Box::new(
                |over| json!({"roles": {"sre": {"weights": {"a": if over { 1000.5 } else { 1000.0 }}}}}),
            ),
            "weights are numbers from 0 to 1000",
        ),
        (
            "industry name",
            "/profiles",
            Box::new(|over| json!({"industries": {long_id("i", 0, 63 + usize::from(over)): {}}})),
            "industry names are at most 63 characters",
        ),
        (
            "rules",
            "/rules",
            Box::new(|over| {
                ids("r", 100 + usize::from(over))
                    .into_iter()
                    .map(rule)
                    .collect()
            }),
            "spec.rules",
        ),
        (
            "conditions",
            "/rules",
            Box::new(
                |over| json!([{"id": "r", "when": (0..10 + usize::from(over)).map(|c| json!({"signal": format!("s{c}"), "operator": "<", "value": c})).collect::<Vec<_>>(), "then": {"recommend": {"text": "x"}}, "message": "m"}]),
            ),
            "spec.rules[0].when",
        ),
        (
            "rule message",
            "/rules",
            Box::new(
                |over| json!([{"id": "r", "when": [{"signal": "s", "operator": ">", "value": 1}], "then": {"recommend": {"text": "x"}}, "message": s(500 + usize::from(over), 'm')}]),
            ),
            "spec.rules[0].message",
        ),
        (
            "transfers",
            "/transfers",
            Box::new(|over| {
                (0..200 + usize::from(over))
                    .map(|t| json!({"from": format!("s{t}"), "to": "a", "ratio": 0.5}))
                    .collect()
            }),
            "spec.transfers",
        ),
        (
            "remedial",
            "/struggle",
            Box::new(|over| json!({"remedial": map("e", 500 + usize::from(over), json!("a"))})),
            "spec.struggle.remedial",
        ),
        (
            "maxFailures",
            "/struggle",
            Box::new(|over| json!({"maxFailures": 100 + u32::from(over)})),
            "spec.struggle.maxFailures",
        ),
    ];
    for (what, pointer, value, field) in &track_cases {
        for over in [false, true] {
            let mut spec = base_track();
            set(&mut spec, pointer, value(over));
            let doc = track_doc(&format!("bound-{ns}"), &spec);
            let answer = create_raw::<Track>(&client, None, bytes(&doc), true).await;
            if !over {
                accepted(&answer, &format!("Track {what} at its bound"));
                continue;
            }
            let status = refused_with(&answer, &format!("Track {what} one over its bound"));
            eprintln!("Track {what} +1: {}", status.message);
            assert_eq!(status.code, 422, "{what}: {status:?}");
            assert!(
                status.message.contains(field),
                "{what}: {:?} does not name {field:?}",
                status.message
            );
        }
    }

    let path_cases: Vec<(&str, &str, Setter, &str)> = vec![
        (
            "assessment",
            "/assessment",
            Box::new(|over| map("k", 600 + usize::from(over), json!(50))),
            "spec.assessment",
        ),
        (
            "completedExercises",
            "/completedExercises",
            Box::new(|over| json!(ids("e", 5000 + usize::from(over)))),
            "spec.completedExercises",
        ),
        (
            "signals",
            "/signals",
            Box::new(|over| map("s", 64 + usize::from(over), json!(1.5))),
            "spec.signals",
        ),
        (
            "signal name",
            "/signals",
            Box::new(|over| json!({long_id("s", 0, 63 + usize::from(over)): 1})),
            "signal names are at most 63 characters",
        ),
        (
            "struggles",
            "/struggles",
            Box::new(|over| {
                ids("e", 500 + usize::from(over))
                    .into_iter()
                    .map(|e| json!({"exercise": e, "failures": 1}))
                    .collect()
            }),
            "spec.struggles",
        ),
        (
            "learner name",
            "/learner",
            Box::new(|over| json!({"name": s(200 + usize::from(over), 'n')})),
            "spec.learner.name",
        ),
        (
            "learner email",
            "/learner",
            Box::new(|over| json!({"name": "n", "email": s(254 + usize::from(over), 'e')})),
            "spec.learner.email",
        ),
        (
            "trackRef",
            "/trackRef",
            Box::new(|over| json!({"name": s(253 + usize::from(over), 't')})),
            "spec.trackRef.name",
        ),
        (
            "industry",
            "/industry",
            Box::new(|over| json!(s(63 + usize::from(over), 'i'))),
            "spec.industry",
        ),
        (
            "hoursPerWeek",
            "/hoursPerWeek",
            Box::new(|over| json!(168 + u32::from(over))),
            "spec.hoursPerWeek",
        ),
        (
            "failures",
            "/struggles",
            Box::new(|over| json!([{"exercise": "e", "failures": 10000 + u32::from(over)}])),
            "spec.struggles[0].failures",
        ),
    ];
    for (what, pointer, value, field) in &path_cases {
        for over in [false, true] {
            let mut spec = base_path();
            set(&mut spec, pointer, value(over));
            let doc = path_doc("bound", &ns, &spec);
            let answer = create_raw::<LearningPath>(&client, Some(&ns), bytes(&doc), true).await;
            if !over {
                accepted(&answer, &format!("LearningPath {what} at its bound"));
                continue;
            }
            let status = refused_with(&answer, &format!("LearningPath {what} one over its bound"));
            eprintln!("LearningPath {what} +1: {}", status.message);
            assert_eq!(status.code, 422, "{what}: {status:?}");
            assert!(
                status.message.contains(field),
                "{what}: {:?} does not name {field:?}",
                status.message
            );
        }
    }
    cleanup(&client, &ns, "none").await;
}

/// Lists keyed by id (or kept as sets) refuse a repeated entry with its path and its id, so
/// these duplicates never reach the planner from the API server (the planner still names them
/// for `learnpath plan`: see `src/planner/tests.rs`).
#[tokio::test]
async fn duplicates_in_keyed_lists_are_refused_naming_the_entry() {
    let client = client().await;
    let ns = namespace(&client, "dups").await;
    let module = json!({"id": "a", "title": "A", "hours": 1});
    let rule = |id: &str| json!({"id": id, "when": [{"signal": "s", "operator": ">", "value": 1}], "then": {"recommend": {"text": "x"}}, "message": "m"});
    let track_cases = [
        (
            "an exercise id twice in a module",
            json!({"title": "t", "modules": [{"id": "a", "title": "A", "hours": 1, "exercises": [{"id": "e1", "title": "x", "hours": 1}, {"id": "e1", "title": "y", "hours": 2}]}]}),
            "spec.modules[0].exercises[1]: Duplicate value: {\"id\":\"e1\"}",
        ),
        (
            "a prerequisite twice",
            json!({"title": "t", "modules": [module, {"id": "b", "title": "B", "hours": 1, "prerequisites": ["a", "a"]}]}),
            "spec.modules[1].prerequisites[1]: Duplicate value: \"a\"",
        ),
        (
            "a dimension id twice",
            json!({"title": "t", "modules": [module], "dimensions": [{"id": "d", "title": "D"}, {"id": "d", "title": "E"}]}),
            "spec.dimensions[1]: Duplicate value: {\"id\":\"d\"}",
        ),
        (
            "a rule id twice",
            json!({"title": "t", "modules": [module], "rules": [rule("r"), rule("r")]}),
            "spec.rules[1]: Duplicate value: {\"id\":\"r\"}",
        ),
    ];
    for (what, spec, field) in track_cases {
        let answer = create_raw::<Track>(
            &client,
            None,
            bytes(&track_doc(&format!("dup-{ns}"), &spec)),
            true,
        )
        .await;
        let status = refused_with(&answer, what);
        eprintln!("{what}: {}", status.message);
        assert_eq!(status.code, 422, "{what}: {status:?}");
        assert!(
            status.message.contains(field),
            "{what}: {:?} does not say {field:?}",
            status.message
        );
    }
    let path_cases = [
        (
            "a completed exercise twice",
            json!({"trackRef": {"name": "t"}, "learner": {"name": "L"}, "completedExercises": ["e1", "e2", "e1"]}),
            "spec.completedExercises[2]: Duplicate value: \"e1\"",
        ),
        (
            "a struggling exercise twice",
            json!({"trackRef": {"name": "t"}, "learner": {"name": "L"}, "struggles": [{"exercise": "e1", "failures": 1}, {"exercise": "e1", "failures": 2}]}),
            "spec.struggles[1]: Duplicate value: {\"exercise\":\"e1\"}",
        ),
    ];
    for (what, spec, field) in path_cases {
        let answer = create_raw::<LearningPath>(
            &client,
            Some(&ns),
            bytes(&path_doc("dup", &ns, &spec)),
            true,
        )
        .await;
        let status = refused_with(&answer, what);
        eprintln!("{what}: {}", status.message);
        assert_eq!(status.code, 422, "{what}: {status:?}");
        assert!(
            status.message.contains(field),
            "{what}: {:?} does not say {field:?}",
            status.message
        );
    }
    cleanup(&client, &ns, "none").await;
}

/// Sets the value at a JSON pointer, creating the last key of an object.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"));
    match parent {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer} is not in an object or array"),
    }
}

/// NaN, infinities and out-of-range floats cannot be written in JSON; in YAML they can. None of
/// them reaches the operator: the API server refuses every such object.
#[tokio::test]
async fn numbers_that_are_not_finite_never_reach_the_operator() {
    let client = client().await;
    let ns = namespace(&client, "nan").await;
    let tracks: Api<Track> = Api::all(client.clone());
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let name = format!("nan-{ns}");

    for (what, weight) in [("NaN", ".nan"), ("+Inf", ".inf"), ("-Inf", "-.inf")] {
        let yaml = format!(
            "apiVersion: learnpath.dev/v1alpha1\nkind: Track\nmetadata: {{name: {name}}}\nspec:\n  title: t\n  modules: [{{id: a, title: A, hours: 1}}]\n  profiles: {{industries: {{x: {{weights: {{a: {weight}}}}}}}}}\n"
        );
        let status = refused_with(
            &apply_yaml::<Track>(&client, None, &name, &yaml).await,
            &format!("a {what} weight in YAML"),
        );
        eprintln!("{what} weight: {} {}", status.code, status.message);
        assert_eq!(status.code, 400, "{what}: {status:?}");
        assert!(status.message.contains(what), "{what}: {status:?}");
        assert!(tracks.get_opt(&name).await.unwrap().is_none(), "{what}");

        let yaml = format!(
            "apiVersion: learnpath.dev/v1alpha1\nkind: LearningPath\nmetadata: {{name: l, namespace: {ns}}}\nspec:\n  trackRef: {{name: t}}\n  learner: {{name: L}}\n  signals: {{ciFailureRate: {weight}}}\n"
        );
        let status = refused_with(
            &apply_yaml::<LearningPath>(&client, Some(&ns), "l", &yaml).await,
            &format!("a {what} signal in YAML"),
        );
        eprintln!("{what} signal: {} {}", status.code, status.message);
        assert_eq!(status.code, 400, "{what}: {status:?}");
        assert!(status.message.contains(what), "{what}: {status:?}");
        assert!(paths.get_opt("l").await.unwrap().is_none(), "{what}");
    }

    // A JSON number beyond f64 (1e400) in a rule's value and a weight.
    for (what, spec) in [
        (
            "rule value",
            r#"{"title": "t", "modules": [{"id": "a", "title": "A", "hours": 1}], "rules": [{"id": "r", "when": [{"signal": "s", "operator": ">", "value": 1e400}], "then": {"recommend": {"text": "x"}}, "message": "m"}]}"#,
        ),
        (
            "weight",
            r#"{"title": "t", "modules": [{"id": "a", "title": "A", "hours": 1}], "profiles": {"roles": {"x": {"weights": {"a": -1e400}}}}}"#,
        ),
    ] {
        let body = format!(
            r#"{{"apiVersion": "learnpath.dev/v1alpha1", "kind": "Track", "metadata": {{"name": "{name}"}}, "spec": {spec}}}"#
        );
        let status = refused_with(
            &create_raw::<Track>(&client, None, body.into_bytes(), false).await,
            &format!("1e400 as a {what}"),
        );
        eprintln!("1e400 {what}: {} {}", status.code, status.message);
        assert_eq!(status.code, 400, "{what}: {status:?}");
        assert!(status.message.contains("1e400"), "{what}: {status:?}");
        assert!(tracks.get_opt(&name).await.unwrap().is_none(), "{what}");
    }

    // The control: the same YAML with a finite weight is accepted, so the refusals above are
    // about the numbers.
    let yaml = format!(
        "apiVersion: learnpath.dev/v1alpha1\nkind: Track\nmetadata: {{name: {name}}}\nspec:\n  title: t\n  modules: [{{id: a, title: A, hours: 1}}]\n  profiles: {{industries: {{x: {{weights: {{a: 2.5}}}}}}}}\n"
    );
    accepted(
        &apply_yaml::<Track>(&client, None, &name, &yaml).await,
        "a finite weight in YAML",
    );
    cleanup(&client, &ns, &name).await;
}

// ---------------------------------------------------------------------------------------------
// CEL cost budget

/// Multiplies every key in `keys` (e.g. maxItems) anywhere in the schema by `factor`.
fn scale_bounds(schema: &mut Value, keys: &[&str], factor: u64) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if keys.contains(&k.as_str()) {
                    if let Some(n) = v.as_u64() {
                        *v = json!(n * factor);
                    }
                } else {
                    scale_bounds(v, keys, factor);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scale_bounds(v, keys, factor)),
        _ => {}
    }
}

/// The generated CRD of `kind`, moved to another group, with `keys` multiplied by `factor`.
fn probe_crd(kind: &str, group: &str, keys: &[&str], factor: u64) -> CustomResourceDefinition {
    let crd = learnpath::api::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap();
    let mut value = serde_json::to_value(&crd).unwrap();
    value["spec"]["group"] = json!(group);
    let plural = value["spec"]["names"]["plural"]
        .as_str()
        .unwrap()
        .to_string();
    value["metadata"] = json!({"name": format!("{plural}.{group}")});
    for version in value["spec"]["versions"].as_array_mut().unwrap() {
        scale_bounds(&mut version["schema"], keys, factor);
    }
    serde_json::from_value(value).unwrap()
}

/// Dry-run creates of the probe CRD: `Ok` when the server would accept it, else its message.
async fn probe(client: &Client, kind: &str, keys: &[&str], factor: u64) -> Result<(), String> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let group = format!("costprobe{}.learnpath.dev", std::process::id());
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    match crds
        .create(&pp, &probe_crd(kind, &group, keys, factor))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 422 => Err(status.message),
        Err(e) => panic!("{kind} x{factor}: {e}"),
    }
}

/// Factors beyond this are not probed: a bound 1,000 times larger is room enough.
const MAX_FACTOR: u64 = 1024;

/// The largest factor (to within 1, at most [`MAX_FACTOR`]) by which `keys` can be multiplied
/// before the server refuses the CRD, and the refusal at the smallest refused factor (`None`
/// when even `MAX_FACTOR` is accepted).
async fn largest_accepted_factor(
    client: &Client,
    kind: &str,
    keys: &[&str],
) -> (u64, Option<String>) {
    assert_eq!(
        probe(client, kind, keys, 1).await,
        Ok(()),
        "{kind} as generated"
    );
    let mut good = 1;
    let mut bad = 2;
    let mut refusal = loop {
        match probe(client, kind, keys, bad).await {
            Ok(()) if bad >= MAX_FACTOR => return (bad, None),
            Ok(()) => {
                good = bad;
                bad = (bad * 2).min(MAX_FACTOR);
            }
            Err(message) => break message,
        }
    };
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        match probe(client, kind, keys, mid).await {
            Ok(()) => good = mid,
            Err(message) => {
                bad = mid;
                refusal = message;
            }
        }
    }
    (good, Some(refusal))
}

#[tokio::test]
async fn the_cel_rules_fit_the_cost_budget_with_room_to_spare() {
    let client = client().await;
    // The probe can fail: a schema whose bounds are far too large for its rules is refused, and
    // the refusal is about the CEL cost.
    let (_, refusal) =
        largest_accepted_factor(&client, "Track", &["maxItems", "maxProperties"]).await;
    let refusal = refusal.expect("some factor up to 1024 exceeds the budget");
    assert!(
        refusal.contains("estimated rule cost exceeds budget"),
        "{refusal}"
    );
    for kind in ["Track", "LearningPath"] {
        for (what, keys) in [
            ("list and map bounds", &["maxItems", "maxProperties"][..]),
            ("string bounds", &["maxLength"][..]),
        ] {
            let (factor, refusal) = largest_accepted_factor(&client, kind, keys).await;
            match &refusal {
                Some(refusal) => {
                    eprintln!(
                        "{kind}: {what} x{factor} accepted, x{} refused: {refusal}",
                        factor + 1
                    );
                    assert!(refusal.contains("cost"), "{kind} {what}: {refusal}");
                }
                None => eprintln!("{kind}: {what} x{factor} accepted (not probed further)"),
            }
            assert!(
                factor >= 2,
                "{kind}: the {what} can only grow x{factor} before the CEL budget is exceeded"
            );
        }
    }
    // Nothing was created: the probes were dry runs.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let left: Vec<String> = crds
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .filter(|n| n.contains("costprobe"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Precise conditions: one learner walked through broken Tracks and broken specs in turn

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
