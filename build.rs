//! The widget's WebAssembly stack: 32 KiB in optimised builds (the package measures about 5 KiB
//! at its deepest, mounting, submitting and recording), 64 KiB in unoptimised test builds, whose
//! frames are larger. The stack comes first in linear memory, so an overflow traps instead of
//! overwriting data, and a small stack keeps the module's memory to two pages.

// A build script speaks to Cargo through its standard output.
#![allow(clippy::print_stdout)]

fn main() {
    println!("cargo::rerun-if-env-changed=OPT_LEVEL");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    if wasm {
        let optimised = std::env::var("OPT_LEVEL").is_ok_and(|level| level != "0");
        let stack = if optimised { 32 * 1024 } else { 64 * 1024 };
        println!("cargo::rustc-link-arg=-zstack-size={stack}");
    }
}
