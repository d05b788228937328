//! The API listener's accept loop, on hyper directly (axum's `serve` sets no header
//! timeout): HTTP/1.1, over TLS when configured (`crate::tls`), with a header-read
//! timeout, a cap on open connections per client address, and a graceful shutdown that
//! lets in-flight requests finish.
//!
//! - **Header timeout** (`limits.header_timeout_ms`): a client that does not finish its
//!   request headers in time (from the connection's start, or from the end of the previous
//!   response on a kept-alive connection) is disconnected; a slow-loris client holds a
//!   connection for at most that long.
//! - **Connections per address** (`limits.max_connections_per_ip`): a connection over the
//!   cap is closed before anything is read from it and counted in
//!   `ferretwatch_connections_refused_total`. Behind a proxy (`trust_forwarded_for`) every
//!   connection is the proxy's, so the cap is the proxy's job there (`deploy/nginx`).
//! - **TLS handshake**: it must end within the header timeout too, and a connection whose
//!   handshake fails (plain HTTP sent to the TLS port, a scanner) is closed unanswered.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::limits::bucket_key;

/// Open connections per client address.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One open connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnectionSlot {
    counts: Arc<ConnectionCounts>,
    ip: IpAddr,
}

impl ConnectionCounts {
    /// Takes a place for a connection from `ip`, or `None` when it has `cap` open already.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, cap: u32) -> Option<ConnectionSlot> {
        let ip = bucket_key(ip);
        let mut open = self.open.lock().expect("connection counts lock");
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot { counts: Arc::clone(self), ip })
    }

    /// Addresses with a connection open.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open.lock().expect("connection counts lock").len()
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().expect("connection counts lock");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// How the accept loop treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionPolicy {
    /// Time to send a request's headers.
    pub header_timeout: Duration,
    /// Open connections per address (`None`: no cap).
    pub per_ip: Option<u32>,
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` resolves, then stops
/// accepting and waits for open connections to finish their requests (the caller bounds
/// the wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    policy: ConnectionPolicy,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let counts = Arc::new(ConnectionCounts::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(policy.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match policy.per_ip {
            Some(cap) => match counts.acquire(peer.ip(), cap) {
                Some(slot) => Some(slot),
                None => {
                    metrics::counter!("ferretwatch_connections_refused_total").increment(1);
                    crate::telemetry::count_refusal(crate::telemetry::Refusal::Connections);
                    drop(stream);
                    continue;
                }
            },
            None => None,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection { app: app.clone(), builder: builder.clone(), peer, watcher: graceful.watcher() };
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection.serve(stream).await,
                Some(acceptor) => match tokio::time::timeout(policy.header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => connection.serve(stream).await,
                    // Not TLS, too slow, or a client gone: nothing to answer.
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                },
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One accepted connection, ready to serve HTTP/1.1 over whatever stream it ends up on.
struct Connection {
    app: Router,
    builder: hyper::server::conn::http1::Builder,
    peer: std::net::SocketAddr,
    /// Taken at accept, so that a shutdown during a TLS handshake still waits for it.
    watcher: Watcher,
}

impl Connection {
    async fn serve(self, io: impl AsyncRead + AsyncWrite + Unpin + Send + 'static) {
        let Connection { app, builder, peer, watcher } = self;
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        // Errors here are clients going away or timing out: nothing to report.
        let _ = watcher.watch(builder.serve_connection(TokioIo::new(io), service)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_is_freed_when_its_connection_ends() {
        let counts = Arc::new(ConnectionCounts::default());
        let ip: IpAddr = "192.0.2.4".parse().unwrap();
        let a = counts.acquire(ip, 2).unwrap();
        let _b = counts.acquire(ip, 2).unwrap();
        assert!(counts.acquire(ip, 2).is_none());
        assert!(counts.acquire("192.0.2.5".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(counts.acquire(ip, 2).is_some());
        assert_eq!(counts.addresses(), 1);
    }
}
