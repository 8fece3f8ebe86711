//! `cohort`: the Cohort command line.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod vectors;

/// Cohort: Messaging Layer Security (RFC 9420) client and tools.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Conformance test vectors.
    Vectors {
        #[command(subcommand)]
        action: VectorsAction,
    },
}

#[derive(Subcommand)]
enum VectorsAction {
    /// Check vector files (recognised by name); with no FILE, every IETF file.
    Check {
        /// Vector files to check.
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Vectors {
            action: VectorsAction::Check { files },
        } => vectors::check(files),
    }
}
