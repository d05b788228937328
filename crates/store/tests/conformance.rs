//! The conformance suite: every test runs against SQLite and against PostgreSQL, each in a
//! fresh database. A backend that passes this suite is a `Store`.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use ferretwatch_store::{
    Actor, ClientNet, ErrorKind, InstallTokenId, ModerationFilter, ModerationSort, ModerationState, NewToken, Page,
    ReportId, ReportKind, ReportReason, ReportUrl, Score, StateChange, Store, TokenHash, TokenId, TokenName, TokenRole,
    UrlHash, TOKEN_PREFIX,
};
use ferretwatch_types::{Sha256, Timestamp};
use support::{on_both_backends, report, Harness};

// Every suite test below, on SQLite and on PostgreSQL.
on_both_backends!(
    report_is_appended_and_read_back_with_every_field,
    a_second_report_of_the_same_url_increments_the_count_and_never_duplicates,
    fifty_concurrent_reports_of_one_url_make_one_entry_counting_fifty,
    concurrent_reports_of_several_urls_each_get_their_own_row_and_count,
    unknown_ids_are_not_found,
    queued_entries_are_decided_and_decided_entries_only_reopen_with_an_audit,
    concurrent_decisions_on_one_entry_let_exactly_one_win,
    moderation_inbox_filters_sorts_and_pages,
    token_is_created_found_by_hash_touched_and_revoked,
    token_secret_is_never_stored_in_clear,
    active_token_names_are_unique_but_a_revoked_name_can_be_reused,
    acknowledged_reports_survive_reopening_the_store,
    counts_follow_reports_states_and_tokens,
    the_report_log_and_the_audit_refuse_updates,
    ping_answers_on_an_open_store,
    each_database_has_its_own_identity_which_survives_reopening,
);

fn hash_of(url: &str) -> UrlHash {
    ReportUrl::parse(url).unwrap().hash()
}

fn decide(url_hash: UrlHash, to: ModerationState, actor: &str, at: i64) -> StateChange {
    StateChange {
        url_hash,
        to,
        actor: Actor::new(actor).unwrap(),
        note: Some(format!("{actor} says {to}")),
        at: Timestamp::from_millis(at),
    }
}

fn new_token(name: &str, role: TokenRole) -> NewToken {
    NewToken { name: TokenName::parse(name).unwrap(), role, created_at: Timestamp::from_millis(1_000) }
}

async fn report_is_appended_and_read_back_with_every_field(h: &impl Harness) {
    let store = h.open().await;
    let mut new = report("https://xn--pypal-4ve.com/signin?next=%2Faccount#top");
    new.kind = ReportKind::FalsePositive;
    new.reason = ReportReason::parse("other", Some("fake shop with a cloned checkout")).unwrap();
    new.screenshot_hash = Some(Sha256::of(b"png bytes"));
    new.install_token_id = Some(InstallTokenId::parse("inst_4f2a9c").unwrap());
    new.client_net = Some(ClientNet::from_ip("198.51.100.23".parse().unwrap()));

    let receipt = store.append_report(&new).await.unwrap();
    assert!(receipt.new_url);
    assert_eq!(receipt.report_count, 1);
    assert_eq!(receipt.url_hash, new.url.hash());

    let stored = store.get_report(receipt.id).await.unwrap();
    assert_eq!(stored.id, receipt.id);
    assert_eq!(stored.kind, ReportKind::FalsePositive);
    assert_eq!(stored.url, "https://xn--pypal-4ve.com/signin?next=%2Faccount");
    assert_eq!(stored.url_hash, new.url.hash());
    assert_eq!(stored.reason, new.reason);
    assert_eq!(stored.received_at, new.received_at);
    assert_eq!(stored.client_timestamp, new.client_timestamp);
    assert_eq!(stored.extension_version, "1.4.2");
    assert_eq!(stored.pack_version, "2026.11.27.01");
    assert_eq!(stored.score, 87);
    assert_eq!(stored.findings, new.findings.as_slice());
    assert_eq!(stored.screenshot_hash, new.screenshot_hash);
    assert_eq!(stored.install_token_id.as_deref(), Some("inst_4f2a9c"));
    assert_eq!(stored.client_net.as_deref(), Some("198.51.100.0/24"));

    let entry = store.get_moderation(&receipt.url_hash).await.unwrap();
    assert_eq!(entry.state, ModerationState::Queued);
    assert_eq!((entry.report_count, entry.false_positive_count, entry.max_score), (1, 1, 87));
    assert_eq!((entry.first_seen, entry.last_seen), (new.received_at, new.received_at));
    assert_eq!(entry.url, stored.url);

    let listed = store.list_reports_for_url(&receipt.url_hash, Page::default()).await.unwrap();
    assert_eq!(listed.items, vec![stored]);
    assert_eq!(listed.next_offset, None);
}

async fn a_second_report_of_the_same_url_increments_the_count_and_never_duplicates(h: &impl Harness) {
    let store = h.open().await;
    let first = report("https://paypal-account-review.com/login");
    let mut second = report("HTTPS://PAYPAL-ACCOUNT-REVIEW.COM:443/./login#again");
    second.received_at = Timestamp::from_millis(first.received_at.as_millis() + 60_000);
    second.score = Score::new(95).unwrap();
    second.kind = ReportKind::FalsePositive;

    let a = store.append_report(&first).await.unwrap();
    let b = store.append_report(&second).await.unwrap();
    assert!(a.new_url && !b.new_url);
    assert_eq!((a.url_hash, b.report_count), (b.url_hash, 2));
    assert!(b.id > a.id, "ids increase in commit order");

    let entry = store.get_moderation(&a.url_hash).await.unwrap();
    assert_eq!((entry.report_count, entry.false_positive_count, entry.max_score), (2, 1, 95));
    assert_eq!((entry.first_seen, entry.last_seen), (first.received_at, second.received_at));
    let inbox = store.list_moderation(&ModerationFilter::default(), Page::default()).await.unwrap();
    assert_eq!(inbox.items.len(), 1);
    let reports = store.list_reports_for_url(&a.url_hash, Page::default()).await.unwrap();
    assert_eq!(reports.items.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b.id, a.id], "newest first");
}

async fn fifty_concurrent_reports_of_one_url_make_one_entry_counting_fifty(h: &impl Harness) {
    let store = h.open().await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut new = report("https://login.micros0ft-verify.com/common/oauth2");
                new.received_at = Timestamp::from_millis(1_790_000_000_000 + i);
                store.append_report(&new).await
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.push(task.await.unwrap().expect("every concurrent append succeeds"));
    }
    assert_eq!(receipts.iter().filter(|r| r.new_url).count(), 1, "exactly one append created the entry");
    let counts: HashSet<i64> = receipts.iter().map(|r| r.report_count).collect();
    assert_eq!(counts, (1..=50).collect(), "each append saw a distinct count");
    let ids: HashSet<ReportId> = receipts.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 50);

    let inbox = store.list_moderation(&ModerationFilter::default(), Page::default()).await.unwrap();
    assert_eq!(inbox.items.len(), 1);
    let entry = &inbox.items[0];
    assert_eq!(entry.report_count, 50);
    assert_eq!(entry.first_seen.as_millis(), 1_790_000_000_000);
    assert_eq!(entry.last_seen.as_millis(), 1_790_000_000_049);
    assert_eq!(store.counts().await.unwrap().reports, 50);
}

/// Many reports at once over a few URLs, with false positives and scores that vary: on
/// PostgreSQL they are written in batches (group commit), and every receipt must still
/// name its own row, and every count must add up.
async fn concurrent_reports_of_several_urls_each_get_their_own_row_and_count(h: &impl Harness) {
    let store = h.open().await;
    let urls: Vec<String> = (0..7).map(|u| format!("https://batch-{u}.example/login")).collect();
    let tasks: Vec<_> = (0..300i64)
        .map(|i| {
            let (store, url) = (Arc::clone(&store), urls[(i * 7 / 13) as usize % 7].clone());
            tokio::spawn(async move {
                let mut new = report(&url);
                new.received_at = Timestamp::from_millis(1_790_000_000_000 + i);
                new.score = Score::new(i % 101).unwrap();
                if i % 5 == 0 {
                    new.kind = ReportKind::FalsePositive;
                }
                (i, url, store.append_report(&new).await.expect("every append succeeds"))
            })
        })
        .collect();
    let mut by_url: std::collections::HashMap<String, Vec<(i64, ferretwatch_store::ReportReceipt)>> =
        Default::default();
    for task in tasks {
        let (i, url, receipt) = task.await.unwrap();
        by_url.entry(url).or_default().push((i, receipt));
    }
    assert_eq!(by_url.len(), 7);
    for (url, receipts) in &by_url {
        let n = receipts.len() as i64;
        let counts: HashSet<i64> = receipts.iter().map(|(_, r)| r.report_count).collect();
        assert_eq!(counts, (1..=n).collect(), "{url}: each append saw a distinct count");
        assert_eq!(receipts.iter().filter(|(_, r)| r.new_url).count(), 1, "{url}: one created the entry");
        for (i, receipt) in receipts {
            let stored = store.get_report(receipt.id).await.unwrap();
            assert_eq!(&stored.url, url, "the receipt's id is this report's row");
            assert_eq!(stored.received_at.as_millis(), 1_790_000_000_000 + i, "and no other report's");
            assert_eq!(stored.kind == ReportKind::FalsePositive, i % 5 == 0);
        }
        let entry = store.get_moderation(&hash_of(url)).await.unwrap();
        assert_eq!(entry.report_count, n);
        assert_eq!(entry.false_positive_count, receipts.iter().filter(|(i, _)| i % 5 == 0).count() as i64);
        assert_eq!(i64::from(entry.max_score), receipts.iter().map(|(i, _)| i % 101).max().unwrap());
        assert_eq!(entry.first_seen.as_millis(), 1_790_000_000_000 + receipts.iter().map(|(i, _)| *i).min().unwrap());
        assert_eq!(entry.last_seen.as_millis(), 1_790_000_000_000 + receipts.iter().map(|(i, _)| *i).max().unwrap());
    }
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.reports, counts.false_positives), (240, 60));
}

fn kind_of<T: std::fmt::Debug>(result: Result<T, ferretwatch_store::StoreError>) -> ErrorKind {
    result.unwrap_err().kind()
}

async fn unknown_ids_are_not_found(h: &impl Harness) {
    let store = h.open().await;
    assert_eq!(kind_of(store.get_report(ReportId(424_242)).await), ErrorKind::NotFound);
    assert_eq!(kind_of(store.get_moderation(&hash_of("https://nowhere.example/")).await), ErrorKind::NotFound);
    let change = decide(hash_of("https://nowhere.example/"), ModerationState::Verified, "alice", 5);
    assert_eq!(kind_of(store.set_moderation_state(&change).await), ErrorKind::NotFound);
    assert_eq!(kind_of(store.touch_token(TokenId(77), Timestamp::from_millis(1)).await), ErrorKind::NotFound);
    assert_eq!(kind_of(store.revoke_token(TokenId(77), Timestamp::from_millis(1)).await), ErrorKind::NotFound);
    assert_eq!(store.find_token_by_hash(&TokenHash::of_secret("fwat_unknown")).await.unwrap(), None);
    assert!(store.moderation_history(&hash_of("https://nowhere.example/")).await.unwrap().is_empty());
}

async fn queued_entries_are_decided_and_decided_entries_only_reopen_with_an_audit(h: &impl Harness) {
    use ModerationState::*;
    let store = h.open().await;
    let url_hash = store.append_report(&report("https://secure-bank-verify.example/")).await.unwrap().url_hash;

    let verified = store.set_moderation_state(&decide(url_hash, Verified, "alice", 10)).await.unwrap();
    assert_eq!(verified.state, Verified);
    assert_eq!(verified.state_changed_by.as_deref(), Some("alice"));
    assert_eq!(verified.state_changed_at, Some(Timestamp::from_millis(10)));

    for to in [Benign, Rejected, Verified] {
        let err = store.set_moderation_state(&decide(url_hash, to, "bob", 11)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict, "verified -> {to}");
        assert!(err.to_string().contains("verified"), "{err}");
    }
    assert_eq!(store.get_moderation(&url_hash).await.unwrap().state, Verified, "refused changes change nothing");

    store.set_moderation_state(&decide(url_hash, Queued, "bob", 12)).await.unwrap();
    let err = store.set_moderation_state(&decide(url_hash, Queued, "bob", 13)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "queued -> queued");
    let benign = store.set_moderation_state(&decide(url_hash, Benign, "carol", 14)).await.unwrap();
    assert_eq!(benign.state, Benign);

    // New reports of a decided URL count, but do not reopen it.
    let again = store.append_report(&report("https://secure-bank-verify.example/")).await.unwrap();
    assert!(!again.new_url);
    assert_eq!(store.get_moderation(&url_hash).await.unwrap().state, Benign);

    let history = store.moderation_history(&url_hash).await.unwrap();
    let steps: Vec<_> = history.iter().map(|a| (a.from, a.to, a.actor.as_str(), a.at.as_millis())).collect();
    assert_eq!(
        steps,
        vec![(Queued, Verified, "alice", 10), (Verified, Queued, "bob", 12), (Queued, Benign, "carol", 14)]
    );
    assert_eq!(history[0].note.as_deref(), Some("alice says verified"));

    let mut long = decide(url_hash, Queued, "dave", 15);
    long.note = Some("n".repeat(StateChange::MAX_NOTE_CHARS + 1));
    assert_eq!(store.set_moderation_state(&long).await.unwrap_err().kind(), ErrorKind::Invalid);
}

async fn concurrent_decisions_on_one_entry_let_exactly_one_win(h: &impl Harness) {
    let store = h.open().await;
    for round in 0..5 {
        let url = format!("https://race-{round}.example/");
        let url_hash = store.append_report(&report(&url)).await.unwrap().url_hash;
        let decisions = [ModerationState::Verified, ModerationState::Benign].map(|to| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.set_moderation_state(&decide(url_hash, to, "reviewer", 20)).await })
        });
        let mut won = Vec::new();
        for decision in decisions {
            match decision.await.unwrap() {
                Ok(entry) => won.push(entry.state),
                Err(err) => assert_eq!(err.kind(), ErrorKind::Conflict),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: exactly one decision wins");
        assert_eq!(store.get_moderation(&url_hash).await.unwrap().state, won[0]);
        assert_eq!(store.moderation_history(&url_hash).await.unwrap().len(), 1);
    }
}

async fn moderation_inbox_filters_sorts_and_pages(h: &impl Harness) {
    let store = h.open().await;
    // (url, reports, score, received_at of the last report)
    let urls =
        [("https://a.example/", 3, 40, 100), ("https://b.example/", 1, 90, 400), ("https://c.example/", 2, 70, 300)];
    for (url, n, score, last) in urls {
        for i in 0..n {
            let mut new = report(url);
            new.score = Score::new(score).unwrap();
            new.received_at = Timestamp::from_millis(last - (n - 1 - i));
            store.append_report(&new).await.unwrap();
        }
    }
    store
        .set_moderation_state(&decide(hash_of("https://c.example/"), ModerationState::Rejected, "ann", 1))
        .await
        .unwrap();

    let list = |filter: ModerationFilter, page: Page| {
        let store = Arc::clone(&store);
        async move {
            let page = store.list_moderation(&filter, page).await.unwrap();
            (page.items.into_iter().map(|e| e.url).collect::<Vec<_>>(), page.next_offset)
        }
    };
    let all = ModerationFilter::default();
    assert_eq!(
        list(all, Page::default()).await.0,
        ["https://b.example/", "https://c.example/", "https://a.example/"],
        "newest first by default"
    );
    let by_count = ModerationFilter { sort: ModerationSort::ReportCount, ..all };
    assert_eq!(list(by_count, Page::default()).await.0[0], "https://a.example/");
    let by_score = ModerationFilter { sort: ModerationSort::MaxScore, ..all };
    assert_eq!(
        list(by_score, Page::default()).await.0,
        ["https://b.example/", "https://c.example/", "https://a.example/"]
    );
    let queued = ModerationFilter { state: Some(ModerationState::Queued), ..all };
    assert_eq!(list(queued, Page::default()).await.0, ["https://b.example/", "https://a.example/"]);
    let rejected = ModerationFilter { state: Some(ModerationState::Rejected), ..all };
    assert_eq!(list(rejected, Page::default()).await.0, ["https://c.example/"]);
    let high = ModerationFilter { min_score: Some(70), ..all };
    assert_eq!(list(high, Page::default()).await.0, ["https://b.example/", "https://c.example/"]);
    let queued_high = ModerationFilter { state: Some(ModerationState::Queued), min_score: Some(50), ..all };
    assert_eq!(list(queued_high, Page::default()).await.0, ["https://b.example/"]);

    assert_eq!(
        list(all, Page::new(0, 2)).await,
        (vec!["https://b.example/".into(), "https://c.example/".into()], Some(2))
    );
    assert_eq!(list(all, Page::new(2, 2)).await, (vec!["https://a.example/".into()], None));
    assert_eq!(list(all, Page::new(9, 2)).await, (vec![], None));

    let a = hash_of("https://a.example/");
    let first = store.list_reports_for_url(&a, Page::new(0, 2)).await.unwrap();
    assert_eq!((first.items.len(), first.next_offset), (2, Some(2)));
    let rest = store.list_reports_for_url(&a, Page::new(2, 2)).await.unwrap();
    assert_eq!((rest.items.len(), rest.next_offset), (1, None));
}

async fn token_is_created_found_by_hash_touched_and_revoked(h: &impl Harness) {
    let store = h.open().await;
    let issued = store.create_token(&new_token("oncall", TokenRole::Viewer)).await.unwrap();
    let secret = issued.expose_secret().to_owned();
    assert!(secret.starts_with(TOKEN_PREFIX));
    assert_eq!(issued.record.name, "oncall");
    assert_eq!(issued.record.role, TokenRole::Viewer);
    assert_eq!((issued.record.last_used_at, issued.record.revoked_at), (None, None));

    let hash = TokenHash::of_presented(&secret).expect("a generated token has the presented format");
    let found = store.find_token_by_hash(&hash).await.unwrap().expect("found by hash");
    assert_eq!(found, issued.record);
    assert!(found.is_active());

    let id = found.id;
    let last_used = |store: Arc<dyn Store>| async move {
        store.find_token_by_hash(&hash).await.unwrap().unwrap().last_used_at.map(Timestamp::as_millis)
    };
    store.touch_token(id, Timestamp::from_millis(100_000)).await.unwrap();
    assert_eq!(last_used(Arc::clone(&store)).await, Some(100_000));
    store.touch_token(id, Timestamp::from_millis(130_000)).await.unwrap();
    assert_eq!(last_used(Arc::clone(&store)).await, Some(100_000), "touches within a minute are coalesced");
    store.touch_token(id, Timestamp::from_millis(160_000)).await.unwrap();
    assert_eq!(last_used(Arc::clone(&store)).await, Some(160_000));

    let other = store.create_token(&new_token("ci-publisher", TokenRole::Publisher)).await.unwrap();
    let revoked = store.revoke_token(id, Timestamp::from_millis(200_000)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(Timestamp::from_millis(200_000)));
    assert!(!revoked.is_active());
    let again = store.revoke_token(id, Timestamp::from_millis(300_000)).await.unwrap();
    assert_eq!(again.revoked_at, Some(Timestamp::from_millis(200_000)), "the first revocation time is kept");
    let after = store.find_token_by_hash(&hash).await.unwrap().expect("revoked tokens are still found");
    assert!(!after.is_active());

    let all = store.list_tokens().await.unwrap();
    assert_eq!(
        all.iter().map(|t| (t.name.as_str(), t.is_active())).collect::<Vec<_>>(),
        [("oncall", false), ("ci-publisher", true)]
    );
    assert_ne!(other.expose_secret(), secret);
}

async fn token_secret_is_never_stored_in_clear(h: &impl Harness) {
    let store = h.open().await;
    let issued = store.create_token(&new_token("auditor-export", TokenRole::Auditor)).await.unwrap();
    let secret = issued.expose_secret().to_owned();
    store.touch_token(issued.record.id, Timestamp::from_millis(90_000)).await.unwrap();
    let raw = h.raw_contents().await;
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"auditor-export"), "the dump sees the token table");
    assert!(!contains(secret.as_bytes()), "the secret is stored in clear");
    assert!(!contains(&secret.as_bytes()[TOKEN_PREFIX.len()..]), "the secret's random part is stored in clear");
    store.close().await;
    let raw = h.raw_contents().await;
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is stored in clear after close");
}

async fn active_token_names_are_unique_but_a_revoked_name_can_be_reused(h: &impl Harness) {
    let store = h.open().await;
    let first = store.create_token(&new_token("deploy", TokenRole::Admin)).await.unwrap();
    let err = store.create_token(&new_token("deploy", TokenRole::Viewer)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("deploy"), "{err}");
    store.revoke_token(first.record.id, Timestamp::from_millis(5_000)).await.unwrap();
    let second = store.create_token(&new_token("deploy", TokenRole::Viewer)).await.unwrap();
    assert_ne!(second.record.id, first.record.id);
}

async fn acknowledged_reports_survive_reopening_the_store(h: &impl Harness) {
    let store = h.open().await;
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        acknowledged.push(store.append_report(&report(&format!("https://durable-{}.example/p", i % 7))).await.unwrap());
    }
    // A second store on the same database sees every acknowledged row while the first is
    // still open (nothing is buffered in the first) ...
    let second = h.open().await;
    for receipt in &acknowledged {
        assert_eq!(second.get_report(receipt.id).await.unwrap().url_hash, receipt.url_hash);
    }
    // ... and after both are gone, a fresh open (migrations re-run as a no-op) finds them all.
    drop(store);
    second.close().await;
    drop(second);
    let reopened = h.open().await;
    for receipt in &acknowledged {
        reopened.get_report(receipt.id).await.unwrap();
    }
    let counts = reopened.counts().await.unwrap();
    assert_eq!((counts.reports, counts.in_state(ModerationState::Queued)), (20, 7));
}

async fn counts_follow_reports_states_and_tokens(h: &impl Harness) {
    let store = h.open().await;
    assert_eq!(store.counts().await.unwrap(), Default::default());
    for url in ["https://one.example/", "https://two.example/", "https://two.example/"] {
        store.append_report(&report(url)).await.unwrap();
    }
    let mut fp = report("https://three.example/");
    fp.kind = ReportKind::FalsePositive;
    store.append_report(&fp).await.unwrap();
    store
        .set_moderation_state(&decide(hash_of("https://three.example/"), ModerationState::Benign, "ann", 1))
        .await
        .unwrap();
    store.create_token(&new_token("a", TokenRole::Viewer)).await.unwrap();
    let b = store.create_token(&new_token("b", TokenRole::Reviewer)).await.unwrap();
    store.revoke_token(b.record.id, Timestamp::from_millis(2)).await.unwrap();

    let counts = store.counts().await.unwrap();
    assert_eq!((counts.reports, counts.false_positives, counts.active_tokens), (3, 1, 1));
    assert_eq!(counts.moderation, [2, 0, 0, 1]);
    let pool = store.pool_stats();
    assert!(pool.size >= 1 && pool.size <= pool.max, "{pool:?}");
}

async fn the_report_log_and_the_audit_refuse_updates(h: &impl Harness) {
    let store = h.open().await;
    let url_hash = store.append_report(&report("https://immutable.example/")).await.unwrap().url_hash;
    store.set_moderation_state(&decide(url_hash, ModerationState::Verified, "ann", 1)).await.unwrap();
    let err = h.execute_raw("UPDATE reports SET score = 0").await.unwrap_err();
    assert!(err.contains("append-only"), "{err}");
    let err = h.execute_raw("UPDATE moderation_audit SET actor = 'mallory'").await.unwrap_err();
    assert!(err.contains("append-only"), "{err}");
    let err = h.execute_raw("DELETE FROM moderation_audit").await.unwrap_err();
    assert!(err.contains("append-only"), "{err}");
    // Retention deletes old reports; that stays possible.
    h.execute_raw("DELETE FROM reports").await.unwrap();
}

async fn ping_answers_on_an_open_store(h: &impl Harness) {
    let store = h.open().await;
    store.ping().await.unwrap();
    assert!(matches!(store.backend().name(), "sqlite" | "postgres"));
    store.close().await;
    assert_eq!(store.ping().await.unwrap_err().kind(), ErrorKind::Unavailable, "a closed pool is unavailable");
}

async fn each_database_has_its_own_identity_which_survives_reopening<H: Harness>(h: &H) {
    let first = h.open().await.identity().await.unwrap();
    assert_eq!(first.id.len(), 64, "{first:?}");
    assert!(first.id.bytes().all(|b| b.is_ascii_hexdigit()), "{first:?}");
    assert!(first.created_at > 1_600_000_000_000, "{first:?}");
    assert_eq!(h.open().await.identity().await.unwrap(), first, "reopening keeps it");
    let other_database = H::create().await;
    let other = other_database.open().await.identity().await.unwrap();
    assert_ne!(other.id, first.id, "another database has another identity");
}
