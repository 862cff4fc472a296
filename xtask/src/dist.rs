//! `cargo xtask dist`: builds the npm package `iys-consent` into `pkg/`.
//!
//! The widget is compiled with the size-tuned `wasm-release` profile by the pinned nightly
//! [`SHIPPED_TOOLCHAIN`], which rebuilds the standard library for size and makes every panic an
//! immediate abort; then bound with the wasm-bindgen CLI pinned to Cargo.lock's version, and
//! shrunk with wasm-opt from the npm package `binaryen`. `cargo xtask dist --stable` builds the
//! same package with the stable toolchain instead, into `target/stable-pkg`, and reports its size.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process;
use crate::root;
use crate::setup::{self, Needs, SHIPPED_TOOLCHAIN, WASM_TARGET, node_bin};

/// Which compiler builds the widget's wasm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiler {
    /// The shipped build: [`SHIPPED_TOOLCHAIN`] with the standard library rebuilt with
    /// `optimize_for_size` and `panic = "immediate-abort"`, which drops the panic messages and
    /// their formatting (about 8 KB brotli less than stable). A panic traps as `unreachable`.
    Shipped,
    /// The stable toolchain of `rust-toolchain.toml` with the profile's `panic = "abort"`, as
    /// the tests other than the shipped browser run and the package's own checks compile.
    Stable,
}

/// The wasm features rustc emits, which wasm-opt must be allowed to keep.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-call-indirect-overlong",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

/// What wasm-opt runs on the bound wasm: `-Oz`, then the whole-module flow analysis that finds
/// values and calls no path can reach, both again as long as the module still shrinks.
// Size: about 330 bytes brotli less than `-Oz` alone, for about a second more.
const SHRINK_PASSES: &[&str] = &["-Oz", "--gufa-optimizing", "--converge"];

/// The name wasm-bindgen gives the package's module: `iys_consent.js` and `iys_consent_bg.wasm`.
const NAME: &str = "iys_consent";

/// The files of `npm/` copied into the package as they are.
const STATIC_FILES: &[&str] = &[
    "style.css",
    "README.md",
    "element.js",
    "element.d.ts",
    "iys-consent-worker.js",
];

pub fn run(arguments: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask dist [--bless | --stable]";
    let (bless, stable) = match arguments {
        [] => (false, false),
        [flag] if flag == "--bless" => (true, false),
        [flag] if flag == "--stable" => (false, true),
        _ => return Err(usage.to_owned()),
    };
    setup::ensure(Needs {
        wasm: true,
        npm: true,
        ..Needs::default()
    })?;
    if stable {
        return report_stable();
    }
    let package = build()?;
    eprintln!("xtask: built {}", package.display());
    crate::package::check(&package, bless)
}

/// Builds `pkg/`, the shipped package, and returns its path. The caller has ensured the tools
/// are installed.
pub fn build() -> Result<PathBuf, String> {
    build_with(Compiler::Shipped, &root().join("pkg"))
}

/// Builds the package with the stable toolchain into `target/stable-pkg` and prints its size
/// beside the budget, which binds the shipped build only.
pub fn report_stable() -> Result<(), String> {
    let folder = root().join("target").join("stable-pkg");
    build_with(Compiler::Stable, &folder)?;
    let (raw, gzip, brotli) = crate::package::sizes(&folder)?;
    eprintln!(
        "xtask: the stable build (wasm + JS + CSS, in {}): {raw} bytes raw, {gzip} gzip, {brotli} brotli",
        folder.display()
    );
    Ok(())
}

/// Compiles the widget's wasm with `compiler`.
fn compile(compiler: Compiler) -> Result<(), String> {
    let mut command = cargo_with(
        compiler,
        &["build", "--package", "iys-consent", "--lib"],
        &target_folder(compiler),
    );
    process::run(&mut command)
}

/// The browser tests compiled as the shipped package is: `cargo test` of `tests/browser` with
/// the shipped build's toolchain, flags and profile, the tests' panics aborting too, in a
/// target folder of their own (cargo would otherwise find two builds of the standard library).
pub fn shipped_browser_tests() -> Command {
    let mut command = cargo_with(
        Compiler::Shipped,
        &["test", "--package", "iys-consent", "--test", "browser"],
        &root().join("target").join("shipped-tests"),
    );
    command.arg("-Zpanic-abort-tests");
    command
}

/// `cargo <arguments>` for the wasm target with `compiler`'s toolchain, flags and profile, in
/// `target_folder`.
fn cargo_with(compiler: Compiler, arguments: &[&str], target_folder: &Path) -> Command {
    let mut command = Command::new("cargo");
    if compiler == Compiler::Shipped {
        command.arg(format!("+{SHIPPED_TOOLCHAIN}"));
    }
    command.args(arguments).args([
        "--locked",
        "--target",
        WASM_TARGET,
        "--profile",
        "wasm-release",
        "--target-dir",
    ]);
    command.arg(target_folder);
    if compiler == Compiler::Shipped {
        command
            .args([
                "-Zbuild-std=std,panic_abort",
                "-Zbuild-std-features=optimize_for_size",
                "-Zpanic-immediate-abort",
            ])
            .env("CARGO_PROFILE_WASM_RELEASE_PANIC", "immediate-abort");
        // Whatever the stable toolchain that runs the xtask set would override the nightly.
        for inherited in ["RUSTUP_TOOLCHAIN", "RUSTC", "RUSTDOC", "RUSTFLAGS"] {
            command.env_remove(inherited);
        }
    }
    command
        .env("CARGO_ENCODED_RUSTFLAGS", rust_flags(compiler))
        .current_dir(root());
    command
}

/// Cargo's target folder for `compiler`'s build: the shipped build's standard library is its
/// own, so it keeps apart from the stable builds in `target/`.
fn target_folder(compiler: Compiler) -> PathBuf {
    match compiler {
        Compiler::Shipped => root().join("target").join("shipped"),
        Compiler::Stable => root().join("target"),
    }
}

/// Builds the package with `compiler` into `package`, and returns its path.
fn build_with(compiler: Compiler, package: &Path) -> Result<PathBuf, String> {
    let root = root();
    compile(compiler)?;
    let package = package.to_path_buf();
    if package.exists() {
        std::fs::remove_dir_all(&package)
            .map_err(|error| format!("clearing {}: {error}", package.display()))?;
    }
    let wasm = bind_and_shrink(compiler, &package, NAME, false)?;
    // wasm-bindgen's glue is `<name>.js`; the wasm imports it as `./<name>_bg.js`.
    shorten_imports(
        &wasm,
        &package.join(format!("{NAME}.js")),
        &format!("./{NAME}_bg.js"),
    )?;
    shorten_closure_exports(&wasm, &package)?;
    for file in STATIC_FILES {
        copy(&root.join("npm").join(file), &package.join(file))?;
    }
    copy(&root.join("LICENSE"), &package.join("LICENSE"))?;
    write(
        &package.join("package.json"),
        &package_json(&crate_version()?),
    )?;
    // wasm-bindgen writes a .gitignore that would keep npm from packing the files.
    let _ = std::fs::remove_file(package.join(".gitignore"));
    minify(&package)?;
    Ok(package)
}

/// The widget's wasm as `compiler` leaves it, before wasm-bindgen and wasm-opt.
fn compiled(compiler: Compiler) -> PathBuf {
    target_folder(compiler)
        .join(WASM_TARGET)
        .join("wasm-release")
        .join("iys_consent.wasm")
}

/// The shipped wasm, made the same way as `build` makes it but with its function names kept (and
/// wasm-bindgen's long import names, which hold no code), in `folder`; returns its path. Call
/// after `build`.
pub fn named_wasm(folder: &Path) -> Result<PathBuf, String> {
    bind_and_shrink(Compiler::Shipped, folder, "named", true)
}

/// Binds the compiled wasm into `folder` as `<name>.js` and `<name>_bg.wasm` and shrinks the wasm
/// with wasm-opt ([`SHRINK_PASSES`]), keeping its function names when `keep_names`; returns the
/// wasm's path.
fn bind_and_shrink(
    compiler: Compiler,
    folder: &Path,
    name: &str,
    keep_names: bool,
) -> Result<PathBuf, String> {
    let mut bind = Command::new("wasm-bindgen");
    bind.arg(compiled(compiler)).args(["--target", "web"]);
    if keep_names {
        bind.arg("--keep-debug");
    }
    process::run(bind.args(["--out-name", name, "--out-dir"]).arg(folder))?;
    let wasm = folder.join(format!("{name}_bg.wasm"));
    let mut shrink = Command::new(node_bin("wasm-opt"));
    shrink.args(SHRINK_PASSES);
    if keep_names {
        shrink.arg("-g");
    } else {
        // What built the module and the features it was built with: nothing a browser reads.
        shrink.args(["--strip-producers", "--strip-target-features"]);
    }
    process::run(shrink.args(WASM_FEATURES).arg(&wasm).arg("-o").arg(&wasm))?;
    Ok(wasm)
}

/// Gives the wasm's imports from its glue (`module`, as the wasm names it) short names, in the
/// wasm and in the glue.
fn shorten_imports(wasm: &Path, glue: &Path, module: &str) -> Result<(), String> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|error| format!("reading {}: {error}", path.display()))
    };
    let bytes = read(wasm)?;
    let script =
        String::from_utf8(read(glue)?).map_err(|_| format!("{} is not UTF-8", glue.display()))?;
    let (bytes, script) = crate::imports::shorten(&bytes, &script, module)
        .map_err(|error| format!("shortening the imports of {}: {error}", wasm.display()))?;
    std::fs::write(wasm, bytes).map_err(|error| format!("writing {}: {error}", wasm.display()))?;
    write(glue, &script)
}

/// Gives the closure shims the wasm exports short names, in the wasm, the glue and the two
/// declaration files of `package`.
fn shorten_closure_exports(wasm: &Path, package: &Path) -> Result<(), String> {
    use crate::imports::Count;
    let bytes =
        std::fs::read(wasm).map_err(|error| format!("reading {}: {error}", wasm.display()))?;
    let (bytes, names) = crate::imports::shorten_closure_exports(&bytes)
        .map_err(|error| format!("shortening the exports of {}: {error}", wasm.display()))?;
    for (file, count) in [
        (format!("{NAME}.js"), Count::AtLeastOnce),
        (format!("{NAME}.d.ts"), Count::Once),
        (format!("{NAME}_bg.wasm.d.ts"), Count::Once),
    ] {
        let path = package.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("reading {}: {error}", path.display()))?;
        let text = crate::imports::rename_exports(&text, &names, count)
            .map_err(|error| format!("renaming the exports in {}: {error}", path.display()))?;
        write(&path, &text)?;
    }
    std::fs::write(wasm, bytes).map_err(|error| format!("writing {}: {error}", wasm.display()))
}

/// Minifies every script and stylesheet of the package in place with esbuild, which keeps the
/// modules' imports and exports as they are. What a page downloads and keeps in memory as source
/// text shrinks by about half.
fn minify(package: &Path) -> Result<(), String> {
    let files = crate::package::files_under(package)?
        .into_iter()
        .filter(|path| {
            matches!(
                path.extension().and_then(|extension| extension.to_str()),
                Some("js" | "css")
            )
        });
    for file in files {
        let mut command = Command::new(node_bin("esbuild"));
        command
            .arg(&file)
            .args(["--minify", "--log-level=error", "--allow-overwrite"])
            .arg(format!("--outfile={}", file.display()));
        if file
            .file_name()
            .is_some_and(|name| name == "iys_consent.js")
        {
            // Deno and JSR find the types through this comment.
            command.arg("--banner:js=/* @ts-self-types=\"./iys_consent.d.ts\" */");
        }
        process::run(&mut command)?;
    }
    Ok(())
}

/// The rustc flags of `compiler`'s build: source paths in the wasm (panic locations) written
/// relative to their crate's folder, so the package names nothing of the machine that built it,
/// and for the shipped build the flags that make it small.
fn rust_flags(compiler: Compiler) -> String {
    let cargo_home = cargo_home().unwrap_or_default();
    let mut prefixes = vec![format!("{}/", root().display())];
    if compiler == Compiler::Shipped
        && let Some(sysroot) = setup::shipped_sysroot()
    {
        // The standard library's own source, which build-std compiles.
        prefixes.push(format!("{}/lib/rustlib/src/rust/", sysroot.display()));
    }
    if let Ok(registries) = std::fs::read_dir(cargo_home.join("registry").join("src")) {
        for registry in registries.flatten() {
            prefixes.push(format!("{}/", registry.path().display()));
        }
    }
    prefixes
        .iter()
        .map(|prefix| format!("--remap-path-prefix={prefix}="))
        .chain(
            // The nightly's default mangling names the closure shims wasm-bindgen exports with
            // every crate's hash and generic argument, which the package would carry; legacy
            // names them as stable does. Panics abort without a message, so their locations
            // and the `Debug` output nothing prints are left out too (about 750 bytes brotli).
            // Without reference types, wasm-bindgen keeps the JS values the wasm holds in a
            // table of its glue instead of passing them as `externref`, which needs a shim
            // around every export and import (about 700 bytes brotli less).
            // Every function's MIR is offered to the crates that call it, the standard
            // library's included, as `#[inline]` ones are: each is then compiled with its
            // callers, and the whole module is about 8 KB brotli smaller.
            (compiler == Compiler::Shipped)
                .then(|| "-Zunstable-options\u{1f}-Csymbol-mangling-version=legacy\u{1f}-Zlocation-detail=none\u{1f}-Zfmt-debug=none\u{1f}-Ctarget-feature=-reference-types\u{1f}-Zcross-crate-inline-threshold=always".to_owned()),
        )
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// Cargo's home: `CARGO_HOME`, or `.cargo` in the user's home.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|error| format!("copying {} to {}: {error}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|error| format!("writing {}: {error}", path.display()))
}

/// The version of the root crate, which is the package's version.
fn crate_version() -> Result<String, String> {
    let manifest_path = root().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|error| format!("reading {}: {error}", manifest_path.display()))?;
    manifest
        .lines()
        .skip_while(|line| line.trim() != "[package]")
        .find_map(|line| line.trim().strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| "the root Cargo.toml has no package version".to_owned())
}

fn package_json(version: &str) -> String {
    format!(
        r#"{{
  "name": "iys-consent",
  "version": "{version}",
  "description": "Marketing-consent widget for Turkish shops: one unticked box per channel, proof of what was shown, delivered to the shop's relay for İYS",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./iys_consent.js",
  "module": "./iys_consent.js",
  "types": "./iys_consent.d.ts",
  "exports": {{
    ".": {{
      "types": "./iys_consent.d.ts",
      "default": "./iys_consent.js"
    }},
    "./element": {{
      "types": "./element.d.ts",
      "default": "./element.js"
    }},
    "./style.css": "./style.css",
    "./package.json": "./package.json"
  }},
  "files": [
    "iys_consent.js",
    "iys_consent.d.ts",
    "iys_consent_bg.wasm",
    "iys_consent_bg.wasm.d.ts",
    "snippets/",
    "element.js",
    "element.d.ts",
    "iys-consent-worker.js",
    "style.css",
    "README.md",
    "LICENSE"
  ],
  "sideEffects": [
    "./style.css",
    "./element.js"
  ],
  "keywords": ["iys", "consent", "kvkk", "etk", "wasm", "turkey"]
}}
"#
    )
}
