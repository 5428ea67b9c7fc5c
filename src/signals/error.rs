//! What can go wrong while collecting signals, in words a platform engineer can act on.
//!
//! Every message is one line of at most [`MAX_MESSAGE_CHARS`] characters (it ends up in a
//! Kubernetes condition message) and never contains credentials: URLs with a username or password
//! are rejected before any request, and any text that came from the network or from gix is
//! scrubbed of the password before it is kept.

/// Upper bound on the length of an error message.
pub const MAX_MESSAGE_CHARS: usize = 480;

/// Upper bound on the length of one embedded detail (a reason from gix, a parser message).
const MAX_DETAIL_CHARS: usize = 180;

/// Why a collection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalsError {
    /// The Git source's URL cannot be used.
    #[error("Git source URL is not usable: {reason}")]
    InvalidUrl {
        /// What is wrong with it (the URL itself is not repeated when it carries userinfo).
        reason: String,
    },
    /// The extra certificate authorities are not PEM certificates.
    #[error("the extra CA certificates are not usable PEM: {reason}")]
    InvalidCaBundle {
        /// What is wrong with them.
        reason: String,
    },
    /// The server could not be reached (DNS, connection refused, TLS handshake or certificate).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The repository URL.
        url: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        reason: String,
    },
    /// HTTP 401: no credentials, or the server rejected them.
    #[error(
        "{url}: authentication failed (HTTP 401); check the Git source's username and password or token"
    )]
    Unauthorized {
        /// The repository URL.
        url: String,
    },
    /// HTTP 403: the credentials are valid but may not read the repository.
    #[error("{url}: access denied (HTTP 403); the credentials may not read this repository")]
    Forbidden {
        /// The repository URL.
        url: String,
    },
    /// HTTP 404: there is no repository at the URL.
    #[error("{url}: no such repository (HTTP 404); check the URL")]
    NotFound {
        /// The repository URL.
        url: String,
    },
    /// Any other unsuccessful HTTP status.
    #[error("{url}: the server answered HTTP {status}")]
    HttpStatus {
        /// The repository URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The requested branch does not exist on the remote.
    #[error("{url}: the remote has no branch {branch:?}")]
    UnknownBranch {
        /// The repository URL.
        url: String,
        /// The branch that was asked for.
        branch: String,
    },
    /// The branch name is not a valid Git branch name.
    #[error("{branch:?} is not a valid Git branch name")]
    InvalidBranch {
        /// The branch that was asked for.
        branch: String,
    },
    /// No branch was given and the remote's HEAD points to no commit (an empty repository).
    #[error("{url}: the remote's HEAD points to no commit (an empty repository?); name a branch")]
    NoDefaultBranch {
        /// The repository URL.
        url: String,
    },
    /// The transfer took longer than allowed.
    #[error(
        "{url}: timed out after {seconds} s (connect or transfer); is the server slow or the repository huge?"
    )]
    Timeout {
        /// The repository URL.
        url: String,
        /// The limit that was exceeded.
        seconds: u64,
    },
    /// Any other failure while fetching.
    #[error("{url}: fetch failed: {reason}")]
    Fetch {
        /// The repository URL.
        url: String,
        /// gix's description of the problem.
        reason: String,
    },
    /// A dependency manifest in a counted commit does not parse.
    #[error("{path} at commit {commit} does not parse: {problem}")]
    Manifest {
        /// The commit holding the manifest (full hex id).
        commit: String,
        /// The manifest's path inside the repository.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The local cache repository cannot be created, opened or read.
    #[error("local Git cache {dir}: {reason}")]
    Cache {
        /// The cache directory.
        dir: String,
        /// What went wrong.
        reason: String,
    },
}

/// `text` as one line of at most [`MAX_DETAIL_CHARS`] characters, with `secret` (if any) removed.
pub(crate) fn detail(text: &str, secret: Option<&str>) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        line = line.replace(secret, "***");
    }
    if line.chars().count() > MAX_DETAIL_CHARS {
        line = line.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "...";
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_one_short_line_without_the_secret() {
        let text = format!("first line\n  second {}\tline s3cret", "x".repeat(400));
        let out = detail(&text, Some("s3cret"));
        assert!(!out.contains('\n') && !out.contains('\t'));
        assert!(!out.contains("s3cret"));
        assert!(out.chars().count() <= MAX_DETAIL_CHARS + 3);
        assert!(out.starts_with("first line second xxx"));
    }

    #[test]
    fn every_message_fits_a_condition_even_with_the_longest_details() {
        // Every embedded text goes through `detail`, so this is the worst case.
        let long = || detail(&"y".repeat(1000), None);
        let errors = [
            SignalsError::InvalidUrl { reason: long() },
            SignalsError::InvalidCaBundle { reason: long() },
            SignalsError::Unreachable {
                url: long(),
                reason: long(),
            },
            SignalsError::Unauthorized { url: long() },
            SignalsError::Forbidden { url: long() },
            SignalsError::NotFound { url: long() },
            SignalsError::HttpStatus {
                url: long(),
                status: 502,
            },
            SignalsError::UnknownBranch {
                url: long(),
                branch: long(),
            },
            SignalsError::InvalidBranch { branch: long() },
            SignalsError::NoDefaultBranch { url: long() },
            SignalsError::Timeout {
                url: long(),
                seconds: u64::MAX,
            },
            SignalsError::Fetch {
                url: long(),
                reason: long(),
            },
            SignalsError::Manifest {
                commit: "f".repeat(64),
                path: long(),
                problem: long(),
            },
            SignalsError::Cache {
                dir: long(),
                reason: long(),
            },
        ];
        for e in errors {
            let m = e.to_string();
            assert!(
                m.chars().count() <= MAX_MESSAGE_CHARS,
                "{} chars: {m}",
                m.len()
            );
            assert!(!m.contains('\n'));
        }
    }
}
