//! GitOps with the real Flux controllers, end to end on the local control plane.
//!
//! Flux's source-controller, kustomize-controller and helm-controller are built from pinned Go
//! modules by `hack/build-flux.sh` (`make flux`) and run here as local processes against the test
//! cluster, with their CRDs from the same module versions. A Git repository with the layout of
//! `examples/flux` (the CRDs, the chart, the curriculum and the learners, renamed for this test)
//! is served over smart HTTP on loopback (`hack/flux/gitserver`, around `git http-backend`), and
//! the Flux objects are those of `examples/flux/clusters/local` with test-sized intervals. There is
//! no kubelet, so the HelmRelease installs the chart but its pod never runs: the operator runs as
//! a local process instead, started only after Flux has applied the learners.
//!
//! Nothing here skips: a Flux controller that is not built fails the test.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::api::{ListParams, Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Api, Client, ResourceExt};
use learnpath::api::{LearningPath, Track};
use serde_json::{Value, json};

use crate::support::*;

const CONTROLLERS: [&str; 3] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
];
/// The Kustomization whose health check waits for the LearningPaths.
const LEARNERS_KS: &str = "learnpath-learners";
/// The learner a bot sends signals for, and whose exercise a commit completes.
const BOT_LEARNER: &str = "iot-engineer";
/// The signal the bot owns: the Git copy of BOT_LEARNER leaves it out.
const BOT_SIGNAL: &str = "newDependenciesToday";
const BOT_MANAGER: &str = "signals-bot";
/// The Track rule BOT_SIGNAL >= 5 triggers.
const BOT_RULE: &str = "dependency-surge";
/// Health-check timeout of the learners Kustomization in this test (examples: 5m); 30s is the
/// least kustomize-controller uses.
const LEARNERS_TIMEOUT: &str = "30s";
/// How long the health check must run without passing before the operator starts: more than
/// kustomize-controller's 5s health poll interval.
const HEALTH_HOLD: Duration = Duration::from_secs(7);
const WAIT: Duration = Duration::from_secs(180);

// ------------------------------------------------------------------------------ processes

/// The cache directory of one Flux component for its pinned version (see hack/build-flux.sh).
fn flux_dir(name: &str) -> PathBuf {
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
        "Flux {name} is not built ({} is missing): run `make flux` (hack/build-flux.sh; \
         the first build takes about 40 minutes on 2 cores)",
        bin.display()
    );
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A process started by this test, killed (by pid) and reaped when dropped.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    health: Option<String>,
    // Held open for gitserver's -exit-on-stdin-eof.
    _stdin: Option<ChildStdin>,
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
fn start_controller(name: &str, ns: &str, work: &Path) -> Proc {
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
        .env("KUBECONFIG", &cluster().kubeconfig)
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
        _stdin: None,
    }
}

/// Serves the repositories under `root` over smart HTTP on a free loopback port.
fn start_git_server(root: &Path, work: &Path) -> (Proc, String) {
    let bin = flux_dir("gitserver").join("gitserver");
    let log = work.join("gitserver.log");
    let mut child = Command::new(&bin)
        .arg("-root")
        .arg(root)
        .args(["-listen", "127.0.0.1:0", "-exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(fs::File::create(&log).expect("log file")))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
    let stdin = child.stdin.take();
    let proc = Proc {
        name: "gitserver".into(),
        child,
        log: log.clone(),
        health: None,
        _stdin: stdin,
    };
    let Some(url) = line.trim().strip_prefix("LISTENING ") else {
        panic!(
            "the Git server did not start ({line:?}); see {}",
            log.display()
        )
    };
    (proc, url.to_string())
}

// ------------------------------------------------------------------------------- git + yaml

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "learnpath e2e")
        .env("GIT_AUTHOR_EMAIL", "e2e@learnpath.invalid")
        .env("GIT_COMMITTER_NAME", "learnpath e2e")
        .env("GIT_COMMITTER_EMAIL", "e2e@learnpath.invalid")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git is needed for the Flux test: {e}"));
    assert!(
        out.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        }
    }
}

fn yaml_value(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_yaml(path: &Path, value: &Value) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("parent dir");
    let text = serde_saphyr::to_string(value).expect("YAML serializes");
    fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The `resources:` of a kustomization.yaml.
fn kustomize_resources(dir: &Path) -> Vec<String> {
    yaml_value(&dir.join("kustomization.yaml"))["resources"]
        .as_array()
        .expect("kustomization.yaml lists resources")
        .iter()
        .map(|r| r.as_str().expect("a path").to_string())
        .collect()
}

/// The learners' file names (without .yaml) that examples/flux/learners applies.
fn flux_learners() -> Vec<String> {
    kustomize_resources(&repo().join("examples/flux/learners"))
        .iter()
        .filter_map(|r| {
            let file = Path::new(r).file_stem()?.to_str()?.to_string();
            (file != "namespace").then_some(file)
        })
        .collect()
}

/// Writes the test's Git repository: `crds/`, `charts/learnpath` and `examples/flux` as they
/// are, and the curriculum and learners under their example paths, renamed for this test.
fn write_repository(dir: &Path, ns: &str, track: &str) {
    copy_dir(&repo().join("crds"), &dir.join("crds"));
    copy_dir(
        &repo().join("charts/learnpath"),
        &dir.join("charts/learnpath"),
    );
    copy_dir(&repo().join("examples/flux"), &dir.join("examples/flux"));

    let mut t = yaml_value(&repo().join("examples/tracks/go-engineer.yaml"));
    t["metadata"]["name"] = json!(track);
    write_yaml(&dir.join("examples/tracks/go-engineer.yaml"), &t);

    for entry in fs::read_dir(repo().join("examples/learners")).expect("examples/learners") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let mut obj = yaml_value(&path);
        if obj["kind"] == "Namespace" {
            obj["metadata"]["name"] = json!(ns);
        } else {
            obj["metadata"]["namespace"] = json!(ns);
            obj["spec"]["trackRef"]["name"] = json!(track);
            if path.file_stem().and_then(|s| s.to_str()) == Some(BOT_LEARNER) {
                // Git owns the learner except this signal, which the bot sets.
                if let Some(signals) = obj["spec"]["signals"].as_object_mut() {
                    signals.remove(BOT_SIGNAL);
                }
            }
        }
        let name = path.file_name().expect("file name");
        write_yaml(&dir.join("examples/learners").join(name), &obj);
    }
}

// ------------------------------------------------------------------------------ Flux objects

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}
fn git_repositories() -> ApiResource {
    resource(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    )
}
fn helm_charts() -> ApiResource {
    resource("source.toolkit.fluxcd.io", "v1", "HelmChart", "helmcharts")
}
fn kustomizations() -> ApiResource {
    resource(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
    )
}
fn helm_releases() -> ApiResource {
    resource(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
    )
}

fn flux_condition<'a>(obj: &'a DynamicObject, type_: &str) -> Option<&'a Value> {
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn condition_is(obj: &DynamicObject, type_: &str, status: &str) -> bool {
    flux_condition(obj, type_).is_some_and(|c| c["status"] == status)
}

fn ready_summary(obj: &DynamicObject) -> String {
    match flux_condition(obj, "Ready") {
        Some(c) => format!(
            "Ready={} {}: {}",
            c["status"].as_str().unwrap_or("?"),
            c["reason"].as_str().unwrap_or("?"),
            c["message"].as_str().unwrap_or("")
        ),
        None => "no Ready condition".into(),
    }
}

/// The Flux objects of examples/flux/clusters/local, adjusted for this test: in `ns`, the Git
/// URL of the local server, short intervals, and a HelmRelease that does not wait for a pod
/// that no kubelet will ever run.
fn flux_objects(ns: &str, url: &str, release: &str) -> Vec<Value> {
    let dir = repo().join("examples/flux/clusters/local");
    let mut objects = Vec::new();
    for file in kustomize_resources(&dir) {
        let mut obj = yaml_value(&dir.join(&file));
        obj["metadata"]["namespace"] = json!(ns);
        let name = obj["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let spec = obj["spec"].as_object_mut().expect("a spec");
        match kind.as_str() {
            "GitRepository" => {
                spec.insert("url".into(), json!(url));
                spec.insert("interval".into(), json!("1s"));
            }
            "Kustomization" => {
                if let Some(source) = spec.get_mut("sourceRef").and_then(|s| s.as_object_mut()) {
                    source.remove("namespace");
                }
                spec.insert("interval".into(), json!("10m"));
                spec.insert("retryInterval".into(), json!("2s"));
                let timeout = if name == LEARNERS_KS {
                    LEARNERS_TIMEOUT
                } else {
                    "2m"
                };
                spec.insert("timeout".into(), json!(timeout));
                if spec["path"] == "./crds" {
                    // The policy the example documents, and essential on a shared cluster:
                    // never garbage-collect the CRDs.
                    assert_eq!(
                        spec["prune"], false,
                        "{file}: the CRDs Kustomization must not prune"
                    );
                }
                if spec["path"] == "./examples/flux/operator" {
                    spec.insert("targetNamespace".into(), json!(ns));
                    let patch = json!({
                        "apiVersion": "helm.toolkit.fluxcd.io/v2",
                        "kind": "HelmRelease",
                        "metadata": {"name": "learnpath"},
                        "spec": {
                            "releaseName": release,
                            "targetNamespace": ns,
                            "storageNamespace": ns,
                            "install": {"disableWait": true},
                            "upgrade": {"disableWait": true},
                        },
                    });
                    spec.insert(
                        "patches".into(),
                        json!([{
                            "target": {"kind": "HelmRelease", "name": "learnpath"},
                            "patch": serde_json::to_string(&patch).unwrap(),
                        }]),
                    );
                }
            }
            other => panic!("{file}: unexpected kind {other:?}"),
        }
        objects.push(obj);
    }
    objects
}

// ------------------------------------------------------------------------------ the harness

struct Flux {
    client: Client,
    ns: String,
    work: PathBuf,
    procs: Mutex<Vec<Proc>>,
    /// Logs of processes this harness does not own (the operator).
    logs: Mutex<Vec<(String, PathBuf)>>,
}

impl Flux {
    fn api(&self, ar: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.ns, ar)
    }

    async fn get(&self, ar: &ApiResource, name: &str) -> Option<DynamicObject> {
        self.api(ar).get_opt(name).await.ok().flatten()
    }

    /// Where everything stands, for a panic message.
    async fn report(&self) -> String {
        let mut out = String::new();
        let mut logs = Vec::new();
        for p in self.procs.lock().unwrap().iter_mut() {
            if let Some(exit) = p.exited() {
                out += &format!("{exit}\n");
            }
            logs.push((p.name.clone(), p.log.clone()));
        }
        logs.extend(self.logs.lock().unwrap().iter().cloned());
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
        out += &format!("Logs (all under {}):\n", self.work.display());
        for (name, log) in logs {
            out += &format!("  {name}: {}\n", log.display());
        }
        out
    }

    /// Polls `check` until it returns `Some(Ok(_))`; panics with a report of every Flux object
    /// and the logs on `Some(Err(_))` or after `timeout`.
    async fn wait<T, F, Fut>(&self, what: &str, timeout: Duration, mut check: F) -> T
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
fn go_duration(text: &str) -> Option<Duration> {
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

fn ready_time(lp: &LearningPath) -> String {
    condition(lp, "Ready")
        .map(|c| c.last_transition_time.0.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn flux_syncs_curriculum_and_learners_and_waits_for_their_roadmaps() {
    let started = Instant::now();
    let phase = |what: &str| eprintln!("flux e2e: +{:.1}s {what}", started.elapsed().as_secs_f64());
    let client = client().await;
    let ns = namespace(&client, "flux").await;
    let track = format!("go-engineer-{ns}");
    let release = format!("lp-{ns}");
    let work = cluster().dir.join(format!("flux-{ns}"));
    fs::create_dir_all(&work).expect("work dir");
    let learners = flux_learners();
    assert!(
        learners.iter().any(|l| l == BOT_LEARNER),
        "examples/flux/learners must apply {BOT_LEARNER}"
    );
    let paths: Api<LearningPath> = Api::namespaced(client.clone(), &ns);
    let tracks: Api<Track> = Api::all(client.clone());

    // 1. Flux's CRDs, from the same module versions as the binaries.
    for name in CONTROLLERS {
        let crds = flux_dir(name).join("crds").display().to_string();
        kubectl(
            cluster(),
            &["apply", "--server-side", "--force-conflicts", "-f", &crds],
        )
        .unwrap_or_else(|e| panic!("installing the {name} CRDs: {e}"));
        kubectl(
            cluster(),
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "-f",
                &crds,
            ],
        )
        .unwrap_or_else(|e| panic!("the {name} CRDs are not established: {e}"));
    }

    phase("control plane up, Flux CRDs installed");

    // 2. The Git repository, served on loopback.
    let root = work.join("git");
    let checkout = root.join("learnpath");
    fs::create_dir_all(&checkout).expect("repo dir");
    git(&checkout, &["init", "-q", "-b", "main"]);
    write_repository(&checkout, &ns, &track);
    let first = commit(&checkout, "curriculum and learners");
    let (git_server, base_url) = start_git_server(&root, &work);
    let url = format!("{base_url}/learnpath");

    // 3. The three controllers, watching this namespace.
    let mut procs = vec![git_server];
    for name in CONTROLLERS {
        procs.push(start_controller(name, &ns, &work));
    }
    let health: Vec<String> = procs.iter().filter_map(|p| p.health.clone()).collect();
    let flux = Flux {
        client: client.clone(),
        ns: ns.clone(),
        work: work.clone(),
        procs: Mutex::new(procs),
        logs: Mutex::new(Vec::new()),
    };
    flux.wait(
        "the Flux controllers' /readyz",
        Duration::from_secs(90),
        || {
            let health = health.clone();
            async move {
                for addr in &health {
                    http_get(addr, "/readyz").await?;
                }
                Some(Ok(()))
            }
        },
    )
    .await;

    phase("Flux controllers ready");

    // 4. GitRepository + the Kustomization chain crds -> operator -> curriculum -> learners.
    for obj in flux_objects(&ns, &url, &release) {
        let ar = match obj["kind"].as_str() {
            Some("GitRepository") => git_repositories(),
            _ => kustomizations(),
        };
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        flux.api(&ar)
            .patch(
                &name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await
            .unwrap_or_else(|e| panic!("applying {} {name}: {e}", ar.kind));
    }

    // 5. Flux applies the curriculum and the learners; nobody computes their roadmaps yet.
    let applied = flux
        .wait(
            "Flux to apply the curriculum and the learners",
            WAIT,
            || async {
                let lps = paths.list(&ListParams::default()).await.ok()?.items;
                (lps.len() == learners.len()).then_some(Ok(lps))
            },
        )
        .await;
    phase("Flux applied the CRDs, the HelmRelease, the curriculum and the learners");
    for name in [
        "learnpath-crds",
        "learnpath-operator",
        "learnpath-curriculum",
    ] {
        let ks = flux
            .get(&kustomizations(), name)
            .await
            .unwrap_or_else(|| panic!("Kustomization {name}"));
        assert!(
            condition_is(&ks, "Ready", "True"),
            "{name} is Ready before the learners are applied: {}",
            ready_summary(&ks)
        );
    }
    let t = tracks.get(&track).await.expect("Flux applied the Track");
    assert_eq!(
        t.labels()
            .get("kustomize.toolkit.fluxcd.io/name")
            .map(String::as_str),
        Some("learnpath-curriculum"),
        "the Track is applied by the curriculum Kustomization"
    );
    for lp in &applied {
        assert_eq!(
            lp.labels()
                .get("kustomize.toolkit.fluxcd.io/name")
                .map(String::as_str),
            Some(LEARNERS_KS),
            "{} is applied by Flux",
            lp.name_any()
        );
        // kstatus: a LearningPath the operator has not seen is not Current.
        let status = lp.status.as_ref();
        assert_eq!(
            status.and_then(|s| s.observed_generation),
            Some(-1),
            "{}: the CRD defaults status.observedGeneration to -1 ({:?})",
            lp.name_any(),
            lp.status
        );
        assert_ne!(
            status.and_then(|s| s.observed_generation),
            lp.metadata.generation
        );
        assert!(condition(lp, "Ready").is_none());
    }

    // The operator, as Flux delivered it: the HelmRelease is installed (its pod never runs).
    let hr = flux
        .get(&helm_releases(), "learnpath")
        .await
        .expect("the HelmRelease exists");
    assert!(
        condition_is(&hr, "Ready", "True") && condition_is(&hr, "Released", "True"),
        "the HelmRelease is Ready and Released: {:?}",
        hr.data["status"]["conditions"]
    );
    assert_eq!(
        hr.data["status"]["history"][0]["status"], "deployed",
        "the Helm release is deployed: {:?}",
        hr.data["status"]["history"]
    );
    let out = kubectl(
        cluster(),
        &[
            "get",
            "deployment",
            "-n",
            &ns,
            "-l",
            &format!("app.kubernetes.io/instance={release}"),
            "-o",
            "name",
        ],
    )
    .expect("list deployments");
    assert!(
        !out.trim().is_empty(),
        "the release created the operator's Deployment in {ns}"
    );

    // 6. Flux's health check does not pass while the roadmaps are not computed. Flux polls
    //    health every 5s (the first poll at once) and gives up only after its 30s minimum
    //    timeout; instead of waiting for that, watch the health check run for longer than a
    //    poll interval without passing, then start the operator while it still runs (step 7
    //    proves the check that finally passed is that same one).
    let checking = format!("Running health checks for revision main@sha1:{first}");
    flux.wait(
        "the learners Kustomization to run its health checks",
        WAIT,
        || async {
            let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
            let healthy = flux_condition(&ks, "Healthy")?;
            (healthy["status"] == "Unknown"
                && healthy["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(&checking)))
            .then_some(Ok(()))
        },
    )
    .await;
    let hold_until = Instant::now() + HEALTH_HOLD;
    while Instant::now() < hold_until {
        let ks = flux
            .get(&kustomizations(), LEARNERS_KS)
            .await
            .expect("the learners Kustomization");
        if condition_is(&ks, "Ready", "True") || condition_is(&ks, "Healthy", "True") {
            panic!(
                "Flux called the learners healthy before the operator ran: {}\n{}",
                ready_summary(&ks),
                flux.report().await
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for lp in paths.list(&ListParams::default()).await.unwrap().items {
        assert!(
            !is_ready(&lp),
            "{} Ready without an operator",
            lp.name_any()
        );
        assert_eq!(
            lp.status.as_ref().and_then(|s| s.observed_generation),
            Some(-1),
            "{}: nothing wrote its status",
            lp.name_any()
        );
    }
    phase(&format!(
        "health check ran {HEALTH_HOLD:?} without passing; starting the operator"
    ));

    // 7. The operator makes the learners Ready; only then is the Kustomization Ready.
    let operator_started = Instant::now();
    let operator = Operator::start(&cluster().kubeconfig, &ns, &[]);
    flux.logs
        .lock()
        .unwrap()
        .push(("learnpath operator".into(), operator.log.clone()));
    let (ks, lps) = flux
        .wait(
            "the learners Kustomization to become Ready after the operator started",
            WAIT,
            || async {
                let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
                let revision = ks.data["status"]["lastAppliedRevision"].as_str()?;
                if !(condition_is(&ks, "Ready", "True") && revision.ends_with(&first)) {
                    return None;
                }
                // Read right after observing Ready: every learner must already be Ready.
                let lps = paths.list(&ListParams::default()).await.ok()?.items;
                match lps.iter().find(|lp| !is_ready(lp)) {
                    Some(lp) => Some(Err(format!(
                        "the Kustomization is Ready but {} is not: {:?}",
                        lp.name_any(),
                        lp.status
                    ))),
                    None => Some(Ok((ks, lps))),
                }
            },
        )
        .await;
    assert_eq!(lps.len(), learners.len());
    let seen_ready = operator_started.elapsed();
    // "Health check passed in 12.3s": that check started before the operator did, i.e. it
    // ran through the operator-less period above without passing.
    let healthy = flux_condition(&ks, "Healthy").expect("a Healthy condition")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let passed_in = healthy
        .strip_prefix("Health check passed in ")
        .and_then(go_duration)
        .unwrap_or_else(|| panic!("unexpected Healthy message {healthy:?}"));
    assert!(
        passed_in > seen_ready,
        "the health check that passed ({healthy}) started after the operator ({seen_ready:?} ago)"
    );
    phase(&format!(
        "learners Ready {seen_ready:?} after the operator started ({healthy})"
    ));
    let ks_ready = flux_condition(&ks, "Ready").unwrap()["lastTransitionTime"]
        .as_str()
        .unwrap()
        .to_string();
    let last_lp_ready = lps.iter().map(ready_time).max().unwrap();
    assert!(
        ks_ready >= last_lp_ready,
        "the Kustomization turned Ready ({ks_ready}) before the last LearningPath ({last_lp_ready})"
    );

    // 8. A bot owns spec.signals.<BOT_SIGNAL> by server-side apply; the roadmap follows.
    let bot = json!({
        "apiVersion": "learnpath.dev/v1alpha1",
        "kind": "LearningPath",
        "metadata": {"name": BOT_LEARNER, "namespace": ns},
        "spec": {"signals": {BOT_SIGNAL: 7}},
    });
    paths
        .patch(
            BOT_LEARNER,
            &PatchParams::apply(BOT_MANAGER),
            &Patch::Apply(&bot),
        )
        .await
        .expect("the bot's apply does not conflict with Flux (Git leaves the signal out)");
    let before = flux
        .wait("the operator to apply the bot's signal", WAIT, || async {
            let lp = paths.get(BOT_LEARNER).await.ok()?;
            let fired = lp
                .status
                .as_ref()?
                .triggered_rules
                .iter()
                .any(|r| r.rule == BOT_RULE);
            (is_ready(&lp) && fired).then_some(Ok(lp))
        })
        .await;

    // 9. A commit completes the learner's next exercise; Flux syncs it, the status follows, and
    //    the bot's signal survives Flux's apply.
    let exercise = before.status.as_ref().unwrap().next_exercises[0]
        .exercise
        .clone();
    let file = checkout.join(format!("examples/learners/{BOT_LEARNER}.yaml"));
    let mut obj = yaml_value(&file);
    obj["spec"]["completedExercises"]
        .as_array_mut()
        .expect("completedExercises is a list")
        .push(json!(exercise));
    write_yaml(&file, &obj);
    let second = commit(&checkout, &format!("{BOT_LEARNER} completed {exercise}"));
    let synced_at = Instant::now();
    flux.wait(
        "Flux to apply the new commit and turn Ready again",
        WAIT,
        || async {
            let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
            let revision = ks.data["status"]["lastAppliedRevision"].as_str()?;
            (condition_is(&ks, "Ready", "True") && revision.ends_with(&second)).then_some(Ok(()))
        },
    )
    .await;
    let sync_time = synced_at.elapsed();
    phase(&format!(
        "commit {second} synced and Ready in {sync_time:?}"
    ));
    let after = paths.get(BOT_LEARNER).await.expect("the learner");
    let check_after = |lp: &LearningPath, when: &str| {
        assert!(
            lp.spec.completed_exercises.contains(&exercise),
            "{when}: the commit is synced: {:?}",
            lp.spec.completed_exercises
        );
        assert_eq!(
            lp.spec.signals.get(BOT_SIGNAL),
            Some(&7.0),
            "{when}: the bot's signal survives Flux's apply: {:?}",
            lp.spec.signals
        );
        assert!(
            lp.spec.signals.contains_key("commitsPerWeek"),
            "{when}: Git's signals stay: {:?}",
            lp.spec.signals
        );
        assert!(
            is_ready(lp),
            "{when}: Ready at the new generation: {:?}",
            lp.status
        );
        let status = lp.status.as_ref().unwrap();
        assert!(
            !status.next_exercises.iter().any(|e| e.exercise == exercise),
            "{when}: the completed exercise left nextExercises: {:?}",
            status.next_exercises
        );
        assert!(
            status.triggered_rules.iter().any(|r| r.rule == BOT_RULE),
            "{when}: the bot's rule still fires: {:?}",
            status.triggered_rules
        );
        let managers: BTreeMap<String, String> = lp
            .managed_fields()
            .iter()
            .map(|m| {
                (
                    m.manager.clone().unwrap_or_default(),
                    serde_json::to_string(&m.fields_v1).unwrap(),
                )
            })
            .collect();
        let bot_fields = managers.get(BOT_MANAGER).map(String::as_str);
        assert!(
            bot_fields.is_some_and(|f| f.contains(&format!("f:{BOT_SIGNAL}"))),
            "{when}: {BOT_MANAGER} still owns spec.signals.{BOT_SIGNAL}: {managers:?}"
        );
        assert!(
            managers
                .get("kustomize-controller")
                .is_some_and(|f| f.contains("f:completedExercises")),
            "{when}: Flux owns the rest of the spec: {managers:?}"
        );
    };
    assert!(after.metadata.generation > before.metadata.generation);
    check_after(&after, "after the commit");
    // 10. And Flux's next reconcile with nothing new in Git leaves it alone as well.
    let requested = format!("{}", chrono_like_now());
    flux.api(&kustomizations())
        .patch(
            LEARNERS_KS,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": requested
            }}})),
        )
        .await
        .expect("annotate the Kustomization");
    flux.wait("Flux to handle the requested reconcile", WAIT, || async {
        let ks = flux.get(&kustomizations(), LEARNERS_KS).await?;
        (ks.data["status"]["lastHandledReconcileAt"] == requested.as_str()
            && condition_is(&ks, "Ready", "True"))
        .then_some(Ok(()))
    })
    .await;
    let again = paths.get(BOT_LEARNER).await.expect("the learner");
    check_after(&again, "after a forced reconcile");
    assert_eq!(
        again.metadata.generation, after.metadata.generation,
        "nothing changed"
    );

    phase(&format!("passed; logs in {}", work.display()));
    drop(operator);
    drop(flux);
    cleanup(&client, &ns, &track).await;
}

/// A unique, monotonic token for reconcile.fluxcd.io/requestedAt (any string works).
fn chrono_like_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
