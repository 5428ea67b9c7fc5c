//! The `learnpath` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use learnpath::cli::{self, PlanFormat};
use learnpath::controller::{self, Options};
use learnpath::telemetry::{self, LogFormat};

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// learnpath: personal, weighted, prerequisite-respecting roadmaps for every learner.
#[derive(Parser)]
#[command(name = "learnpath", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator.
    Run(RunArgs),
    /// Print every CRD as multi-document YAML (what crds/ holds).
    Crd {
        /// Write one file per CRD and a kustomization.yaml into this directory instead.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Print the roadmap a LearningPath's status holds (for example from `kubectl get lp X -o json`).
    Show {
        /// A LearningPath as YAML or JSON; `-` for standard input.
        #[arg(short = 'f', long = "file", default_value = "-")]
        file: PathBuf,
        /// The Track, to draw the capability radar with `-o svg|html` (the status has no
        /// per-dimension scores).
        #[arg(long)]
        track: Option<PathBuf>,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = PlanFormat::Table)]
        output: PlanFormat,
    },
    /// Audit the cluster: every LearningPath's status must equal `learnpath plan` of its current
    /// spec and Track. Prints each mismatch; exit code 1 when there is any.
    Check {
        /// Only LearningPaths of this namespace (default: every namespace).
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Write the cohort report: every learner of every Track (progress, conditions, frozen
    /// exercises), a module heat map, rule firing counts, and each learner's roadmap page.
    Report {
        /// Only LearningPaths of this namespace (default: every namespace).
        #[arg(long)]
        namespace: Option<String>,
        /// Only the learners of this Track.
        #[arg(long)]
        track: Option<String>,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = ReportFormat::Html)]
        output: ReportFormat,
        /// Where to write the pages: index.html, tracks/, learners/<namespace>/<name>.html.
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// GET a URL until it answers 2xx (the chart's `helm test` runs it in the operator's image).
    /// Exit code 1, with the last answer, when it never does.
    Probe {
        /// The URL, for example http://10.0.0.12:8080/readyz.
        url: String,
        /// Tries in all.
        #[arg(long, default_value_t = 10)]
        attempts: u32,
        /// Seconds between tries.
        #[arg(long, default_value_t = 3)]
        interval: u64,
        /// Seconds one try may take.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Plan offline: print the status the operator would write for a Track and a LearningPath.
    Plan {
        /// The Track YAML file.
        #[arg(long)]
        track: PathBuf,
        /// The LearningPath YAML file.
        #[arg(long)]
        path: PathBuf,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value_t = PlanFormat::Table)]
        output: PlanFormat,
        /// Plan as at this time (RFC 3339, for example 2026-12-03T09:00:00Z) instead of now: the
        /// time windows (struggles) are judged at it.
        #[arg(long)]
        now: Option<k8s_openapi::jiff::Timestamp>,
    },
}

/// Output formats of `learnpath report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    /// HTML pages, self-contained.
    Html,
}

/// `learnpath run`: the operator's options, and how it logs.
#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    operator: Options,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn run(args: RunArgs) -> ExitCode {
    telemetry::init(args.log_format);
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(controller::run(args.operator)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "operator stopped");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The async runtime, or `None` after saying on stderr why it could not start.
fn runtime(mut builder: tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    builder
        .enable_all()
        .build()
        .map_err(|e| eprintln!("error: cannot start the async runtime: {e}"))
        .ok()
}

/// Runs `command` with a client of the current kubeconfig on a single-threaded runtime; the
/// error says what failed in one line.
fn with_cluster<T, F>(command: impl FnOnce(kube::Client) -> F) -> Result<T, String>
where
    F: std::future::Future<Output = Result<T, String>>,
{
    let runtime = runtime(tokio::runtime::Builder::new_current_thread())
        .ok_or("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .map_err(|e| format!("cannot build a Kubernetes client: {e}"))?;
        command(client).await
    })
}

fn check(namespace: Option<String>) -> ExitCode {
    let result = with_cluster(|client| async move {
        cli::check::check_cluster(&client, namespace.as_deref())
            .await
            .map_err(|e| format!("cannot list: {e}"))
    });
    match result {
        Ok(report) => {
            for mismatch in &report.mismatches {
                println!("{mismatch}");
            }
            println!(
                "checked {} LearningPaths: {} mismatches",
                report.checked,
                report.mismatches.len()
            );
            if report.mismatches.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report(options: cli::picture::report::ReportOptions, out_dir: &std::path::Path) -> ExitCode {
    let result = with_cluster(|client| async move {
        cli::report::report_cluster(&client, &options, out_dir)
            .await
            .map_err(|e| e.to_string())
    });
    finish(result.map(|summary| {
        format!(
            "wrote {} pages ({} bytes) for {} learners to {}\n",
            summary.pages,
            summary.bytes,
            summary.learners,
            out_dir.join("index.html").display()
        )
    }))
}

fn probe(url: &str, options: cli::probe::ProbeOptions) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    finish(
        runtime
            .block_on(cli::probe::probe(url, options))
            .map_err(|e| e.to_string()),
    )
}

/// Prints a command's output, or its one-line error on stderr with exit code 1.
fn finish(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Run(run_args) => run(run_args),
        Command::Crd { out_dir: Some(dir) } => finish(
            learnpath::api::write_crd_dir(&dir)
                .map(|()| String::new())
                .map_err(|e| e.to_string()),
        ),
        Command::Crd { out_dir: None } => {
            finish(learnpath::api::crds_yaml().map_err(|e| e.to_string()))
        }
        Command::Check { namespace } => check(namespace),
        Command::Probe {
            url,
            attempts,
            interval,
            timeout,
        } => probe(
            &url,
            cli::probe::ProbeOptions {
                attempts,
                interval: std::time::Duration::from_secs(interval),
                timeout: std::time::Duration::from_secs(timeout),
            },
        ),
        Command::Report {
            namespace,
            track,
            output: ReportFormat::Html,
            out_dir,
        } => report(
            cli::picture::report::ReportOptions { namespace, track },
            &out_dir,
        ),
        Command::Show {
            file,
            track,
            output,
        } => finish(match output.picture() {
            Some(format) => cli::show_picture(&file, track.as_deref(), format),
            None => cli::show_file(&file).and_then(|s| cli::render(&s, output)),
        }),
        Command::Plan {
            track,
            path,
            output,
            now,
        } => {
            let now = now.map_or_else(controller::now, controller::to_the_second);
            finish(match output.picture() {
                Some(format) => {
                    cli::plan_picture(&track, &path, now, format).map_err(|e| e.to_string())
                }
                None => cli::plan_files(&track, &path, now)
                    .map_err(|e| e.to_string())
                    .and_then(|s| cli::render(&s, output)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Args;

    #[test]
    fn the_command_line_is_well_formed() {
        Args::command().debug_assert();
    }
}
