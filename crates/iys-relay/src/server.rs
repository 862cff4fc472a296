//! The HTTP server in front of the API, with the limits a public endpoint needs: a deadline on
//! each request's headers and body, an idle timeout on kept-alive connections, caps on open
//! connections and on requests in flight, and a graceful shutdown that finishes within a bound
//! even while clients stall.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The server's limits; the defaults suit a public endpoint.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may stay silent between requests.
    pub idle_timeout: Duration,
    /// Connections open at once at most; more are closed as they come.
    pub max_connections: usize,
    /// Requests being handled at once at most; more are answered 429 at once.
    pub max_in_flight: usize,
    /// How long a shutdown waits for the requests in flight before it cuts them off.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1_024,
            max_in_flight: 256,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A TCP stream that notes when it last received bytes, so that a silent connection can be told
/// from a busy one.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

/// What one connection is doing, shared by its stream, its requests and its watchdog.
struct Activity {
    started: Instant,
    /// When bytes last came, in milliseconds since `started`.
    last_read_ms: AtomicI64,
    /// Requests of this connection being handled.
    in_flight: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        self.last_read_ms
            .store(self.started.elapsed().as_millis() as i64, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let last = self.last_read_ms.load(Ordering::Relaxed).max(0) as u64;
        self.started
            .elapsed()
            .saturating_sub(Duration::from_millis(last))
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buffer.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(context, buffer);
        if matches!(polled, Poll::Ready(Ok(()))) && buffer.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(context, data)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets the requests in flight finish for up to the grace period, and closes every
/// connection left.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let (stopping, stop_signal) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused_connections: u64 = 0;
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a connection reset before it was accepted:
                    // wait a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            refused_connections += 1;
            if refused_connections.is_power_of_two() {
                tracing::warn!(
                    refused = refused_connections,
                    max = limits.max_connections,
                    "at the connection limit: closing new connections"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity {
            started: Instant::now(),
            last_read_ms: AtomicI64::new(0),
            in_flight: AtomicUsize::new(0),
        });
        let service = connection_service(
            router.clone(),
            remote,
            Arc::clone(&activity),
            Arc::clone(&in_flight),
        );
        let io = TokioIo::new(Watched {
            stream,
            activity: Arc::clone(&activity),
        });
        let limits = limits.clone();
        let mut stop_signal = stop_signal.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(io, TowerToHyperService::new(service));
            let mut connection = std::pin::pin!(connection);
            let mut watchdog = tokio::time::interval(Duration::from_millis(250));
            let mut closing = false;
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    _ = stop_signal.changed(), if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = watchdog.tick(), if !closing => {
                        let idle = activity.in_flight.load(Ordering::Relaxed) == 0
                            && activity.silent_for() >= limits.idle_timeout;
                        if idle {
                            closing = true;
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let open = tasks.len();
    if open > 0 {
        tracing::info!(connections = open, "finishing the requests in flight");
    }
    let finished = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            connections = tasks.len(),
            "closing the connections still open after the shutdown grace"
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// The router for one connection: it knows the client's address, counts the connection's
/// requests in flight, and answers 429 at once when the relay has too many in flight.
fn connection_service(
    router: Router,
    remote: SocketAddr,
    activity: Arc<Activity>,
    in_flight: Arc<Semaphore>,
) -> impl tower::Service<
    Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone
+ Send {
    tower::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        let router = router.clone();
        let activity = Arc::clone(&activity);
        let in_flight = Arc::clone(&in_flight);
        async move {
            request.extensions_mut().insert(ConnectInfo(remote));
            let Ok(_permit) = in_flight.try_acquire_owned() else {
                tracing::warn!("at the limit of requests in flight: answering 429");
                let busy = crate::error::ApiError::new(
                    consent_core::contract::ErrorCode::RateLimited,
                    "the relay is handling as many requests as it can; try again shortly",
                )
                .with_retry_after(1);
                return Ok(axum::response::IntoResponse::into_response(busy));
            };
            activity.in_flight.fetch_add(1, Ordering::Relaxed);
            let response = router.oneshot(request.map(axum::body::Body::new)).await;
            activity.in_flight.fetch_sub(1, Ordering::Relaxed);
            activity.touch();
            response
        }
    })
}
