//! The `learnpath` command line: `run`, `crd` and `plan`.

mod plan;
mod render;

pub use plan::{PlanError, PlanFormat, plan_files, plan_objects, show_file};
pub use render::render;
