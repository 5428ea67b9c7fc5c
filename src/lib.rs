//! learnpath: a Kubernetes operator that turns a shared curriculum (a [`api::Track`]) into a
//! personal, weighted, prerequisite-respecting roadmap for every learner (a [`api::LearningPath`]).
//!
//! The crate is layered so that the roadmap logic can be tested without a cluster:
//! `api` (types and CRD schema) <- `planner` (pure) <- `controller` (kube I/O) <- `cli` / `main`.
//! Without the default `operator` feature only the pure layers and the renderers are built.

pub mod api;
pub mod cli;
#[cfg(feature = "operator")]
pub mod controller;
pub mod planner;
#[cfg(feature = "operator")]
pub mod signals;
#[cfg(feature = "operator")]
pub mod telemetry;

// Test support, shared with integration tests, benchmarks and the fuzz targets through cargo
// features (learnpath-testkit and fuzz/ turn them on); not part of the API.
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;
#[cfg(feature = "invariants")]
#[doc(hidden)]
pub mod invariants;
