//! The project's commands: `cargo xtask test`, `cargo xtask demo`, `cargo xtask dist`.
//!
//! Each command installs what it needs on a fresh Debian machine first (see `setup`).

#![allow(unreachable_pub, reason = "a binary's modules have no outside users")]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports to its terminal"
)]

mod bench;
mod demo;
mod dist;
mod faultserver;
mod fuzz;
mod imports;
mod loadgen;
mod package;
mod postgres;
mod process;
mod serve;
mod setup;
mod standalone;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  test            install what is missing, then run every check and test
  demo [--port N] [--data DIR]
                  build everything and serve the demo shop on http://127.0.0.1:N (8080),
                  keeping its database and keys in DIR (target/demo)
  dist            build the npm package into pkg/
  bench [--quick] measure the relay and write bench/RESULTS.md
  fuzz [--seconds N] [TARGET...]
                  run the fuzz targets (every one by default) for N seconds each (600)
  fault-server    run the relay stand-in the widget's delivery tests use, until stopped
";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match arguments.first().map(String::as_str) {
        Some("test") => test::run(&arguments[1..]),
        Some("demo") => demo::run(&arguments[1..]),
        Some("dist") => dist::run(&arguments[1..]),
        Some("bench") => bench::run(&arguments[1..]),
        Some("fuzz") => fuzz::run_command(&arguments[1..]),
        Some("fault-server") => faultserver::serve_forever(),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing command\n\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the folder above `xtask/`.
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.clone(), PathBuf::from)
}
