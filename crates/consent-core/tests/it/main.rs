//! Behaviour tests of the consent rules, driven by the cases in `testdata/`.

#![allow(
    clippy::unwrap_used,
    reason = "a test that meets an unexpected error should fail loudly"
)]

mod calendar;
mod iys_schema;
mod phone_email;
mod record;
mod state;
mod time;

/// The case lines of a file in `testdata/`: comments and blank lines dropped, columns split on
/// tabs or runs of two or more spaces.
pub(crate) fn cases(name: &str) -> Vec<Vec<String>> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let cases: Vec<Vec<String>> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.split('\t')
                .flat_map(|part| part.split("  "))
                .map(str::trim)
                .filter(|column| !column.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect();
    assert!(!cases.is_empty(), "{path} has no cases");
    cases
}
