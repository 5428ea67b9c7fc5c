//! The `learnpath` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;

use learnpath::cli::{self, PlanFormat};
use learnpath::controller::{self, Options};
use learnpath::telemetry::{self, LogFormat};

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
    },
}

/// Output formats of `learnpath report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    /// HTML pages, self-contained.
    Html,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080", env = "LEARNPATH_METRICS_ADDR")]
    metrics_addr: SocketAddr,
    /// Hold a Lease before reconciling, for more than one replica.
    #[arg(long)]
    leader_elect: bool,
    /// Name of the leader Lease (one per release, when several share a namespace).
    #[arg(long, default_value = "learnpath-leader")]
    lease_name: String,
    /// Namespace of the leader Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// This replica's name in the Lease (defaults to the pod name, else host and process id).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Watch LearningPaths in this namespace only.
    #[arg(long)]
    namespace: Option<String>,
    /// Reconciles running at once.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Status writes of a Track fan-out in flight at once. About the number at which the API
    /// server reaches its best write rate: more only lengthen its queue, and a person's edit,
    /// which bypasses this limit, would wait in that queue.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u16).range(1..=1024))]
    fanout_writes: u16,
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "learnpath".to_string());
    format!("{host}-{}", std::process::id())
}

fn run(args: RunArgs) -> ExitCode {
    telemetry::init(args.log_format);
    let options = Options {
        metrics_addr: args.metrics_addr,
        leader_elect: args.leader_elect,
        lease_name: args.lease_name,
        lease_namespace: args.lease_namespace,
        identity: args.identity.unwrap_or_else(default_identity),
        namespace: args.namespace,
        concurrency: args.concurrency,
        fanout_writes: args.fanout_writes,
    };
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(controller::run(options)) {
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

fn check(namespace: Option<String>) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .map_err(|e| format!("cannot build a Kubernetes client: {e}"))?;
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
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .map_err(|e| format!("cannot build a Kubernetes client: {e}"))?;
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
        } => finish(match output.picture() {
            Some(format) => cli::plan_picture(&track, &path, controller::now(), format)
                .map_err(|e| e.to_string()),
            None => cli::plan_files(&track, &path, controller::now())
                .map_err(|e| e.to_string())
                .and_then(|s| cli::render(&s, output)),
        }),
    }
}
