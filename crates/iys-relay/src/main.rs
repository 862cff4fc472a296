//! The `iys-relay` command.

use std::process::ExitCode;

fn main() -> ExitCode {
    iys_relay::cli::main()
}
