//! `intel fetch` over real HTTP: a server on loopback, started by the test, answers with
//! validators and 304s. No mock of the client.

use ferretwatch_types::Coded;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ferretwatch_pack_client::manifest::FeedSource as Source;
use ferretwatch_pack_publisher::feedfile::FeedFile;
use ferretwatch_pack_publisher::{fetch, FetchRequest, FetchStatus};
use ferretwatch_types::Timestamp;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds").join(name)).unwrap()
}

/// A request as the server saw it: request line and lower-cased headers.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Serves `answers.len()` connections, one answer each, then stops.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

type Answer = Box<dyn Fn(&Seen) -> (u16, Vec<(&'static str, String)>, Vec<u8>) + Send>;

impl Server {
    fn start(answers: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/downloads/feed", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let thread = std::thread::spawn(move || {
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut headers = Vec::new();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                    }
                }
                let request = Seen { line: line.trim_end().to_owned(), headers };
                let (status, extra, body) = answer(&request);
                log.lock().unwrap().push(request);
                let reason = match status {
                    200 => "OK",
                    304 => "Not Modified",
                    _ => "Error",
                };
                let mut head = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
                if status != 304 {
                    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                for (name, value) in extra {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
                stream.flush().unwrap();
                let _ = reader.read(&mut [0; 1]);
            }
        });
        Server { url, seen, thread: Some(thread) }
    }

    fn requests(mut self) -> Vec<Seen> {
        self.thread.take().unwrap().join().unwrap();
        Arc::try_unwrap(self.seen).unwrap().into_inner().unwrap()
    }
}

const ETAG: &str = "\"5f2a-63f1c2\"";
const MODIFIED: &str = "Wed, 24 Sep 2025 14:55:07 GMT";

fn feed_answer() -> Answer {
    Box::new(|_| (200, vec![("ETag", ETAG.into()), ("Last-Modified", MODIFIED.into())], fixture("urlhaus.csv")))
}

fn conditional_answer() -> Answer {
    Box::new(|request| {
        if request.header("if-none-match") == Some(ETAG) {
            (304, vec![("ETag", ETAG.into())], Vec::new())
        } else {
            (200, vec![("ETag", ETAG.into())], fixture("urlhaus.csv"))
        }
    })
}

const T0: Timestamp = Timestamp::from_secs(1_758_725_700); // 2025-09-24T14:55:00Z

#[test]
fn a_second_fetch_sends_the_validators_and_a_304_keeps_the_indicators_with_a_renewed_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(vec![feed_answer(), conditional_answer()]);
    let request = FetchRequest::new(Source::Urlhaus, server.url.clone(), dir.path(), T0);

    let first = fetch(&request).unwrap();
    assert_eq!(first.status, FetchStatus::Fetched);
    assert_eq!(first.header.indicators, 6, "7 URLs, two of which normalise to one");
    assert_eq!(first.header.expires, T0.plus_secs(72 * 3600));
    let before = FeedFile::read(&first.path).unwrap();

    let later = T0.plus_secs(4 * 3600);
    let second = fetch(&FetchRequest { now: later, ..request }).unwrap();
    assert_eq!(second.status, FetchStatus::NotModified);
    let after = FeedFile::read(&second.path).unwrap();
    assert_eq!(after.entries, before.entries, "a 304 keeps the previous output");
    assert_eq!(after.header.fetched_at, later);
    assert_eq!(after.header.expires, later.plus_secs(72 * 3600));
    assert_eq!(after.header.report, before.header.report);

    let requests = server.requests();
    assert_eq!(requests[0].line, "GET /downloads/feed HTTP/1.1");
    assert_eq!(requests[0].header("if-none-match"), None, "nothing to revalidate the first time");
    assert_eq!(requests[1].header("if-none-match"), Some(ETAG));
    assert_eq!(requests[1].header("if-modified-since"), Some(MODIFIED));
}

#[test]
fn a_server_error_or_an_oversized_body_leaves_the_previous_feed_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(vec![
        feed_answer(),
        Box::new(|_| (503, vec![], b"maintenance".to_vec())),
        Box::new(|_| (200, vec![], vec![b'#'; 4096])),
    ]);
    let request = FetchRequest::new(Source::Urlhaus, server.url.clone(), dir.path(), T0);
    let first = fetch(&request).unwrap();
    let before = std::fs::read(&first.path).unwrap();

    let err = fetch(&request).unwrap_err();
    assert_eq!(err.code(), "http_status", "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    let err = fetch(&FetchRequest { max_bytes: 1024, ..request }).unwrap_err();
    assert_eq!(err.code(), "http_transport", "{err}");
    assert_eq!(std::fs::read(&first.path).unwrap(), before);
    server.requests();
}

#[test]
fn validators_are_not_sent_for_another_url_or_without_a_previous_feed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(vec![feed_answer(), feed_answer()]);
    let request = FetchRequest::new(Source::Urlhaus, server.url.clone(), dir.path(), T0);
    let first = fetch(&request).unwrap();
    std::fs::remove_file(&first.path).unwrap();
    let again = fetch(&request).unwrap();
    assert_eq!(again.status, FetchStatus::Fetched);
    let requests = server.requests();
    assert_eq!(requests[1].header("if-none-match"), None, "a 304 could not restore a deleted feed");
}

#[test]
fn files_are_fetched_too_and_feed_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds/plain.txt");
    let mut request = FetchRequest::new(Source::Plain, path.to_string_lossy(), dir.path(), T0);
    request.name = Some("triage-list".into());
    let outcome = fetch(&request).unwrap();
    assert!(outcome.path.ends_with("triage-list.feed"));
    assert_eq!(outcome.header.report.bad, 2);
    assert_eq!(outcome.header.expires, T0.plus_secs(7 * 24 * 3600));
    request.name = Some("../escape".into());
    assert_eq!(fetch(&request).unwrap_err().code(), "invalid_argument");
}
