//! Checks of the built npm package: its TypeScript types against the golden copy and against a
//! usage file type-checked with tsc, its compressed size against the budget committed in
//! `npm/size-budget.json`, and that no file names a folder of the machine that built it.

use std::path::{Path, PathBuf};
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

/// The folders of this machine a published file must not name: the repository, Cargo's home and
/// the user's home, each with a trailing `/`.
fn machine_folders() -> Vec<String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    folders_to_find(
        [Some(root()), crate::dist::cargo_home(), home]
            .into_iter()
            .flatten(),
    )
}

/// Each folder with a trailing `/`, leaving out the root (the home of some service accounts)
/// and relative paths, which name nothing of the machine.
fn folders_to_find(folders: impl Iterator<Item = PathBuf>) -> Vec<String> {
    folders
        .filter(|folder| folder.is_absolute() && folder.parent().is_some())
        .map(|folder| format!("{}/", folder.display().to_string().trim_end_matches('/')))
        .collect()
}

/// The first of `folders` that `bytes` contains.
fn named_folder<'a>(bytes: &[u8], folders: &'a [String]) -> Option<&'a str> {
    folders
        .iter()
        .find(|folder| {
            bytes
                .windows(folder.len())
                .any(|window| window == folder.as_bytes())
        })
        .map(String::as_str)
}

/// Fails when a file of the package names a folder of the machine that built it (a panic
/// location written with its full path, say).
pub fn check_no_build_paths(package: &Path) -> Result<(), String> {
    let folders = machine_folders();
    for path in files_under(package)? {
        let bytes =
            std::fs::read(&path).map_err(|error| format!("reading {}: {error}", path.display()))?;
        if let Some(named) = named_folder(&bytes, &folders) {
            return Err(format!(
                "{} names `{named}`, a folder of the machine that built it",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Every file under `folder`, at any depth.
pub fn files_under(folder: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|error| format!("reading {}: {error}", folder.display()))?;
        for entry in entries {
            let path = entry.map_err(|error| error.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// Every check of a built package: its types (written as the golden copy with `bless`), no
/// build paths, and its size.
pub fn check(package: &Path, bless: bool) -> Result<(), String> {
    check_types(package, bless)?;
    type_check_usage(package)?;
    check_no_build_paths(package)?;
    check_size(package)
}

/// Type-checks `tests/types/usage.ts`, which uses every option, event and method and makes the
/// mistakes the declarations must refuse, against the package's `.d.ts` files with a strict
/// `tsc --noEmit`. The usage file names the package at `pkg/`, where `dist` builds it.
fn type_check_usage(package: &Path) -> Result<(), String> {
    let expected = root().join("pkg");
    if package != expected {
        return Err(format!(
            "tests/types/tsconfig.json checks the package at {}, not {}",
            expected.display(),
            package.display()
        ));
    }
    let tsc = crate::setup::node_bin("tsc");
    let mut command = Command::new(&tsc);
    command
        .args(["-p", "tsconfig.json"])
        .current_dir(root().join("tests").join("types"));
    crate::process::run(&mut command)
        .map_err(|error| format!("the package's types refuse tests/types/usage.ts, or accept one of its mistakes: {error}"))?;
    eprintln!("xtask: tests/types/usage.ts type-checks against the package's declarations");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{check_no_build_paths, folders_to_find, named_folder, normalised_types};
    use crate::root;

    #[test]
    fn a_package_file_naming_the_repository_is_refused() {
        let package = std::env::temp_dir().join(format!("xtask-paths-{}", std::process::id()));
        let nested = package.join("snippets").join("x");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(package.join("style.css"), ".a{}").unwrap();
        std::fs::write(nested.join("inline0.js"), "export const a = 1;").unwrap();
        let clean = check_no_build_paths(&package);
        let leaked = format!("at {}/src/outbox.rs:1:1", root().display());
        std::fs::write(nested.join("inline0.js"), leaked).unwrap();
        let refused = check_no_build_paths(&package);
        std::fs::remove_dir_all(&package).unwrap();
        assert_eq!(clean, Ok(()));
        let message = refused.unwrap_err();
        assert!(message.contains("inline0.js"), "{message}");
        assert!(
            message.contains(&format!("{}/", root().display())),
            "{message}"
        );
    }

    #[test]
    fn the_root_and_relative_folders_are_not_looked_for() {
        let folders = ["/", "", ".cargo", "/root", "/home/ci/.cargo/", "/work/shop"]
            .into_iter()
            .map(PathBuf::from);
        assert_eq!(
            folders_to_find(folders),
            ["/root/", "/home/ci/.cargo/", "/work/shop/"]
        );
    }

    #[test]
    fn a_machine_folder_is_found_anywhere_in_the_bytes() {
        let folders = ["/work/shop/".to_owned(), "/home/ci/.cargo/".to_owned()];
        let wasm = b"\0asm\x01panicked at /home/ci/.cargo/registry/src/yew-0.23.0/src/lib.rs";
        assert_eq!(named_folder(wasm, &folders), Some("/home/ci/.cargo/"));
        assert_eq!(
            named_folder(b"at /work/shop/src/outbox.rs", &folders),
            Some("/work/shop/")
        );
        // Relative paths, a folder named without its slash, and a longer folder that only
        // starts the same are all fine.
        for clean in [
            &b"at src/outbox.rs and yew-0.23.0/src/lib.rs"[..],
            b"/work/shop",
            b"/work/shopping/",
            b"",
        ] {
            assert_eq!(named_folder(clean, &folders), None);
        }
    }

    #[test]
    fn closure_hashes_are_masked_and_the_rest_kept() {
        let text = "readonly wasm_bindgen__convert__closures_____invoke__h6cd84f8d7b825c7f: (a: number) => void;\nexport function mount__here(): void;";
        assert_eq!(
            normalised_types(text),
            "readonly wasm_bindgen__convert__closures_____invoke__h<hash>: (a: number) => void;\nexport function mount__here(): void;"
        );
    }
}
