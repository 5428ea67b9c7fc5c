//! `learnpath probe`: GET a URL until it answers 2xx. The chart's `helm test` runs it in the
//! operator's own image against the metrics Service's cluster IP, so the test needs no other
//! image and no cluster DNS.

use std::time::Duration;

/// How a probe tries.
#[derive(Clone, Copy, Debug)]
pub struct ProbeOptions {
    /// Tries in all (at least one).
    pub attempts: u32,
    /// Pause between tries.
    pub interval: Duration,
    /// Time limit of one try.
    pub timeout: Duration,
}

/// Why a probe failed: the last try's answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not an http(s) URL.
    #[error("not an http(s) URL: {0}")]
    Url(String),
    /// No answer (refused, timed out, reset).
    #[error("GET {url}: no answer after {attempts} tries: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Tries made.
        attempts: u32,
        /// The last try's error.
        reason: String,
    },
    /// An answer that is not 2xx.
    #[error("GET {url}: {status} after {attempts} tries: {body}")]
    Status {
        /// The URL.
        url: String,
        /// Tries made.
        attempts: u32,
        /// The last status.
        status: u16,
        /// The start of the last body.
        body: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build an HTTP client: {0}")]
    Client(String),
}

/// GETs `url` up to `options.attempts` times; the first 2xx answer's status line and body.
pub async fn probe(url: &str, options: ProbeOptions) -> Result<String, ProbeError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ProbeError::Url(url.to_owned()));
    }
    // reqwest is built without a crypto provider of its own (even a plain http:// client needs
    // one); ring, as kube and the signal collectors use. Process-wide and idempotent.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .build()
        .map_err(|e| ProbeError::Client(e.to_string()))?;
    let attempts = options.attempts.max(1);
    let mut last = None;
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(options.interval).await;
        }
        last = Some(match client.get(url).send().await {
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                if status.is_success() {
                    return Ok(format!("{url}: {status} {}\n", body.trim()));
                }
                ProbeError::Status {
                    url: url.to_owned(),
                    attempts: attempt,
                    status: status.as_u16(),
                    body: body.chars().take(200).collect(),
                }
            }
            Err(e) => ProbeError::Unreachable {
                url: url.to_owned(),
                attempts: attempt,
                reason: error_chain(&e),
            },
        });
    }
    Err(last.unwrap_or_else(|| ProbeError::Url(url.to_owned())))
}

/// reqwest's Display stops at "error sending request": the causes say what happened.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const QUICK: ProbeOptions = ProbeOptions {
        attempts: 3,
        interval: Duration::from_millis(10),
        timeout: Duration::from_secs(5),
    };

    /// A loopback HTTP server whose n-th answer (from 0) is `answers[min(n, last)]`.
    async fn server(answers: &'static [&'static str]) -> (String, Arc<AtomicU32>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let served = Arc::new(AtomicU32::new(0));
        let count = served.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst) as usize;
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let status = answers[n.min(answers.len() - 1)];
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        (format!("http://{addr}/readyz"), served)
    }

    #[tokio::test]
    async fn a_probe_retries_until_the_server_is_ready() {
        let (url, served) = server(&["503 Service Unavailable", "200 OK"]).await;
        let answer = probe(&url, QUICK).await.expect("ready on the second try");
        assert!(answer.contains("200 OK"), "{answer}");
        assert_eq!(served.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_probe_that_never_sees_2xx_names_the_url_and_the_last_status() {
        let (url, served) = server(&["503 Service Unavailable"]).await;
        let error = probe(&url, QUICK).await.expect_err("never ready");
        assert!(
            matches!(
                error,
                ProbeError::Status {
                    status: 503,
                    attempts: 3,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains(&url), "{error}");
        assert_eq!(served.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_probe_of_a_closed_port_says_no_answer() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/readyz", listener.local_addr().expect("addr"));
        drop(listener);
        let error = probe(&url, QUICK).await.expect_err("nothing listens");
        assert!(
            matches!(error, ProbeError::Unreachable { attempts: 3, .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_probe_refuses_what_is_not_an_http_url() {
        let error = probe("metrics:8080", QUICK).await.expect_err("no scheme");
        assert!(matches!(error, ProbeError::Url(_)), "{error}");
    }
}
