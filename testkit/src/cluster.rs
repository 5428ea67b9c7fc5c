//! A real control plane (etcd, kube-apiserver, kube-controller-manager) run by
//! `hack/cluster.sh supervise`: one per test binary, started on first use, and dedicated ones
//! for tests that must not share it.
//!
//! The supervisor is a child whose stdin is a pipe held by this process: when the test binary
//! exits for any reason (even SIGKILL) the pipe closes and the supervisor stops etcd and the
//! apiserver.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::commands::{kubectl, wait_established};
use crate::local::repo;

/// A control plane run by `hack/cluster.sh supervise`: stopped when dropped, and in any case when
/// this process dies, because its stdin (a pipe held here) then closes.
pub struct Cluster {
    /// Its state directory (etcd's data, certificates, kubeconfigs, logs, `pids`).
    pub dir: PathBuf,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// The supervisor's stdin and stdout: fault commands go in, one answer line comes back.
    io: Mutex<Option<(ChildStdin, BufReader<ChildStdout>)>>,
    child: Child,
}

impl Cluster {
    /// Starts a control plane in its own state directory; `name` tells several apart.
    pub fn supervise(name: &str) -> Result<Cluster, String> {
        Cluster::supervise_with(name, &[])
    }

    /// Starts a control plane with a real node (`LEARNPATH_NODE=1`, hack/node.sh): Pods run.
    /// One per machine; the supervisor stops the node and undoes its changes with the rest.
    pub fn supervise_node(name: &str) -> Result<Cluster, String> {
        Cluster::supervise_with(name, &[("LEARNPATH_NODE", "1")])
    }

    /// Starts a control plane with `env` set for hack/cluster.sh.
    fn supervise_with(name: &str, env: &[(&str, &str)]) -> Result<Cluster, String> {
        let base = std::env::var_os("LEARNPATH_E2E_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let suffix = if name.is_empty() {
            String::new()
        } else {
            format!("-{name}")
        };
        let dir = base.join(format!("learnpath-e2e-{}{suffix}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log = std::fs::File::create(dir.with_extension("log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(repo().join("hack/cluster.sh"))
            .arg("supervise")
            .arg(&dir)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot run hack/cluster.sh: {e}"))?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading the supervisor: {e}"))?;
        let line = line.trim();
        let Some(kubeconfig) = line.strip_prefix("READY ") else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the control plane did not start ({line:?}); see {}. Build it with `make controlplane`.",
                dir.with_extension("log").display()
            ));
        };
        let stdin = child.stdin.take().ok_or("no stdin")?;
        Ok(Cluster {
            dir,
            kubeconfig: PathBuf::from(kubeconfig),
            io: Mutex::new(Some((stdin, stdout))),
            child,
        })
    }

    /// Injects a fault: `kill|stop|start etcd|apiserver|kcm` (see hack/cluster.sh). Blocks until
    /// the supervisor answers; a `start` answers once the component is ready again.
    pub fn control(&self, command: &str) -> Result<(), String> {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let (stdin, stdout) = io.as_mut().ok_or("the supervisor is gone")?;
        writeln!(stdin, "{command}").map_err(|e| format!("{command}: {e}"))?;
        stdin.flush().map_err(|e| format!("{command}: {e}"))?;
        let mut answer = String::new();
        stdout
            .read_line(&mut answer)
            .map_err(|e| format!("{command}: {e}"))?;
        match answer.trim() {
            ok if ok.starts_with("OK ") => Ok(()),
            other => Err(format!("{command}: {other:?}")),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // EOF on its stdin is the supervisor's signal to stop etcd and the apiserver.
        drop(self.io.lock().unwrap_or_else(|e| e.into_inner()).take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // etcd's data is tens of megabytes: keep it (and the logs) only when the test failed.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
            let _ = std::fs::remove_file(self.dir.with_extension("log"));
        }
    }
}

// The shared control plane lives in a static and is never dropped: it stops when the process exits.
static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// Applies this release's CRDs (`kubectl apply -k crds/`) to `cluster` and waits until they are
/// Established.
pub fn install_crds(cluster: &Cluster) -> Result<(), String> {
    kubectl(
        cluster,
        &[
            "apply",
            "--server-side",
            "-k",
            &repo().join("crds").display().to_string(),
        ],
    )?;
    let out = wait_established(
        &cluster.kubeconfig,
        &[
            "crd/tracks.learnpath.dev",
            "crd/learningpaths.learnpath.dev",
        ],
    );
    if out.ok {
        Ok(())
    } else {
        Err(format!("the CRDs are not Established: {}", out.stderr))
    }
}

/// The shared control plane with this release's CRDs applied and Established.
fn start() -> Result<Cluster, String> {
    let cluster = Cluster::supervise("")?;
    install_crds(&cluster)?;
    Ok(cluster)
}

/// The control plane of this test binary, started on first use.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}
