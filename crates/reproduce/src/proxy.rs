//! The egress proxy: an HTTP forward proxy on `127.0.0.1:0` for one reproduction, the
//! only way out for the browser (`--proxy-server`, with loopback not bypassed).
//!
//! For every absolute-form request and every `CONNECT host:port` tunnel the proxy
//! resolves the host itself, checks every resolved address with the [`Guard`], and
//! connects to a checked address (it never resolves twice, so a rebinding name cannot
//! slip an internal address in between). Anything else is answered 403 and recorded as a
//! [`Refusal`]. Every upstream byte, both ways, is counted against one cap; past it,
//! every stream fails and new connections are refused.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::guard::Guard;
use crate::{Hop, Refusal};

/// How long one name lookup or one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// What the proxy saw: refusals, plain-HTTP exchanges, bytes.
#[derive(Debug)]
pub struct ProxyLog {
    meter: Meter,
    refused: Mutex<Vec<Refusal>>,
    requests: Mutex<Vec<Hop>>,
}

impl ProxyLog {
    /// The refusals so far.
    pub fn refused(&self) -> Vec<Refusal> {
        self.refused.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The plain-HTTP requests and their statuses so far.
    pub fn requests(&self) -> Vec<Hop> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Bytes through the proxy, both ways.
    pub fn bytes(&self) -> u64 {
        self.meter.total.load(Ordering::Relaxed)
    }

    /// Whether the byte cap was reached.
    pub fn cap_reached(&self) -> bool {
        self.meter.exceeded.load(Ordering::Relaxed)
    }

    fn refuse(&self, host: &str, ip: Option<IpAddr>, reason: String) {
        tracing::info!(host, ?ip, %reason, "reproduction: destination refused");
        if let Ok(mut refused) = self.refused.lock() {
            if refused.len() < 1000 {
                refused.push(Refusal { host: host.to_owned(), ip, reason, by_page: false });
            }
        }
    }
}

#[derive(Debug)]
struct Meter {
    total: AtomicU64,
    cap: u64,
    exceeded: AtomicBool,
}

impl Meter {
    /// Counts `n` bytes; false once the cap is passed.
    fn add(&self, n: usize) -> bool {
        let total = self.total.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.cap {
            self.exceeded.store(true, Ordering::Relaxed);
        }
        total <= self.cap
    }
}

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    log: Arc<ProxyLog>,
    stop: watch::Sender<bool>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Ctx {
    guard: Guard,
    log: Arc<ProxyLog>,
    stop: watch::Receiver<bool>,
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1:0`.
    pub async fn start(guard: Guard, max_bytes: u64) -> io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(ProxyLog {
            meter: Meter { total: AtomicU64::new(0), cap: max_bytes, exceeded: AtomicBool::new(false) },
            refused: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let ctx = Arc::new(Ctx { guard, log: log.clone(), stop: stopped.clone() });
        tokio::spawn(until_stopped(stopped, async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let ctx = ctx.clone();
                tokio::spawn(until_stopped(ctx.stop.clone(), async move {
                    let service = hyper::service::service_fn(move |req| {
                        let ctx = ctx.clone();
                        async move { Ok::<_, Infallible>(handle(req, ctx).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                }));
            }
        }));
        Ok(Proxy { addr, log, stop })
    }

    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it saw.
    pub fn log(&self) -> &Arc<ProxyLog> {
        &self.log
    }
}

/// Runs `work` until it ends or the proxy stops.
async fn until_stopped(mut stop: watch::Receiver<bool>, work: impl std::future::Future<Output = ()>) {
    tokio::select! {
        _ = work => {}
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())).map_err(|e| match e {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
    response
}

async fn handle(req: Request<Incoming>, ctx: Arc<Ctx>) -> Response<Body> {
    if req.method() == Method::CONNECT {
        return tunnel(req, ctx).await;
    }
    forward(req, ctx).await
}

/// The host of an authority, without IPv6 brackets.
fn host_of(uri: &Uri) -> Option<String> {
    let host = uri.host()?;
    Some(host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
}

/// Resolves `host`, checks every address, and connects to a checked one.
async fn connect_checked(ctx: &Ctx, host: &str, port: u16) -> Result<Counted, StatusCode> {
    let log = &ctx.log;
    if log.cap_reached() {
        log.refuse(host, None, "transfer cap reached".into());
        return Err(StatusCode::FORBIDDEN);
    }
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) => {
                log.refuse(host, None, format!("does not resolve: {e}"));
                return Err(StatusCode::BAD_GATEWAY);
            }
            Err(_) => {
                log.refuse(host, None, "name lookup timed out".into());
                return Err(StatusCode::GATEWAY_TIMEOUT);
            }
        },
    };
    if addrs.is_empty() {
        log.refuse(host, None, "resolves to no address".into());
        return Err(StatusCode::BAD_GATEWAY);
    }
    // Every address must pass: a name with one internal address among public ones is
    // refused as a whole (the browser could otherwise be steered to it).
    for addr in &addrs {
        if let Err(why) = ctx.guard.check(addr.ip(), port) {
            let why = if why == crate::Blocked::Port { format!("{why} ({port})") } else { why.to_string() };
            log.refuse(host, Some(addr.ip()), why);
            return Err(StatusCode::FORBIDDEN);
        }
    }
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(Counted { inner: stream, log: ctx.log.clone() }),
            Ok(Err(e)) => last = Some(e.to_string()),
            Err(_) => last = Some("connection timed out".into()),
        }
    }
    tracing::debug!(host, error = ?last, "reproduction: upstream unreachable");
    Err(StatusCode::BAD_GATEWAY)
}

async fn tunnel(req: Request<Incoming>, ctx: Arc<Ctx>) -> Response<Body> {
    let (Some(host), Some(port)) = (host_of(req.uri()), req.uri().port_u16()) else {
        return text(StatusCode::BAD_REQUEST, "CONNECT wants host:port");
    };
    let mut upstream = match connect_checked(&ctx, &host, port).await {
        Ok(stream) => stream,
        Err(status) => return text(status, "refused by the reproduction proxy"),
    };
    let stop = ctx.stop.clone();
    tokio::spawn(until_stopped(stop, async move {
        if let Ok(upgraded) = hyper::upgrade::on(req).await {
            let mut client = TokioIo::new(upgraded);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    }));
    Response::new(Full::new(Bytes::new()).map_err(|e| match e {}).boxed())
}

/// The hop-by-hop headers a proxy must not pass on.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

async fn forward(req: Request<Incoming>, ctx: Arc<Ctx>) -> Response<Body> {
    let uri = req.uri().clone();
    if uri.scheme_str() != Some("http") {
        return text(StatusCode::BAD_REQUEST, "the reproduction proxy forwards absolute http:// requests only");
    }
    let Some(host) = host_of(&uri) else { return text(StatusCode::BAD_REQUEST, "no host") };
    let port = uri.port_u16().unwrap_or(80);
    let upstream = match connect_checked(&ctx, &host, port).await {
        Ok(stream) => stream,
        Err(status) => return text(status, "refused by the reproduction proxy"),
    };
    let Ok((mut sender, connection)) = hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await else {
        return text(StatusCode::BAD_GATEWAY, "upstream handshake failed");
    };
    tokio::spawn(until_stopped(ctx.stop.clone(), async move {
        let _ = connection.await;
    }));
    let (mut parts, body) = req.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match path.parse() {
        Ok(p) => p,
        Err(_) => return text(StatusCode::BAD_REQUEST, "bad path"),
    };
    let response = match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(e) => return text(StatusCode::BAD_GATEWAY, &format!("upstream: {e}")),
    };
    if let Ok(mut requests) = ctx.log.requests.lock() {
        if requests.len() < 1000 {
            requests.push(Hop { url: uri.to_string(), status: response.status().as_u16() });
        }
    }
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, body.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>).boxed())
}

/// An upstream connection whose bytes count against the cap.
struct Counted {
    inner: TcpStream,
    log: Arc<ProxyLog>,
}

fn cap_error() -> io::Error {
    io::Error::other("transfer cap reached")
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.log.cap_reached() {
            return Poll::Ready(Err(cap_error()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let read = buf.filled().len() - before;
        if !self.log.meter.add(read) {
            return Poll::Ready(Err(cap_error()));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.log.cap_reached() {
            return Poll::Ready(Err(cap_error()));
        }
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        self.log.meter.add(written);
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
