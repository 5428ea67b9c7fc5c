//! The operator binary as a child process of the test: its log in a file, its `/metrics` on a
//! loopback port, killed when dropped and, through the kernel's parent-death signal, when the
//! test process dies first.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::cluster;
use crate::local::{free_port, unique};

/// The `learnpath` binary that Cargo built for this test run.
pub fn learnpath_binary() -> PathBuf {
    // `cargo test` names it (at run time since Cargo 1.94); else it is where Cargo puts it:
    // target/<profile>/learnpath, next to the deps/ directory that holds the test binary.
    let path = std::env::var_os("CARGO_BIN_EXE_learnpath")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("the test binary's path");
            let deps = exe.parent().expect("the test binary's directory");
            deps.parent().unwrap_or(deps).join("learnpath")
        });
    assert!(
        path.is_file(),
        "the learnpath binary is not at {}: run the tests with `cargo test`",
        path.display()
    );
    path
}

/// The operator binary running against a test cluster; killed when dropped.
pub struct Operator {
    child: Child,
    /// Where it serves `/metrics`, `/healthz` and `/readyz`.
    pub metrics_addr: String,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

impl Operator {
    /// Starts `learnpath run` watching one namespace (an empty one: the whole cluster) with the
    /// identity of `kubeconfig`, its log in the shared control plane's directory.
    pub fn start(kubeconfig: &Path, namespace: &str, extra: &[&str]) -> Operator {
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let log = cluster()
            .dir
            .join(format!("operator-{namespace}-{}.log", unique()));
        // Each operator keeps its Git sources' repositories apart from the others'.
        let cache = log.with_extension("signals").display().to_string();
        let mut args = vec![
            "run",
            "--metrics-addr",
            &metrics_addr,
            "--signal-cache-dir",
            &cache,
        ];
        if !namespace.is_empty() {
            args.extend(["--namespace", namespace, "--lease-namespace", namespace]);
        }
        args.extend(extra);
        // As in a Pod, its own namespace names where its Secrets are (`--secret-namespace`
        // in `extra` says otherwise).
        let env = [("POD_NAMESPACE", namespace)];
        let env: &[(&str, &str)] = if namespace.is_empty() { &[] } else { &env };
        Operator::spawn(&args, env, kubeconfig, metrics_addr.clone(), log)
    }

    /// Starts the binary with exactly `args` and the extra environment `env`; `metrics_addr` is
    /// where those arguments make it serve `/metrics`.
    pub fn spawn(
        args: &[&str],
        env: &[(&str, &str)],
        kubeconfig: &Path,
        metrics_addr: String,
        log: PathBuf,
    ) -> Operator {
        let file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("operator log {}: {e}", log.display()));
        let stdout = file.try_clone().expect("operator log");
        // Under `setpriv --pdeathsig KILL` (which execs in place, so the pid is the operator's):
        // if this test process is killed before its Drop runs, the kernel stops the operator too.
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--"])
            .arg(learnpath_binary())
            .args(args)
            .envs(env.iter().copied())
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,learnpath=debug")
            // Text logs go to stderr, JSON logs to stdout: keep both.
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("learnpath starts");
        Operator {
            child,
            metrics_addr,
            log,
        }
    }

    /// The Prometheus text from `/metrics`.
    pub async fn metrics(&self) -> Option<String> {
        http_get(&self.metrics_addr, "/metrics").await
    }

    /// The value of one sample, e.g. `learnpath_status_writes_total`, or the sum over its labels.
    pub async fn metric(&self, sample: &str) -> Option<f64> {
        let text = self.metrics().await?;
        Some(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.rsplit_once(' '))
                // A bare name sums every labelled series of the metric.
                .filter(|(name, _)| {
                    *name == sample
                        || (!sample.contains('{') && name.starts_with(&format!("{sample}{{")))
                })
                .filter_map(|(_, v)| v.parse::<f64>().ok())
                .sum(),
        )
    }

    /// Sends SIGTERM (as the kubelet does) and waits up to `timeout` for the exit; returns the
    /// exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The process id, for /proc readings.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 GET on loopback, enough for /metrics and /readyz: the body of a 200.
pub async fn http_get(addr: &str, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf).await.ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    let status_line = head.lines().next().unwrap_or_default();
    status_line.contains(" 200 ").then(|| body.to_string())
}
