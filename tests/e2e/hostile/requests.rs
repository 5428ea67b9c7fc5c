//! Raw requests to the API server (bytes of any size, YAML server-side applies, dry runs) and
//! its answers: the stored object, or the refusal.

use std::time::Duration;

use kube::Client;
use kube::api::{Patch, PatchParams, PostParams};
use kube::core::Status;
use serde_json::{Value, json};
use testkit::*;

/// How long the operator may take to get somewhere.
pub(super) const WAIT: Duration = Duration::from_secs(90);

/// `n` times the character `c`.
pub(super) fn s(n: usize, c: char) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// An id of exactly `len` characters (a DNS label), distinct for distinct `n`.
pub(super) fn long_id(prefix: &str, n: usize, len: usize) -> String {
    let head = format!("{prefix}{n}");
    assert!(head.len() < len);
    format!("{head}{}", s(len - head.len(), 'x'))
}

/// The URL path of `K`'s collection.
pub(super) fn url_path<K: kube::Resource<DynamicType = ()>>(namespace: Option<&str>) -> String {
    K::url_path(&(), namespace)
}

/// What the API server answered to a request: the created object's JSON, or its refusal.
pub(super) type Answer = Result<String, Box<Status>>;

/// A client result as an [`Answer`]; an error of the client itself as a failure status.
pub(super) fn answer(result: Result<String, kube::Error>) -> Answer {
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
pub(super) async fn create_raw<K: kube::Resource<DynamicType = ()>>(
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
pub(super) async fn apply_yaml<K: kube::Resource<DynamicType = ()>>(
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

/// A Track as JSON.
pub(super) fn track_doc(name: &str, spec: &Value) -> Value {
    json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "Track", "metadata": {"name": name}, "spec": spec})
}

/// A LearningPath as JSON.
pub(super) fn path_doc(name: &str, namespace: &str, spec: &Value) -> Value {
    json!({"apiVersion": "learnpath.dev/v1alpha1", "kind": "LearningPath", "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}

/// The JSON bytes of a document.
pub(super) fn bytes(doc: &Value) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap()
}

/// The refusal; panics when the API server accepted the request.
pub(super) fn refused_with(answer: &Answer, what: &str) -> Box<Status> {
    match answer {
        Ok(_) => panic!("{what}: the API server accepted it"),
        Err(status) => status.clone(),
    }
}

/// Panics with the refusal when the API server refused the request.
pub(super) fn accepted(answer: &Answer, what: &str) {
    if let Err(status) = answer {
        panic!("{what}: refused with {} {}", status.code, status.message);
    }
}
