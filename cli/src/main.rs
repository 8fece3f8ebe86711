//! `cohort`: the Cohort command line.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod client;
mod commands;
mod demo;
mod error;
mod home;
mod member;
mod progress;
mod vectors;

/// Cohort: Messaging Layer Security (RFC 9420) client and tools.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Client home (identity, keys, group states); default $COHORT_HOME or ~/.cohort.
    #[arg(long, global = true, env = "COHORT_HOME")]
    home: Option<PathBuf>,
    /// Server URL, e.g. https://chat.example:8443, or several instances separated by commas
    /// (a request that cannot reach one goes to the next); remembered after `register`.
    #[arg(long, global = true, env = "COHORT_SERVER")]
    server: Option<String>,
    /// Trust only this CA (PEM) for the server's TLS certificate, instead of the system roots.
    #[arg(long, global = true, env = "COHORT_CA_FILE")]
    ca_file: Option<PathBuf>,
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
    #[command(flatten)]
    Client(commands::ClientCommand),
}

#[derive(Subcommand)]
enum VectorsAction {
    /// Check vector files (recognised by name); with no FILE, every IETF file.
    Check {
        /// Vector files to check.
        files: Vec<PathBuf>,
    },
    /// Count the cases of vector files per cipher suite from the JSON alone (no checking);
    /// with no FILE, every vendored IETF file. `check` must report the same totals.
    Count {
        /// Vector files to count.
        files: Vec<PathBuf>,
    },
    /// Generate vectors of KIND in the IETF format with fresh random inputs ("all": every
    /// kind, written into the --out folder, default the repository's `vectors/cohort`).
    Generate {
        /// What to generate: an IETF file stem (tree-math, crypto-basics, ...) or "all".
        kind: String,
        /// Output file (folder for "all"); standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Cipher suites, comma-separated (default: all seven).
        #[arg(long, value_delimiter = ',')]
        suites: Vec<u16>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.ca_file {
        if let Err(e) = client::tls::pin_ca_file(path) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    match cli.command {
        Command::Vectors {
            action: VectorsAction::Check { files },
        } => vectors::check(files),
        Command::Vectors {
            action: VectorsAction::Count { files },
        } => vectors::count(files),
        Command::Vectors {
            action: VectorsAction::Generate { kind, out, suites },
        } => vectors::generate(&kind, out, &suites),
        Command::Client(command) => commands::run(command, cli.home, cli.server),
    }
}
