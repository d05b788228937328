//! The console's storage, on both backends: invitations, accounts, second factors,
//! lock-outs, sessions, the access log, settings and the audit chain.

mod support;

use std::sync::Arc;

use ferretwatch_store::{
    AccessEvent, AccessOutcome, AccountId, AlertNotice, AuditEntry, AuditFilter, AuditSigner, AuditVerifier, Audited,
    ChainCheck, ChainProblem, Email, ErrorKind, Finish, IncidentChange, IncidentState, NewAccount, NewAuditEntry,
    NewInvitation, NewProposal, NewSession, NewSignature, Priority, ProposalKind, ProposalState, SessionStage, Store,
    TokenRole,
};
use ferretwatch_types::{Sha256, Timestamp};
use support::{on_both_backends, Harness, SqliteHarness};

// Every suite test below, on SQLite and on PostgreSQL.
on_both_backends!(
    an_invitation_is_redeemed_once_into_an_account_with_its_role,
    an_expired_invitation_and_a_taken_email_are_refused,
    the_offered_totp_seed_is_drawn_once,
    a_totp_step_is_accepted_once_even_when_raced,
    a_recovery_code_is_spent_once,
    failures_lock_the_account_and_a_success_resets_them,
    sessions_are_touched_elevated_ended_and_swept,
    disabling_an_account_ends_its_sessions_and_changing_a_role_ends_elevations,
    a_pending_oidc_sign_in_is_taken_once_and_not_after_it_expires,
    the_access_queries_count_per_address_and_network,
    settings_change_with_their_audit_entry,
    concurrent_audit_appends_make_one_unbroken_signed_chain,
    the_audit_log_refuses_updates_and_deletes,
    verification_finds_an_edited_a_deleted_and_a_reordered_entry,
    the_inbox_filters_by_state_reason_score_time_kind_and_text_with_reasons_per_url,
    a_decision_is_audited_with_it_and_only_one_of_two_concurrent_decisions_wins,
    a_proposal_needs_two_accounts_with_two_keys_and_moves_only_forward,
    alerts_open_one_incident_per_group_that_escalates_until_acknowledged_and_resolves,
);

/// A test key: "signs" with SHA-256 of a secret and the hash (the server uses Ed25519).
struct TestKey(&'static str);

impl AuditSigner for TestKey {
    fn key_id(&self) -> &str {
        self.0
    }
    fn sign(&self, hash: &Sha256) -> Vec<u8> {
        let mut bytes = self.0.as_bytes().to_vec();
        bytes.extend_from_slice(hash.as_bytes());
        Sha256::of(&bytes).as_bytes().to_vec()
    }
}

impl AuditVerifier for TestKey {
    fn verify(&self, key_id: &str, hash: &Sha256, signature: &[u8]) -> bool {
        key_id == self.0 && self.sign(hash) == signature
    }
}

const KEY: TestKey = TestKey("test-key");

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms)
}

fn entry(action: &str, target: &str, at: Timestamp) -> NewAuditEntry {
    NewAuditEntry {
        at,
        actor: "admin@example.test".into(),
        action: action.into(),
        target: target.into(),
        details: serde_json::json!({ "note": "<script>alert(1)</script>" }),
    }
}

fn code(n: u8) -> Sha256 {
    Sha256::of(&[n])
}

fn invitation(n: u8, role: TokenRole, expires: Timestamp) -> NewInvitation {
    NewInvitation {
        code_hash: code(n),
        role,
        email: None,
        created_by: "cli:root".into(),
        created_at: t(0),
        expires_at: expires,
    }
}

fn new_account(email: &str, at: Timestamp) -> NewAccount {
    NewAccount {
        email: Email::parse(email).unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        totp_secret: vec![1, 2, 3],
        totp_last_step: 100,
        recovery_codes: (0..10).map(|i| Sha256::of(format!("rc{i}").as_bytes())).collect(),
        created_at: at,
    }
}

async fn enrol(store: &Arc<dyn Store>, n: u8, email: &str, role: TokenRole) -> AccountId {
    let e = entry("account.invited", email, t(0));
    store.create_invitation(&invitation(n, role, t(3_600_000)), Audited { entry: &e, signer: &KEY }).await.unwrap();
    let e = entry("account.enrolled", email, t(1000));
    store
        .redeem_invitation(&code(n), &new_account(email, t(1000)), Audited { entry: &e, signer: &KEY })
        .await
        .unwrap()
        .id
}

async fn all_audit(store: &Arc<dyn Store>) -> Vec<AuditEntry> {
    store.audit_after(0, 10_000).await.unwrap()
}

fn problems(entries: &[AuditEntry]) -> Vec<ChainProblem> {
    let mut check = ChainCheck::new();
    for e in entries {
        check.push(e, &KEY);
    }
    check.finish(entries.last()).problems
}

async fn an_invitation_is_redeemed_once_into_an_account_with_its_role(h: &impl Harness) {
    let store = h.open().await;
    let id = enrol(&store, 1, "Reviewer@Example.test", TokenRole::Reviewer).await;
    let account = store.get_account(id).await.unwrap();
    assert_eq!((account.email.as_str(), account.role), ("reviewer@example.test", TokenRole::Reviewer));
    assert!(account.totp_enrolled && account.has_password && account.is_active());
    assert_eq!(account.created_by, "cli:root");
    assert_eq!(store.recovery_codes_left(id).await.unwrap(), 10);
    let invitation = store.find_invitation(&code(1)).await.unwrap().unwrap();
    assert_eq!(invitation.used_at, Some(t(1000)));

    let e = entry("account.enrolled", "again", t(2000));
    let again = store
        .redeem_invitation(&code(1), &new_account("other@example.test", t(2000)), Audited { entry: &e, signer: &KEY })
        .await;
    assert_eq!(again.unwrap_err().kind(), ErrorKind::NotFound);
    let (found, secrets) =
        store.find_account_by_email(&Email::parse("reviewer@example.test").unwrap()).await.unwrap().unwrap();
    assert_eq!(found.id, id);
    assert_eq!(secrets.totp_last_step, 100);
    // Two audited writes, one refused write without an entry.
    assert_eq!(all_audit(&store).await.len(), 2);
}

async fn an_expired_invitation_and_a_taken_email_are_refused(h: &impl Harness) {
    let store = h.open().await;
    enrol(&store, 1, "a@example.test", TokenRole::Viewer).await;
    let e = entry("account.invited", "x", t(0));
    store
        .create_invitation(&invitation(2, TokenRole::Admin, t(500)), Audited { entry: &e, signer: &KEY })
        .await
        .unwrap();
    let e = entry("account.enrolled", "x", t(600));
    let late = store
        .redeem_invitation(&code(2), &new_account("b@example.test", t(600)), Audited { entry: &e, signer: &KEY })
        .await;
    assert_eq!(late.unwrap_err().kind(), ErrorKind::NotFound);

    store
        .create_invitation(&invitation(3, TokenRole::Admin, t(5000)), Audited { entry: &e, signer: &KEY })
        .await
        .unwrap();
    let taken = store
        .redeem_invitation(&code(3), &new_account("a@example.test", t(600)), Audited { entry: &e, signer: &KEY })
        .await;
    assert_eq!(taken.unwrap_err().kind(), ErrorKind::Conflict);
    // The refused redemption left the invitation open.
    assert!(store.find_invitation(&code(3)).await.unwrap().unwrap().is_open(t(700)));
    assert_eq!(store.list_accounts().await.unwrap().len(), 1);
}

async fn the_offered_totp_seed_is_drawn_once(h: &impl Harness) {
    let store = h.open().await;
    let e = entry("account.invited", "x", t(0));
    store
        .create_invitation(&invitation(1, TokenRole::Viewer, t(5000)), Audited { entry: &e, signer: &KEY })
        .await
        .unwrap();
    let first = store.offer_invitation_totp(&code(1), b"first").await.unwrap();
    let second = store.offer_invitation_totp(&code(1), b"second").await.unwrap();
    assert_eq!(first.totp_secret.as_deref(), Some(&b"first"[..]));
    assert_eq!(second.totp_secret.as_deref(), Some(&b"first"[..]));
    assert_eq!(store.offer_invitation_totp(&code(9), b"x").await.unwrap_err().kind(), ErrorKind::NotFound);
}

async fn a_totp_step_is_accepted_once_even_when_raced(h: &impl Harness) {
    let store = h.open().await;
    let id = enrol(&store, 1, "a@example.test", TokenRole::Viewer).await;
    assert!(!store.accept_totp_step(id, 100).await.unwrap(), "the enrolment step is spent");
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.accept_totp_step(id, 101).await.unwrap() })
    });
    let mut accepted = 0;
    for a in attempts {
        accepted += usize::from(a.await.unwrap());
    }
    assert_eq!(accepted, 1);
    assert!(!store.accept_totp_step(id, 100).await.unwrap(), "an older step stays refused");
    assert!(store.accept_totp_step(id, 102).await.unwrap());
}

async fn a_recovery_code_is_spent_once(h: &impl Harness) {
    let store = h.open().await;
    let id = enrol(&store, 1, "a@example.test", TokenRole::Viewer).await;
    let rc = Sha256::of(b"rc3");
    assert!(store.use_recovery_code(id, &rc, t(5)).await.unwrap());
    assert!(!store.use_recovery_code(id, &rc, t(6)).await.unwrap());
    assert!(!store.use_recovery_code(id, &Sha256::of(b"nope"), t(6)).await.unwrap());
    assert_eq!(store.recovery_codes_left(id).await.unwrap(), 9);
}

async fn failures_lock_the_account_and_a_success_resets_them(h: &impl Harness) {
    let store = h.open().await;
    let id = enrol(&store, 1, "a@example.test", TokenRole::Viewer).await;
    let policy = |n: i64| if n >= 3 { 60_000 * (n - 2) } else { 0 };
    for expected in 1..=4 {
        assert_eq!(store.record_login_failure(id, t(10_000), &policy).await.unwrap(), expected);
    }
    let locked = store.get_account(id).await.unwrap();
    assert_eq!((locked.failed_logins, locked.locked_until), (4, Some(t(10_000 + 120_000))));
    store.record_login_success(id, t(200_000)).await.unwrap();
    let ok = store.get_account(id).await.unwrap();
    assert_eq!((ok.failed_logins, ok.locked_until, ok.last_login_at), (0, None, Some(t(200_000))));
}

fn session(n: u8, account: AccountId, created: Timestamp) -> NewSession {
    NewSession {
        id_hash: Sha256::of(&[b's', n]),
        account_id: account,
        stage: SessionStage::Full,
        created_at: created,
        expires_at: Timestamp::from_millis(created.as_millis() + 3_600_000),
        client_net: Some("203.0.113.0/24".into()),
    }
}

async fn sessions_are_touched_elevated_ended_and_swept(h: &impl Harness) {
    let store = h.open().await;
    let id = enrol(&store, 1, "a@example.test", TokenRole::Viewer).await;
    let s1 = session(1, id, t(0));
    store.create_session(&s1).await.unwrap();
    store.create_session(&session(2, id, t(0))).await.unwrap();
    store.touch_session(&s1.id_hash, t(30_000), 60_000).await.unwrap();
    assert_eq!(store.find_session(&s1.id_hash).await.unwrap().unwrap().last_seen_at, t(0), "coalesced");
    store.touch_session(&s1.id_hash, t(90_000), 60_000).await.unwrap();
    assert_eq!(store.find_session(&s1.id_hash).await.unwrap().unwrap().last_seen_at, t(90_000));

    let e = entry("session.elevated", "a@example.test", t(90_000));
    store
        .elevate_session(&s1.id_hash, TokenRole::Admin, t(990_000), "rotate keys", Audited { entry: &e, signer: &KEY })
        .await
        .unwrap();
    let elevated = store.find_session(&s1.id_hash).await.unwrap().unwrap().elevation.unwrap();
    assert_eq!(
        (elevated.role, elevated.until, elevated.reason.as_str()),
        (TokenRole::Admin, t(990_000), "rotate keys")
    );
    store.end_elevation(&s1.id_hash).await.unwrap();
    assert_eq!(store.find_session(&s1.id_hash).await.unwrap().unwrap().elevation, None);

    // Session 2 is idle since t(0); session 1 was seen at t(90_000).
    assert_eq!(store.delete_expired_sessions(t(100_000), t(60_000)).await.unwrap(), 1);
    assert!(store.find_session(&Sha256::of(&[b's', 2])).await.unwrap().is_none());
    // Past its absolute end, session 1 goes too.
    assert_eq!(store.delete_expired_sessions(t(3_600_000), t(0)).await.unwrap(), 1);
    store.create_session(&session(3, id, t(0))).await.unwrap();
    store.create_session(&session(4, id, t(0))).await.unwrap();
    assert_eq!(store.list_account_sessions(id).await.unwrap().len(), 2);
    assert_eq!(store.delete_account_sessions(id).await.unwrap(), 2);
    assert!(!store.delete_session(&Sha256::of(&[b's', 3])).await.unwrap());
}

async fn disabling_an_account_ends_its_sessions_and_changing_a_role_ends_elevations(h: &impl Harness) {
    let store = h.open().await;
    let id = enrol(&store, 1, "a@example.test", TokenRole::Viewer).await;
    let s = session(1, id, t(0));
    store.create_session(&s).await.unwrap();
    let e = entry("session.elevated", "a", t(1));
    store
        .elevate_session(&s.id_hash, TokenRole::Admin, t(9_000), "why", Audited { entry: &e, signer: &KEY })
        .await
        .unwrap();
    let e = entry("account.role_changed", "a", t(2));
    let changed = store
        .set_account_role(id, TokenRole::Reviewer, Some(TokenRole::Publisher), Audited { entry: &e, signer: &KEY })
        .await
        .unwrap();
    assert_eq!((changed.role, changed.eligible_role), (TokenRole::Reviewer, Some(TokenRole::Publisher)));
    assert_eq!(store.find_session(&s.id_hash).await.unwrap().unwrap().elevation, None);

    let e = entry("account.disabled", "a", t(3));
    let disabled = store.set_account_disabled(id, Some(t(3)), Audited { entry: &e, signer: &KEY }).await.unwrap();
    assert!(!disabled.is_active());
    assert!(store.find_session(&s.id_hash).await.unwrap().is_none());
    let e = entry("account.enabled", "a", t(4));
    assert!(store.set_account_disabled(id, None, Audited { entry: &e, signer: &KEY }).await.unwrap().is_active());
    let missing = store.set_account_role(AccountId(999), TokenRole::Admin, None, Audited { entry: &e, signer: &KEY });
    assert_eq!(missing.await.unwrap_err().kind(), ErrorKind::NotFound);
    // Five audited changes plus the invitation and the enrolment; the refused one has none.
    assert_eq!(all_audit(&store).await.len(), 6);
}

async fn a_pending_oidc_sign_in_is_taken_once_and_not_after_it_expires(h: &impl Harness) {
    let store = h.open().await;
    let key = Sha256::of(b"pending");
    store.put_oidc_pending(&key, r#"{"state":"s"}"#, t(1000)).await.unwrap();
    assert_eq!(store.take_oidc_pending(&key, t(10)).await.unwrap().as_deref(), Some(r#"{"state":"s"}"#));
    assert_eq!(store.take_oidc_pending(&key, t(10)).await.unwrap(), None);
    store.put_oidc_pending(&key, "x", t(1000)).await.unwrap();
    assert_eq!(store.take_oidc_pending(&key, t(1000)).await.unwrap(), None);
}

async fn the_access_queries_count_per_address_and_network(h: &impl Harness) {
    let store = h.open().await;
    let event = |at: i64, email: &str, net: &str, outcome| AccessEvent {
        at: t(at),
        email: email.into(),
        account_id: None,
        client_net: net.into(),
        method: "password".into(),
        outcome,
        user_agent: Some("curl/8 <b>".into()),
    };
    for i in 0..60 {
        store.append_access(&event(1000 + i, "a@x.test", "198.51.100.0/24", AccessOutcome::BadPassword)).await.unwrap();
    }
    store.append_access(&event(2000, "a@x.test", "203.0.113.0/24", AccessOutcome::Success)).await.unwrap();
    store.append_access(&event(2001, "b@x.test", "203.0.113.0/24", AccessOutcome::Success)).await.unwrap();
    store.append_access(&event(0, "old@x.test", "203.0.113.0/24", AccessOutcome::Success)).await.unwrap();

    let summary = store.access_summary(t(0)).await.unwrap();
    assert_eq!(summary.len(), 2, "the event at the window's start is outside it: {summary:?}");
    assert_eq!((summary[0].email.as_str(), summary[0].attempts, summary[0].failures), ("a@x.test", 61, 60));
    assert_eq!((summary[0].first, summary[0].last), (t(1000), t(2000)));
    let anomalies = store.access_by_network(t(0), 50).await.unwrap();
    assert_eq!(anomalies.len(), 1);
    assert_eq!((anomalies[0].client_net.as_str(), anomalies[0].attempts), ("198.51.100.0/24", 60));
    let newest = store.list_access(t(0), 2).await.unwrap();
    assert_eq!(newest.iter().map(|e| e.email.as_str()).collect::<Vec<_>>(), ["old@x.test", "b@x.test"]);
    assert_eq!(newest[1].user_agent.as_deref(), Some("curl/8 <b>"));
}

async fn settings_change_with_their_audit_entry(h: &impl Harness) {
    let store = h.open().await;
    let e = entry("settings.changed", "limits", t(5));
    let values = vec![("report.per_minute".to_owned(), "30".to_owned()), ("threshold.red".to_owned(), "70".to_owned())];
    store.put_settings(&values, t(5), "admin@example.test", Audited { entry: &e, signer: &KEY }).await.unwrap();
    let values = vec![("report.per_minute".to_owned(), "20".to_owned())];
    store.put_settings(&values, t(6), "other@example.test", Audited { entry: &e, signer: &KEY }).await.unwrap();
    let stored = store.list_settings().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!((stored[0].value.as_str(), stored[0].updated_by.as_str()), ("20", "other@example.test"));
    assert_eq!(stored[1].value, "70");
    assert_eq!(all_audit(&store).await.len(), 2);
}

async fn concurrent_audit_appends_make_one_unbroken_signed_chain(h: &impl Harness) {
    let store = h.open().await;
    let tasks = (0..40).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let e = entry("test.append", &format!("t{i}"), t(i));
            store.append_audit(Audited { entry: &e, signer: &KEY }).await.unwrap()
        })
    });
    for task in tasks {
        task.await.unwrap();
    }
    let entries = all_audit(&store).await;
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=40).collect::<Vec<_>>());
    assert_eq!(problems(&entries), vec![]);
    let page = store.list_audit(&AuditFilter { before_seq: Some(11), ..Default::default() }, 5).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [10, 9, 8, 7, 6]);
    let filtered =
        AuditFilter { action_prefix: Some("test.".into()), actor: Some("nobody".into()), ..Default::default() };
    assert!(store.list_audit(&filtered, 5).await.unwrap().is_empty());
}

async fn the_audit_log_refuses_updates_and_deletes(h: &impl Harness) {
    let store = h.open().await;
    let e = entry("test.append", "x", t(1));
    store.append_audit(Audited { entry: &e, signer: &KEY }).await.unwrap();
    for sql in ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"] {
        let refused = h.execute_raw(sql).await.unwrap_err();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    assert_eq!(problems(&all_audit(&store).await), vec![]);
}

/// Someone with the database owner's rights drops the guard and edits the table; the
/// chain shows each kind of change.
async fn verification_finds_an_edited_a_deleted_and_a_reordered_entry(h: &impl Harness) {
    let store = h.open().await;
    for i in 0..6 {
        let e = entry("test.append", &format!("t{i}"), t(i));
        store.append_audit(Audited { entry: &e, signer: &KEY }).await.unwrap();
    }
    for guard in ["audit_log_append_only", "audit_log_no_delete"] {
        let drop = if h.execute_raw("SELECT 1 FROM pg_catalog.pg_class LIMIT 1").await.is_ok() {
            format!("DROP TRIGGER IF EXISTS {guard} ON audit_log")
        } else {
            format!("DROP TRIGGER IF EXISTS {guard}")
        };
        h.execute_raw(&drop).await.unwrap();
    }
    h.execute_raw("UPDATE audit_log SET target = 'edited' WHERE seq = 2").await.unwrap();
    h.execute_raw("DELETE FROM audit_log WHERE seq = 4").await.unwrap();
    // Swap 5 and 6: move 6 to 105 then 5 to 6 and 105 to 5.
    h.execute_raw("UPDATE audit_log SET seq = 105 WHERE seq = 6").await.unwrap();
    h.execute_raw("UPDATE audit_log SET seq = 6 WHERE seq = 5").await.unwrap();
    h.execute_raw("UPDATE audit_log SET seq = 5 WHERE seq = 105").await.unwrap();
    let found = problems(&all_audit(&store).await);
    assert!(found.contains(&ChainProblem::Edited { seq: 2 }), "{found:?}");
    assert!(found.contains(&ChainProblem::Gap { expected: 4, found: 5 }), "{found:?}");
    assert!(found.iter().any(|p| matches!(p, ChainProblem::BrokenLink { seq: 5 })), "{found:?}");
    assert!(
        found.iter().any(|p| matches!(p, ChainProblem::Edited { seq: 5 } | ChainProblem::Edited { seq: 6 })),
        "{found:?}"
    );
}

#[tokio::test]
async fn report_volume_counts_reports_after_the_window_start() {
    let h = SqliteHarness::create().await;
    let store = h.open().await;
    let mut r = support::report("https://login.example.test/a");
    store.append_report(&r).await.unwrap();
    r.kind = ferretwatch_store::ReportKind::FalsePositive;
    store.append_report(&r).await.unwrap();
    let far = Timestamp::from_millis(i64::MAX / 2);
    let [all, none, _] = store.report_volume([Timestamp::from_millis(0), far, far]).await.unwrap();
    assert_eq!((all.reports, all.false_positives), (1, 1));
    assert_eq!((none.reports, none.false_positives), (0, 0));
}

fn reported(url: &str, reason: &str, score: u8, kind: ferretwatch_store::ReportKind) -> ferretwatch_store::NewReport {
    let mut r = support::report(url);
    r.reason =
        ferretwatch_store::ReportReason::parse(reason, (reason == "other").then_some("typed by a user")).unwrap();
    r.score = ferretwatch_store::Score::new(i64::from(score)).unwrap();
    r.kind = kind;
    r
}

async fn the_inbox_filters_by_state_reason_score_time_kind_and_text_with_reasons_per_url(h: &impl Harness) {
    use ferretwatch_store::{InboxFilter, InboxKind, ModerationSort, ModerationState, ReportKind};
    let store = h.open().await;
    for r in [
        reported("https://login.paypa1.example/a", "phishing_login", 95, ReportKind::Report),
        reported("https://login.paypa1.example/a", "brand_impersonation", 90, ReportKind::Report),
        reported("https://login.paypa1.example/a", "phishing_login", 80, ReportKind::Report),
        reported("https://shop.example/pay_100%", "payment_fraud", 40, ReportKind::Report),
        reported("https://fine.example/", "other", 10, ReportKind::FalsePositive),
    ] {
        store.append_report(&r).await.unwrap();
    }
    let all = store.triage_inbox(&InboxFilter::default(), 50, 0).await.unwrap();
    assert_eq!(all.len(), 3);
    let paypal = all.iter().find(|g| g.entry.url.contains("paypa1")).unwrap();
    assert_eq!(paypal.reasons, vec![("phishing_login".to_owned(), 2), ("brand_impersonation".to_owned(), 1)]);
    assert_eq!(paypal.entry.report_count, 3);
    let count = |f: InboxFilter| {
        let store = store.clone();
        async move { store.triage_inbox(&f, 50, 0).await.unwrap().len() }
    };
    assert_eq!(count(InboxFilter { reason: Some("payment_fraud".into()), ..Default::default() }).await, 1);
    assert_eq!(count(InboxFilter { min_score: Some(90), ..Default::default() }).await, 1);
    assert_eq!(count(InboxFilter { kind: Some(InboxKind::FalsePositive), ..Default::default() }).await, 1);
    assert_eq!(count(InboxFilter { kind: Some(InboxKind::Report), ..Default::default() }).await, 2);
    assert_eq!(count(InboxFilter { url_contains: Some("PAYPA1".into()), ..Default::default() }).await, 1);
    assert_eq!(count(InboxFilter { url_contains: Some("100%".into()), ..Default::default() }).await, 1);
    assert_eq!(count(InboxFilter { url_contains: Some("_".into()), ..Default::default() }).await, 1, "_ is literal");
    assert_eq!(count(InboxFilter { url_contains: Some("%".into()), ..Default::default() }).await, 1, "% is literal");
    assert_eq!(count(InboxFilter { since: Some(Timestamp::from_millis(i64::MAX / 2)), ..Default::default() }).await, 0);
    assert_eq!(count(InboxFilter { state: Some(ModerationState::Verified), ..Default::default() }).await, 0);
    let by_count = store
        .triage_inbox(&InboxFilter { sort: ModerationSort::ReportCount, ..Default::default() }, 1, 0)
        .await
        .unwrap();
    assert!(by_count[0].entry.url.contains("paypa1"));
    let second = store
        .triage_inbox(&InboxFilter { sort: ModerationSort::ReportCount, ..Default::default() }, 1, 1)
        .await
        .unwrap();
    assert_ne!(second[0].entry.url, by_count[0].entry.url);
}

async fn a_decision_is_audited_with_it_and_only_one_of_two_concurrent_decisions_wins(h: &impl Harness) {
    use ferretwatch_store::{Actor, ModerationState, ReportKind, StateChange};
    let store = h.open().await;
    let r = reported("https://login.paypa1.example/a", "phishing_login", 95, ReportKind::Report);
    store.append_report(&r).await.unwrap();
    let url_hash = r.url.hash();
    let change = |to, who: &str| StateChange {
        url_hash,
        to,
        actor: Actor::new(who).unwrap(),
        note: Some("<b>seen it</b>".into()),
        at: t(5),
    };
    let attempts = ["a@x", "b@x"].map(|who| {
        let store = store.clone();
        let c = change(ModerationState::Verified, who);
        tokio::spawn(async move {
            let e = entry("report.decided", "x", t(5));
            store.decide(&c, Audited { entry: &e, signer: &KEY }).await
        })
    });
    let mut won = 0;
    for a in attempts {
        match a.await.unwrap() {
            Ok(entry) => {
                won += 1;
                assert_eq!(entry.state, ModerationState::Verified);
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(all_audit(&store).await.len(), 1, "only the applied decision is in the audit log");
    assert_eq!(store.moderation_history(&url_hash).await.unwrap().len(), 1);
    let e = entry("report.decided", "x", t(6));
    store.decide(&change(ModerationState::Queued, "a@x"), Audited { entry: &e, signer: &KEY }).await.unwrap();
    let gone = ferretwatch_store::ReportUrl::parse("https://nowhere.example/").unwrap().hash();
    let missing = StateChange { url_hash: gone, ..change(ModerationState::Verified, "a@x") };
    assert_eq!(
        store.decide(&missing, Audited { entry: &e, signer: &KEY }).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(all_audit(&store).await.len(), 2);
}

fn proposal(subject: &str) -> NewProposal {
    NewProposal {
        kind: ProposalKind::BlockUrl,
        subject: subject.into(),
        body: "{}".into(),
        note: "<script>alert(1)</script>".into(),
        url_hash: None,
        proposed_by: "reviewer@example.test".into(),
        proposed_at: t(10),
        base_version: Some("2026.12.05.01".into()),
        version: Some("2026.12.05.02".into()),
        test_passed: Some(true),
        test_summary: "passed".into(),
        request: "{}".into(),
    }
}

fn signature(account: AccountId, actor: &str, keyid: &str, at: i64) -> NewSignature {
    NewSignature { account, actor: actor.into(), keyid: keyid.into(), signatures: "{}".into(), at: t(at) }
}

async fn a_proposal_needs_two_accounts_with_two_keys_and_moves_only_forward(h: &impl Harness) {
    let store = h.open().await;
    let alice = enrol(&store, 1, "alice@example.test", TokenRole::Publisher).await;
    let bob = enrol(&store, 2, "bob@example.test", TokenRole::Publisher).await;
    let carol = enrol(&store, 3, "carol@example.test", TokenRole::Publisher).await;
    let e = entry("proposal.created", "", t(10));
    let p = store.create_proposal(&proposal("http://a.example/x"), Audited { entry: &e, signer: &KEY }).await.unwrap();
    assert_eq!(p.state, ProposalState::Proposed);
    assert_eq!(store.get_proposal(p.id).await.unwrap(), p);
    let e = entry("proposal.signed", "", t(20));
    let audited = Audited { entry: &e, signer: &KEY };

    let (approved, sigs) =
        store.sign_proposal(p.id, &signature(alice, "alice@example.test", "k1", 20), audited).await.unwrap();
    assert_eq!(
        (approved.state, approved.approved_by.as_deref()),
        (ProposalState::Approved, Some("alice@example.test"))
    );
    assert_eq!(sigs.len(), 1);
    // The same account again, with another key: refused.
    let err = store.sign_proposal(p.id, &signature(alice, "alice@example.test", "k2", 21), audited).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    // Another account with alice's key: refused (the key is hers).
    let err = store.sign_proposal(p.id, &signature(bob, "bob@example.test", "k1", 22), audited).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("another publisher"), "{err}");
    // Bob with his own key: deploying.
    let (deploying, sigs) =
        store.sign_proposal(p.id, &signature(bob, "bob@example.test", "k3", 23), audited).await.unwrap();
    assert_eq!(deploying.state, ProposalState::Deploying);
    assert_eq!(sigs.iter().map(|s| s.keyid.as_str()).collect::<Vec<_>>(), ["k1", "k3"]);
    // A third signature has nothing to move.
    let err = store.sign_proposal(p.id, &signature(carol, "carol@example.test", "k4", 24), audited).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    // Rejecting a deploying proposal is refused; finishing it once works, twice does not.
    let e = entry("proposal.finished", "proposal:1", t(30));
    let audited = Audited { entry: &e, signer: &KEY };
    let err = store
        .finish_proposal(
            p.id,
            Finish {
                from: &[ProposalState::Proposed, ProposalState::Approved],
                to: ProposalState::Rejected,
                by: "x",
                at: t(30),
                outcome: "no",
            },
            audited,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let done = store
        .finish_proposal(
            p.id,
            Finish {
                from: &[ProposalState::Deploying],
                to: ProposalState::Deployed,
                by: "bob@example.test",
                at: t(31),
                outcome: "v2",
            },
            audited,
        )
        .await
        .unwrap();
    assert_eq!((done.state, done.outcome.as_deref()), (ProposalState::Deployed, Some("v2")));
    assert!(store
        .finish_proposal(
            p.id,
            Finish {
                from: &[ProposalState::Deploying],
                to: ProposalState::Failed,
                by: "bob@example.test",
                at: t(32),
                outcome: "x"
            },
            audited
        )
        .await
        .is_err());
    // Listing by state, newest first; every write is in the audit chain.
    let e = entry("proposal.created", "", t(40));
    let second =
        store.create_proposal(&proposal("http://b.example/"), Audited { entry: &e, signer: &KEY }).await.unwrap();
    let open = store.list_proposals(&[ProposalState::Proposed], 10).await.unwrap();
    assert_eq!(open.iter().map(|p| p.id).collect::<Vec<_>>(), [second.id]);
    assert_eq!(store.list_proposals(&[], 10).await.unwrap().len(), 2);
    let log = all_audit(&store).await;
    assert!(problems(&log).is_empty());
    assert_eq!(log.iter().filter(|e| e.action.starts_with("proposal.")).count(), 5);
    assert!(log.iter().any(|e| e.target == format!("proposal:{}", second.id)));
}

fn notice(group: &str, priority: Priority, firing: bool, at: i64) -> AlertNotice {
    AlertNotice {
        group_key: group.into(),
        title: "FerretWatchDatabaseDown".into(),
        priority,
        service: None,
        firing,
        lines: vec![format!("{} <script>x</script>", if firing { "firing" } else { "resolved" })],
        started_at: t(at - 60_000),
        at: t(at),
    }
}

async fn alerts_open_one_incident_per_group_that_escalates_until_acknowledged_and_resolves(h: &impl Harness) {
    let store = h.open().await;
    // A resolved notice without an open incident changes nothing.
    assert!(store.record_alert(&notice("g1", Priority::P2, false, 0)).await.unwrap().is_none());
    // Concurrent notices of one group open one incident.
    let n = notice("g1", Priority::P2, true, 1_000);
    let (a, b) = tokio::join!(store.record_alert(&n), store.record_alert(&n));
    let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
    assert_eq!(a.0.id, b.0.id);
    assert_eq!(u8::from(a.1) + u8::from(b.1), 1, "exactly one notice opened it");
    let id = a.0.id;
    assert_eq!(a.0.detected_at, t(-59_000));
    // A more urgent notice raises the priority.
    let (raised, opened) = store.record_alert(&notice("g1", Priority::P1, true, 2_000)).await.unwrap().unwrap();
    assert!(!opened);
    assert_eq!(raised.priority, Priority::P1);
    // Escalation: not before the P1 response time (15 min after opening), once per breach.
    assert!(store.escalate_due(t(1_000 + 14 * 60_000), Priority::RESPONSE_SECS).await.unwrap().is_empty());
    let due = t(1_000 + 15 * 60_000);
    let (first, second) = tokio::join!(
        store.escalate_due(due, Priority::RESPONSE_SECS),
        store.escalate_due(due, Priority::RESPONSE_SECS)
    );
    let escalated: Vec<_> = first.unwrap().into_iter().chain(second.unwrap()).collect();
    assert_eq!(escalated.len(), 1, "two instances escalate a breach once");
    assert_eq!(escalated[0].escalations, 1);
    assert!(
        store.escalate_due(t(1_000 + 20 * 60_000), Priority::RESPONSE_SECS).await.unwrap().is_empty(),
        "the next breach is 15 min later"
    );
    assert_eq!(store.escalate_due(t(1_000 + 31 * 60_000), Priority::RESPONSE_SECS).await.unwrap().len(), 1);
    // Acknowledged: no more escalations; twice is refused.
    let acked =
        store.change_incident(id, &IncidentChange::Acknowledge, "oncall@example.test", t(3_000_000)).await.unwrap();
    assert_eq!(acked.state, IncidentState::Acknowledged);
    assert!(store.escalate_due(t(10_000_000), Priority::RESPONSE_SECS).await.unwrap().is_empty());
    let err = store.change_incident(id, &IncidentChange::Acknowledge, "x", t(3_000_001)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    store
        .change_incident(id, &IncidentChange::Assign("alice".into()), "oncall@example.test", t(3_000_002))
        .await
        .unwrap();
    store.change_incident(id, &IncidentChange::Note("failed over".into()), "alice", t(3_000_003)).await.unwrap();
    store.record_alert(&notice("g1", Priority::P1, false, 3_500_000)).await.unwrap().unwrap();
    let done =
        store.change_incident(id, &IncidentChange::Resolve("disk full".into()), "alice", t(4_000_000)).await.unwrap();
    assert_eq!(done.state, IncidentState::Resolved);
    assert_eq!(done.postmortem_due, Some(t(4_000_000 + 48 * 3_600_000)));
    assert_eq!(done.assignee.as_deref(), Some("alice"));
    let err = store.change_incident(id, &IncidentChange::Note("late".into()), "x", t(4_000_001)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let kinds: Vec<String> = store.incident_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "alert_firing",
            "alert_firing",
            "priority",
            "alert_firing",
            "escalated",
            "escalated",
            "acknowledged",
            "assigned",
            "note",
            "alert_resolved",
            "resolved"
        ]
    );
    // The group fires again after resolution: a new incident.
    let (again, opened) = store.record_alert(&notice("g1", Priority::P2, true, 5_000_000)).await.unwrap().unwrap();
    assert!(opened);
    assert_ne!(again.id, id);
    assert_eq!(store.list_incidents(&[IncidentState::Open], 10).await.unwrap().len(), 1);
    assert_eq!(store.list_incidents(&[], 10).await.unwrap().len(), 2);
}
