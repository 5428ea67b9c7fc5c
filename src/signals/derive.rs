//! The derivation: per-author signals from a local repository at a given `now`, no network.
//!
//! It reads the commit at [`TIP_REF`] (written by [`super::fetch`]) and walks its history back to
//! seven days before `now`. Everything here is a function of the repository's objects and `now`:
//! the same repository at the same `now` gives the same [`Signals`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::diff::tree::recorder::Change;
use gix::objs::TreeRefIter;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;
use k8s_openapi::jiff::Timestamp;

use super::error::detail;
use super::manifests::{self, ManifestKind};
use super::{AuthorSignals, SignalsError};

/// The reference [`super::fetch`] points at the fetched branch tip, and the derivation reads.
pub const TIP_REF: &str = "refs/learnpath/tip";

/// Seconds in the `commitsPerWeek` window.
pub const WEEK_SECONDS: i64 = 7 * 24 * 3600;
/// Seconds in the `commitsToday` and `newDependenciesToday` window.
pub const DAY_SECONDS: i64 = 24 * 3600;

/// Bounds on the work of one derivation.
///
/// A week of a busy monorepo is a few thousand commits; walking one costs a commit decode (well
/// under a millisecond), diffing one of the day's commits a tree walk over the changed
/// directories. The caps keep a flood (a bot, a history rewrite pushed as new commits) from
/// making one collection take minutes and memory without bound; when one is hit the numbers are
/// lower bounds and [`Signals::truncated`] says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Commits walked back from the tip (the 7-day window, any author).
    pub max_commits: usize,
    /// Commits of the 24-hour window diffed against their first parent.
    pub max_diffs: usize,
    /// Manifest versions parsed (each changed manifest counts twice: before and after).
    pub max_manifests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_commits: 20_000,
            max_diffs: 5_000,
            max_manifests: 5_000,
        }
    }
}

/// Signals of every author with a counted commit, from one branch tip at one `now`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signals {
    /// The commit the history was read from (hex).
    pub tip: String,
    /// Per author email, lowercased.
    pub by_author: BTreeMap<String, AuthorSignals>,
    /// The earliest instant after `now` at which any number here changes without a new commit:
    /// a counted commit leaving its 7-day or 24-hour window, or a commit dated in the future
    /// entering them. `None` when nothing would change.
    pub next_change: Option<Timestamp>,
    /// True when a [`Limits`] cap stopped the work early: the numbers are then lower bounds.
    pub truncated: bool,
    /// Manifests that did not parse (at most a few, each naming the file, the commit and the
    /// problem): their changes were left out, and the rest of the history still counts.
    pub unreadable: Vec<String>,
}

impl Signals {
    /// The signals of the learner with `email` (matched case-insensitively against commit author
    /// emails); all zero when they have no counted commit.
    pub fn for_learner(&self, email: &str) -> AuthorSignals {
        self.by_author
            .get(&email.trim().to_lowercase())
            .copied()
            .unwrap_or_default()
    }
}

/// Derive [`Signals`] at `now` from the repository in `repo_dir` (bare or not), reading the
/// history of the commit at [`TIP_REF`].
///
/// - `commitsPerWeek`: the author's non-merge commits whose committer time is in
///   `(now - 7 days, now]`.
/// - `commitsToday`: the same for `(now - 24 h, now]`.
/// - `newDependenciesToday`: distinct (manifest path, dependency name) pairs that the author's
///   non-merge commits of `(now - 24 h, now]` added to a `go.mod`, `Cargo.toml` or
///   `package.json` (any path; see [`manifests`]) compared with the commit's first parent, and
///   that are still declared in that manifest at the tip. So a dependency added and removed the
///   same day, a version bump and a reformatting count nothing. A root commit is compared with
///   an empty tree. A commit whose parent is missing from the repository (the shallow boundary of
///   a shallow fetch) counts as a commit but contributes no dependencies: what it added cannot
///   be told.
///
/// Merge commits (more than one parent) count nowhere. A manifest in a compared commit that does
/// not parse is an error naming it and the commit.
pub fn derive(repo_dir: &Path, now: Timestamp, limits: Limits) -> Result<Signals, SignalsError> {
    let cache = |reason: String| SignalsError::Cache {
        dir: detail(&repo_dir.display().to_string(), None),
        reason: detail(&reason, None),
    };
    let repo = gix::open_opts(repo_dir, gix::open::Options::isolated())
        .map_err(|e| cache(format!("not a readable Git repository: {e}")))?;
    let tip = repo
        .try_find_reference(TIP_REF)
        .map_err(|e| cache(format!("cannot read {TIP_REF}: {e}")))?
        .ok_or_else(|| cache(format!("no {TIP_REF}: nothing has been fetched yet")))?
        .peel_to_commit()
        .map_err(|e| cache(format!("{TIP_REF} is not a commit: {e}")))?
        .id;
    Deriver {
        repo: &repo,
        now: now.as_second(),
        limits,
        manifests_parsed: 0,
        truncated: false,
        unreadable: Vec::new(),
        cache: &cache,
    }
    .run(tip)
}

/// One commit in the 7-day window.
struct Counted {
    id: ObjectId,
    author: String,
    seconds: i64,
}

struct Deriver<'a> {
    repo: &'a gix::Repository,
    now: i64,
    limits: Limits,
    manifests_parsed: usize,
    truncated: bool,
    unreadable: Vec<String>,
    cache: &'a dyn Fn(String) -> SignalsError,
}

/// A manifest version as read.
enum Parsed {
    /// Its dependency names.
    Names(BTreeSet<String>),
    /// It does not parse: the change is left out (and named in [`Signals::unreadable`]).
    Unreadable,
    /// The manifest cap was reached: no more are read.
    Capped,
}

/// How many unreadable manifests a collection names.
const UNREADABLE_NAMED: usize = 3;

impl Deriver<'_> {
    fn run(mut self, tip: ObjectId) -> Result<Signals, SignalsError> {
        let (counted, future) = self.walk(tip)?;
        let mut by_author: BTreeMap<String, AuthorSignals> = BTreeMap::new();
        let mut next_change = future;
        let mut added: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        let mut diffs = 0;
        for commit in &counted {
            let signals = by_author.entry(commit.author.clone()).or_default();
            signals.commits_per_week += 1;
            next_change = earliest(next_change, commit.seconds + WEEK_SECONDS);
            if commit.seconds > self.now - DAY_SECONDS {
                signals.commits_today += 1;
                next_change = earliest(next_change, commit.seconds + DAY_SECONDS);
                if diffs < self.limits.max_diffs {
                    diffs += 1;
                    let pairs = self.added_dependencies(commit.id)?;
                    added
                        .entry(commit.author.clone())
                        .or_default()
                        .extend(pairs);
                } else {
                    self.truncated = true;
                }
            }
        }
        let at_tip = self.tip_dependencies(tip, &added)?;
        for (author, pairs) in added {
            let still_there = pairs
                .iter()
                .filter(|(path, name)| at_tip.get(path).is_some_and(|names| names.contains(name)))
                .count();
            if let Some(signals) = by_author.get_mut(&author) {
                signals.new_dependencies_today = u32::try_from(still_there).unwrap_or(u32::MAX);
            }
        }
        Ok(Signals {
            tip: tip.to_string(),
            by_author,
            next_change: next_change.and_then(|s| Timestamp::from_second(s).ok()),
            truncated: self.truncated,
            unreadable: std::mem::take(&mut self.unreadable),
        })
    }

    /// The non-merge commits of `(now - 7 d, now]`, newest first, and the earliest committer time
    /// after `now` (a commit dated in the future, which enters the windows then).
    fn walk(&mut self, tip: ObjectId) -> Result<(Vec<Counted>, Option<i64>), SignalsError> {
        let week_start = self.now - WEEK_SECONDS;
        let walk = self
            .repo
            .rev_walk([tip])
            .sorting(Sorting::ByCommitTimeCutoff {
                order: CommitTimeOrder::NewestFirst,
                seconds: week_start,
            })
            .all()
            .map_err(|e| (self.cache)(format!("cannot walk history from {tip}: {e}")))?;
        let mut counted = Vec::new();
        let mut future = None;
        for (walked, info) in walk.enumerate() {
            if walked >= self.limits.max_commits {
                self.truncated = true;
                break;
            }
            let info =
                info.map_err(|e| (self.cache)(format!("cannot walk history from {tip}: {e}")))?;
            let seconds = info.commit_time();
            if seconds <= week_start || info.parent_ids().count() > 1 {
                continue;
            }
            if seconds > self.now {
                future = earliest(future, seconds);
                continue;
            }
            let commit = info
                .object()
                .map_err(|e| (self.cache)(format!("cannot read commit {}: {e}", info.id)))?;
            let author = commit
                .author()
                .map_err(|e| (self.cache)(format!("commit {} has no valid author: {e}", info.id)))?
                .email
                .to_str_lossy()
                .trim()
                .to_lowercase();
            counted.push(Counted {
                id: info.id,
                author,
                seconds,
            });
        }
        Ok((counted, future))
    }

    /// (path, name) pairs that `id` added to a manifest, compared with its first parent.
    fn added_dependencies(
        &mut self,
        id: ObjectId,
    ) -> Result<BTreeSet<(String, String)>, SignalsError> {
        let repo = self.repo;
        let read = |what: &str, e: &dyn std::fmt::Display| {
            (self.cache)(format!("cannot read {what} of commit {id}: {e}"))
        };
        let commit = repo.find_commit(id).map_err(|e| read("the commit", &e))?;
        let tree = commit.tree().map_err(|e| read("the tree", &e))?;
        let parent_tree = match commit.parent_ids().next() {
            None => None,
            Some(parent) if !repo.has_object(parent) => return Ok(BTreeSet::new()),
            Some(parent) => Some(
                parent
                    .object()
                    .and_then(|o| o.peel_to_tree())
                    .map_err(|e| read("the parent tree", &e))?,
            ),
        };
        let kind = repo.object_hash();
        let empty: &[u8] = &[];
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            TreeRefIter::from_bytes(parent_tree.as_ref().map_or(empty, |t| &t.data), kind),
            TreeRefIter::from_bytes(&tree.data, kind),
            gix::diff::tree::State::default(),
            &repo.objects,
            &mut recorder,
        )
        .map_err(|e| read("the changes", &e))?;

        let mut added = BTreeSet::new();
        for change in recorder.records {
            let (before, after, path) = match change {
                Change::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } if entry_mode.is_blob() => (None, oid, path),
                Change::Modification {
                    previous_entry_mode,
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                } if entry_mode.is_blob() => (
                    previous_entry_mode.is_blob().then_some(previous_oid),
                    oid,
                    path,
                ),
                _ => continue,
            };
            let path = path.to_str_lossy().into_owned();
            let Some(kind) = ManifestKind::of_path(&path) else {
                continue;
            };
            let new = match self.parse(kind, &path, after, id)? {
                Parsed::Names(names) => names,
                Parsed::Unreadable => continue,
                Parsed::Capped => return Ok(added),
            };
            let old = match before {
                None => BTreeSet::new(),
                Some(blob) => {
                    let parent = commit.parent_ids().next().map(|p| p.detach());
                    match self.parse(kind, &path, blob, parent.unwrap_or(id))? {
                        Parsed::Names(names) => names,
                        // Without the old version the change cannot be told: left out.
                        Parsed::Unreadable => continue,
                        Parsed::Capped => return Ok(added),
                    }
                }
            };
            added.extend(
                new.difference(&old)
                    .map(|name| (path.clone(), name.clone())),
            );
        }
        Ok(added)
    }

    /// The dependencies at the tip of every manifest path in `added`.
    fn tip_dependencies(
        &mut self,
        tip: ObjectId,
        added: &BTreeMap<String, BTreeSet<(String, String)>>,
    ) -> Result<BTreeMap<String, BTreeSet<String>>, SignalsError> {
        let paths: BTreeSet<&String> = added.values().flatten().map(|(path, _)| path).collect();
        let mut at_tip = BTreeMap::new();
        if paths.is_empty() {
            return Ok(at_tip);
        }
        let tree = self
            .repo
            .find_commit(tip)
            .and_then(|c| c.tree())
            .map_err(|e| (self.cache)(format!("cannot read the tree of {tip}: {e}")))?;
        for path in paths {
            let entry = tree
                .lookup_entry_by_path(path.as_str())
                .map_err(|e| (self.cache)(format!("cannot look up {path} at {tip}: {e}")))?;
            let names = match entry.filter(|e| e.mode().is_blob()) {
                None => BTreeSet::new(),
                Some(entry) => {
                    let Some(kind) = ManifestKind::of_path(path) else {
                        continue;
                    };
                    match self.parse(kind, path, entry.id().detach(), tip)? {
                        Parsed::Names(names) => names,
                        // A dependency cannot be confirmed present: none from this path.
                        Parsed::Unreadable => BTreeSet::new(),
                        Parsed::Capped => break,
                    }
                }
            };
            at_tip.insert(path.clone(), names);
        }
        Ok(at_tip)
    }

    /// The dependency names in `blob`. One manifest that does not parse must not blank every
    /// learner's signals until its commit leaves the window: it is left out and named.
    fn parse(
        &mut self,
        kind: ManifestKind,
        path: &str,
        blob: ObjectId,
        commit: ObjectId,
    ) -> Result<Parsed, SignalsError> {
        if self.manifests_parsed >= self.limits.max_manifests {
            self.truncated = true;
            return Ok(Parsed::Capped);
        }
        self.manifests_parsed += 1;
        let object = self
            .repo
            .find_object(blob)
            .map_err(|e| (self.cache)(format!("cannot read {path} at {commit}: {e}")))?;
        Ok(
            match manifests::dependency_names(kind, path, &object.data) {
                Ok(names) => Parsed::Names(names),
                Err(e) => {
                    if self.unreadable.len() < UNREADABLE_NAMED {
                        self.unreadable.push(
                            SignalsError::Manifest {
                                commit: commit.to_string(),
                                path: detail(&e.path, None),
                                problem: detail(&e.problem, None),
                            }
                            .to_string(),
                        );
                    }
                    Parsed::Unreadable
                }
            },
        )
    }
}

fn earliest(current: Option<i64>, candidate: i64) -> Option<i64> {
    Some(current.map_or(candidate, |c| c.min(candidate)))
}
