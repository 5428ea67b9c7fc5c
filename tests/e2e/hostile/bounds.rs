//! Every bound of the schema: a field at its bound is accepted, one step over is refused naming
//! the field, and a repeated entry of a keyed list is refused naming the entry.

use kube::Client;
use learnpath::api::{LearningPath, Track};
use serde_json::{Value, json};
use testkit::*;

use super::requests::*;

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
    check_bounds::<Track>(&client, None, &track_cases, base_track, |spec| {
        track_doc(&format!("bound-{ns}"), spec)
    })
    .await;

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
    check_bounds::<LearningPath>(&client, Some(&ns), &path_cases, base_path, |spec| {
        path_doc("bound", &ns, spec)
    })
    .await;
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
        refused_naming(&answer, what, field);
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
        refused_naming(&answer, what, field);
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

/// A value of a field at its bound (`false`) or one step over it (`true`).
type Setter = Box<dyn Fn(bool) -> Value>;

/// Each case (what, JSON pointer into the spec, its value, the field the refusal names) at its
/// bound is accepted, and one step over is refused naming the field: dry-run creates of
/// `doc(spec)`, `spec` being `base()` with the case's value set.
async fn check_bounds<K: kube::Resource<DynamicType = ()>>(
    client: &Client,
    namespace: Option<&str>,
    cases: &[(&str, &str, Setter, &str)],
    base: impl Fn() -> Value,
    doc: impl Fn(&Value) -> Value,
) {
    let kind = K::kind(&());
    for (what, pointer, value, field) in cases {
        for over in [false, true] {
            let mut spec = base();
            set(&mut spec, pointer, value(over));
            let answer = create_raw::<K>(client, namespace, bytes(&doc(&spec)), true).await;
            if over {
                refused_naming(&answer, &format!("{kind} {what} one over its bound"), field);
            } else {
                accepted(&answer, &format!("{kind} {what} at its bound"));
            }
        }
    }
}

/// The API server refused it as invalid (422), naming `field`.
fn refused_naming(answer: &Answer, what: &str, field: &str) {
    let status = refused_with(answer, what);
    eprintln!("{what}: {}", status.message);
    assert_eq!(status.code, 422, "{what}: {status:?}");
    assert!(
        status.message.contains(field),
        "{what}: {:?} does not name {field:?}",
        status.message
    );
}
