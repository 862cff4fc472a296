//! The fuzz targets of `fuzz/`, run with cargo-fuzz on the nightly toolchain: a short smoke of
//! each in `cargo xtask test`, and `cargo xtask fuzz` for the long runs.
//!
//! Each target starts from its committed seeds in `fuzz/seeds/<target>` and writes what it finds
//! to a scratch corpus under `fuzz/corpus/<target>`, so the seeds never change. A crash leaves
//! its input under `fuzz/artifacts/<target>/` and fails the target.

use std::process::Command;

use crate::process::{self, Counts, output, run};
use crate::root;

/// The toolchain `fuzz/rust-toolchain.toml` names: cargo-fuzz needs nightly's instrumentation.
const TOOLCHAIN: &str = "nightly";

/// How the targets are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanitizer {
    /// AddressSanitizer, cargo-fuzz's default: for the long runs.
    Address,
    /// No sanitizer: a build about a third faster, for the smoke. The targets are safe Rust,
    /// whose panics and overflow checks need no sanitizer.
    None,
}

impl Sanitizer {
    fn flag(self) -> &'static str {
        match self {
            Sanitizer::Address => "address",
            Sanitizer::None => "none",
        }
    }
}

/// `cargo +nightly …` in `fuzz/`, free of the stable toolchain the xtask runs under.
fn nightly_cargo(arguments: &[&str]) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg(format!("+{TOOLCHAIN}"))
        .args(arguments)
        .current_dir(root().join("fuzz"));
    for inherited in [
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTFLAGS",
        // Cargo prefers it to the `RUSTFLAGS` cargo-fuzz sets, which would drop the
        // instrumentation.
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        command.env_remove(inherited);
    }
    command
}

/// `cargo +nightly fuzz …` in `fuzz/`.
fn cargo_fuzz(arguments: &[&str]) -> Command {
    let mut command = nightly_cargo(&["fuzz"]);
    command.args(arguments);
    command
}

/// Installs the nightly toolchain and cargo-fuzz when they are missing.
pub fn ensure() -> Result<(), String> {
    let has_nightly = Command::new("rustup")
        .args(["run", TOOLCHAIN, "rustc", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_nightly {
        run(Command::new("rustup").args([
            "toolchain",
            "install",
            TOOLCHAIN,
            "--profile",
            "minimal",
        ]))?;
    }
    let has_cargo_fuzz = cargo_fuzz(&["--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_cargo_fuzz {
        eprintln!("xtask: installing cargo-fuzz; this takes a minute or two once");
        // No `--locked`: a locked dependency may be newer than the registry here.
        run(Command::new("cargo").args(["install", "cargo-fuzz"]))?;
    }
    Ok(())
}

/// The targets `fuzz/Cargo.toml` declares.
pub fn targets() -> Result<Vec<String>, String> {
    let listed = output(&mut cargo_fuzz(&["list"]))?;
    let targets: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        return Err("cargo fuzz list named no target".to_owned());
    }
    Ok(targets)
}

/// Builds every target, then runs each of `chosen` (every target when empty) for `seconds`.
/// Each target counts as one test: passed when it ran its time without a crash.
pub fn run_targets(
    chosen: &[String],
    seconds: u32,
    sanitizer: Sanitizer,
) -> Result<(bool, Counts), String> {
    ensure()?;
    let all = targets()?;
    if let Some(unknown) = chosen.iter().find(|target| !all.contains(target)) {
        return Err(format!(
            "no fuzz target `{unknown}`; the targets are {}",
            all.join(", ")
        ));
    }
    let targets = if chosen.is_empty() {
        all
    } else {
        chosen.to_vec()
    };
    // cargo-fuzz has no `--locked`: a lockfile that no longer fits is an error here rather than
    // a file the build rewrites.
    output(&mut nightly_cargo(&[
        "metadata",
        "--locked",
        "--format-version",
        "1",
    ]))
    .map_err(|error| {
        format!(
            "fuzz/Cargo.lock does not fit fuzz/Cargo.toml (run `cargo update` in fuzz/): {error}"
        )
    })?;
    run(&mut cargo_fuzz(&["build", "--sanitizer", sanitizer.flag()]))?;
    let mut counts = Counts::default();
    for target in &targets {
        let corpus = format!("corpus/{target}");
        let seeds = format!("seeds/{target}");
        std::fs::create_dir_all(root().join("fuzz").join(&corpus))
            .map_err(|error| format!("creating fuzz/{corpus}: {error}"))?;
        let time = format!("-max_total_time={seconds}");
        let mut command = cargo_fuzz(&[
            "run",
            "--sanitizer",
            sanitizer.flag(),
            target,
            &corpus,
            &seeds,
            "--",
            &time,
        ]);
        eprintln!("$ {}", process::describe(&command));
        // libFuzzer reports every new input it finds: the output is kept, and only its summary
        // is shown, or its end when the target crashed.
        let output = command
            .output()
            .map_err(|error| format!("could not start cargo fuzz: {error}"))?;
        let text = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = text.lines().collect();
        if output.status.success() {
            counts.passed += 1;
            let summary = lines
                .iter()
                .rev()
                .find(|line| line.starts_with("Done "))
                .unwrap_or(&"finished");
            eprintln!("xtask: fuzz target {target}: {summary}, no crash");
        } else {
            counts.failed += 1;
            for line in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("{line}");
            }
            eprintln!(
                "xtask: fuzz target {target} failed ({}); its input is under fuzz/artifacts/{target}/",
                output.status
            );
        }
    }
    eprintln!(
        "xtask: fuzzing: {} targets ran {seconds} s each, {} crashed",
        counts.passed + counts.failed,
        counts.failed
    );
    Ok((counts.failed == 0, counts))
}

/// `cargo xtask fuzz [--seconds N] [TARGET…]`: the long runs, ten minutes a target by default,
/// with AddressSanitizer.
pub fn run_command(arguments: &[String]) -> Result<(), String> {
    let mut seconds = 600;
    let mut chosen = Vec::new();
    let mut arguments = arguments.iter();
    while let Some(argument) = arguments.next() {
        if argument == "--seconds" {
            seconds = arguments
                .next()
                .and_then(|value| value.parse().ok())
                .filter(|value| *value > 0)
                .ok_or("--seconds takes a whole number of seconds above 0")?;
        } else if argument.starts_with('-') {
            return Err(format!(
                "fuzz takes --seconds N and target names, found `{argument}`"
            ));
        } else {
            chosen.push(argument.clone());
        }
    }
    let (passed, _) = run_targets(&chosen, seconds, Sanitizer::Address)?;
    if passed {
        Ok(())
    } else {
        Err("a fuzz target crashed; its input is under fuzz/artifacts/".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_file_is_declared_and_has_seeds() {
        let fuzz = root().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
        let files: Vec<String> = std::fs::read_dir(fuzz.join("fuzz_targets"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(files.len() >= 9, "{files:?}");
        for file in files {
            let name = file.strip_suffix(".rs").unwrap();
            assert!(
                manifest.contains(&format!(
                    "name = \"{name}\"\npath = \"fuzz_targets/{file}\""
                )),
                "{file} is not a [[bin]] of fuzz/Cargo.toml"
            );
            let seeds = std::fs::read_dir(fuzz.join("seeds").join(name))
                .map(|entries| entries.count())
                .unwrap_or(0);
            assert!(seeds > 0, "fuzz/seeds/{name} has no seed");
        }
    }
}
