//! The derivation on real repositories made with the `git` CLI in a temporary directory, commits
//! placed in time with GIT_AUTHOR_DATE / GIT_COMMITTER_DATE.

use std::path::Path;
use std::process::Command;

use k8s_openapi::jiff::Timestamp;

use super::*;

/// 2026-05-28T20:26:40Z, a fixed `now`.
const NOW: i64 = 1_780_000_000;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

const ALICE: &str = "Alice.Dev@Example.COM";
const BOB: &str = "bob@example.com";

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("valid timestamp")
}

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.git(&["init", "-q", "-b", "main"], None);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository; `who_when` sets author and committer email and date.
    fn git(&self, args: &[&str], who_when: Option<(&str, i64)>) -> String {
        git_in(self.path(), args, who_when)
    }

    fn write(&self, path: &str, content: &str) {
        let file = self.path().join(path);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(file, content).expect("write");
    }

    /// Commits everything in the work tree (or nothing) as `email` at `seconds`.
    fn commit(&self, email: &str, seconds: i64, message: &str) -> String {
        self.git(&["add", "-A"], None);
        self.git(
            &["commit", "-q", "--allow-empty", "-m", message],
            Some((email, seconds)),
        );
        self.git(&["rev-parse", "HEAD"], None).trim().to_string()
    }

    fn derive_at(&self, now: i64) -> Signals {
        self.try_derive(now, Limits::default()).expect("derive")
    }

    fn try_derive(&self, now: i64, limits: Limits) -> Result<Signals, SignalsError> {
        self.git(&["update-ref", TIP_REF, "HEAD"], None);
        derive(self.path(), at(now), limits)
    }
}

fn git_in(dir: &Path, args: &[&str], who_when: Option<(&str, i64)>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "someone")
        .env("GIT_COMMITTER_NAME", "someone")
        .env("GIT_AUTHOR_EMAIL", "setup@example.com")
        .env("GIT_COMMITTER_EMAIL", "setup@example.com")
        .args(["-c", "commit.gpgsign=false"])
        .args(args);
    if let Some((email, seconds)) = who_when {
        let date = format!("@{seconds} +0000");
        cmd.env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_EMAIL", email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
    }
    let out = cmd.output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn go_mod(deps: &[&str]) -> String {
    let mut text = String::from("module example.com/app\n\ngo 1.23\n\nrequire (\n");
    for dep in deps {
        text.push_str(&format!("\t{dep} v1.0.0\n"));
    }
    text.push_str(")\n");
    text
}

const FIVE: [&str; 5] = [
    "github.com/a/one",
    "github.com/a/two",
    "github.com/a/three",
    "github.com/a/four",
    "github.com/a/five",
];

/// A repository whose history starts nine days ago with a go.mod of one dependency.
fn repo_with_base() -> Repo {
    let repo = Repo::new();
    repo.write("go.mod", &go_mod(&["github.com/base/dep"]));
    repo.commit(BOB, NOW - 9 * DAY, "base");
    repo
}

#[test]
fn commits_count_in_both_windows_by_committer_time_and_email_case_insensitively() {
    let repo = repo_with_base();
    for (offset, msg) in [
        (8 * DAY, "outside both"),
        (7 * DAY, "exactly a week ago: outside"),
        (7 * DAY - 60, "inside the week"),
        (25 * HOUR, "inside the week only"),
        (DAY, "exactly a day ago: week only"),
        (23 * HOUR, "today"),
        (HOUR, "today"),
        (0, "exactly now: today"),
    ] {
        repo.commit(ALICE, NOW - offset, msg);
    }
    repo.commit(BOB, NOW - 2 * HOUR, "bob today");
    let signals = repo.derive_at(NOW);
    let alice = signals.for_learner("alice.dev@example.com");
    assert_eq!(alice.commits_per_week, 6);
    assert_eq!(alice.commits_today, 3);
    assert_eq!(signals.for_learner("ALICE.DEV@EXAMPLE.COM"), alice);
    assert_eq!(
        signals.for_learner(BOB),
        AuthorSignals {
            commits_per_week: 1,
            commits_today: 1,
            new_dependencies_today: 0
        }
    );
    assert_eq!(
        signals.for_learner("nobody@example.com"),
        AuthorSignals::default()
    );
    assert_eq!(
        signals.by_author.keys().collect::<Vec<_>>(),
        ["alice.dev@example.com", BOB]
    );
    // The same repository at the same instant gives the same numbers.
    assert_eq!(repo.derive_at(NOW), signals);
}

#[test]
fn next_change_is_the_first_commit_leaving_a_window() {
    let repo = repo_with_base();
    repo.commit(ALICE, NOW - 6 * DAY, "leaves the week at NOW + 1 day");
    repo.commit(ALICE, NOW - 10 * HOUR, "leaves today at NOW + 14 h");
    let signals = repo.derive_at(NOW);
    assert_eq!(signals.next_change, Some(at(NOW + 14 * HOUR)));

    // Exactly then the number changes, and not a second before.
    let before = repo.derive_at(NOW + 14 * HOUR - 1);
    assert_eq!(before.for_learner(ALICE).commits_today, 1);
    let after = repo.derive_at(NOW + 14 * HOUR);
    assert_eq!(after.for_learner(ALICE).commits_today, 0);
    assert_eq!(after.for_learner(ALICE).commits_per_week, 2);
    assert_eq!(after.next_change, Some(at(NOW + DAY)));
    let later = repo.derive_at(NOW + DAY);
    assert_eq!(later.for_learner(ALICE).commits_per_week, 1);
    // The remaining commit leaves the week at NOW - 10 h + 7 d.
    assert_eq!(later.next_change, Some(at(NOW - 10 * HOUR + 7 * DAY)));
    let empty = repo.derive_at(NOW + 30 * DAY);
    assert_eq!(empty.next_change, None);
    assert!(empty.by_author.is_empty());
}

#[test]
fn a_commit_dated_in_the_future_counts_when_its_time_comes() {
    let repo = repo_with_base();
    repo.commit(ALICE, NOW - 3 * DAY, "three days ago");
    repo.commit(BOB, NOW + 2 * HOUR, "clock ahead");
    let signals = repo.derive_at(NOW);
    assert_eq!(signals.for_learner(BOB).commits_today, 0);
    assert_eq!(signals.next_change, Some(at(NOW + 2 * HOUR)));
    let then = repo.derive_at(NOW + 2 * HOUR);
    assert_eq!(then.for_learner(BOB).commits_today, 1);
}

#[test]
fn five_dependencies_added_in_one_commit_count_five() {
    let repo = repo_with_base();
    let mut deps = vec!["github.com/base/dep"];
    deps.extend(FIVE);
    repo.write("go.mod", &go_mod(&deps));
    repo.commit(ALICE, NOW - HOUR, "five deps");
    let alice = repo.derive_at(NOW).for_learner(ALICE);
    assert_eq!(alice.new_dependencies_today, 5);
    assert_eq!(alice.commits_today, 1);
    // A day later the commit has left the window, and with it its dependencies.
    let tomorrow = repo.derive_at(NOW + DAY).for_learner(ALICE);
    assert_eq!(tomorrow.new_dependencies_today, 0);
}

#[test]
fn indirect_go_dependencies_do_not_count() {
    let repo = repo_with_base();
    repo.write(
        "go.mod",
        "module example.com/app\n\nrequire (\n\tgithub.com/base/dep v1.0.0\n\
         \tgithub.com/new/direct v1.0.0\n\tgithub.com/new/indirect v1.0.0 // indirect\n)\n",
    );
    repo.commit(ALICE, NOW - HOUR, "one direct, one indirect");
    assert_eq!(
        repo.derive_at(NOW)
            .for_learner(ALICE)
            .new_dependencies_today,
        1
    );
}

#[test]
fn added_then_removed_the_same_day_counts_nothing() {
    let repo = repo_with_base();
    let mut deps = vec!["github.com/base/dep"];
    deps.extend(FIVE);
    repo.write("go.mod", &go_mod(&deps));
    repo.commit(ALICE, NOW - 3 * HOUR, "add five");
    repo.write("go.mod", &go_mod(&["github.com/base/dep", FIVE[0]]));
    repo.commit(ALICE, NOW - 2 * HOUR, "remove four");
    let alice = repo.derive_at(NOW).for_learner(ALICE);
    assert_eq!(alice.new_dependencies_today, 1);
    assert_eq!(alice.commits_today, 2);
}

#[test]
fn version_bumps_and_reformatting_count_nothing() {
    let repo = repo_with_base();
    repo.write(
        "go.mod",
        "// reformatted, single-line form, newer version\nmodule example.com/app\ngo 1.24\n\
         require github.com/base/dep v1.9.0\n",
    );
    repo.commit(ALICE, NOW - HOUR, "bump and reformat");
    let signals = repo.derive_at(NOW);
    assert_eq!(signals.for_learner(ALICE).commits_today, 1);
    assert_eq!(signals.for_learner(ALICE).new_dependencies_today, 0);
}

#[test]
fn every_manifest_kind_at_any_path_counts_per_path() {
    let repo = repo_with_base();
    repo.write(
        "services/api/Cargo.toml",
        "[package]\nname = \"api\"\n\n[dependencies]\nserde = \"1\"\n",
    );
    repo.write("web/package.json", r#"{"dependencies": {"react": "18"}}"#);
    repo.commit(BOB, NOW - 2 * DAY, "existing manifests");

    repo.write(
        "services/api/Cargo.toml",
        "[package]\nname = \"api\"\n\n[dependencies]\nserde = \"1\"\ntokio = \"1\"\n\
         json = { package = \"serde_json\", version = \"1\" }\n[dev-dependencies]\nproptest = \"1\"\n",
    );
    repo.write(
        "web/package.json",
        r#"{"dependencies": {"react": "18", "zod": "3"}, "devDependencies": {"vitest": "1"}}"#,
    );
    // A new directory with its own go.mod: all of its requirements are new.
    repo.write(
        "tools/gen/go.mod",
        &go_mod(&["github.com/base/dep", "golang.org/x/tools"]),
    );
    repo.commit(ALICE, NOW - HOUR, "deps everywhere");
    // tokio, serde_json, proptest + zod, vitest + two in the new go.mod.
    assert_eq!(
        repo.derive_at(NOW)
            .for_learner(ALICE)
            .new_dependencies_today,
        7
    );
}

#[test]
fn dependencies_count_for_their_author_only() {
    let repo = repo_with_base();
    repo.write(
        "go.mod",
        &go_mod(&["github.com/base/dep", FIVE[0], FIVE[1]]),
    );
    repo.commit(BOB, NOW - 2 * HOUR, "bob adds two");
    repo.write(
        "go.mod",
        &go_mod(&["github.com/base/dep", FIVE[0], FIVE[1], FIVE[2]]),
    );
    repo.commit(ALICE, NOW - HOUR, "alice adds one");
    let signals = repo.derive_at(NOW);
    assert_eq!(signals.for_learner(BOB).new_dependencies_today, 2);
    assert_eq!(signals.for_learner(ALICE).new_dependencies_today, 1);
}

#[test]
fn merge_commits_count_nowhere_but_the_merged_commits_do() {
    let repo = repo_with_base();
    repo.git(&["checkout", "-q", "-b", "feature"], None);
    repo.write(
        "go.mod",
        &go_mod(&["github.com/base/dep", FIVE[0], FIVE[1]]),
    );
    repo.commit(ALICE, NOW - 3 * HOUR, "feature: two deps");
    repo.git(&["checkout", "-q", "main"], None);
    repo.write("README.md", "hello\n");
    repo.commit(BOB, NOW - 2 * HOUR, "main moves on");
    repo.git(
        &["merge", "-q", "--no-ff", "-m", "merge feature", "feature"],
        Some((ALICE, NOW - HOUR)),
    );
    let parents = repo.git(&["rev-list", "--parents", "-n", "1", "HEAD"], None);
    assert_eq!(parents.split_whitespace().count(), 3, "HEAD is a merge");
    let signals = repo.derive_at(NOW);
    let alice = signals.for_learner(ALICE);
    assert_eq!(alice.commits_today, 1, "the feature commit, not the merge");
    assert_eq!(alice.new_dependencies_today, 2);
    assert_eq!(signals.for_learner(BOB).commits_today, 1);
}

#[test]
fn a_commit_at_the_shallow_boundary_counts_but_adds_no_dependencies() {
    let repo = repo_with_base();
    repo.write("go.mod", &go_mod(&["github.com/base/dep", FIVE[0]]));
    repo.commit(ALICE, NOW - HOUR, "one dep");
    let shallow = tempfile::tempdir().expect("temp dir");
    let source = format!("file://{}", repo.path().display());
    git_in(
        shallow.path(),
        &[
            "clone",
            "-q",
            "--bare",
            "--depth",
            "1",
            &source,
            "clone.git",
        ],
        None,
    );
    let clone = shallow.path().join("clone.git");
    git_in(&clone, &["update-ref", TIP_REF, "HEAD"], None);
    let alice = derive(&clone, at(NOW), Limits::default())
        .expect("derive")
        .for_learner(ALICE);
    assert_eq!(alice.commits_today, 1);
    assert_eq!(alice.new_dependencies_today, 0);
    // The full repository tells them apart.
    assert_eq!(
        repo.derive_at(NOW)
            .for_learner(ALICE)
            .new_dependencies_today,
        1
    );
}

#[test]
fn a_manifest_that_does_not_parse_is_left_out_and_named_and_the_rest_still_counts() {
    let repo = repo_with_base();
    repo.write("web/package.json", "{\"dependencies\": {\"react\": ");
    let commit = repo.commit(ALICE, NOW - HOUR, "broken json");
    repo.write(
        "go.mod",
        &go_mod(&["github.com/base/dep", "github.com/a/one"]),
    );
    repo.commit(ALICE, NOW - HOUR / 2, "one more dependency");
    let signals = repo
        .try_derive(NOW, Limits::default())
        .expect("a broken manifest does not fail the collection");
    let alice = signals.for_learner(ALICE);
    assert_eq!(alice.commits_today, 2, "both commits count");
    assert_eq!(alice.new_dependencies_today, 1, "go.mod's addition counts");
    assert_eq!(signals.unreadable.len(), 1, "{:?}", signals.unreadable);
    let text = &signals.unreadable[0];
    assert!(text.contains("web/package.json"), "{text}");
    assert!(text.contains(&commit), "{text}");
    assert!(text.contains("invalid JSON"), "{text}");
    assert!(!text.contains('\n') && text.len() <= MAX_MESSAGE_CHARS);
}

#[test]
fn caps_bound_the_work_and_say_so() {
    let repo = repo_with_base();
    for i in 0..5 {
        repo.commit(ALICE, NOW - 10 * HOUR + i * 60, "busy");
    }
    let full = repo.derive_at(NOW);
    assert!(!full.truncated);
    assert_eq!(full.for_learner(ALICE).commits_per_week, 5);
    let capped = repo
        .try_derive(
            NOW,
            Limits {
                max_commits: 3,
                ..Limits::default()
            },
        )
        .expect("derive");
    assert!(capped.truncated);
    assert_eq!(capped.for_learner(ALICE).commits_per_week, 3);
}

#[test]
fn a_repository_without_a_fetched_tip_is_a_cache_error() {
    let repo = repo_with_base();
    let err = derive(repo.path(), at(NOW), Limits::default()).expect_err("no tip");
    assert!(matches!(err, SignalsError::Cache { .. }), "{err}");
    assert!(err.to_string().contains(TIP_REF), "{err}");
}
