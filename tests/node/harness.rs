//! The node, the operator's image on it, and releases of the chart installed as users install
//! it: `helm install` of charts/learnpath with the image, waited for with `--wait`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};
use testkit::*;

/// How long the operator, the kubelet or the scheduler may take to get somewhere.
pub const WAIT: Duration = Duration::from_secs(120);

/// The image's repository and tag as the chart names them (docker.io/library/learnpath:e2e).
pub const REPOSITORY: &str = "learnpath";
pub const TAG: &str = "e2e";

/// The node's tests take turns: they share one node (one per machine), and the Track of one
/// release's operator is watched by every other release's.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The operator's image as `make image` packs it without a container engine.
pub struct Image {
    /// The OCI archive.
    pub archive: PathBuf,
    /// Its manifest digest.
    pub digest: String,
    /// The directory holding it, its digest file and the SBOM.
    pub dir: PathBuf,
}

/// A control plane with a real node, and the image imported into the node's containerd.
pub struct Node {
    pub cluster: Cluster,
}

static NODE: Mutex<Option<Arc<Node>>> = Mutex::new(None);
static IMAGE: OnceLock<Result<Image, String>> = OnceLock::new();

/// The node of this test binary, started (and the image imported) on first use, or again after
/// [`stop_node`].
pub fn node() -> Arc<Node> {
    let mut slot = NODE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(node) = slot.as_ref() {
        return node.clone();
    }
    let node = Arc::new(start().unwrap_or_else(|e| panic!("{e}")));
    *slot = Some(node.clone());
    node
}

/// Stops the node (when no test holds it): hack/node.sh down, through the supervisor.
pub fn stop_node() {
    let node = NODE.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(node);
}

/// The operator's image, built once per test binary.
pub fn image() -> &'static Image {
    match IMAGE.get_or_init(build_image) {
        Ok(image) => image,
        Err(e) => panic!("{e}"),
    }
}

fn start() -> Result<Node, String> {
    let archive = image().archive.clone();
    let cluster = Cluster::supervise_node("node")?;
    import(&cluster, &archive)?;
    install_crds(&cluster)?;
    Ok(Node { cluster })
}

/// Where the image's release build lives: under the cache (LEARNPATH_CACHE), so that a fresh
/// clone recompiles only learnpath itself, not its dependencies, for the image.
fn image_target_dir() -> std::path::PathBuf {
    let cache = std::env::var_os("LEARNPATH_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/learnpath")))
        .unwrap_or_else(|| repo().join("target"));
    cache.join("image-target")
}

/// `make image` without an engine: hack/image.sh packs the static binary.
pub fn build_image() -> Result<Image, String> {
    let out = run_image_script()?;
    let dir = image_target_dir().join("oci");
    let digest = std::fs::read_to_string(dir.join("digest"))
        .map_err(|e| format!("hack/image.sh wrote no digest: {e}\n{out}"))?
        .trim()
        .to_string();
    Ok(Image {
        archive: dir.join("learnpath.tar"),
        digest,
        dir,
    })
}

/// Runs hack/image.sh for `learnpath:e2e`; its output, or why it failed. What it packs: when the
/// tests are built for musl (`make test` and `make e2e` do), the test build's own static
/// `learnpath`, so that no second build compiles every dependency again; otherwise a build of the
/// unoptimised `image-test` profile. LEARNPATH_IMAGE_PROFILE=release packs the release build.
pub fn run_image_script() -> Result<String, String> {
    let mut cmd = Command::new(repo().join("hack/image.sh"));
    cmd.env("CONTAINER_ENGINE", "none")
        .env("IMAGE", format!("{REPOSITORY}:{TAG}"))
        .env("IMAGE_TARGET_DIR", image_target_dir());
    match std::env::var("LEARNPATH_IMAGE_PROFILE") {
        Ok(profile) => cmd.env("IMAGE_PROFILE", profile),
        Err(_) if cfg!(target_env = "musl") => cmd.env("IMAGE_BINARY", learnpath_binary()),
        Err(_) => cmd.env("IMAGE_PROFILE", "image-test"),
    };
    let out = run(cmd);
    if out.ok {
        Ok(out.stdout)
    } else {
        Err(format!(
            "hack/image.sh failed:\n{}\n{}",
            out.stdout, out.stderr
        ))
    }
}

/// Loads an image archive into the node's containerd.
pub fn import(cluster: &Cluster, archive: &Path) -> Result<(), String> {
    let mut cmd = Command::new(repo().join("hack/node.sh"));
    cmd.arg("import").arg(&cluster.dir).arg(archive);
    let out = run(cmd);
    out.ok
        .then_some(())
        .ok_or_else(|| format!("hack/node.sh import: {}", out.stderr))
}

/// The node's containerd client (`ctr -n k8s.io`).
pub fn ctr(args: &[&str]) -> Run {
    let node = node();
    let mut cmd = Command::new(bin("ctr"));
    cmd.arg("--address")
        .arg(node.cluster.dir.join("node/containerd/containerd.sock"))
        .args(["--namespace", "k8s.io"])
        .args(args);
    run(cmd)
}

/// An admin client of the node's control plane.
pub async fn node_client() -> Client {
    client_from(&node().cluster.kubeconfig).await
}

/// The pinned helm against the node's control plane.
pub fn node_helm(args: &[&str]) -> Run {
    helm(Some(&node().cluster.kubeconfig), args)
}

/// The pinned kubectl against the node's control plane, as admin.
pub fn node_kubectl(args: &[&str]) -> Run {
    kubectl_with(&node().cluster.kubeconfig, args)
}

/// A Helm release of the chart on the node, uninstalled when dropped (also when a test fails).
pub struct Release {
    pub name: String,
    pub namespace: String,
}

impl Release {
    /// `helm install --wait` of charts/learnpath with the node's image and `extra` values; the
    /// CRDs are the ones the harness applied.
    pub fn install(name: &str, namespace: &str, extra: &[&str]) -> Release {
        let image = [
            format!("image.repository={REPOSITORY}"),
            format!("image.tag={TAG}"),
        ];
        let chart = repo().join("charts/learnpath").display().to_string();
        let mut args = vec![
            "install",
            name,
            &chart,
            "-n",
            namespace,
            "--set",
            &image[0],
            "--set",
            &image[1],
            "--set",
            "crds.enabled=false",
            "--wait",
            "--timeout",
            "180s",
        ];
        args.extend_from_slice(extra);
        let out = node_helm(&args);
        let release = Release {
            name: name.to_string(),
            namespace: namespace.to_string(),
        };
        assert!(
            out.ok,
            "helm install {name}: {}\n{}\n{}",
            out.stdout,
            out.stderr,
            release.describe()
        );
        assert!(
            !out.stderr.contains("would violate PodSecurity"),
            "helm install drew a PodSecurity warning: {}",
            out.stderr
        );
        release
    }

    /// The label selector of the release's operator Pods.
    pub fn selector(&self) -> String {
        format!(
            "app.kubernetes.io/name=learnpath,app.kubernetes.io/instance={},app.kubernetes.io/component=operator",
            self.name
        )
    }

    /// The release's operator Pods.
    pub async fn pods(&self, client: &Client) -> Vec<Pod> {
        Api::<Pod>::namespaced(client.clone(), &self.namespace)
            .list(&ListParams::default().labels(&self.selector()))
            .await
            .map(|l| l.items)
            .unwrap_or_default()
    }

    /// The Pod holding the leader Lease, as the Lease says.
    pub async fn leader(&self, client: &Client) -> Option<String> {
        let lease = Api::<Lease>::namespaced(client.clone(), &self.namespace)
            .get_opt("learnpath-leader")
            .await
            .ok()??;
        lease.spec?.holder_identity
    }

    /// The Pods, their events and their logs: what a failing test prints.
    pub fn describe(&self) -> String {
        let pods = node_kubectl(&[
            "describe",
            "pods",
            "-n",
            &self.namespace,
            "-l",
            &self.selector(),
        ]);
        let logs = node_kubectl(&[
            "logs",
            "-n",
            &self.namespace,
            "-l",
            &self.selector(),
            "--tail=40",
            "--prefix",
        ]);
        format!(
            "--- pods\n{}{}\n--- logs\n{}{}",
            pods.stdout, pods.stderr, logs.stdout, logs.stderr
        )
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = node_helm(&["uninstall", &self.name, "-n", &self.namespace, "--wait"]);
    }
}

/// Whether a Pod is Ready (its readiness probe passes) and not going away.
pub fn pod_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `learnpath check` against the node's cluster: the number of mismatches it reports.
pub fn check_mismatches() -> usize {
    let mut cmd = Command::new(learnpath_binary());
    cmd.arg("check")
        .env("KUBECONFIG", &node().cluster.kubeconfig);
    let out = run(cmd);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("checked "))
        .unwrap_or_else(|| panic!("learnpath check: {}\n{}", out.stdout, out.stderr));
    let count = line
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("learnpath check said {line:?}"));
    assert_eq!(out.ok, count == 0, "exit status agrees: {}", out.stdout);
    count
}
