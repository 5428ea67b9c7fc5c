//! End-to-end tests against a real kube-apiserver and etcd (see `support`).

mod flux;
mod helm;
mod hostile;
mod operator;
mod report;
mod schema;
mod support;
