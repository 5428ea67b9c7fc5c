//! The custom resources of the `learnpath.dev/v1alpha1` API and the CRDs generated from them.

mod crd;
mod duration;
mod learning_path;
pub mod limits;
mod signal_source;
mod track;

pub use crd::{CrdError, crd_files, crd_kustomization, crds, crds_yaml, write_crd_dir};
pub use duration::{DurationError, parse_duration};
pub use learning_path::*;
pub use signal_source::*;
pub use track::*;

/// The API group of every learnpath resource.
pub const GROUP: &str = "learnpath.dev";
/// The served and stored version.
pub const VERSION: &str = "v1alpha1";
