//! The Helm chart (`charts/learnpath`) on the real control plane: it lints and renders, its schema
//! refuses misspelt keys, its CRDs are the generated ones, it installs into a namespace that
//! enforces the restricted Pod Security Standard without a warning, the operator running as the
//! chart's ServiceAccount (a token for it, not admin) reconciles the examples to Ready, that
//! identity can do nothing beyond an allowlist, and `helm upgrade`/`helm uninstall` update and
//! keep the CRDs.
//!
//! The CRD lifecycle (install with `crds.enabled=true`, upgrade, uninstall) runs on a second,
//! dedicated control plane: the CRDs are cluster-scoped, the other e2e tests share the first
//! control plane's copy (applied by `kubectl` at start-up), and an upgrade that changes them or
//! an ownership hand-over to Helm must not race with those tests. Every other chart test runs on
//! the shared control plane with `crds.enabled=false`, in namespaces and releases of its own.

mod harness;
mod install;
mod lifecycle;
mod rbac;
mod render;
mod score;
