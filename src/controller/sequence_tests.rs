//! The reconcile's request sequence against a mocked API server: the status patch, the own-write
//! registration, then the events; and the out-of-date-CRD refusal. Fast, and beside (never
//! instead of) the end-to-end tests on a real API server.

use std::sync::Arc;

use http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use kube::core::Selector;

use crate::api::{LearningPath, MatchBy, Track};
use crate::controller::signals::SourceView;
use crate::controller::{
    Announcer, Context, Error, FanOut, Metrics, cache, desired_status, now, reconcile,
};
use crate::fixtures;

type ApiHandle = Handle<Request<Body>, Response<Body>>;

/// A context whose client talks to `handle`, with the example Track cached and the caches synced.
fn context() -> (Arc<Context>, ApiHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let (tracks, mut writer) = reflector::store::<Track>();
    let mut track = fixtures::example_track();
    track.metadata.generation = Some(1);
    writer.apply_watcher_event(&watcher::Event::Apply(track));
    let (paths, _) = reflector::store::<LearningPath>();
    let ctx = Context::new(
        client.clone(),
        tracks,
        paths.clone(),
        Announcer::new(client, "learnpath", "test".into()),
        Metrics::new(paths),
        FanOut::new(4, 8, 4),
    );
    ctx.synced_sender().send_replace(true);
    // His signals' sources, before their first collection in this process: the values his
    // status already holds count (the example's status block).
    for source in ["ci-prometheus", "platform-git"] {
        ctx.signals.set(SourceView {
            name: source.into(),
            namespaces: Vec::new(),
            selector: Selector::default(),
            selects_none: false,
            match_by: MatchBy::Email,
            collected: None,
            expired: false,
        });
    }
    (Arc::new(ctx), handle)
}

/// The next request the reconcile makes; fails the test instead of waiting for ever.
async fn next_request(
    api: &mut ApiHandle,
    what: &str,
) -> (
    Request<Body>,
    tower_test::mock::SendResponse<Response<Body>>,
) {
    tokio::time::timeout(std::time::Duration::from_secs(10), api.next_request())
        .await
        .unwrap_or_else(|_| panic!("no {what} within 10 s"))
        .unwrap_or_else(|| panic!("the client went away before {what}"))
}

/// The backend engineer as the cache holds him before his first plan.
fn learner() -> LearningPath {
    let mut lp = fixtures::example_learner("backend-engineer");
    lp.metadata.generation = Some(1);
    lp.metadata.uid = Some("uid-1".into());
    lp
}

async fn body_json(request: Request<Body>) -> Value {
    let bytes = request
        .into_body()
        .collect_bytes()
        .await
        .expect("request body");
    serde_json::from_slice(&bytes).expect("a JSON body")
}

fn respond(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::from(serde_json::to_vec(body).expect("JSON")))
        .expect("a response")
}

#[tokio::test]
async fn a_new_plan_is_applied_registered_as_our_own_and_announced() {
    let (ctx, mut api) = context();
    let lp = learner();
    let reconciled = tokio::spawn(reconcile(Arc::new(lp.clone()), ctx.clone()));

    let (request, reply) = next_request(&mut api, "status patch").await;
    assert_eq!(request.method(), Method::PATCH);
    let uri = request.uri().to_string();
    assert!(
        uri.starts_with("/apis/learnpath.dev/v1alpha1/namespaces/learners/learningpaths/backend-engineer/status?")
            && uri.contains("fieldManager=learnpath-controller")
            && uri.contains("force=true"),
        "{uri}"
    );
    assert_eq!(
        request.headers()["content-type"],
        "application/apply-patch+yaml"
    );
    let sent = body_json(request).await;
    let expected = desired_status(&lp, Some(&fixtures::example_track()), now());
    assert_eq!(sent["status"]["summary"], json!(expected.summary));
    // The API server answers with the object as stored: that is what the watch will deliver.
    let mut stored = serde_json::to_value(&lp).expect("JSON");
    stored["status"] = sent["status"].clone();
    reply.send_response(respond(200, &stored));

    // One event per transition, each created whole: the first plan, then each rule that fires
    // for him, every one with its own note.
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    for _ in 0..5 {
        let (request, reply) = next_request(&mut api, "event").await;
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.uri().path(),
            "/apis/events.k8s.io/v1/namespaces/learners/events"
        );
        let event = body_json(request).await;
        reasons.push(event["reason"].as_str().unwrap_or_default().to_string());
        notes.push(event["note"].as_str().unwrap_or_default().to_string());
        reply.send_response(respond(201, &event));
    }
    assert_eq!(
        reasons,
        [
            "PlanComputed",
            "RuleTriggered",
            "RuleTriggered",
            "RuleTriggered",
            "RuleTriggered"
        ]
    );
    for rule in [
        "busy-but-red",
        "ci-failure-rate",
        "load-test-sandbox",
        "slow-recovery",
    ] {
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with(&format!("rule {rule}:"))),
            "no event tells of {rule}: {notes:?}"
        );
    }
    reconciled
        .await
        .expect("the reconcile task")
        .expect("the reconcile succeeds");

    // Its watch event comes back: recognised as our own write, once.
    let mut echoed: LearningPath = serde_json::from_value(stored).expect("a LearningPath");
    cache::trim(&mut echoed);
    assert!(ctx.is_own_write(&echoed));
    assert!(!ctx.is_own_write(&echoed));
}

#[tokio::test]
async fn an_out_of_date_crd_refusal_is_named_and_announces_nothing() {
    let (ctx, mut api) = context();
    let lp = learner();
    let reconciled = tokio::spawn(reconcile(Arc::new(lp.clone()), ctx.clone()));

    let (request, reply) = next_request(&mut api, "status patch").await;
    assert_eq!(request.method(), Method::PATCH);
    reply.send_response(respond(
        500,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": 500,
            "reason": "InternalError",
            "message": "failed to create typed patch object (learners/backend-engineer; learnpath.dev/v1alpha1, Kind=LearningPath): .status.estimatedWeeks: field not declared in schema",
        }),
    ));
    let result = reconciled.await.expect("the reconcile task");
    let Err(Error::CrdOutOfDate(e)) = result else {
        panic!("expected CrdOutOfDate, got {result:?}");
    };
    assert_eq!(e.fields, ".status.estimatedWeeks");
    assert_eq!(e.object, "learners/backend-engineer");
    // No event followed the refusal, and the write is no longer awaited.
    let next = tokio::time::timeout(std::time::Duration::from_millis(100), api.next_request());
    assert!(next.await.is_err(), "no request after a refused patch");
    let mut written = lp.clone();
    written.status = Some(desired_status(&lp, Some(&fixtures::example_track()), now()));
    cache::trim(&mut written);
    assert!(!ctx.is_own_write(&written));
    let key = ObjectRef::from_obj(&lp);
    assert!(ctx.fanout.waited(&key).is_none());
}
