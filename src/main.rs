//! The `learnpath` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use learnpath::cli::{self, PlanFormat};

/// learnpath: personal, weighted, prerequisite-respecting roadmaps for every learner.
#[derive(Parser)]
#[command(name = "learnpath", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every CRD as multi-document YAML (what crds/ holds).
    Crd,
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

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Crd => match learnpath::api::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Plan {
            track,
            path,
            output,
        } => {
            let now = learnpath::controller::now();
            match cli::plan_files(&track, &path, now)
                .map_err(|e| e.to_string())
                .and_then(|s| cli::render(&s, output))
            {
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
    }
}
