//! The `learnpath` command line: `run`, `crd`, `plan`, `show`, `check`, `report` and `probe`.

#[cfg(feature = "operator")]
pub mod check;
pub mod picture;
mod plan;
#[cfg(feature = "operator")]
pub mod probe;
mod render;
#[cfg(feature = "operator")]
pub mod report;

pub use plan::{
    PlanError, PlanFormat, plan_files, plan_objects, plan_picture, show_file, show_picture,
};
pub use render::render;
