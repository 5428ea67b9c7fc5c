//! End-to-end tests against a real kube-apiserver and etcd (see `support`).

mod flux;
mod helm;
mod hostile;
mod operator;
mod schema;
mod support;
