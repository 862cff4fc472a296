//! `cargo xtask demo`: builds the widget and serves the demo shop on 127.0.0.1.

use crate::serve::{self, Site};
use crate::setup::{self, Needs};
use crate::{dist, root};

/// The demo's default port.
const DEFAULT_PORT: u16 = 8080;

pub fn run(arguments: &[String]) -> Result<(), String> {
    let port = match arguments {
        [] => DEFAULT_PORT,
        [flag, value] if flag == "--port" => value
            .parse()
            .map_err(|_| format!("--port expects a port number, found `{value}`"))?,
        _ => return Err("usage: cargo xtask demo [--port N]".to_owned()),
    };
    setup::ensure(Needs {
        wasm: true,
        npm: true,
        ..Needs::default()
    })?;
    let package = dist::build()?;
    let root = root();
    let site = Site {
        mounts: vec![
            ("/pkg/".to_owned(), package),
            ("/".to_owned(), root.join("www")),
        ],
    };
    let port = serve::start(site, port)?;
    println!("iys-consent demo shop: http://127.0.0.1:{port}/");
    println!("  checkout:    http://127.0.0.1:{port}/checkout/");
    println!("press Ctrl-C to stop");
    loop {
        std::thread::park();
    }
}
