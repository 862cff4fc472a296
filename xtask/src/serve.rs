//! A small web server for the demo shop and the end-to-end tests, on 127.0.0.1 only.
//!
//! It serves `www/` at `/` and the built package `pkg/` at `/pkg/` (GET and HEAD only, never
//! outside those folders), a few generated answers, and forwards `/v1/` to the relay, as a shop
//! that serves the relay under its own origin would. Pages carry a strict Content-Security-Policy
//! so every page proves the widget needs nothing looser.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::thread;

/// The policy every page is served with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// A generated answer: content type and body, made on each request.
pub type Generated = Arc<dyn Fn() -> (&'static str, Vec<u8>) + Send + Sync>;

/// What the server serves.
#[derive(Clone, Default)]
pub struct Site {
    /// `(url prefix, folder)`, longest prefix first.
    pub mounts: Vec<(String, PathBuf)>,
    /// Exact paths answered by a function.
    pub generated: Vec<(String, Generated)>,
    /// Requests under `/v1/` go to this relay.
    pub relay: Option<SocketAddr>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Site")
            .field("mounts", &self.mounts)
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
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

/// Binds 127.0.0.1:`port` (0 for any free port).
pub fn bind(port: u16) -> Result<TcpListener, String> {
    TcpListener::bind(("127.0.0.1", port))
        .map_err(|error| format!("binding 127.0.0.1:{port}: {error}"))
}

/// Serves `site` from `listener` on background threads until the process ends.
pub fn start(listener: TcpListener, site: Site) {
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let site = site.clone();
            thread::spawn(move || {
                let _ = answer(&site, stream);
            });
        }
    });
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
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        headers.push(header);
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut stream = stream;
    let host = headers.iter().find_map(|header| {
        let (name, value) = header.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim().to_owned())
    });
    let port = stream
        .local_addr()
        .map(|address| address.port())
        .unwrap_or(0);
    if !is_own_host(host.as_deref(), port) {
        // A name that resolves to 127.0.0.1 but is not ours is a DNS-rebinding page reaching
        // the demo from the person's browser.
        return respond(
            &mut stream,
            "421 Misdirected Request",
            "text/plain",
            b"this server answers only for 127.0.0.1 and localhost\n",
            true,
        );
    }
    if let (Some(relay), true) = (site.relay, path.starts_with("/v1/")) {
        let length = headers
            .iter()
            .find_map(|header| {
                let (name, value) = header.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0)
            .min(1 << 20);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        return forward(relay, &request_line, &headers, &body, &mut stream);
    }
    if method != "GET" && method != "HEAD" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"method not allowed\n",
            true,
        );
    }
    let bare = path.split(['?', '#']).next().unwrap_or("/");
    if let Some((_, generate)) = site
        .generated
        .iter()
        .find(|(generated, _)| generated == bare)
    {
        let (content_type, body) = generate();
        return respond(&mut stream, "200 OK", content_type, &body, method == "GET");
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

/// Whether a request's `Host` names this server: `127.0.0.1`, `localhost` or `[::1]` on its port.
fn is_own_host(host: Option<&str>, port: u16) -> bool {
    let Some(host) = host else {
        return false;
    };
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")))
}

/// Passes one request to the relay and its whole answer back, adding the client's address as a
/// trusted proxy would.
fn forward(
    relay: SocketAddr,
    request_line: &str,
    headers: &[String],
    body: &[u8],
    client: &mut TcpStream,
) -> std::io::Result<()> {
    let Ok(mut upstream) = TcpStream::connect(relay) else {
        return respond(
            client,
            "502 Bad Gateway",
            "application/json",
            b"{\"code\":\"internal\",\"message\":\"the relay is not running\"}",
            true,
        );
    };
    let peer = client
        .peer_addr()
        .map(|address| address.ip().to_string())
        .unwrap_or_default();
    let mut head = String::from(request_line);
    for header in headers {
        let name = header.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("x-forwarded-for") {
            continue;
        }
        head.push_str(header);
    }
    head.push_str(&format!(
        "X-Forwarded-For: {peer}\r\nConnection: close\r\n\r\n"
    ));
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(body)?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer)?;
    client.write_all(&answer)?;
    client.flush()
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
    fn answers_only_for_its_own_host_and_port() {
        assert!(is_own_host(Some("127.0.0.1:8080"), 8080));
        assert!(is_own_host(Some("LOCALHOST:8080"), 8080));
        for other in [
            None,
            Some("127.0.0.1:9090"),
            Some("attacker.example:8080"),
            Some("127.0.0.1.attacker.example:8080"),
            Some("127.0.0.1"),
        ] {
            assert!(!is_own_host(other, 8080), "{other:?}");
        }
    }

    #[test]
    fn a_page_under_another_name_is_refused_over_http() {
        let listener = bind(0).unwrap();
        let port = listener.local_addr().unwrap().port();
        start(
            listener,
            Site {
                mounts: vec![("/".to_owned(), crate::root().join("www"))],
                ..Site::default()
            },
        );
        let ask = |host: &str| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                stream,
                "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer.lines().next().unwrap_or_default().to_owned()
        };
        assert!(ask(&format!("127.0.0.1:{port}")).contains("200"));
        assert!(ask(&format!("rebound.example:{port}")).contains("421"));
    }

    #[test]
    fn never_leaves_the_mounted_folders() {
        let root = crate::root();
        let site = Site {
            mounts: vec![("/".to_owned(), root.join("www"))],
            ..Site::default()
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
