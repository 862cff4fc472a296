//! Installs what the build and the tests need, when it is missing.
//!
//! On a fresh Debian machine, as root (as in CI), everything is installed from the package
//! registries: the wasm target through rustup, the wasm-bindgen CLI at exactly the version in
//! Cargo.lock through cargo, Chromium, ChromeDriver and PostgreSQL through apt, and the npm tools
//! from the committed lockfile. Without root, missing system packages are named with the command
//! that installs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{output, run};
use crate::root;

/// The rustup target the widget compiles to.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The toolchain the shipped package is compiled with: a pinned nightly, for the standard
/// library rebuilt for size with `panic = "immediate-abort"` (see `dist`), and one of the two
/// runs of the browser tests. Everything else builds with the stable toolchain of
/// `rust-toolchain.toml`.
pub const SHIPPED_TOOLCHAIN: &str = "nightly-2026-05-20";

/// What one command needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// The wasm target and the wasm-bindgen CLI.
    pub wasm: bool,
    /// Chromium and ChromeDriver.
    pub browser: bool,
    /// A PostgreSQL server binary.
    pub postgres: bool,
    /// The npm tools (wasm-opt, esbuild, playwright-core, axe-core).
    pub npm: bool,
    /// A Python with aiosmtpd, a real SMTP server (see [`smtp_python`]).
    pub smtp: bool,
}

/// Installs whatever of `needs` is missing.
pub fn ensure(needs: Needs) -> Result<(), String> {
    if needs.wasm {
        ensure_wasm_target()?;
        ensure_shipped_toolchain()?;
        ensure_wasm_bindgen()?;
    }
    let mut packages = Vec::new();
    if needs.browser {
        if !Path::new(CHROMIUM).exists() {
            packages.push("chromium");
        }
        if !Path::new(CHROMEDRIVER).exists() {
            packages.push("chromium-driver");
        }
    }
    if needs.postgres && postgres_bin_dir().is_none() {
        packages.push("postgresql");
    }
    if !packages.is_empty() {
        install_debian_packages(&packages)?;
    }
    if needs.npm {
        ensure_npm_packages()?;
    }
    if needs.smtp {
        ensure_smtp_server()?;
    }
    Ok(())
}

/// The Python of the project's own environment with aiosmtpd, under `target/tools/smtp`.
pub fn smtp_python() -> PathBuf {
    root().join("target/tools/smtp/bin/python")
}

/// Makes the environment of [`smtp_python`] from `xtask/smtp-requirements.txt` when it is
/// missing or older than that file.
fn ensure_smtp_server() -> Result<(), String> {
    let requirements = root().join("xtask/smtp-requirements.txt");
    let folder = root().join("target/tools/smtp");
    let stamp = folder.join("installed.txt");
    let current = std::fs::read(&stamp).ok() == std::fs::read(&requirements).ok()
        && Command::new(smtp_python())
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|output| output.status.success());
    if current {
        return Ok(());
    }
    eprintln!("xtask: installing aiosmtpd into {}", folder.display());
    let python = ["python3", "python"]
        .into_iter()
        .find(|python| Command::new(python).arg("--version").output().is_ok())
        .ok_or("python3 is missing: install it (apt-get install -y python3 python3-venv)")?;
    let _ = std::fs::remove_dir_all(&folder);
    run(Command::new(python).args(["-m", "venv"]).arg(&folder))?;
    run(Command::new(folder.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::copy(&requirements, &stamp).map_err(|error| error.to_string())?;
    Ok(())
}

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's ChromeDriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn ensure_wasm_target() -> Result<(), String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The sysroot of [`SHIPPED_TOOLCHAIN`], when it is installed.
pub fn shipped_sysroot() -> Option<PathBuf> {
    let output = Command::new("rustup")
        .args(["run", SHIPPED_TOOLCHAIN, "rustc", "--print", "sysroot"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let sysroot = String::from_utf8(output.stdout).ok()?;
    Some(PathBuf::from(sysroot.trim()))
}

/// Installs [`SHIPPED_TOOLCHAIN`] with the standard library's source and the wasm target when
/// either is missing.
fn ensure_shipped_toolchain() -> Result<(), String> {
    let complete = shipped_sysroot().is_some_and(|sysroot| {
        let rustlib = sysroot.join("lib").join("rustlib");
        rustlib.join("src/rust/library/core").exists() && rustlib.join(WASM_TARGET).exists()
    });
    if complete {
        return Ok(());
    }
    eprintln!("xtask: installing the {SHIPPED_TOOLCHAIN} toolchain the package is built with");
    run(Command::new("rustup").args([
        "toolchain",
        "install",
        SHIPPED_TOOLCHAIN,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
        "--target",
        WASM_TARGET,
    ]))
}

/// The `wasm-bindgen` version Cargo.lock pins.
pub fn locked_wasm_bindgen_version() -> Result<String, String> {
    let lock_path = root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|error| format!("reading {}: {error}", lock_path.display()))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|line| line.trim().strip_prefix("version = \""))
                .and_then(|rest| rest.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".to_owned())
}

fn ensure_wasm_bindgen() -> Result<(), String> {
    let version = locked_wasm_bindgen_version()?;
    let installed = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned());
    if installed.as_deref() == Some(format!("wasm-bindgen {version}").as_str()) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing wasm-bindgen-cli {version} (found {}); this takes a few minutes once",
        installed.as_deref().unwrap_or("none")
    );
    // No `--locked`: one of the CLI's locked dependencies may be newer than the registry here.
    run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version]))
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

fn install_debian_packages(packages: &[&str]) -> Result<(), String> {
    let list = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "missing Debian packages: {list}\ninstall them with: sudo apt-get update && sudo apt-get install -y {list}"
        ));
    }
    eprintln!("xtask: installing Debian packages: {list}");
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The folder of the newest installed PostgreSQL server binaries, such as
/// `/usr/lib/postgresql/15/bin`.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The project's npm tools folder.
pub fn node_bin(tool: &str) -> PathBuf {
    root().join("node_modules").join(".bin").join(tool)
}

fn ensure_npm_packages() -> Result<(), String> {
    let root = root();
    let lock = root.join("package-lock.json");
    let installed_lock = root.join("node_modules").join(".package-lock.json");
    let is_current = match (std::fs::metadata(&lock), std::fs::metadata(&installed_lock)) {
        (Ok(lock), Ok(installed)) => match (lock.modified(), installed.modified()) {
            (Ok(lock), Ok(installed)) => installed >= lock,
            _ => false,
        },
        _ => false,
    };
    if is_current && node_bin("wasm-opt").exists() {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        return Err(
            "npm is missing: install Node.js 20 and npm (apt-get install -y nodejs npm)".to_owned(),
        );
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&root))
}
