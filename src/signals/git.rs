//! The fetch: bring one branch of a remote repository, over HTTP(S), into a local bare cache
//! repository, shallow (only recent history).
//!
//! Blocking; run it on a blocking thread (`tokio::task::spawn_blocking`). One cache directory
//! per Git source (e.g. named by a hash of URL and branch), and one fetch at a time per
//! directory: gix locks refs and the shallow file, and a concurrent fetch fails rather than
//! waits.
//!
//! The first fetch creates the bare repository and fetches the branch tip with history back to
//! `now - FetchOptions::history` (git's `deepen-since`); later fetches are incremental (only new
//! objects, the local tip offered as common history) and skip the pack entirely when the remote
//! tip has not moved. Objects once fetched are kept, so the cache grows with the history since
//! the first fetch; deleting the directory is always safe (the next fetch starts over).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::credentials::helper::Action;
use gix::protocol::fetch::Shallow;
use gix::remote::Direction;
use gix::remote::fetch::Tags;
use k8s_openapi::jiff::Timestamp;

use super::SignalsError;
use super::derive::{DAY_SECONDS, TIP_REF};
use super::error::detail;

/// A Git repository to read signals from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// `http://` or `https://` URL of the repository, without a username or password.
    pub url: String,
    /// The branch to read; `None` for the remote's default branch (its `HEAD`).
    pub branch: Option<String>,
    /// HTTP basic credentials, sent only when the server asks (HTTP 401).
    pub credentials: Option<Credentials>,
}

/// HTTP basic credentials. For GitHub and GitLab, a token as the password (any username).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password or access token. Never logged, never in an error message.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How far back and how long a fetch may go, and whom to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// History fetched before `now`: the longest signal window (7 days) plus a margin for
    /// commits whose committer clock was behind.
    pub history: Duration,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// Limit on each HTTP request, including the transfer of the pack.
    pub request_timeout: Duration,
    /// PEM certificates of certificate authorities to trust in addition to the system's, for a
    /// Git server with a certificate from a private CA.
    pub extra_ca_certificates_pem: Option<Vec<u8>>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            history: Duration::from_secs(8 * 24 * 3600),
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
            extra_ca_certificates_pem: None,
        }
    }
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The branch tip now at [`TIP_REF`] (hex).
    pub tip: String,
    /// True when the cache repository was created by this fetch.
    pub created: bool,
    /// True when a pack was received (false when the remote tip had not moved).
    pub received: bool,
}

/// Fetch `source` into the bare repository in `cache_dir` (created when missing or empty) and
/// point [`TIP_REF`] at the branch tip. `now` sets the shallow cutoff (`now - history`).
///
/// After the date-limited fetch, a commit of the last 24 hours whose parent was left out (the
/// branch was idle for longer than `history` before it) gets its parent fetched too, one commit
/// deeper, so that its dependency changes can be told.
pub fn fetch(
    source: &GitSource,
    cache_dir: &Path,
    now: Timestamp,
    options: FetchOptions,
) -> Result<Fetched, SignalsError> {
    let url = validate_url(&source.url)?;
    if source.credentials.is_some() && url.scheme != gix::url::Scheme::Https {
        return Err(SignalsError::InvalidUrl {
            reason: format!(
                "{}: credentials are only sent over https://",
                detail(&source.url, None)
            ),
        });
    }
    let refspec = refspec(source)?;
    let extra_roots = match &options.extra_ca_certificates_pem {
        None => Vec::new(),
        Some(pem) => reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            SignalsError::InvalidCaBundle {
                reason: detail(&innermost(&e).to_string(), None),
            }
        })?,
    };
    install_crypto_provider();
    let (repo, created) = open_or_init(cache_dir)?;
    let history = options.history;
    let session = Session {
        repo: &repo,
        url: &url,
        source,
        refspec: &refspec,
        options,
        extra_roots,
    };
    let local_tip = local_tip(&repo, cache_dir)?;
    let cutoff = now
        .as_second()
        .saturating_sub(i64::try_from(history.as_secs()).unwrap_or(i64::MAX));
    let since = Shallow::Since {
        cutoff: gix::date::Time::new(cutoff, 0),
    };
    let received = match session.round(since, local_tip) {
        // A branch tip older than the cutoff leaves git's `deepen-since` nothing to send, which
        // it reports as a failure: fall back to the tip alone (its window is empty anyway).
        Err(SignalsError::Fetch { .. }) => {
            session.round(Shallow::DepthAtRemote(std::num::NonZeroU32::MIN), local_tip)?
        }
        other => other?,
    };
    let tip = local_tip_required(&repo, cache_dir)?;
    // Only after a pack arrived: deepening again when nothing moved would extend every
    // shallow boundary by one more commit on every fetch.
    if received.is_some() && missing_recent_parent(&repo, tip, now.as_second() - DAY_SECONDS) {
        session.round(Shallow::Deepen(1), None)?;
    }
    Ok(Fetched {
        tip: tip.to_string(),
        created,
        received: received.is_some(),
    })
}

struct Session<'a> {
    repo: &'a gix::Repository,
    url: &'a gix::Url,
    source: &'a GitSource,
    refspec: &'a str,
    options: FetchOptions,
    extra_roots: Vec<reqwest::Certificate>,
}

impl Session<'_> {
    /// One connection: list refs, then receive a pack unless the remote tip equals `skip_if_at`.
    /// Returns the remote tip when a pack was requested.
    fn round(
        &self,
        shallow: Shallow,
        skip_if_at: Option<ObjectId>,
    ) -> Result<Option<ObjectId>, SignalsError> {
        let fail = |e: gix::Error| self.classify(&e);
        let remote = self
            .repo
            .remote_at(self.url.clone())
            .map_err(fail)?
            .with_refspecs(Some(self.refspec), Direction::Fetch)
            .map_err(fail)?
            .with_fetch_tags(Tags::None);
        let mut connection = remote.connect(Direction::Fetch).map_err(fail)?;
        let credentials = self.source.credentials.clone();
        connection.set_credentials(move |action| {
            Ok(match action {
                Action::Get(context) => {
                    credentials
                        .as_ref()
                        .map(|c| gix::credentials::protocol::Outcome {
                            identity: gix::sec::identity::Account {
                                username: c.username.clone(),
                                password: c.password.clone(),
                                oauth_refresh_token: None,
                            },
                            next: context.into(),
                        })
                }
                Action::Store(_) | Action::Erase(_) => None,
            })
        });
        connection.set_transport_options(self.transport_options()?);
        let prepared = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(fail)?;
        let remote_tip = prepared
            .ref_map()
            .mappings
            .iter()
            .find(|m| m.local.as_ref().is_some_and(|l| l == TIP_REF))
            .and_then(|m| m.remote.as_id().map(ToOwned::to_owned));
        let Some(remote_tip) = remote_tip else {
            return Err(match &self.source.branch {
                Some(branch) => SignalsError::UnknownBranch {
                    url: self.shown_url(),
                    branch: detail(branch, None),
                },
                None => SignalsError::NoDefaultBranch {
                    url: self.shown_url(),
                },
            });
        };
        if skip_if_at == Some(remote_tip) {
            return Ok(None);
        }
        prepared
            .with_shallow(shallow)
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .map_err(fail)?;
        Ok(Some(remote_tip))
    }

    /// HTTP options from the (isolated) repository configuration, plus our timeouts.
    fn transport_options(&self) -> Result<Box<dyn std::any::Any>, SignalsError> {
        use gix::protocol::transport::client::blocking_io::http;
        let url = self.url.to_bstring();
        let configured = self
            .repo
            .transport_options(url.as_bstr(), None)
            .map_err(|e| self.classify(&e))?;
        let mut options = configured
            .and_then(|o| o.downcast::<http::Options>().ok())
            .map(|o| *o)
            .unwrap_or_default();
        let (connect, request) = (self.options.connect_timeout, self.options.request_timeout);
        options.connect_timeout = Some(connect);
        let extra_roots = self.extra_roots.clone();
        let backend = http::reqwest::Options {
            configure_client: Some(Box::new(move |builder| {
                Ok(builder
                    .connect_timeout(connect)
                    .timeout(request)
                    .tls_certs_merge(extra_roots.clone()))
            })),
            configure_request: None,
        };
        options.backend = Some(Arc::new(Mutex::new(backend)));
        Ok(Box::new(options))
    }

    fn shown_url(&self) -> String {
        detail(&self.source.url, None)
    }

    /// The most specific [`SignalsError`] for a gix failure: walks every cause gix kept.
    fn classify(&self, error: &gix::Error) -> SignalsError {
        let url = self.shown_url();
        let secret = self
            .source
            .credentials
            .as_ref()
            .map(|c| c.password.as_str());
        for cause in error.iter_errors().flat_map(causes) {
            if let Some(e) = cause.downcast_ref::<reqwest::Error>() {
                if e.is_timeout() {
                    return self.timeout(url);
                }
                if let Some(status) = e.status() {
                    return by_status(url, status.as_u16());
                }
                if e.is_connect() {
                    return SignalsError::Unreachable {
                        url,
                        reason: detail(&innermost(cause).to_string(), secret),
                    };
                }
            }
            if cause
                .downcast_ref::<gix::protocol::transport::client::AuthenticationRequired>()
                .is_some()
            {
                return SignalsError::Unauthorized { url };
            }
            if let Some(e) = cause.downcast_ref::<std::io::Error>() {
                match e.kind() {
                    std::io::ErrorKind::TimedOut => return self.timeout(url),
                    std::io::ErrorKind::PermissionDenied => {
                        return SignalsError::Unauthorized { url };
                    }
                    _ => {}
                }
            }
        }
        if error.is_unauthenticated() {
            return SignalsError::Unauthorized { url };
        }
        SignalsError::Fetch {
            url,
            reason: detail(&error.probable_cause().to_string(), secret),
        }
    }

    fn timeout(&self, url: String) -> SignalsError {
        SignalsError::Timeout {
            url,
            seconds: self.options.request_timeout.as_secs(),
        }
    }
}

fn by_status(url: String, status: u16) -> SignalsError {
    match status {
        401 => SignalsError::Unauthorized { url },
        403 => SignalsError::Forbidden { url },
        404 => SignalsError::NotFound { url },
        status => SignalsError::HttpStatus { url, status },
    }
}

/// `error` and its chain of sources, looking inside `std::io::Error`s too.
fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static))
            .or_else(|| e.source())
    })
}

fn innermost<'a>(error: &'a (dyn std::error::Error + 'static)) -> &'a dyn std::error::Error {
    causes(error).last().unwrap_or(error)
}

/// The URL as gix's type, once it is known to be `http(s)://host/...` without userinfo.
fn validate_url(url: &str) -> Result<gix::Url, SignalsError> {
    let invalid = |reason: String| SignalsError::InvalidUrl { reason };
    let parsed = gix::url::parse(url.as_bytes().as_bstr())
        .map_err(|_| invalid("not a URL (want http:// or https://)".into()))?;
    if parsed.user().is_some() || parsed.password().is_some() {
        return Err(invalid(
            "it contains a username or password; put them in the Git source's credentials instead"
                .into(),
        ));
    }
    let shown = detail(url, None);
    if !matches!(
        parsed.scheme,
        gix::url::Scheme::Http | gix::url::Scheme::Https
    ) {
        return Err(invalid(format!(
            "{shown}: only http:// and https:// are supported"
        )));
    }
    if parsed.host().is_none_or(str::is_empty) {
        return Err(invalid(format!("{shown}: no host")));
    }
    Ok(parsed)
}

/// The fetch refspec: the branch (or the remote's HEAD) force-written to [`TIP_REF`].
fn refspec(source: &GitSource) -> Result<String, SignalsError> {
    let Some(branch) = &source.branch else {
        return Ok(format!("+HEAD:{TIP_REF}"));
    };
    let full = format!("refs/heads/{branch}");
    if branch.starts_with('-')
        || branch.contains(['*', ':', '^', '~', '?', '[', '\\'])
        || gix::refs::FullName::try_from(full.as_str()).is_err()
    {
        return Err(SignalsError::InvalidBranch {
            branch: detail(branch, None),
        });
    }
    Ok(format!("+{full}:{TIP_REF}"))
}

/// reqwest is built without a bundled crypto provider; use ring, which kube's TLS uses too.
/// Installing is process-wide and idempotent (a provider already installed stays).
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The bare cache repository, opened without the process's or the user's Git configuration (no
/// credential helpers, no proxies from `~/.gitconfig`), created when the directory is missing or
/// empty.
fn open_or_init(dir: &Path) -> Result<(gix::Repository, bool), SignalsError> {
    let cache = |reason: String| SignalsError::Cache {
        dir: detail(&dir.display().to_string(), None),
        reason: detail(&reason, None),
    };
    let empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(cache(format!("cannot read the directory: {e}"))),
    };
    if empty {
        let repo = gix::ThreadSafeRepository::init_opts(
            dir,
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            gix::open::Options::isolated(),
        )
        .map_err(|e| cache(format!("cannot create a bare repository: {e}")))?;
        return Ok((repo.to_thread_local(), true));
    }
    let repo = gix::open_opts(dir, gix::open::Options::isolated()).map_err(|e| {
        cache(format!(
            "not empty and not a Git repository ({e}); delete it to start over"
        ))
    })?;
    Ok((repo, false))
}

fn local_tip(repo: &gix::Repository, dir: &Path) -> Result<Option<ObjectId>, SignalsError> {
    let reference = repo
        .try_find_reference(TIP_REF)
        .map_err(|e| SignalsError::Cache {
            dir: detail(&dir.display().to_string(), None),
            reason: detail(&format!("cannot read {TIP_REF}: {e}"), None),
        })?;
    Ok(reference.and_then(|r| r.target().try_id().map(ToOwned::to_owned)))
}

fn local_tip_required(repo: &gix::Repository, dir: &Path) -> Result<ObjectId, SignalsError> {
    local_tip(repo, dir)?.ok_or_else(|| SignalsError::Cache {
        dir: detail(&dir.display().to_string(), None),
        reason: format!("the fetch wrote no {TIP_REF}"),
    })
}

/// Whether a non-merge commit newer than `since` has a first parent that is not in the
/// repository (the shallow boundary cut it off).
fn missing_recent_parent(repo: &gix::Repository, tip: ObjectId, since: i64) -> bool {
    let Ok(walk) = repo
        .rev_walk([tip])
        .sorting(gix::revision::walk::Sorting::ByCommitTimeCutoff {
            order: gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
            seconds: since,
        })
        .all()
    else {
        return false;
    };
    walk.take(super::Limits::default().max_commits)
        .filter_map(Result::ok)
        .filter(|info| info.commit_time() > since)
        .filter_map(|info| repo.find_commit(info.id).ok())
        .any(|commit| {
            let mut parents = commit.parent_ids();
            match (parents.next(), parents.next()) {
                (Some(first), None) => !repo.has_object(first),
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(url: &str, branch: Option<&str>) -> GitSource {
        GitSource {
            url: url.into(),
            branch: branch.map(Into::into),
            credentials: None,
        }
    }

    #[test]
    fn urls_must_be_http_without_userinfo() {
        assert!(validate_url("https://git.example.com/team/app.git").is_ok());
        assert!(validate_url("http://127.0.0.1:8080/app.git").is_ok());
        let err =
            validate_url("https://bob:hunter2@git.example.com/app.git").expect_err("userinfo");
        let text = err.to_string();
        assert!(text.contains("username or password"), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("bob"), "{text}");
        let err = validate_url("https://token@git.example.com/app.git").expect_err("user only");
        assert!(!err.to_string().contains("token@"), "{err}");
        for url in [
            "ssh://git@git.example.com/app.git",
            "git://git.example.com/app.git",
            "file:///srv/app.git",
            "/srv/app.git",
        ] {
            let err = validate_url(url).expect_err(url);
            assert!(
                matches!(err, SignalsError::InvalidUrl { .. }),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn refspec_targets_the_branch_or_head() {
        let url = "https://git.example.com/app.git";
        assert_eq!(
            refspec(&source(url, None)).expect("default"),
            "+HEAD:refs/learnpath/tip"
        );
        assert_eq!(
            refspec(&source(url, Some("release/2.0"))).expect("branch"),
            "+refs/heads/release/2.0:refs/learnpath/tip"
        );
        for bad in ["a b", "x:y", "feat/*", "..", "-"] {
            let err = refspec(&source(url, Some(bad))).expect_err(bad);
            assert!(matches!(err, SignalsError::InvalidBranch { .. }), "{bad}");
        }
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = Credentials {
            username: "bot".into(),
            password: "glpat-secret".into(),
        };
        let shown = format!("{c:?}");
        assert!(
            shown.contains("bot") && !shown.contains("glpat-secret"),
            "{shown}"
        );
    }
}
