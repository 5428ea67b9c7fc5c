//! The pinned command-line tools (`hack/bin-path.sh`): kubectl and helm.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::cluster::Cluster;
use crate::local::repo;

/// The path of a pinned binary (`kubectl`, `helm`, `kube-apiserver`, ...); panics when it is
/// not built.
pub fn bin(name: &str) -> PathBuf {
    let out = Command::new(repo().join("hack/bin-path.sh"))
        .arg(name)
        .output()
        .unwrap_or_else(|e| panic!("hack/bin-path.sh {name}: {e}"));
    // hack/bin-path.sh names the make target that builds it (controlplane, prometheus, ...).
    assert!(
        out.status.success(),
        "hack/bin-path.sh {name}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// What a command did: whether it succeeded, and its output.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Itself when the command succeeded; panics with its output, naming `what`, when not.
    pub fn expect(self, what: &str) -> Run {
        assert!(self.ok, "{what} failed:\n{}\n{}", self.stdout, self.stderr);
        self
    }
}

/// Runs a command to its end; panics only when it cannot start.
pub fn run(mut cmd: Command) -> Run {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The pinned kubectl with the identity of `kubeconfig`.
pub fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(bin("kubectl"));
    cmd.env("KUBECONFIG", kubeconfig).args(args);
    run(cmd)
}

/// `kubectl wait --for=condition=Established --timeout=60s` on `crds` (names, or `-f PATH`).
/// kubectl fails at once (".status.conditions accessor error") on a CRD the API server has not
/// given a status yet instead of waiting for it, so a failure is tried again, up to five times a
/// second apart; the last run is returned.
pub fn wait_established(kubeconfig: &Path, crds: &[&str]) -> Run {
    let mut args = vec!["wait", "--for=condition=Established", "--timeout=60s"];
    args.extend_from_slice(crds);
    let mut out = kubectl_with(kubeconfig, &args);
    for _ in 1..5 {
        if out.ok {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        out = kubectl_with(kubeconfig, &args);
    }
    out
}

/// The pinned kubectl against `cluster` with the admin identity: its stdout, or an error with
/// its stderr.
pub fn kubectl(cluster: &Cluster, args: &[&str]) -> Result<String, String> {
    let out = kubectl_with(&cluster.kubeconfig, args);
    if out.ok {
        Ok(out.stdout)
    } else {
        Err(format!("kubectl {}: {}", args.join(" "), out.stderr))
    }
}

/// Helm's own state (config, cache, data) in a throwaway directory: the tests never read or
/// write the user's ~/.config/helm.
fn helm_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("a temp dir for helm"))
        .path()
}

/// The pinned helm; against `kubeconfig` when given, else with no cluster at all (a command
/// may still name one with `--kubeconfig`).
pub fn helm(kubeconfig: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = Command::new(bin("helm"));
    cmd.env("HELM_CONFIG_HOME", helm_home().join("config"))
        .env("HELM_CACHE_HOME", helm_home().join("cache"))
        .env("HELM_DATA_HOME", helm_home().join("data"))
        .env_remove("KUBECONFIG")
        .args(args);
    if let Some(kc) = kubeconfig {
        cmd.env("KUBECONFIG", kc);
    }
    run(cmd)
}
