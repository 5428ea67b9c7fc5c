//! Signals from Prometheus: one instant query per signal per round, never one per learner, each
//! result series mapped to a learner by a label (docs/signals.md §3).
//!
//! The HTTP exchange is [`query`]; reading its answer and mapping series to learners is pure
//! ([`parse_answer`], [`by_learner`]) and tested without a server.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// Why a query gave no values.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PromError {
    /// No answer in time.
    #[error("query {signal:?} timed out after {seconds}s")]
    Timeout {
        /// The signal whose query it was.
        signal: String,
        /// The timeout.
        seconds: u64,
    },
    /// The server could not be reached.
    #[error("cannot reach Prometheus at {url}: {reason}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// The transport's words.
        reason: String,
    },
    /// Prometheus answered with an error (bad PromQL, a failing server); its own words.
    #[error("query {signal:?} failed with HTTP {status}: {message}")]
    Refused {
        /// The signal whose query it was.
        signal: String,
        /// The HTTP status.
        status: u16,
        /// `errorType: error` from Prometheus's body, or the start of the body.
        message: String,
    },
    /// The endpoint's client cannot be built (for example, a CA certificate that is not PEM).
    #[error("cannot query Prometheus: {reason}")]
    Client {
        /// What is wrong.
        reason: String,
    },
    /// The answer is not what the query API returns.
    #[error("query {signal:?}: unexpected answer: {reason}")]
    Malformed {
        /// The signal whose query it was.
        signal: String,
        /// What was wrong.
        reason: String,
    },
    /// Two series name the same learner: the query must aggregate them first.
    #[error(
        "query {signal:?} returned two series for learner {learner:?}: {first} and {second}; aggregate by the learner label (for example `max by ({label}) (...)`)"
    )]
    Ambiguous {
        /// The signal whose query it was.
        signal: String,
        /// The learner label's value.
        learner: String,
        /// The learner label.
        label: String,
        /// One series, as `{label="value", ...}`.
        first: String,
        /// The other.
        second: String,
    },
}

/// One signal's values from one query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryValues {
    /// Value by learner key (the learner label's value, lowercased).
    pub values: BTreeMap<String, f64>,
    /// Learner keys whose value was NaN or infinite: left absent, and reported.
    pub not_finite: Vec<String>,
    /// Series without the learner label: ignored, and counted.
    pub unlabelled: usize,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<AnswerData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnswerData {
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct Sample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// One result series: its labels and its value.
pub type Series = (BTreeMap<String, String>, f64);

/// Reads a `/api/v1/query` answer: its series and their values, or Prometheus's own error.
///
/// # Errors
/// [`PromError::Refused`] for an error answer or HTTP status, [`PromError::Malformed`] for
/// anything the query API does not return.
pub fn parse_answer(signal: &str, status: u16, body: &[u8]) -> Result<Vec<Series>, PromError> {
    let malformed = |reason: String| PromError::Malformed {
        signal: signal.to_string(),
        reason,
    };
    let answer: Answer = match serde_json::from_slice(body) {
        Ok(answer) => answer,
        Err(_) if !(200..300).contains(&status) => {
            return Err(PromError::Refused {
                signal: signal.to_string(),
                status,
                message: first_line(body),
            });
        }
        Err(e) => return Err(malformed(format!("not JSON ({e})"))),
    };
    if answer.status != "success" || !(200..300).contains(&status) {
        let message = match (answer.error_type, answer.error) {
            (Some(kind), Some(error)) => format!("{kind}: {error}"),
            (None, Some(error)) => error,
            _ => first_line(body),
        };
        return Err(PromError::Refused {
            signal: signal.to_string(),
            status,
            message,
        });
    }
    let data = answer
        .data
        .ok_or_else(|| malformed("no data".to_string()))?;
    match data.result_type.as_str() {
        "vector" => {
            let samples: Vec<Sample> = serde_json::from_value(data.result)
                .map_err(|e| malformed(format!("vector result: {e}")))?;
            samples
                .into_iter()
                .map(|s| Ok((s.metric, parse_value(&s.value.1).map_err(&malformed)?)))
                .collect()
        }
        other => Err(malformed(format!(
            "result type {other}, but a signal needs an instant vector (one series per learner)"
        ))),
    }
}

/// Prometheus writes sample values as strings: `"23"`, `"NaN"`, `"+Inf"`, `"-Inf"`.
fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse::<f64>()
            .map_err(|_| format!("sample value {text:?} is not a number")),
    }
}

fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or_default().trim();
    line.chars().take(300).collect()
}

/// Maps series to learner keys by `label` (lowercased, so that emails match whatever their case).
///
/// # Errors
/// [`PromError::Ambiguous`] when two series carry the same learner.
pub fn by_learner(
    signal: &str,
    label: &str,
    series: Vec<Series>,
) -> Result<QueryValues, PromError> {
    let mut out = QueryValues::default();
    let mut seen: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (metric, value) in series {
        let Some(learner) = metric.get(label).map(|v| v.trim().to_lowercase()) else {
            out.unlabelled += 1;
            continue;
        };
        if let Some(first) = seen.get(&learner) {
            return Err(PromError::Ambiguous {
                signal: signal.to_string(),
                learner,
                label: label.to_string(),
                first: series_name(first),
                second: series_name(&metric),
            });
        }
        if value.is_finite() {
            out.values.insert(learner.clone(), value);
        } else {
            out.not_finite.push(learner.clone());
        }
        seen.insert(learner, metric);
    }
    Ok(out)
}

/// `name{a="1", b="2"}`, as Prometheus prints a series.
fn series_name(metric: &BTreeMap<String, String>) -> String {
    let name = metric.get("__name__").cloned().unwrap_or_default();
    let labels: Vec<String> = metric
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", labels.join(", "))
}

/// How to reach one Prometheus.
#[derive(Clone)]
pub struct Endpoint {
    /// The base URL, without a trailing slash.
    pub url: String,
    /// How long one query may take.
    pub timeout: Duration,
    /// How to authenticate, if at all.
    pub auth: Option<Auth>,
    /// PEM certificates of private CAs to trust besides the system's.
    pub ca_pem: Option<Vec<u8>>,
}

/// Credentials for Prometheus's HTTP API. Never logged, never in an error message.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP basic authentication.
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// The credentials a Secret's keys give: `token`, else `username` and `password`.
pub fn auth(token: Option<&str>, username: Option<&str>, password: Option<&str>) -> Option<Auth> {
    match (token, username, password) {
        (Some(token), _, _) if !token.is_empty() => Some(Auth::Bearer(token.to_string())),
        (_, Some(username), Some(password)) => Some(Auth::Basic {
            username: username.to_string(),
            password: password.to_string(),
        }),
        _ => None,
    }
}

/// An HTTP client for one endpoint (its CAs and timeout).
///
/// # Errors
/// [`PromError::Client`] when the CA certificates are not PEM or the client cannot be built.
pub fn client(endpoint: &Endpoint) -> Result<reqwest::Client, PromError> {
    // reqwest is built without a bundled crypto provider; ring is kube's too. Idempotent.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(endpoint.timeout)
        .connect_timeout(endpoint.timeout);
    if let Some(pem) = &endpoint.ca_pem {
        let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| PromError::Client {
            reason: format!("ca.crt is not usable PEM: {e}"),
        })?;
        builder = builder.tls_certs_merge(roots);
    }
    builder.build().map_err(|e| PromError::Client {
        reason: e.to_string(),
    })
}

/// Runs one instant query at `at` (`GET <url>/api/v1/query`) and reads its answer.
///
/// # Errors
/// [`PromError`]: a timeout, an unreachable server, an error answer with Prometheus's own
/// words, or an answer the API does not give.
pub async fn query(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    signal: &str,
    promql: &str,
    at: k8s_openapi::jiff::Timestamp,
) -> Result<Vec<Series>, PromError> {
    let time = at.as_second().to_string();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/query", endpoint.url),
        [("query", promql), ("time", time.as_str())],
    )
    .map_err(|e| PromError::Client {
        reason: format!("{}: {e}", endpoint.url),
    })?;
    let mut request = client.get(url);
    request = match &endpoint.auth {
        Some(Auth::Bearer(token)) => request.bearer_auth(token),
        Some(Auth::Basic { username, password }) => request.basic_auth(username, Some(password)),
        None => request,
    };
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            PromError::Timeout {
                signal: signal.to_string(),
                seconds: endpoint.timeout.as_secs(),
            }
        } else {
            PromError::Unreachable {
                url: endpoint.url.clone(),
                reason: innermost(&e),
            }
        }
    };
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(transport)?;
    parse_answer(signal, status, &body)
}

/// The innermost cause of a transport error (`Connection refused (os error 111)`).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(result: &str) -> Vec<u8> {
        format!(r#"{{"status":"success","data":{{"resultType":"vector","result":{result}}}}}"#)
            .into_bytes()
    }

    #[test]
    fn a_vector_maps_each_series_to_its_learner_case_insensitively() {
        let body = ok(
            r#"[{"metric":{"__name__":"ci_failure_rate","author":"Li.Wei@Example.com"},"value":[1767225600,"23"]},
                {"metric":{"__name__":"ci_failure_rate","author":"ada@example.com"},"value":[1767225600,"7.5"]}]"#,
        );
        let series = parse_answer("ciFailureRate", 200, &body).expect("parses");
        let got = by_learner("ciFailureRate", "author", series).expect("maps");
        assert_eq!(
            got.values,
            BTreeMap::from([
                ("ada@example.com".to_string(), 7.5),
                ("li.wei@example.com".to_string(), 23.0)
            ])
        );
        assert!(got.not_finite.is_empty());
    }

    #[test]
    fn nan_and_infinity_leave_the_signal_absent_and_are_reported() {
        let body = ok(
            r#"[{"metric":{"author":"a@x"},"value":[1,"NaN"]},{"metric":{"author":"b@x"},"value":[1,"+Inf"]},{"metric":{"author":"c@x"},"value":[1,"-Inf"]},{"metric":{"job":"ci"},"value":[1,"4"]}]"#,
        );
        let got = by_learner(
            "s",
            "author",
            parse_answer("s", 200, &body).expect("parses"),
        )
        .expect("maps");
        assert!(got.values.is_empty());
        assert_eq!(got.not_finite, ["a@x", "b@x", "c@x"]);
        assert_eq!(got.unlabelled, 1);
    }

    #[test]
    fn two_series_for_one_learner_are_an_error_naming_both() {
        let body = ok(
            r#"[{"metric":{"__name__":"ci","author":"a@x","job":"build"},"value":[1,"1"]},{"metric":{"__name__":"ci","author":"A@x","job":"test"},"value":[1,"2"]}]"#,
        );
        let err = by_learner(
            "ci",
            "author",
            parse_answer("ci", 200, &body).expect("parses"),
        )
        .expect_err("ambiguous");
        let text = err.to_string();
        assert!(
            text.contains(r#"ci{author="a@x", job="build"}"#)
                && text.contains(r#"ci{author="A@x", job="test"}"#),
            "{text}"
        );
    }

    #[test]
    fn prometheus_error_bodies_reach_the_message() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected <EOF>"}"#;
        assert_eq!(
            parse_answer("ci", 400, body),
            Err(PromError::Refused {
                signal: "ci".into(),
                status: 400,
                message: "bad_data: 1:5: parse error: unexpected <EOF>".into(),
            })
        );
        let proxy = b"502 Bad Gateway\n<html>...";
        assert!(matches!(
            parse_answer("ci", 502, proxy),
            Err(PromError::Refused { status: 502, ref message, .. }) if message == "502 Bad Gateway"
        ));
    }

    #[test]
    fn only_an_instant_vector_is_a_signal() {
        let body = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert!(matches!(
            parse_answer("ci", 200, body),
            Err(PromError::Malformed { .. })
        ));
        assert!(matches!(
            parse_answer("ci", 200, b"not json"),
            Err(PromError::Malformed { .. })
        ));
    }
}
