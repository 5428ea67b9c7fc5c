//! Test support: one real control plane per test binary, a namespace per test, and the operator
//! binary as a child process per test.
//!
//! The control plane is `hack/cluster.sh supervise`, a child whose stdin is a pipe held by this
//! process: when the test binary exits for any reason (even SIGKILL) the pipe closes and the
//! supervisor stops etcd and the apiserver. Nothing here skips: a control plane that cannot start
//! fails every test that needs it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use learnpath::api::{LearningPath, Track};
use serde::de::DeserializeOwned;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A control plane run by `hack/cluster.sh supervise`: stopped when dropped, and in any case when
/// this process dies, because its stdin (a pipe held here) then closes.
pub struct Cluster {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    /// The supervisor's stdin and stdout: fault commands go in, one answer line comes back.
    io: Mutex<Option<(ChildStdin, BufReader<ChildStdout>)>>,
    child: Child,
}

impl Cluster {
    /// Starts a control plane in its own state directory; `name` tells several apart.
    pub fn supervise(name: &str) -> Result<Cluster, String> {
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

    /// Injects a fault (used by the fault tests, not every test binary): `kill|stop|start etcd|apiserver|kcm` (see hack/cluster.sh). Blocks until
    /// the supervisor answers; a `start` answers once the component is ready again.
    #[allow(dead_code)]
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
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
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

fn start() -> Result<Cluster, String> {
    let cluster = Cluster::supervise("")?;
    kubectl(
        &cluster,
        &[
            "apply",
            "--server-side",
            "-k",
            &repo().join("crds").display().to_string(),
        ],
    )?;
    kubectl(
        &cluster,
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/tracks.learnpath.dev",
            "crd/learningpaths.learnpath.dev",
        ],
    )?;
    Ok(cluster)
}

/// The control plane of this test binary, started on first use.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

pub fn bin(name: &str) -> PathBuf {
    let out = Command::new(repo().join("hack/bin-path.sh"))
        .arg(name)
        .output()
        .unwrap_or_else(|e| panic!("hack/bin-path.sh {name}: {e}"));
    assert!(
        out.status.success(),
        "{name} is not built: run `make controlplane`"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs the pinned kubectl against the cluster with the admin identity.
pub fn kubectl(cluster: &Cluster, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin("kubectl"))
        .env("KUBECONFIG", &cluster.kubeconfig)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

pub async fn client_from(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("kubeconfig reads");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is usable");
    Client::try_from(config).expect("client builds")
}

/// An admin client of the cluster.
pub async fn client() -> Client {
    client_from(&cluster().kubeconfig).await
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh namespace (and a matching unique Track name) for one test.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("namespace created");
    name
}

/// Deletes a namespace and a Track, best effort.
pub async fn cleanup(client: &Client, namespace: &str, track: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(namespace, &DeleteParams::default())
        .await;
    let _ = Api::<Track>::all(client.clone())
        .delete(track, &DeleteParams::default())
        .await;
}

pub fn read_yaml<T: DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The example learners in examples/learners/.
pub const LEARNERS: [&str; 6] = [
    "backend-engineer",
    "fast-mover",
    "fintech-engineer",
    "frontend-to-backend",
    "infra-developer",
    "iot-engineer",
];

/// The example Track under another name, so that tests running at once do not share it.
pub fn example_track(name: &str) -> Track {
    let mut track: Track = read_yaml(&repo().join("examples/tracks/go-engineer.yaml"));
    track.metadata.name = Some(name.to_string());
    track
}

/// An example learner in `namespace`, on Track `track`.
pub fn example_learner(file: &str, namespace: &str, track: &str) -> LearningPath {
    let mut lp: LearningPath = read_yaml(&repo().join(format!("examples/learners/{file}.yaml")));
    lp.metadata.namespace = Some(namespace.to_string());
    lp.spec.track_ref.name = track.to_string();
    lp
}

pub const TEST_MANAGER: &str = "e2e-tests";

/// Server-side applies any object as the test's own field manager.
pub async fn apply<K>(api: &Api<K>, obj: &K) -> Result<K, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = obj.meta().name.clone().expect("object has a name");
    let mut value = serde_json::to_value(obj).expect("serializes");
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            for server_owned in [
                "managedFields",
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
            ] {
                meta.remove(server_owned);
            }
        }
        map.insert(
            "apiVersion".into(),
            K::api_version(&Default::default()).into(),
        );
        map.insert("kind".into(), K::kind(&Default::default()).into());
    }
    api.patch(
        &name,
        &PatchParams::apply(TEST_MANAGER).force(),
        &Patch::Apply(&value),
    )
    .await
}

/// Polls `check` every 200 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn condition<'a>(
    lp: &'a LearningPath,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    lp.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

pub fn is_ready(lp: &LearningPath) -> bool {
    condition(lp, "Ready").is_some_and(|c| c.status == "True")
        && lp.status.as_ref().and_then(|s| s.observed_generation) == lp.metadata.generation
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The operator binary running against the test cluster; killed when dropped.
pub struct Operator {
    child: Child,
    pub metrics_addr: String,
    pub log: PathBuf,
}

impl Operator {
    /// Starts `learnpath run` watching one namespace, with the given kubeconfig.
    pub fn start(kubeconfig: &Path, namespace: &str, extra: &[&str]) -> Operator {
        let metrics_addr = format!("127.0.0.1:{}", free_port());
        let log = cluster().dir.join(format!(
            "operator-{namespace}-{}.log",
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        // Under `setpriv --pdeathsig KILL` (which execs in place, so the pid is the operator's):
        // if this test process is killed before its Drop runs, the kernel stops the operator too.
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "KILL", "--", env!("CARGO_BIN_EXE_learnpath")]);
        command.args(["run", "--metrics-addr", &metrics_addr]);
        // An empty namespace means the whole cluster.
        if !namespace.is_empty() {
            command.args(["--namespace", namespace, "--lease-namespace", namespace]);
        }
        let child = command
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,learnpath=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(&log).expect("operator log"),
            ))
            .spawn()
            .expect("learnpath run starts");
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

    /// Sends SIGTERM and waits up to `timeout` for the exit; returns the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The process id, for /proc readings (used by the scale harness, not every test binary).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited (used by the fault tests, not every test binary).
    #[allow(dead_code)]
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

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

/// A minimal HTTP/1.0 GET on loopback, enough for /metrics and /readyz.
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
