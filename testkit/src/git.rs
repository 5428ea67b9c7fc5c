//! Git for tests: the `git` command with a fixed identity and no user configuration, and the
//! project's loopback smart-HTTP server (hack/flux/gitserver) as a child process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use k8s_openapi::jiff::Timestamp;

use crate::local::repo;

/// Runs `git args` in `dir` with the test identity, no global or system configuration, and the
/// extra environment `env` (e.g. `GIT_AUTHOR_EMAIL`, `GIT_COMMITTER_DATE`); its trimmed stdout.
pub fn git_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "learnpath e2e")
        .env("GIT_AUTHOR_EMAIL", "e2e@learnpath.invalid")
        .env("GIT_COMMITTER_NAME", "learnpath e2e")
        .env("GIT_COMMITTER_EMAIL", "e2e@learnpath.invalid")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git is needed by this test: {e}"));
    assert!(
        out.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// [`git_with`] with the test identity only.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, &[])
}

/// The directory of one component that hack/build-flux.sh builds (the Flux controllers and the
/// Git server), for its pin; panics with how to build it when it is missing.
pub fn flux_dir(name: &str) -> PathBuf {
    let out = Command::new(repo().join("hack/build-flux.sh"))
        .args(["--print-dir", name])
        .output()
        .unwrap_or_else(|e| panic!("hack/build-flux.sh --print-dir {name}: {e}"));
    assert!(
        out.status.success(),
        "hack/build-flux.sh --print-dir {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{name} is not built ({} is missing): run `make flux` (hack/build-flux.sh)",
        bin.display()
    );
    dir
}

/// hack/flux/gitserver serving the repositories under a directory on loopback; stopped (by pid)
/// when dropped, and when this process dies (it exits when its stdin closes).
pub struct GitServer {
    /// `http://127.0.0.1:PORT`: a repository `ROOT/x.git` is at `{url}/x.git`.
    pub url: String,
    child: Child,
    _stdin: Option<ChildStdin>,
}

impl GitServer {
    /// Serves `root`, logging to `log`.
    pub fn start(root: &Path, log: &Path) -> GitServer {
        GitServer::start_with(root, log, &[])
    }

    /// Serves `root` with extra flags of the server (`-basic-auth USER:PASSWORD`, `-tls-ca-out
    /// FILE`), logging to `log`.
    pub fn start_with(root: &Path, log: &Path, flags: &[&str]) -> GitServer {
        let bin = flux_dir("gitserver").join("gitserver");
        let mut child = Command::new(&bin)
            .arg("-root")
            .arg(root)
            .args(["-listen", "127.0.0.1:0", "-exit-on-stdin-eof"])
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(log).expect("a log file")))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
        let stdin = child.stdin.take();
        let Some(url) = line.trim().strip_prefix("LISTENING ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the Git server did not start ({line:?}); see {}",
                log.display()
            );
        };
        GitServer {
            url: url.to_string(),
            child,
            _stdin: stdin,
        }
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Git repository served at `<server>/<name>`, committed to as learners.
pub struct Repository {
    pub dir: PathBuf,
}

impl Repository {
    pub fn init(root: &Path, name: &str) -> Repository {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("the repository directory");
        git(&dir, &["init", "-q", "-b", "main"]);
        Repository { dir }
    }

    /// Writes `files` and commits them as `email`, dated `seconds_ago` before now (author and
    /// committer: the committer time places a commit in a window).
    pub fn commit_as(&self, email: &str, seconds_ago: i64, files: &[(&str, &str)]) -> String {
        for (path, text) in files {
            let file = self.dir.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).expect("a directory");
            }
            std::fs::write(&file, text).expect("a file");
        }
        let date = format!("@{} +0000", Timestamp::now().as_second() - seconds_ago);
        let env = [
            ("GIT_AUTHOR_EMAIL", email),
            ("GIT_COMMITTER_EMAIL", email),
            ("GIT_AUTHOR_DATE", date.as_str()),
            ("GIT_COMMITTER_DATE", date.as_str()),
        ];
        git_with(&self.dir, &["add", "-A"], &env);
        git_with(
            &self.dir,
            &["commit", "-q", "--allow-empty", "-m", "change"],
            &env,
        );
        git(&self.dir, &["rev-parse", "HEAD"])
    }
}

/// A go.mod requiring `deps` directly.
pub fn go_mod(deps: &[&str]) -> String {
    let mut text = String::from("module example.com/services\n\ngo 1.26\n\nrequire (\n");
    for dep in deps {
        text.push_str(&format!("\t{dep} v1.0.0\n"));
    }
    text.push_str(")\n");
    text
}
