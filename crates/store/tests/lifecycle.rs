//! The data lifecycle on both backends: retention into daily aggregates, tombstones
//! (forget, refusal on append, reapply after a restore), cleanup of expired console
//! state and the maintenance reports. A proptest checks the retention boundary on SQLite.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use ferretwatch_store::{
    host_of, AccountId, ErrorKind, ForgetTarget, InstallTokenId, NewSession, ReportKind, RetentionBatch, Score,
    ScoreLevel, SessionStage, SlowQueries, Store, StoreOptions, Tombstone, TombstoneKey, TombstoneSubject, UrlHash,
    DAY_MS, FORGOTTEN_URL,
};
use ferretwatch_types::{Sha256, Timestamp};
use support::{on_both_backends, report, Harness};

on_both_backends!(
    retention_deletes_exactly_the_reports_before_the_cutoff_and_counts_each_once,
    a_report_racing_a_forget_of_its_url_is_refused_or_deleted_never_kept,
    a_second_retention_run_changes_nothing,
    forgetting_a_url_deletes_its_reports_redacts_its_entry_and_refuses_it_again,
    forgetting_an_install_covers_its_reports_up_to_the_request_only,
    reapplying_tombstones_deletes_what_a_restored_database_still_holds,
    expired_sessions_are_cleaned_up_and_live_ones_kept,
    maintenance_reports_name_the_indexes_and_say_why_slow_queries_are_unavailable,
);

const NOW: i64 = 1_790_000_000_000;

fn key() -> TombstoneKey {
    TombstoneKey::from_bytes([42; 32])
}

fn keyed_options() -> StoreOptions {
    StoreOptions { tombstone_key: Some(key()), ..StoreOptions::default() }
}

fn batch(cutoff: i64, limit: u32) -> RetentionBatch {
    RetentionBatch {
        cutoff: Timestamp::from_millis(cutoff),
        limit,
        yellow: Score::new(40).unwrap(),
        red: Score::new(70).unwrap(),
        domain_of: host_of,
    }
}

/// Appends a report of `url` received at `at` with `score`, of `kind`.
async fn append(store: &Arc<dyn Store>, url: &str, at: i64, score: i64, kind: ReportKind) -> i64 {
    let mut r = report(url);
    r.received_at = Timestamp::from_millis(at);
    r.score = Score::new(score).unwrap();
    r.kind = kind;
    store.append_report(&r).await.unwrap().id.0
}

/// The aggregates as (day, kind, level, domain) → reports.
async fn aggregates(store: &Arc<dyn Store>) -> BTreeMap<(i64, &'static str, ScoreLevel, String), i64> {
    let rows = store.daily_counts(Timestamp::from_millis(0), Timestamp::from_millis(i64::MAX)).await.unwrap();
    rows.into_iter().map(|r| ((r.day.as_millis(), r.kind.code(), r.level, r.domain), r.reports)).collect()
}

async fn retention_deletes_exactly_the_reports_before_the_cutoff_and_counts_each_once(h: &impl Harness) {
    let store = h.open().await;
    let cutoff = NOW - 90 * DAY_MS;
    let old_a = append(&store, "https://a.example/x", cutoff - 3 * DAY_MS, 85, ReportKind::Report).await;
    let old_b = append(&store, "https://a.example/y", cutoff - 3 * DAY_MS + 5, 50, ReportKind::Report).await;
    let old_c = append(&store, "https://b.example/", cutoff - 1, 10, ReportKind::FalsePositive).await;
    let at_cutoff = append(&store, "https://b.example/", cutoff, 10, ReportKind::FalsePositive).await;
    let young = append(&store, "https://a.example/x", cutoff + 1, 90, ReportKind::Report).await;

    assert_eq!(store.reports_before(Timestamp::from_millis(cutoff)).await.unwrap(), 3);
    let mut deleted = 0;
    let mut batches = 0;
    loop {
        let outcome = store.retention_batch(&batch(cutoff, 2)).await.unwrap();
        if outcome.deleted == 0 {
            break;
        }
        assert!(outcome.newest.unwrap().as_millis() < cutoff);
        deleted += outcome.deleted;
        batches += 1;
    }
    assert_eq!((deleted, batches), (3, 2), "three reports before the cutoff, in batches of two");
    for id in [old_a, old_b, old_c] {
        assert_eq!(store.get_report(ferretwatch_store::ReportId(id)).await.unwrap_err().kind(), ErrorKind::NotFound);
    }
    for id in [at_cutoff, young] {
        store.get_report(ferretwatch_store::ReportId(id)).await.expect("a report at or after the cutoff stays");
    }
    let day = (cutoff - 3 * DAY_MS).div_euclid(DAY_MS) * DAY_MS;
    let last_day = (cutoff - 1).div_euclid(DAY_MS) * DAY_MS;
    let expected: BTreeMap<_, _> = [
        ((day, "report", ScoreLevel::Red, "a.example".to_owned()), 1),
        ((day, "report", ScoreLevel::Yellow, "a.example".to_owned()), 1),
        ((last_day, "false_positive", ScoreLevel::Green, "b.example".to_owned()), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(aggregates(&store).await, expected);
    // The moderation entries stay with their counts, though two of their reports are gone.
    let entry = store.get_moderation(&hash("https://a.example/x")).await.unwrap();
    assert_eq!(entry.report_count, 2);
    let entry = store.get_moderation(&hash("https://a.example/y")).await.unwrap();
    assert_eq!(entry.report_count, 1);
    assert_eq!(
        store.list_reports_for_url(&entry.url_hash, ferretwatch_store::Page::first(10)).await.unwrap().items.len(),
        0
    );
}

async fn a_second_retention_run_changes_nothing(h: &impl Harness) {
    let store = h.open().await;
    for i in 0..7 {
        append(&store, &format!("https://s{}.example/", i % 3), NOW - 100 * DAY_MS + i, 75, ReportKind::Report).await;
    }
    let cutoff = NOW - 90 * DAY_MS;
    while store.retention_batch(&batch(cutoff, 3)).await.unwrap().deleted > 0 {}
    let first = aggregates(&store).await;
    assert_eq!(first.values().sum::<i64>(), 7);
    let again = store.retention_batch(&batch(cutoff, 3)).await.unwrap();
    assert_eq!(again.deleted, 0);
    assert_eq!(aggregates(&store).await, first);
    // A bad batch is refused, not run.
    let err = store.retention_batch(&batch(cutoff, 0)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

fn hash(url: &str) -> UrlHash {
    ferretwatch_store::ReportUrl::parse(url).unwrap().hash()
}

async fn forgetting_a_url_deletes_its_reports_redacts_its_entry_and_refuses_it_again(h: &impl Harness) {
    let store = h.open_with(keyed_options()).await;
    let url = "https://victim.example/account?id=7";
    append(&store, url, NOW, 80, ReportKind::Report).await;
    append(&store, url, NOW + 1, 20, ReportKind::FalsePositive).await;
    let other = append(&store, "https://other.example/", NOW, 80, ReportKind::Report).await;

    let target = ForgetTarget::Url(hash(url));
    let done = store.forget(&key(), &target, "data subject request", Timestamp::from_millis(NOW + 5)).await.unwrap();
    assert!(done.new);
    assert_eq!(done.reports_deleted, 2);
    assert!(done.moderation_redacted);
    assert_eq!(done.tombstone.subject, TombstoneSubject::Url);
    assert_ne!(done.tombstone.keyed_hash.0, *hash(url).digest().as_bytes(), "the tombstone is keyed");

    let entry = store.get_moderation(&hash(url)).await.unwrap();
    assert_eq!(entry.url, FORGOTTEN_URL);
    assert_eq!(entry.report_count, 2, "the entry keeps its counts");
    store.get_report(ferretwatch_store::ReportId(other)).await.expect("other URLs are untouched");

    let mut again = report(url);
    again.received_at = Timestamp::from_millis(NOW + 10);
    let err = store.append_report(&again).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gone);
    assert!(!err.to_string().contains("victim"), "{err}");
    // The mark on the moderation entry refuses it even through a store without the key.
    let keyless = h.open().await;
    assert_eq!(keyless.append_report(&again).await.unwrap_err().kind(), ErrorKind::Gone);
    assert_eq!(keyless.get_moderation(&hash(url)).await.unwrap().report_count, 2, "nothing counted");
    // Forgetting twice keeps one tombstone.
    let twice = store.forget(&key(), &target, "again", Timestamp::from_millis(NOW + 20)).await.unwrap();
    assert!(!twice.new);
    let listed = store.list_tombstones().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].keyed_hash, done.tombstone.keyed_hash);
    // An empty reason is refused.
    let err = store.forget(&key(), &target, "  ", Timestamp::from_millis(NOW)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

/// Reports of one URL sent while it is forgotten: each is either refused as gone or
/// committed before the forget and deleted by it; none is left afterwards.
async fn a_report_racing_a_forget_of_its_url_is_refused_or_deleted_never_kept(h: &impl Harness) {
    let store = h.open_with(keyed_options()).await;
    let url = "https://raced.example/login";
    append(&store, url, NOW, 80, ReportKind::Report).await;
    let mut senders = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        senders.push(tokio::spawn(async move {
            let mut r = report(url);
            r.received_at = Timestamp::from_millis(NOW + i);
            store.append_report(&r).await.map(|_| ()).map_err(|e| e.kind())
        }));
    }
    tokio::task::yield_now().await;
    store.forget(&key(), &ForgetTarget::Url(hash(url)), "race", Timestamp::from_millis(NOW + 1000)).await.unwrap();
    for sender in senders {
        match sender.await.unwrap() {
            Ok(()) | Err(ErrorKind::Gone) => {}
            Err(other) => panic!("an append failed as {other}"),
        }
    }
    let left = store.list_reports_for_url(&hash(url), ferretwatch_store::Page::first(100)).await.unwrap();
    assert!(left.items.is_empty(), "{} report(s) of the forgotten URL kept", left.items.len());
}

async fn forgetting_an_install_covers_its_reports_up_to_the_request_only(h: &impl Harness) {
    let store = h.open_with(keyed_options()).await;
    let install = InstallTokenId::parse("0123456789abcdef0123456789abcdef").unwrap();
    let mut ids = Vec::new();
    for (i, url) in ["https://p.example/1", "https://p.example/2"].into_iter().enumerate() {
        let mut r = report(url);
        r.received_at = Timestamp::from_millis(NOW + i as i64);
        r.install_token_id = Some(install.clone());
        ids.push(store.append_report(&r).await.unwrap().id);
    }
    let stranger = append(&store, "https://p.example/1", NOW, 80, ReportKind::Report).await;
    let done = store
        .forget(&key(), &ForgetTarget::Install(install.clone()), "deletion request", Timestamp::from_millis(NOW + 10))
        .await
        .unwrap();
    assert_eq!(done.reports_deleted, 2);
    assert!(!done.moderation_redacted);
    for id in ids {
        assert_eq!(store.get_report(id).await.unwrap_err().kind(), ErrorKind::NotFound);
    }
    store.get_report(ferretwatch_store::ReportId(stranger)).await.unwrap();
    // A report from the same install after the request is accepted and kept.
    let mut later = report("https://p.example/3");
    later.received_at = Timestamp::from_millis(NOW + 20);
    later.install_token_id = Some(install);
    let id = store.append_report(&later).await.unwrap().id;
    let reapplied = store.reapply_tombstones(&key(), &[]).await.unwrap();
    assert_eq!(reapplied.reports_deleted, 0);
    store.get_report(id).await.expect("the tombstone covers reports up to the request only");
}

async fn reapplying_tombstones_deletes_what_a_restored_database_still_holds(h: &impl Harness) {
    // The restored database: it holds reports deleted after its backup was taken.
    let store = h.open().await;
    let url = "https://restored.example/login";
    append(&store, url, NOW, 80, ReportKind::Report).await;
    append(&store, url, NOW + 1, 80, ReportKind::Report).await;
    let install = InstallTokenId::parse("fedcba9876543210fedcba9876543210").unwrap();
    let mut r = report("https://kept.example/");
    r.install_token_id = Some(install.clone());
    r.received_at = Timestamp::from_millis(NOW);
    let by_install = store.append_report(&r).await.unwrap().id;
    r.received_at = Timestamp::from_millis(NOW + 100);
    let after_request = store.append_report(&r).await.unwrap().id;
    let kept = append(&store, "https://kept.example/", NOW, 80, ReportKind::Report).await;

    // The tombstones exported from the live database (keyed hashes only).
    let tombstones = [
        Tombstone {
            keyed_hash: key().keyed_target(&ForgetTarget::Url(hash(url))),
            subject: TombstoneSubject::Url,
            created_at: Timestamp::from_millis(NOW + 50),
            reason: "deletion request".into(),
        },
        Tombstone {
            keyed_hash: key().keyed_target(&ForgetTarget::Install(install)),
            subject: TombstoneSubject::Install,
            created_at: Timestamp::from_millis(NOW + 50),
            reason: "deletion request".into(),
        },
    ];
    let done = store.reapply_tombstones(&key(), &tombstones).await.unwrap();
    assert_eq!((done.inserted, done.reports_deleted, done.moderation_redacted), (2, 3, 1));
    assert_eq!(store.get_report(by_install).await.unwrap_err().kind(), ErrorKind::NotFound);
    store.get_report(after_request).await.expect("after the install's request");
    store.get_report(ferretwatch_store::ReportId(kept)).await.expect("untouched");
    assert_eq!(store.get_moderation(&hash(url)).await.unwrap().url, FORGOTTEN_URL);
    let again = store.reapply_tombstones(&key(), &tombstones).await.unwrap();
    assert_eq!((again.inserted, again.reports_deleted, again.moderation_redacted), (0, 0, 0));
    assert_eq!(store.list_tombstones().await.unwrap().len(), 2);

    // Reopened with the key, the restored database refuses the URL.
    let store = h.open_with(keyed_options()).await;
    let err = store.append_report(&report(url)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Gone);
}

async fn expired_sessions_are_cleaned_up_and_live_ones_kept(h: &impl Harness) {
    let store = h.open().await;
    h.execute_raw("INSERT INTO admin_accounts (email, role, created_at, created_by) VALUES ('a@example.test', 'viewer', 0, 'test')")
        .await
        .unwrap();
    let session = |n: u8, expires: i64| NewSession {
        id_hash: Sha256::of(&[b's', n]),
        account_id: AccountId(1),
        stage: SessionStage::Full,
        created_at: Timestamp::from_millis(NOW - 10_000_000),
        expires_at: Timestamp::from_millis(expires),
        client_net: None,
    };
    store.create_session(&session(1, NOW - 1)).await.unwrap();
    store.create_session(&session(2, NOW)).await.unwrap();
    store.create_session(&session(3, NOW + 1)).await.unwrap();
    let done = store.cleanup_expired(Timestamp::from_millis(NOW)).await.unwrap();
    assert_eq!(done.sessions, 2);
    assert!(store.find_session(&Sha256::of(&[b's', 1])).await.unwrap().is_none());
    assert!(store.find_session(&Sha256::of(&[b's', 3])).await.unwrap().is_some());
    assert_eq!(store.cleanup_expired(Timestamp::from_millis(NOW)).await.unwrap().sessions, 0);
}

async fn maintenance_reports_name_the_indexes_and_say_why_slow_queries_are_unavailable(h: &impl Harness) {
    let store = h.open().await;
    append(&store, "https://a.example/", NOW, 80, ReportKind::Report).await;
    let indexes = store.index_health().await.unwrap();
    assert!(indexes.healthy(), "{indexes:?}");
    assert!(indexes.indexes.iter().any(|i| i.name == "reports_install_token_id" && i.table == "reports"));
    match store.slow_queries(100.0, 10).await.unwrap() {
        SlowQueries::Unavailable { reason } => assert!(!reason.is_empty()),
        SlowQueries::Available(rows) => assert!(rows.iter().all(|q| q.mean_ms > 100.0)),
    }
    let analyzed = store.analyze().await.unwrap();
    assert!(!analyzed.statements.is_empty());
    let states = store.connection_states().await.unwrap();
    assert!(states.iter().map(|s| s.connections).sum::<i64>() >= 1, "{states:?}");
}

/// The boundary under random times: after retention every report at or after the cutoff
/// is still there, and every older one is gone and counted exactly once.
mod boundary {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn every_report_before_the_cutoff_is_counted_once_and_none_after_is_touched(
            offsets in proptest::collection::vec(-5_000i64..5_000, 1..60),
            limit in 1u32..8,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let store = ferretwatch_store::open("sqlite::memory:", &StoreOptions::default()).await.unwrap();
                let cutoff = NOW;
                let mut ids = Vec::new();
                for (i, offset) in offsets.iter().enumerate() {
                    let id = append(&store, &format!("https://h{}.example/", i % 4), cutoff + offset, 50, ReportKind::Report).await;
                    ids.push((id, cutoff + offset));
                }
                while store.retention_batch(&batch(cutoff, limit)).await.unwrap().deleted > 0 {}
                for (id, at) in &ids {
                    let found = store.get_report(ferretwatch_store::ReportId(*id)).await.is_ok();
                    prop_assert_eq!(found, *at >= cutoff, "report at offset {}", at - cutoff);
                }
                let old = ids.iter().filter(|(_, at)| *at < cutoff).count() as i64;
                prop_assert_eq!(aggregates(&store).await.values().sum::<i64>(), old);
                Ok(())
            })?;
        }
    }
}
