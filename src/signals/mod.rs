//! Production signals read from Git: how often each learner commits and how many dependencies
//! they added today, for the Track's adaptive rules (e.g. "5 or more new dependencies in one day:
//! the dependency-security module first").
//!
//! A learner is recognised by their email, matched case-insensitively against commit author
//! emails. Per author, from one branch of one repository:
//!
//! | signal | meaning |
//! | --- | --- |
//! | `commitsPerWeek` | non-merge commits with committer time in `(now - 7 d, now]` |
//! | `commitsToday` | the same in `(now - 24 h, now]` |
//! | `newDependenciesToday` | (manifest path, dependency) pairs added by those commits to a `go.mod`, `Cargo.toml` or `package.json` and still present at the branch tip |
//!
//! The work is split so that the I/O can be retried and the numbers recomputed without it:
//!
//! - [`fetch`] (network, blocking): brings the branch into a local bare cache repository,
//!   shallow, incrementally; pure Rust (gix over reqwest and rustls), no `git` binary.
//! - [`derive`] (local only, deterministic): the numbers at a given `now` from that repository,
//!   plus [`Signals::next_change`], the instant they next change without a new commit, so the
//!   caller can recompute exactly then without fetching.
//! - [`collect`]: both in turn.
//!
//! Errors are [`SignalsError`]s: one line, under 500 characters, naming what failed and never a
//! credential.

mod derive;
mod error;
mod git;
pub mod manifests;
pub mod prometheus;

pub use derive::{DAY_SECONDS, Limits, Signals, TIP_REF, WEEK_SECONDS, derive};
pub use error::{MAX_MESSAGE_CHARS, SignalsError};
pub use git::{Credentials, FetchOptions, Fetched, GitSource, fetch};

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::jiff::Timestamp;

/// Name of the signal [`AuthorSignals::commits_per_week`] in a LearningPath's `spec.signals`.
pub const COMMITS_PER_WEEK: &str = "commitsPerWeek";
/// Name of the signal [`AuthorSignals::commits_today`].
pub const COMMITS_TODAY: &str = "commitsToday";
/// Name of the signal [`AuthorSignals::new_dependencies_today`].
pub const NEW_DEPENDENCIES_TODAY: &str = "newDependenciesToday";

/// One author's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthorSignals {
    /// Non-merge commits with committer time in `(now - 7 d, now]`.
    pub commits_per_week: u32,
    /// Non-merge commits with committer time in `(now - 24 h, now]`.
    pub commits_today: u32,
    /// Dependencies added by today's commits and still present at the tip.
    pub new_dependencies_today: u32,
}

impl AuthorSignals {
    /// The numbers by their signal names, as `spec.signals` holds them.
    pub fn as_signals(&self) -> BTreeMap<String, f64> {
        BTreeMap::from([
            (
                COMMITS_PER_WEEK.to_string(),
                f64::from(self.commits_per_week),
            ),
            (COMMITS_TODAY.to_string(), f64::from(self.commits_today)),
            (
                NEW_DEPENDENCIES_TODAY.to_string(),
                f64::from(self.new_dependencies_today),
            ),
        ])
    }
}

/// [`fetch`] `source` into `cache_dir`, then [`derive`] the signals at `now`.
pub fn collect(
    source: &GitSource,
    cache_dir: &Path,
    now: Timestamp,
    options: FetchOptions,
    limits: Limits,
) -> Result<Signals, SignalsError> {
    fetch(source, cache_dir, now, options)?;
    derive(cache_dir, now, limits)
}
#[cfg(test)]
mod tests;
