//! The `learnpath` command line: `run`, `crd`, `plan`, `show`, `check`, `report` and `probe`.

pub mod check;
pub mod picture;
mod plan;
pub mod probe;
mod render;
pub mod report;

pub use plan::{
    PlanError, PlanFormat, plan_files, plan_objects, plan_picture, show_file, show_picture,
};
pub use render::render;
