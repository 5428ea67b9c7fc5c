//! Headless Chromium driven over the Chrome DevTools Protocol, for the picture tests.
//!
//! Why this and not a CDP client crate or WebDriver: the checks need three things a page does
//! not report by itself, namely every network request the page starts (`Network.requestWillBeSent`),
//! every console message and uncaught exception (`Runtime.*`, `Log.entryAdded`), and the DOM and
//! SVG geometry as the browser laid it out (`Runtime.evaluate`). CDP gives all three directly;
//! WebDriver (chromium-driver) gives none of the first two without CDP pass-through, and
//! `--dump-dom`/`--screenshot` give neither. A full CDP client crate (chromiumoxide) compiles
//! the whole generated protocol, minutes of CI time on two cores for the eight methods used
//! here. So: Debian's Chromium with `--remote-debugging-port=0` on loopback, the `tungstenite`
//! WebSocket crate, and JSON messages.
//!
//! The browser runs in its own process group, which is killed by its id when the [`Browser`]
//! is dropped, on every exit path including a failed assertion.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// How long any one browser step may take before the test fails.
const STEP: Duration = Duration::from_secs(60);

/// A headless Chromium and the DevTools connection to it.
pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    /// Events not yet looked at, in arrival order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

/// One tab, attached with its own session.
pub struct Page {
    session: String,
    /// The page's URL, as loaded.
    pub url: String,
}

/// What a page did while it was open.
#[derive(Debug, Default)]
pub struct Activity {
    /// Every request the page started, by URL (the page's own document included).
    pub requests: Vec<String>,
    /// Requests the browser stopped before they left (URL, reason such as `csp`).
    pub blocked: Vec<(String, String)>,
    /// Console errors, uncaught exceptions and error log entries (CSP violations among them).
    pub errors: Vec<String>,
}

/// The Chromium binary, installed by hack/chromium.sh when missing (once per test process).
fn chromium() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(install_chromium).clone()
}

fn install_chromium() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hack/chromium.sh");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({}): Chromium is needed for this test",
        script.display(),
        out.status
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl Browser {
    /// Starts Chromium; panics (the test fails) when it cannot.
    pub fn launch() -> Browser {
        let binary = chromium();
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let mut command = Command::new(&binary);
        command
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--hide-scrollbars",
                "--mute-audio",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Its own process group: the renderer and GPU processes go with it when it is killed.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        // Drain stderr so that Chromium never blocks on a full pipe; keep it for a failure.
        let stderr = child.stderr.take().map(|s| {
            std::thread::spawn(move || {
                let mut lines = Vec::new();
                for line in BufReader::new(s).lines().map_while(Result::ok) {
                    lines.push(line);
                }
                lines.join("\n")
            })
        });
        let port_file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + STEP;
        let endpoint = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.to_string(), path.to_string());
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
                panic!("Chromium exited at start ({status}):\n{log}");
            }
            if Instant::now() > deadline {
                kill_group(&mut child);
                panic!("Chromium wrote no DevToolsActivePort within {STEP:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let address = format!("127.0.0.1:{}", endpoint.0);
        let stream = TcpStream::connect(&address).unwrap_or_else(|e| {
            kill_group(&mut child);
            panic!("cannot connect to Chromium's DevTools on {address}: {e}")
        });
        stream.set_read_timeout(Some(STEP)).expect("a read timeout");
        let url = format!("ws://{address}{}", endpoint.1);
        let ws = match tungstenite::client(url.as_str(), stream) {
            Ok((ws, _)) => ws,
            Err(e) => {
                kill_group(&mut child);
                panic!("DevTools handshake with {url} failed: {e}");
            }
        };
        Browser {
            child,
            ws,
            next_id: 0,
            events: Vec::new(),
            _profile: profile,
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    return serde_json::from_str(text.as_str()).expect("DevTools sends JSON");
                }
                Ok(_) => continue,
                Err(e) => panic!("reading from Chromium failed (or it took over {STEP:?}): {e}"),
            }
        }
    }

    /// Calls `method` (in `session`, or on the browser) and returns its result.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(message.to_string()))
            .unwrap_or_else(|e| panic!("sending {method} failed: {e}"));
        loop {
            let reply = self.read();
            if reply.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(error) = reply.get("error") {
                    panic!("{method} failed: {error}");
                }
                return reply["result"].clone();
            }
            self.events.push(reply);
        }
    }

    /// Waits for the event `method` of `session`.
    fn wait_for(&mut self, session: &str, method: &str) -> Value {
        let matches = |e: &Value| e["method"] == method && e["sessionId"].as_str() == Some(session);
        if let Some(i) = self.events.iter().position(matches) {
            return self.events.remove(i);
        }
        let deadline = Instant::now() + STEP;
        loop {
            let event = self.read();
            if matches(&event) {
                return event;
            }
            self.events.push(event);
            assert!(Instant::now() < deadline, "no {method} within {STEP:?}");
        }
    }

    /// Opens `path` in a new tab, `width` CSS pixels wide, and waits until it has loaded and its
    /// fonts are ready.
    pub fn open(&mut self, path: &Path, width: u32) -> Page {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"]
            .as_str()
            .expect("a target id")
            .to_string();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        let session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        let s = Some(session.as_str());
        for domain in ["Page", "Runtime", "Log", "Network"] {
            self.call(s, &format!("{domain}.enable"), json!({}));
        }
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        let url = format!(
            "file://{}",
            path.canonicalize().expect("the page exists").display()
        );
        let navigated = self.call(s, "Page.navigate", json!({"url": url}));
        assert!(
            navigated.get("errorText").is_none(),
            "cannot open {url}: {navigated}"
        );
        self.wait_for(&session, "Page.loadEventFired");
        self.eval(
            &Page {
                session: session.clone(),
                url: url.clone(),
            },
            "document.fonts.ready.then(() => true)",
        );
        Page { session, url }
    }

    /// The value of a JavaScript expression in the page (promises are awaited).
    pub fn eval(&mut self, page: &Page, expression: &str) -> Value {
        let result = self.call(
            Some(&page.session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("evaluating {expression:?} threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Every request, console error, exception and error log entry of `page` so far.
    pub fn activity(&mut self, page: &Page) -> Activity {
        // A round trip, so that every event sent before it has arrived.
        self.eval(page, "true");
        let mut activity = Activity::default();
        let mut urls: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
        for e in self
            .events
            .iter()
            .filter(|e| e["sessionId"].as_str() == Some(page.session.as_str()))
        {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or_default() {
                "Network.requestWillBeSent" => {
                    let url = p["request"]["url"].as_str().unwrap_or_default();
                    urls.insert(p["requestId"].as_str().unwrap_or_default(), url);
                    activity.requests.push(url.to_string());
                }
                "Network.loadingFailed" if p.get("blockedReason").is_some() => {
                    let id = p["requestId"].as_str().unwrap_or_default();
                    activity.blocked.push((
                        urls.get(id).copied().unwrap_or_default().to_string(),
                        p["blockedReason"].as_str().unwrap_or_default().to_string(),
                    ));
                }
                "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => {
                    activity.errors.push(format!("console: {}", p["args"]));
                }
                "Runtime.exceptionThrown" => {
                    activity
                        .errors
                        .push(format!("exception: {}", p["exceptionDetails"]));
                }
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    activity.errors.push(format!(
                        "log ({}): {}",
                        p["entry"]["source"], p["entry"]["text"]
                    ));
                }
                _ => {}
            }
        }
        activity
    }

    /// A PNG of the whole page, as tall as its content.
    pub fn screenshot(&mut self, page: &Page, width: u32, out: &Path) {
        let s = Some(page.session.as_str());
        let metrics = self.call(s, "Page.getLayoutMetrics", json!({}));
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .expect("a content height")
            .ceil();
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        let shot = self.call(
            s,
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = shot["data"].as_str().expect("PNG data");
        let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("PNG data is base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot directory");
        }
        std::fs::write(out, png).expect("write the screenshot");
    }
}

/// Kills the browser's whole process group by its id (the browser's pid), then reaps it.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Browser {
    /// The group is killed before the browser is reaped, so that its id cannot have been
    /// reused by then.
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}
