//! End-to-end tests against a real kube-apiserver and etcd (see the `testkit` crate).

mod flux;
mod helm;
mod hostile;
mod operator;
mod schema;
