//! A small static file server for the demo shop and the end-to-end tests, on 127.0.0.1 only.
//!
//! It serves `www/` at `/` and the built package `pkg/` at `/pkg/`, answers only GET and HEAD,
//! never leaves those folders, and sends a strict Content-Security-Policy so every page proves
//! the widget needs nothing looser.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::thread;

/// The policy every page is served with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self' http://127.0.0.1:*; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Where URL prefixes are served from.
#[derive(Debug, Clone)]
pub struct Site {
    /// `(url prefix, folder)`, longest prefix first.
    pub mounts: Vec<(String, PathBuf)>,
}

impl Site {
    /// The file a request path names, if it lies inside a mount.
    fn resolve(&self, request_path: &str) -> Option<PathBuf> {
        let path = request_path.split(['?', '#']).next().unwrap_or("/");
        let (prefix, folder) = self
            .mounts
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))?;
        let relative = Path::new(&path[prefix.len()..]);
        if relative
            .components()
            .any(|component| !matches!(component, Component::Normal(_)))
            || path.contains('\\')
            || path.contains("%")
        {
            return None;
        }
        let mut file = folder.join(relative);
        if file.is_dir() {
            file.push("index.html");
        }
        file.is_file().then_some(file)
    }
}

/// Binds 127.0.0.1:`port` (0 for any free port) and serves `site` on background threads.
/// Returns the bound port.
pub fn start(site: Site, port: u16) -> Result<u16, String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|error| format!("binding 127.0.0.1:{port}: {error}"))?;
    let bound = listener
        .local_addr()
        .map_err(|error| error.to_string())?
        .port();
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let site = site.clone();
            thread::spawn(move || {
                let _ = answer(&site, stream);
            });
        }
    });
    Ok(bound)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn answer(site: &Site, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read and drop the headers.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut stream = stream;
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"method not allowed\n",
            true,
        );
    }
    match site.resolve(path) {
        Some(file) => {
            let body = std::fs::read(&file)?;
            respond(
                &mut stream,
                "200 OK",
                content_type(&file),
                &body,
                method == "GET",
            )
        }
        None => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            method == "GET",
        ),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nContent-Security-Policy: {CONTENT_SECURITY_POLICY}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_leaves_the_mounted_folders() {
        let root = crate::root();
        let site = Site {
            mounts: vec![("/".to_owned(), root.join("www"))],
        };
        assert!(site.resolve("/").is_some());
        for path in [
            "/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/..\\Cargo.toml",
            "//etc/passwd",
        ] {
            assert_eq!(site.resolve(path), None, "{path}");
        }
    }
}
