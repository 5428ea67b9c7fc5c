//! The `learnpath` command line: `run`, `crd`, `plan`, `show`, `check` and `report`.

pub mod check;
pub mod picture;
mod plan;
mod render;
pub mod report;

pub use plan::{
    PlanError, PlanFormat, plan_files, plan_objects, plan_picture, show_file, show_picture,
};
pub use render::render;
