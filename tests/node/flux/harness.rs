//! The Flux side of the test: the controllers and the Git server as processes of the test, and
//! a harness that waits on Flux objects and, when anything goes wrong, reports where each stands,
//! what the operator's Pod says and where the logs are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::api::ListParams;
use kube::core::{ApiResource, DynamicObject};
use kube::{Api, Client, ResourceExt};
use learnpath::api::LearningPath;
use testkit::*;

use crate::harness::node_kubectl;

use super::repository::{
    git_repositories, helm_charts, helm_releases, kustomizations, ready_summary,
};

/// A process started by this test, killed (by pid) and reaped when dropped.
pub(super) struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    pub(super) health: Option<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "{} exited ({status}); see {}",
                self.name,
                self.log.display()
            )),
            _ => None,
        }
    }
}

/// Starts one Flux controller watching `ns` only, on loopback ports of its own.
pub(super) fn start_controller(name: &str, ns: &str, work: &Path, kubeconfig: &Path) -> Proc {
    let bin = flux_dir(name).join(name);
    let log = work.join(format!("{name}.log"));
    let health = format!("127.0.0.1:{}", free_port());
    let mut args = vec![
        format!("--metrics-addr=127.0.0.1:{}", free_port()),
        format!("--health-addr={health}"),
        "--watch-all-namespaces=false".to_string(),
        "--enable-leader-election=false".to_string(),
        "--log-level=debug".to_string(),
    ];
    match name {
        "source-controller" => {
            let storage = work.join("storage");
            fs::create_dir_all(&storage).expect("storage dir");
            let addr = format!("127.0.0.1:{}", free_port());
            args.push(format!("--storage-path={}", storage.display()));
            args.push(format!("--storage-addr={addr}"));
            args.push(format!("--storage-adv-addr={addr}"));
        }
        _ => args.push("--requeue-dependency=1s".to_string()),
    }
    let child = Command::new(&bin)
        .args(&args)
        .env("KUBECONFIG", kubeconfig)
        .env("RUNTIME_NAMESPACE", ns)
        .stdin(Stdio::null())
        .stdout(Stdio::from(fs::File::create(&log).expect("log file")))
        .stderr(Stdio::from(
            fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("log file"),
        ))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Proc {
        name: name.to_string(),
        child,
        log,
        health: Some(health),
    }
}

/// The Flux controllers and the Git server of one test, watching its namespace.
pub(super) struct Flux {
    pub(super) client: Client,
    pub(super) ns: String,
    pub(super) work: PathBuf,
    pub(super) procs: Mutex<Vec<Proc>>,
    /// The Helm release the HelmRelease installs: its operator Pods are reported.
    pub(super) release: String,
}

impl Flux {
    pub(super) fn api(&self, ar: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.ns, ar)
    }

    pub(super) async fn get(&self, ar: &ApiResource, name: &str) -> Option<DynamicObject> {
        self.api(ar).get_opt(name).await.ok().flatten()
    }

    /// Where everything stands, for a panic message.
    pub(super) async fn report(&self) -> String {
        let mut out = String::new();
        let mut logs = Vec::new();
        for p in self.procs.lock().unwrap().iter_mut() {
            if let Some(exit) = p.exited() {
                out += &format!("{exit}\n");
            }
            logs.push((p.name.clone(), p.log.clone()));
        }
        out += "Flux objects:\n";
        for ar in [
            git_repositories(),
            helm_charts(),
            kustomizations(),
            helm_releases(),
        ] {
            match self.api(&ar).list(&ListParams::default()).await {
                Ok(list) => {
                    for obj in list {
                        let revision = obj.data["status"]["lastAppliedRevision"]
                            .as_str()
                            .or(obj.data["status"]["artifact"]["revision"].as_str())
                            .unwrap_or("-");
                        out += &format!(
                            "  {}/{}: {} (revision {revision})\n",
                            ar.kind,
                            obj.name_any(),
                            ready_summary(&obj)
                        );
                    }
                }
                Err(e) => out += &format!("  {}: {e}\n", ar.plural),
            }
        }
        out += &self.operator_pods();
        out += &format!("Logs (all under {}):\n", self.work.display());
        for (name, log) in logs {
            out += &format!("  {name}: {}\n", log.display());
        }
        out
    }

    /// The operator's Pods as `kubectl describe` and their logs' last lines.
    fn operator_pods(&self) -> String {
        let selector = format!("app.kubernetes.io/instance={}", self.release);
        let pods = node_kubectl(&["describe", "pods", "-n", &self.ns, "-l", &selector]);
        let logs = node_kubectl(&[
            "logs",
            "-n",
            &self.ns,
            "-l",
            &selector,
            "--tail=40",
            "--prefix",
        ]);
        format!(
            "Operator Pods ({selector}):\n{}{}\nTheir logs:\n{}{}\n",
            pods.stdout, pods.stderr, logs.stdout, logs.stderr
        )
    }

    /// Polls `check` until it returns `Some(Ok(_))`; panics with a report of every Flux object
    /// and the logs on `Some(Err(_))` or after `timeout`.
    pub(super) async fn wait<T, F, Fut>(&self, what: &str, timeout: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<Result<T, String>>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            match check().await {
                Some(Ok(v)) => return v,
                Some(Err(e)) => panic!("{what}: {e}\n{}", self.report().await),
                None => {}
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.report().await
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A Go `time.Duration` string ("1m2.5s", "850ms") as a Duration.
pub(super) fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text.trim();
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(split);
        let number: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        total += number
            * match unit {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 1e-3,
                "us" | "µs" => 1e-6,
                "ns" => 1e-9,
                _ => return None,
            };
        rest = tail;
    }
    Some(Duration::from_secs_f64(total))
}

/// When a LearningPath's Ready condition last changed, as text (empty without one).
pub(super) fn ready_time(lp: &LearningPath) -> String {
    condition(lp, "Ready")
        .map(|c| c.last_transition_time.0.to_string())
        .unwrap_or_default()
}

/// A unique, monotonic token for reconcile.fluxcd.io/requestedAt (any string works).
pub(super) fn chrono_like_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
