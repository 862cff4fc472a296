//! Running commands: echoing them, streaming their output, and reading test counts from it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A command line as shown to the person running xtask.
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for argument in command.get_args() {
        text.push(' ');
        text.push_str(&argument.to_string_lossy());
    }
    text
}

/// Runs `command` with its output shown; fails when it cannot start or exits non-zero.
pub fn run(command: &mut Command) -> Result<(), String> {
    eprintln!("$ {}", describe(command));
    let status = command
        .status()
        .map_err(|error| format!("could not start `{}`: {error}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

/// Sends `signal` (such as "TERM") to the process `pid`, one this program started.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// Waits up to `limit` for `child` to exit; `None` when it is still running.
pub fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            _ => return None,
        }
    }
}

/// Stops a process this program started: sends it `signal` (such as "TERM"), gives it `grace`
/// to finish, then kills it. Returns how it exited, or `None` when it had to be killed.
pub fn stop(child: &mut Child, signal_name: &str, grace: Duration) -> Option<ExitStatus> {
    signal(child.id(), signal_name);
    let exited = wait_with_deadline(child, grace);
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    exited
}

/// Runs `command` and returns its standard output; fails when it exits non-zero.
pub fn output(command: &mut Command) -> Result<String, String> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("could not start `{}`: {error}", describe(command)))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`{}` failed ({})",
            describe(command),
            output.status
        ))
    }
}

/// Test counts read from a runner's summary lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// Reads the counts from one summary line of cargo's test harness
/// (`test result: ok. 12 passed; 0 failed; 1 ignored; ...`) or of node's test runner
/// (`# pass 12`, `# fail 0`, `# skipped 1`).
pub fn parse_counts(line: &str) -> Option<Counts> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result: ") {
        let mut counts = Counts::default();
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(number), Some(word)) = (words.next(), words.next())
                && let Ok(number) = number.parse::<u64>()
            {
                match word {
                    "passed" => counts.passed = number,
                    "failed" => counts.failed = number,
                    "ignored" => counts.ignored = number,
                    _ => {}
                }
            }
        }
        return Some(counts);
    }
    let mut words = line.split_whitespace();
    match (
        words.next(),
        words.next(),
        words.next().and_then(|n| n.parse::<u64>().ok()),
    ) {
        (Some("#"), Some("pass"), Some(number)) => Some(Counts {
            passed: number,
            ..Counts::default()
        }),
        (Some("#"), Some("fail"), Some(number)) => Some(Counts {
            failed: number,
            ..Counts::default()
        }),
        (Some("#"), Some("skipped"), Some(number)) => Some(Counts {
            ignored: number,
            ..Counts::default()
        }),
        _ => None,
    }
}

/// Runs a test command, streaming its output, and returns whether it succeeded and the test
/// counts its summary lines reported.
pub fn run_tests(command: &mut Command) -> Result<(bool, Counts), String> {
    eprintln!("$ {}", describe(command));
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("could not start `{}`: {error}", describe(command)))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    // Both streams are read to the end so neither pipe can fill up and stall the child.
    let stderr_reader = thread::spawn(move || scan(stderr, false));
    let mut counts = scan(stdout, true);
    counts.add(stderr_reader.join().unwrap_or_default());
    let status = child
        .wait()
        .map_err(|error| format!("waiting for `{}`: {error}", describe(command)))?;
    Ok((status.success(), counts))
}

fn scan(stream: Option<impl std::io::Read>, to_stdout: bool) -> Counts {
    let mut counts = Counts::default();
    let Some(stream) = stream else {
        return counts;
    };
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        if to_stdout {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
        if let Some(found) = parse_counts(&line) {
            counts.add(found);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_and_node_summaries() {
        assert_eq!(
            parse_counts(
                "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"
            ),
            Some(Counts {
                passed: 12,
                failed: 0,
                ignored: 1
            })
        );
        assert_eq!(
            parse_counts("test result: FAILED. 3 passed; 2 failed; 0 ignored"),
            Some(Counts {
                passed: 3,
                failed: 2,
                ignored: 0
            })
        );
        assert_eq!(
            parse_counts("# pass 7"),
            Some(Counts {
                passed: 7,
                ..Counts::default()
            })
        );
        assert_eq!(
            parse_counts("# fail 1"),
            Some(Counts {
                failed: 1,
                ..Counts::default()
            })
        );
        assert_eq!(parse_counts("running 3 tests"), None);
    }
}
