//! Prometheus for tests: the pinned server (hack/build-prometheus.sh) as a child process scraping
//! an exporter the test controls, served from this process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::commands::bin;
use crate::local::free_port;
use crate::operator::http_get;
use crate::wait::eventually;

/// A `/metrics` endpoint whose text the test sets; served until dropped.
pub struct Exporter {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    text: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    /// Serves `text` (Prometheus text format) on a loopback port.
    pub async fn start(text: &str) -> Exporter {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address").to_string();
        let text = Arc::new(Mutex::new(text.to_string()));
        let served = text.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = served.lock().unwrap_or_else(|e| e.into_inner()).clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request).await;
                    // Prometheus 3 refuses a scrape whose content type it does not know.
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Exporter { addr, text, task }
    }

    /// Serves `text` from the next scrape on.
    pub fn set(&self, text: &str) {
        *self.text.lock().unwrap_or_else(|e| e.into_inner()) = text.to_string();
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The pinned Prometheus, scraping targets every second, its data in a directory of its own;
/// killed (by pid) when dropped.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Option<Child>,
    /// Its configuration, data and log.
    pub dir: PathBuf,
}

impl Prometheus {
    /// Starts it in `dir`, scraping each of `targets` (`host:port`) every second, and waits
    /// until it is ready.
    pub async fn start(dir: &Path, targets: &[&str]) -> Prometheus {
        std::fs::create_dir_all(dir).expect("the Prometheus directory");
        let config = dir.join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: e2e\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .expect("prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("its log");
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--"])
            .arg(bin("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("prometheus starts");
        let addr = format!("127.0.0.1:{port}");
        let prometheus = Prometheus {
            url: format!("http://{addr}"),
            child: Some(child),
            dir: dir.to_path_buf(),
        };
        eventually("Prometheus ready", Duration::from_secs(60), || async {
            http_get(&addr, "/-/ready").await
        })
        .await;
        prometheus
    }

    /// Kills it now (by pid): its API stops answering.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}
