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
/// tabs or runs of two or more spaces and trimmed. A column in double quotes keeps its spaces:
/// `"  0532 123 45 67"`.
pub(crate) fn cases(name: &str) -> Vec<Vec<String>> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let cases: Vec<Vec<String>> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(columns)
        .collect();
    assert!(!cases.is_empty(), "{path} has no cases");
    cases
}

/// Splits one case line into columns.
fn columns(line: &str) -> Vec<String> {
    let mut columns = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let (column, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = rest
                .find('\t')
                .into_iter()
                .chain(rest.find("  "))
                .min()
                .unwrap_or(rest.len());
            (rest[..end].trim_end(), &rest[end..])
        };
        columns.push(column.to_owned());
        rest = after.trim_start();
    }
    columns
}
