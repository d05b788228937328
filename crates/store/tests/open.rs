//! Opening stores: scheme selection, file creation and failures that must be clear.

mod support;

use std::time::Duration;

use ferretwatch_store::{ErrorKind, StoreOptions, StoreUrl};

#[tokio::test]
async fn an_unknown_scheme_is_a_clear_configuration_error() {
    let err = ferretwatch_store::open("mysql://root@127.0.0.1/fw", &StoreOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    let message = err.to_string();
    assert!(message.contains("mysql") && message.contains("sqlite://") && message.contains("postgres://"), "{message}");
}

#[tokio::test]
async fn sqlite_creates_the_file_its_owners_alone_and_its_directories() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("fw.db");
    let store =
        ferretwatch_store::open(&format!("sqlite://{}", path.display()), &StoreOptions::default()).await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.backend().name(), "sqlite");
    // It holds password hashes and sessions: mode 0600, and so its write-ahead log.
    for file in ["fw.db", "fw.db-wal"] {
        let mode = std::fs::metadata(path.with_file_name(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:o}");
    }
    store.close().await;
}

#[tokio::test]
async fn an_in_memory_sqlite_store_works_for_tests() {
    let store = ferretwatch_store::open("sqlite::memory:", &StoreOptions::default()).await.unwrap();
    let receipt = store.append_report(&support::report("https://memory.example/")).await.unwrap();
    assert_eq!(store.get_report(receipt.id).await.unwrap().url, "https://memory.example/");
    assert_eq!(store.pool_stats().max, 1);
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_not_internal() {
    let options = StoreOptions { acquire_timeout: Duration::from_secs(2), ..StoreOptions::default() };
    // Port 1 on loopback: nothing listens there.
    let err = ferretwatch_store::open("postgres://postgres@127.0.0.1:1/fw", &options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
    assert_eq!(err.to_string(), "storage unavailable");
}

#[test]
fn database_urls_are_redacted_in_logs() {
    let url = StoreUrl::parse("postgres://fw:s3cret@db:5432/fw?sslmode=verify-full&sslrootcert=ca.pem").unwrap();
    assert!(!format!("{url:?} {url}").contains("s3cret"));
}
