//! Bounds shared by the CRD schema and the planner. The schema states them so that the API
//! server refuses what is too large and can cost every CEL rule; the planner checks them again
//! because `learnpath plan` reads files the API server never saw.

/// Most modules in one Track.
pub const MODULES: usize = 500;
/// Most exercises in one module.
pub const EXERCISES: usize = 50;
/// Most prerequisites of one module.
pub const PREREQUISITES: usize = 50;
/// Most dimensions in one Track.
pub const DIMENSIONS: usize = 50;
/// Most rules in one Track.
pub const RULES: usize = 100;
/// Most conditions in one rule.
pub const CONDITIONS: usize = 10;
/// Most profiles of one kind (industries or roles).
pub const PROFILES: usize = 50;
/// Most weight entries in one profile (every module and dimension, with room).
pub const WEIGHTS: usize = 550;
/// Most remedies in a Track's struggle rule.
pub const REMEDIES: usize = 500;
/// Most cross-role transfers in one Track.
pub const TRANSFERS: usize = 200;
/// Most hours of one module.
pub const MODULE_HOURS: u32 = 10_000;
/// Most hours of one exercise (and at least 1).
pub const EXERCISE_HOURS: u32 = 1000;
/// Most assessment entries of one learner (every module, dimension and skill, with room).
pub const ASSESSMENTS: usize = 600;
/// Most completed exercises of one learner.
pub const COMPLETED_EXERCISES: usize = 5000;
/// Most signals in a LearningPath's spec.
pub const SIGNALS: usize = 64;
/// Most struggle entries of one learner.
pub const STRUGGLES: usize = 500;
/// Most failures counted for one exercise.
pub const FAILURES: u32 = 10_000;
/// Most hours a learner can spend in a week.
pub const HOURS_PER_WEEK: u32 = 168;
/// Most next exercises listed in a status.
pub const NEXT_EXERCISES: u32 = 20;
/// Most conditions in a status.
pub const STATUS_CONDITIONS: usize = 8;
/// Most failure times kept for one exercise.
pub const FAILURE_TIMES: usize = 100;
/// Most signals the operator observes for one learner.
pub const OBSERVED_SIGNALS: usize = 64;
/// Most namespaces a SignalSource names.
pub const SOURCE_NAMESPACES: usize = 50;
/// Most queries of one Prometheus source.
pub const SOURCE_QUERIES: usize = 16;
