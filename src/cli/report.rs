//! `learnpath report`: the cohort report of the cluster's learners, written as HTML pages.
//!
//! A thin shell: the objects come from the same paginated lists as `learnpath check`, and
//! [`render_report`] makes the pages.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kube::Client;

use super::check::list_cluster;
use super::picture::report::{ReportOptions, ReportSummary, render_report};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Listing Tracks or LearningPaths failed.
    #[error("cannot list: {0}")]
    List(#[from] kube::Error),
    /// A page could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Lists the cluster's Tracks and LearningPaths and writes the report into `out_dir`.
///
/// # Errors
/// A failed list call or write.
pub async fn report_cluster(
    client: &Client,
    options: &ReportOptions,
    out_dir: &Path,
) -> Result<ReportSummary, ReportError> {
    let (tracks, paths) = list_cluster(client, options.namespace.as_deref()).await?;
    write_report(&tracks, &paths, options, out_dir)
}

/// Writes the report of these objects into `out_dir` (created when missing).
///
/// # Errors
/// A failed write.
pub fn write_report(
    tracks: &[crate::api::Track],
    paths: &[crate::api::LearningPath],
    options: &ReportOptions,
    out_dir: &Path,
) -> Result<ReportSummary, ReportError> {
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    render_report(tracks, paths, options, |relative, html| {
        let path = out_dir.join(relative);
        let failed = |source| ReportError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent()
            && !made.contains(dir)
        {
            std::fs::create_dir_all(dir).map_err(failed)?;
            made.insert(dir.to_path_buf());
        }
        std::fs::write(&path, html).map_err(failed)
    })
}
