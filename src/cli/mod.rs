//! The `learnpath` command line: `run`, `crd`, `plan`, `show` and `check`.

pub mod check;
mod plan;
mod render;

pub use plan::{PlanError, PlanFormat, plan_files, plan_objects, show_file};
pub use render::render;
