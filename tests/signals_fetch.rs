//! `learnpath::signals::fetch` against a real smart-HTTP Git server: `hack/flux/gitserver`
//! (`git http-backend` behind Go's net/http), built by `make flux` (hack/build-flux.sh, cached). The test fails, never skips, when the server cannot start.
//!
//! Commit dates are placed relative to a fixed `NOW`; the server applies `deepen-since` to
//! them, so the shallow cutoff is tested for real.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    reason = "a test stops at the first broken expectation, with its message"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use k8s_openapi::jiff::Timestamp;
use learnpath::signals::{
    self, Credentials, FetchOptions, GitSource, Limits, Signals, SignalsError,
};
use testkit::{GitServer, git_with};

const NOW: i64 = 1_780_000_000;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const ALICE: &str = "Alice@Example.com";
const BOB: &str = "bob@example.com";

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("valid timestamp")
}

/// A gitserver serving `root` (plain HTTP, or HTTPS writing its CA to `tls_ca_out`, optionally
/// behind basic auth); killed by pid when dropped.
fn serve_with(root: &Path, basic_auth: Option<&str>, tls_ca_out: Option<&Path>) -> GitServer {
    let mut flags: Vec<String> = Vec::new();
    if let Some(auth) = basic_auth {
        flags.extend(["-basic-auth".to_string(), auth.to_string()]);
    }
    if let Some(ca) = tls_ca_out {
        flags.extend(["-tls-ca-out".to_string(), ca.display().to_string()]);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let log = root.with_extension("gitserver.log");
    GitServer::start_with(root, &log, &flags)
}

fn serve(root: &Path, basic_auth: Option<&str>) -> GitServer {
    serve_with(root, basic_auth, None)
}

/// `git` as `email` at `seconds` (author and committer), or as the setup identity.
fn git(dir: &Path, args: &[&str], who_when: Option<(&str, i64)>) -> String {
    let date = who_when.map(|(_, seconds)| format!("@{seconds} +0000"));
    let mut env: Vec<(&str, &str)> = vec![
        ("GIT_AUTHOR_EMAIL", "setup@example.com"),
        ("GIT_COMMITTER_EMAIL", "setup@example.com"),
    ];
    if let (Some((email, _)), Some(date)) = (who_when, date.as_deref()) {
        env = vec![
            ("GIT_AUTHOR_EMAIL", email),
            ("GIT_COMMITTER_EMAIL", email),
            ("GIT_AUTHOR_DATE", date),
            ("GIT_COMMITTER_DATE", date),
        ];
    }
    let mut full = vec!["-c", "commit.gpgsign=false"];
    full.extend(args);
    git_with(dir, &full, &env)
}

/// An upstream work tree and the bare repository the server serves as `<name>.git`.
struct Upstream {
    work: PathBuf,
    served: PathBuf,
}

impl Upstream {
    fn new(root: &Path, name: &str) -> Self {
        let work = root.join(format!("{name}-work"));
        std::fs::create_dir_all(&work).expect("mkdir");
        git(&work, &["init", "-q", "-b", "main"], None);
        Self {
            work,
            served: root.join("served").join(format!("{name}.git")),
        }
    }

    fn commit(&self, files: &[(&str, &str)], email: &str, seconds: i64) -> String {
        for (path, content) in files {
            let file = self.work.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(file, content).expect("write");
        }
        git(&self.work, &["add", "-A"], None);
        git(
            &self.work,
            &["commit", "-q", "--allow-empty", "-m", "change"],
            Some((email, seconds)),
        );
        git(&self.work, &["rev-parse", "HEAD"], None)
            .trim()
            .to_string()
    }

    /// Publishes the work tree's branches to the served repository (a local push: the server
    /// itself is read-only).
    fn publish(&self) {
        if !self.served.exists() {
            std::fs::create_dir_all(&self.served).expect("mkdir");
            git(&self.served, &["init", "-q", "--bare", "-b", "main"], None);
        }
        let served = self.served.display().to_string();
        git(
            &self.work,
            &["push", "-q", "--force", &served, "--all"],
            None,
        );
    }
}

fn go_mod(deps: &[&str]) -> String {
    let mut text = String::from("module example.com/app\n\ngo 1.23\n\nrequire (\n");
    for dep in deps {
        text.push_str(&format!("\t{dep} v1.0.0\n"));
    }
    text + ")\n"
}

fn source(url: String) -> GitSource {
    GitSource {
        url,
        branch: None,
        credentials: None,
    }
}

fn collect(source: &GitSource, cache: &Path, now: i64) -> Result<Signals, SignalsError> {
    signals::collect(
        source,
        cache,
        at(now),
        FetchOptions::default(),
        Limits::default(),
    )
}

fn has_object(repo: &Path, id: &str) -> bool {
    Command::new("git")
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["cat-file", "-e", &format!("{id}^{{commit}}")])
        .stderr(Stdio::null())
        .status()
        .expect("git cat-file")
        .success()
}

#[test]
fn first_fetch_is_shallow_later_fetches_are_incremental() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let up = Upstream::new(tmp.path(), "app");
    let old = up.commit(
        &[("go.mod", &go_mod(&["github.com/old/dep"]))],
        BOB,
        NOW - 30 * DAY,
    );
    let older_than_cutoff = up.commit(&[("README.md", "v1\n")], BOB, NOW - 10 * DAY);
    up.commit(&[("README.md", "v2\n")], ALICE, NOW - 3 * DAY);
    let five = [
        "github.com/old/dep",
        "github.com/a/one",
        "github.com/a/two",
        "github.com/a/three",
        "github.com/a/four",
        "github.com/a/five",
    ];
    up.commit(&[("go.mod", &go_mod(&five))], ALICE, NOW - HOUR);
    up.publish();
    let server = serve(&tmp.path().join("served"), None);
    let cache = tmp.path().join("cache");
    let src = source(format!("{}/app.git", server.url));

    let fetched = signals::fetch(&src, &cache, at(NOW), FetchOptions::default()).expect("clone");
    assert!(fetched.created && fetched.received);
    assert!(cache.join("shallow").is_file(), "the clone is shallow");
    assert!(
        !has_object(&cache, &old) && !has_object(&cache, &older_than_cutoff),
        "history before the cutoff was not fetched"
    );
    let first = signals::derive(&cache, at(NOW), Limits::default()).expect("derive");
    assert_eq!(first.tip, fetched.tip);
    let alice = first.for_learner("alice@example.com");
    assert_eq!(
        (
            alice.commits_per_week,
            alice.commits_today,
            alice.new_dependencies_today
        ),
        (2, 1, 5)
    );

    // A new commit on the server is seen by the next collection.
    let new_tip = up.commit(
        &[("web/package.json", r#"{"dependencies": {"react": "18"}}"#)],
        BOB,
        NOW - 10 * 60,
    );
    up.publish();
    let fetched = signals::fetch(&src, &cache, at(NOW), FetchOptions::default()).expect("fetch");
    assert!(!fetched.created && fetched.received);
    assert_eq!(fetched.tip, new_tip);
    let second = collect(&src, &cache, NOW).expect("collect");
    assert_eq!(second.for_learner(BOB).commits_today, 1);
    assert_eq!(second.for_learner(BOB).new_dependencies_today, 1);
    assert_eq!(second.for_learner(ALICE), alice);

    // Nothing new: no pack at all.
    let again = signals::fetch(&src, &cache, at(NOW), FetchOptions::default()).expect("fetch");
    assert!(!again.received);

    // The caller recomputes at next_change from the cache alone, with the server gone.
    drop(server);
    let next = second.next_change.expect("a commit leaves a window");
    assert_eq!(next, at(NOW - HOUR + DAY));
    let later = signals::derive(&cache, next, Limits::default()).expect("derive offline");
    assert_eq!(later.for_learner(ALICE).commits_today, 0);
    assert_eq!(later.for_learner(ALICE).new_dependencies_today, 0);
    assert_eq!(later.for_learner(BOB).commits_today, 1);
}

#[test]
fn a_named_branch_is_read_and_an_unknown_one_is_named() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let up = Upstream::new(tmp.path(), "app");
    up.commit(&[("README.md", "main\n")], BOB, NOW - 2 * HOUR);
    git(&up.work, &["checkout", "-q", "-b", "develop"], None);
    up.commit(&[("README.md", "develop\n")], ALICE, NOW - HOUR);
    git(&up.work, &["checkout", "-q", "main"], None);
    up.publish();
    let server = serve(&tmp.path().join("served"), None);

    let mut src = source(format!("{}/app.git", server.url));
    src.branch = Some("develop".into());
    let signals = collect(&src, &tmp.path().join("cache-develop"), NOW).expect("develop");
    assert_eq!(signals.for_learner(ALICE).commits_today, 1);
    assert_eq!(signals.for_learner(BOB).commits_today, 1);

    let main = collect(
        &source(src.url.clone()),
        &tmp.path().join("cache-head"),
        NOW,
    )
    .expect("default branch");
    assert_eq!(main.for_learner(ALICE).commits_today, 0, "HEAD is main");

    src.branch = Some("no-such-branch".into());
    let err = collect(&src, &tmp.path().join("cache-missing"), NOW).expect_err("unknown");
    assert!(matches!(err, SignalsError::UnknownBranch { .. }), "{err}");
    assert!(err.to_string().contains("\"no-such-branch\""), "{err}");
}

#[test]
fn a_missing_repository_is_a_404_in_words() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(tmp.path().join("served")).expect("mkdir");
    let server = serve(&tmp.path().join("served"), None);
    let url = format!("{}/nope.git", server.url);
    let err = collect(&source(url.clone()), &tmp.path().join("cache"), NOW).expect_err("404");
    assert_eq!(
        err.to_string(),
        format!("{url}: no such repository (HTTP 404); check the URL")
    );
}

#[test]
fn a_closed_port_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let tmp = tempfile::tempdir().expect("temp dir");
    let url = format!("http://127.0.0.1:{port}/app.git");
    let err = collect(&source(url.clone()), &tmp.path().join("cache"), NOW).expect_err("refused");
    assert!(matches!(err, SignalsError::Unreachable { .. }), "{err}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("cannot reach {url}: ")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[test]
fn a_server_that_never_answers_times_out() {
    // A real socket that accepts connections and never answers: a hung server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/app.git",
        listener.local_addr().expect("local address")
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let options = FetchOptions {
        request_timeout: std::time::Duration::from_secs(2),
        ..FetchOptions::default()
    };
    let started = std::time::Instant::now();
    let err = signals::fetch(
        &source(url.clone()),
        &tmp.path().join("cache"),
        at(NOW),
        options,
    )
    .expect_err("no answer");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "bounded"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{url}: timed out after 2 s (connect or transfer); is the server slow or the repository huge?"
        )
    );
    drop(listener);
}

#[test]
fn credentials_go_over_https_only_and_bad_ones_are_named_without_the_secret() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let up = Upstream::new(tmp.path(), "private");
    up.commit(&[("README.md", "secret\n")], ALICE, NOW - HOUR);
    up.publish();
    let ca_file = tmp.path().join("ca.pem");
    let server = serve_with(
        &tmp.path().join("served"),
        Some("learnpath:tok-3141592653"),
        Some(&ca_file),
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let url = format!("{}/private.git", server.url);
    let trusted = FetchOptions {
        extra_ca_certificates_pem: Some(std::fs::read(&ca_file).expect("CA written")),
        ..FetchOptions::default()
    };
    let with = |src: &GitSource, cache: &str, options: &FetchOptions| {
        signals::collect(
            src,
            &tmp.path().join(cache),
            at(NOW),
            options.clone(),
            Limits::default(),
        )
    };

    // Without the CA the server's certificate is not trusted.
    let err = with(&source(url.clone()), "c0", &FetchOptions::default()).expect_err("untrusted");
    assert!(matches!(err, SignalsError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    let err = with(&source(url.clone()), "c1", &trusted).expect_err("no credentials");
    assert_eq!(
        err.to_string(),
        format!(
            "{url}: authentication failed (HTTP 401); check the Git source's username and password or token"
        )
    );
    let mut src = source(url.clone());
    src.credentials = Some(Credentials {
        username: "learnpath".into(),
        password: "wrong-2718281828".into(),
    });
    let err = with(&src, "c2", &trusted).expect_err("wrong password");
    assert!(matches!(err, SignalsError::Unauthorized { .. }), "{err}");
    assert!(!err.to_string().contains("2718281828"), "{err}");

    src.credentials = Some(Credentials {
        username: "learnpath".into(),
        password: "tok-3141592653".into(),
    });
    let signals = with(&src, "c3", &trusted).expect("right credentials");
    assert_eq!(signals.for_learner(ALICE).commits_today, 1);

    // The same credentials are never offered over plain http.
    let mut plain = src.clone();
    plain.url = url.replacen("https://", "http://", 1);
    let err = with(&plain, "c4", &trusted).expect_err("http with credentials");
    assert!(matches!(err, SignalsError::InvalidUrl { .. }), "{err}");
    assert!(err.to_string().contains("only sent over https://"), "{err}");
}

#[test]
fn an_idle_repository_and_a_first_commit_after_a_pause() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let up = Upstream::new(tmp.path(), "idle");
    up.commit(
        &[("go.mod", &go_mod(&["github.com/old/dep"]))],
        BOB,
        NOW - 40 * DAY,
    );
    up.commit(&[("README.md", "old\n")], BOB, NOW - 20 * DAY);
    up.publish();
    let server = serve(&tmp.path().join("served"), None);
    let src = source(format!("{}/idle.git", server.url));
    let cache = tmp.path().join("cache");

    // Every commit is older than the cutoff: nothing to count, and still a successful fetch.
    let idle = collect(&src, &cache, NOW).expect("idle repository");
    assert!(idle.by_author.is_empty());
    assert_eq!(idle.next_change, None);

    // The first commit after twenty idle days adds two dependencies; its parent is older than
    // the cutoff but is fetched too, so they are told apart from the ones already there.
    up.commit(
        &[(
            "go.mod",
            &go_mod(&[
                "github.com/old/dep",
                "github.com/new/one",
                "github.com/new/two",
            ]),
        )],
        ALICE,
        NOW - HOUR,
    );
    up.publish();
    let after = collect(&src, &cache, NOW).expect("after the pause");
    assert_eq!(after.for_learner(ALICE).commits_today, 1);
    assert_eq!(after.for_learner(ALICE).new_dependencies_today, 2);

    // The same in a fresh cache (the first fetch of a repository whose branch was idle).
    let fresh = collect(&src, &tmp.path().join("fresh"), NOW).expect("fresh clone");
    assert_eq!(fresh.for_learner(ALICE).new_dependencies_today, 2);
}
