//! Checks of the built npm package: its TypeScript types against the golden copy, and its
//! compressed size against the budget committed in `npm/size-budget.json`.

use std::path::Path;
use std::process::Command;

use crate::root;

/// The golden copy of the generated types.
const GOLDEN_TYPES: &str = "tests/golden/iys_consent.d.ts";

/// The generated types without what changes on every build: the hashes in the names of
/// wasm-bindgen's internal closure shims and snippet folders.
pub fn normalised_types(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find("__h") {
        let (before, after) = rest.split_at(index);
        out.push_str(before);
        let hash: String = after[3..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        if hash.len() == 16 {
            out.push_str("__h<hash>");
            rest = &after[3 + 16..];
        } else {
            out.push_str("__h");
            rest = &after[3..];
        }
    }
    out.push_str(rest);
    out
}

/// Compares the package's types with the golden copy; with `bless`, writes the golden copy.
pub fn check_types(package: &Path, bless: bool) -> Result<(), String> {
    let generated = std::fs::read_to_string(package.join("iys_consent.d.ts"))
        .map_err(|error| format!("reading the generated types: {error}"))?;
    let generated = normalised_types(&generated);
    let golden_path = root().join(GOLDEN_TYPES);
    if bless {
        std::fs::write(&golden_path, &generated).map_err(|error| error.to_string())?;
        eprintln!("xtask: wrote {GOLDEN_TYPES}");
        return Ok(());
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap_or_default();
    if golden == generated {
        eprintln!("xtask: the TypeScript types match {GOLDEN_TYPES}");
        return Ok(());
    }
    let golden_lines: Vec<&str> = golden.lines().collect();
    let generated_lines: Vec<&str> = generated.lines().collect();
    let first = golden_lines
        .iter()
        .zip(&generated_lines)
        .position(|(a, b)| a != b)
        .unwrap_or(golden_lines.len().min(generated_lines.len()));
    let show = |lines: &[&str]| {
        lines
            .iter()
            .skip(first)
            .take(6)
            .map(|line| format!("    {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Err(format!(
        "the TypeScript types differ from {GOLDEN_TYPES} from line {}:\n  golden:\n{}\n  built:\n{}\nif the change is intended, run `cargo xtask dist --bless` and commit the golden copy",
        first + 1,
        show(&golden_lines),
        show(&generated_lines)
    ))
}

/// Raw, gzip and brotli sizes of the files a page downloads: the wasm, the JS and the CSS.
pub fn sizes(package: &Path) -> Result<(u64, u64, u64), String> {
    let script = r#"
const fs = require('fs'), path = require('path'), zlib = require('zlib');
const root = process.argv[1];
const files = [];
const walk = (dir) => { for (const name of fs.readdirSync(dir)) { const full = path.join(dir, name); if (fs.statSync(full).isDirectory()) walk(full); else if (/\.(wasm|js|css)$/.test(name)) files.push(full); } };
walk(root);
let raw = 0, gzip = 0, brotli = 0;
for (const file of files) {
  const bytes = fs.readFileSync(file);
  raw += bytes.length;
  gzip += zlib.gzipSync(bytes, { level: 9 }).length;
  brotli += zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
}
process.stdout.write(`${raw} ${gzip} ${brotli}`);
"#;
    let output = Command::new("node")
        .args(["-e", script])
        .arg(package)
        .output()
        .map_err(|error| format!("running node: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let numbers: Vec<u64> = text
        .split_whitespace()
        .filter_map(|number| number.parse().ok())
        .collect();
    match numbers[..] {
        [raw, gzip, brotli] => Ok((raw, gzip, brotli)),
        _ => Err(format!("could not measure the package: {text:?}")),
    }
}

/// Fails when the package's brotli size is over the committed budget.
pub fn check_size(package: &Path) -> Result<(), String> {
    let (raw, gzip, brotli) = sizes(package)?;
    let budget_path = root().join("npm").join("size-budget.json");
    let budget_text = std::fs::read_to_string(&budget_path)
        .map_err(|error| format!("reading {}: {error}", budget_path.display()))?;
    let budget: serde_json::Value =
        serde_json::from_str(&budget_text).map_err(|error| error.to_string())?;
    let limit = budget["brotliBytes"]
        .as_u64()
        .ok_or("npm/size-budget.json has no brotliBytes")?;
    eprintln!(
        "xtask: package size (wasm + JS + CSS): {raw} bytes raw, {gzip} gzip, {brotli} brotli; budget {limit} brotli"
    );
    if brotli > limit {
        return Err(format!(
            "the package is {brotli} bytes brotli, over the budget of {limit} in npm/size-budget.json"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalised_types;

    #[test]
    fn closure_hashes_are_masked_and_the_rest_kept() {
        let text = "readonly wasm_bindgen__convert__closures_____invoke__h6cd84f8d7b825c7f: (a: number) => void;\nexport function mount__here(): void;";
        assert_eq!(
            normalised_types(text),
            "readonly wasm_bindgen__convert__closures_____invoke__h<hash>: (a: number) => void;\nexport function mount__here(): void;"
        );
    }
}
