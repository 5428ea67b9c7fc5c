//! Hostile input on the real API server: objects at and beyond every bound, numbers JSON cannot
//! carry, the CEL cost budget, and a learner walked through one broken Track after another.

mod bounds;
mod cel_budget;
mod max_size;
mod numbers;
mod requests;
mod walk;
