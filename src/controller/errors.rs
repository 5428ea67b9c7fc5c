//! Errors that stop the operator, and the one error every status writer shares: an installed CRD
//! older than this release (docs/controller.md §12).

use std::net::SocketAddr;

/// What to do about a missing or out-of-date CRD, in every error that finds one.
pub(super) const APPLY_CRDS: &str =
    "apply this release's CRDs (kubectl apply -k crds/, or learnpath crd | kubectl apply -f -)";

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No usable kubeconfig or in-cluster configuration.
    #[error("cannot build a Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    /// The CRDs are not installed, or not at the version this binary serves.
    #[error(
        "the {kind} CRD ({plural}.{group}, version {version}) is not installed or not served: {source}. To fix it, {APPLY_CRDS}"
    )]
    MissingCrd {
        /// Kind.
        kind: &'static str,
        /// Plural.
        plural: &'static str,
        /// Group.
        group: &'static str,
        /// Version.
        version: &'static str,
        /// What the API server said.
        #[source]
        source: kube::Error,
    },
    /// The metrics address could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Leader election failed.
    #[error("leader election failed: {0}")]
    Lease(#[from] kube_lease_manager::LeaseManagerError),
    /// Leadership was lost while reconciling: stop so that only the new leader writes.
    #[error("lost the leader lease; exiting so that only the new leader writes")]
    LostLease,
}

/// The installed CRD of a kind does not declare status fields this release writes: it is another
/// release's. Server-side apply then refuses the whole patch (with a 500), and retrying soon
/// cannot help until somebody applies the CRDs.
#[derive(Debug, thiserror::Error)]
#[error(
    "the installed {kind} CRD does not declare {fields}, which this release writes (status patch of {object} refused): {APPLY_CRDS}"
)]
pub struct CrdOutOfDate {
    /// The kind whose CRD is out of date.
    pub kind: String,
    /// The object whose status patch was refused (`namespace/name`, or the name).
    pub object: String,
    /// The undeclared field paths, comma-separated (`.status.estimatedWeeks`).
    pub fields: String,
}

impl CrdOutOfDate {
    /// Recognises the API server's refusal of a status patch for undeclared fields.
    pub fn from_refusal(kind: &str, object: &str, error: &kube::Error) -> Option<Self> {
        undeclared_fields(error).map(|fields| CrdOutOfDate {
            kind: kind.to_string(),
            object: object.to_string(),
            fields,
        })
    }
}

/// A status patch of a cluster-scoped object (a Track, a SignalSource) that failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusPatchError {
    /// The API server refused or failed the patch.
    #[error("status patch of {kind} {name} failed: {source}")]
    Patch {
        /// The object's kind.
        kind: String,
        /// The object.
        name: String,
        /// The API server's answer.
        #[source]
        source: kube::Error,
    },
    /// The installed CRD is another release's.
    #[error(transparent)]
    CrdOutOfDate(#[from] CrdOutOfDate),
}

/// Server-side applies `status` to the cluster-scoped object `name` of kind `K`, as the
/// operator's field manager.
pub(super) async fn apply_status<K>(
    client: &kube::Client,
    name: &str,
    status: &impl serde::Serialize,
) -> Result<(), StatusPatchError>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::ClusterResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    let kind = K::kind(&());
    kube::Api::<K>::all(client.clone())
        .patch_status(
            name,
            &kube::api::PatchParams::apply(super::write::FIELD_MANAGER).force(),
            &kube::api::Patch::Apply(&patch),
        )
        .await
        .map(|_| ())
        .map_err(
            |source| match CrdOutOfDate::from_refusal(&kind, name, &source) {
                Some(out_of_date) => StatusPatchError::CrdOutOfDate(out_of_date),
                None => StatusPatchError::Patch {
                    kind: kind.into_owned(),
                    name: name.to_string(),
                    source,
                },
            },
        )
}

/// The field paths a server-side apply was refused for because the schema does not declare
/// them, comma-separated, if that is why it was refused. The API server (structured-merge-diff)
/// says `failed to create typed patch object (...): .status.x: field not declared in schema`,
/// one path per undeclared field.
fn undeclared_fields(error: &kube::Error) -> Option<String> {
    const UNDECLARED: &str = ": field not declared in schema";
    let kube::Error::Api(status) = error else {
        return None;
    };
    let fields: std::collections::BTreeSet<&str> = status
        .message
        .match_indices(UNDECLARED)
        .filter_map(|(at, _)| status.message[..at].split_whitespace().next_back())
        .collect();
    (!fields.is_empty()).then(|| fields.into_iter().collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
pub(super) fn api_error(code: u16, message: &str) -> kube::Error {
    kube::Error::Api(Box::new(kube::core::Status {
        status: Some(kube::core::response::StatusSummary::Failure),
        code,
        message: message.to_string(),
        reason: "InternalError".to_string(),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_apply_names_the_fields_the_crd_does_not_declare() {
        // As kube-apiserver 1.37 words it (seen in tests/drift), and with two fields.
        let one = api_error(
            500,
            "failed to create typed patch object (/; learnpath.dev/v1alpha1, Kind=LearningPath): .status.estimatedWeeks: field not declared in schema",
        );
        assert_eq!(
            undeclared_fields(&one).as_deref(),
            Some(".status.estimatedWeeks")
        );
        let two = api_error(
            500,
            "failed to create typed patch object (/; learnpath.dev/v1alpha1, Kind=LearningPath): errors:\n  .status.summary: field not declared in schema\n  .status.estimatedWeeks: field not declared in schema",
        );
        assert_eq!(
            undeclared_fields(&two).as_deref(),
            Some(".status.estimatedWeeks, .status.summary")
        );
        assert_eq!(
            undeclared_fields(&api_error(500, "etcdserver: request timed out")),
            None
        );
        assert_eq!(
            undeclared_fields(&api_error(409, "the object has been modified")),
            None
        );
    }

    #[test]
    fn the_message_names_kind_object_fields_and_the_fix() {
        let refusal = api_error(
            500,
            "failed to create typed patch object (/; learnpath.dev/v1alpha1, Kind=Track): .status.exercises: field not declared in schema",
        );
        let e = CrdOutOfDate::from_refusal("Track", "go-engineer", &refusal).expect("recognised");
        let text = e.to_string();
        for part in [
            "installed Track CRD",
            ".status.exercises",
            "go-engineer",
            "kubectl apply -k crds/",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text:?}");
        }
    }
}
