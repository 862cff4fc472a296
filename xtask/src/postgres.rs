//! A private PostgreSQL server for the tests: its own data folder and port on 127.0.0.1, started
//! by the test command and stopped by process id when the tests end.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process;
use crate::setup::{is_root, postgres_bin_dir};

/// A running server; dropping it stops the server and removes its data.
#[derive(Debug)]
pub struct PostgresServer {
    child: Child,
    folder: PathBuf,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub url: String,
}

/// Runs a server program as the `postgres` user when we are root, since PostgreSQL refuses to
/// run as root, and as ourselves otherwise.
fn as_server_user(program: PathBuf) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--clear-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| error.to_string())
}

impl PostgresServer {
    /// Creates a fresh cluster in a temporary folder and starts it.
    pub fn start() -> Result<PostgresServer, String> {
        let bin = postgres_bin_dir().ok_or("PostgreSQL is not installed")?;
        let folder = std::env::temp_dir().join(format!("iys-consent-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder)
            .map_err(|error| format!("creating {}: {error}", folder.display()))?;
        if is_root() {
            process::run(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&folder),
            )?;
        }
        let data = folder.join("data");
        process::run(
            as_server_user(bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale=C.UTF-8",
                ])
                .stdout(Stdio::null()),
        )?;
        let port = free_port()?;
        let log =
            std::fs::File::create(folder.join("server.log")).map_err(|error| error.to_string())?;
        let child = as_server_user(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&folder)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=300",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|error| format!("starting postgres: {error}"))?;
        let server = PostgresServer {
            child,
            folder,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        };
        let started = Instant::now();
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                eprintln!("xtask: PostgreSQL ready on 127.0.0.1:{port}");
                return Ok(server);
            }
            if started.elapsed() > Duration::from_secs(60) {
                let log =
                    std::fs::read_to_string(server.folder.join("server.log")).unwrap_or_default();
                return Err(format!("PostgreSQL did not start within 60 s:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown.
        let _ = crate::process::stop(&mut self.child, "INT", Duration::from_secs(30));
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
