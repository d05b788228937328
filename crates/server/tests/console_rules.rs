//! The Rules and Bulletins modules over real HTTP: a report triaged by a Reviewer becomes
//! a rule proposal, two different Publishers sign it with their own keys offline, the
//! server deploys it, and the pack the origin then serves flags the URL. Every step is
//! refused for the wrong role, for the same Publisher twice, for one key on two accounts
//! and for a forged signature.

mod support;

use std::path::Path;

use ferretwatch_detect::{Level, Page as Scanned, ScanOptions};
use ferretwatch_pack_client::load::{load, YaraLimit};
use ferretwatch_pack_client::trust::metadata::Root;
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::signing::{sign_request, SigningRequest, SigningResponse};
use ferretwatch_store::{ProposalId, ProposalState, TokenRole};
use ferretwatch_types::Timestamp;
use support::console::{make_account, Browser, Page};
use support::{report_body, spawn_with, TestApp};

const PHISH: &str = "http://127.0.0.1:9/phish/login";

fn dev_key(app: &TestApp, n: u8) -> PrivateKey {
    PrivateKey::read(&app.data.join(format!("dev-keys/dev-publisher-{n}.key"))).unwrap()
}

fn root(app: &TestApp) -> Vec<u8> {
    std::fs::read(app.data.join("dev-keys/root.json")).unwrap()
}

/// What `ferretwatch pack sign-request` does, with `key`.
async fn answer(b: &mut Browser<'_>, id: &str, key: &PrivateKey, root: &[u8]) -> String {
    let request = b.get(&format!("/admin/rules/{id}/request.json")).await;
    assert_eq!(request.status, 200, "{}", request.body);
    let request = SigningRequest::parse(request.body.as_bytes()).unwrap();
    // A key outside the root signs every document (its signer's tool would not know better).
    let root = Root::parse_unverified(root).unwrap();
    let listed = root.check_signer(&key.public().key_id(), &["targets"]).is_ok();
    String::from_utf8(sign_request(&request, key, listed.then_some(&root)).unwrap().to_bytes()).unwrap()
}

async fn post(b: &mut Browser<'_>, path: &str, fields: &[(&str, &str)]) -> Page {
    let csrf = b.csrf().await;
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(path, &all).await
}

/// The level the pack the origin serves gives `url` (verified as a client does).
fn served_level(origin: &Path, root: Vec<u8>, url: &str) -> (String, Level, Vec<String>) {
    let origin = origin.to_str().unwrap().to_owned();
    let url = url.to_owned();
    std::thread::spawn(move || {
        let origin = Origin::open(&origin).unwrap();
        let now = Timestamp::now();
        let pack = Verifier::new(root, now, State::default()).verify(&origin.source(None)).unwrap();
        let loaded = load(&pack.files, now, YaraLimit::Timeout(std::time::Duration::from_millis(500)), true).unwrap();
        let page = Scanned {
            url: &url,
            html: Some("<html><body>Sign in</body></html>"),
            resources: &[],
            favicon: None,
            state: None,
        };
        let verdict = loaded.engine.scan(&page, &ScanOptions::default()).unwrap();
        (pack.pack_version, verdict.level, verdict.findings.iter().map(|f| format!("{:?}", f.key)).collect())
    })
    .join()
    .unwrap()
}

fn proposal_of(page: &Page) -> String {
    let location = page.location().unwrap_or_else(|| panic!("no redirect: {} {}", page.status, page.body));
    location.strip_prefix("/admin/rules/").unwrap().to_owned()
}

#[tokio::test]
async fn a_verified_report_becomes_a_rule_two_publishers_sign_and_the_origin_then_flags_the_url() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let app = spawn_with(|s| s.console.test_corpus = Some(corpus), None).await;
    let root = root(&app);
    let (before_version, before, _) = served_level(&app.data.join("origin"), root.clone(), PHISH);
    assert_ne!(before, Level::Red, "the URL must not be red before the rule");

    // A report arrives through the API; a Reviewer verifies it and proposes a rule in one step.
    let token = app.install_token().await;
    let mut body = report_body(PHISH);
    body["reason"] = serde_json::json!("other");
    body["reason_text"] = serde_json::json!("<script>alert(1)</script>");
    assert_eq!(app.post_report(&token, &body).await.status(), 201);
    let reviewer = make_account(&app, "reviewer@example.test", TokenRole::Reviewer, None).await;
    let mut r = Browser::new(&app);
    r.sign_in(&reviewer, 0).await;
    let inbox = r.get("/admin/reports").await;
    let hash = inbox.body.split("href=\"/admin/reports/").nth(1).unwrap()[..64].to_owned();
    // Not yet verified: no proposal.
    let early = post(&mut r, "/admin/rules", &[("kind", "block_url"), ("subject", PHISH), ("url_hash", &hash)]).await;
    assert_eq!(early.status, 400, "{}", early.body);
    let decided =
        post(&mut r, &format!("/admin/reports/{hash}/decide"), &[("state", "verified"), ("note", "kit")]).await;
    assert_eq!(decided.status, 303);
    let detail = r.get(&format!("/admin/reports/{hash}")).await;
    assert!(detail.body.contains("Turn into a rule proposal"), "{}", detail.body);
    let proposed = post(
        &mut r,
        "/admin/rules",
        &[("kind", "block_url"), ("subject", PHISH), ("url_hash", &hash), ("note", "<b>kit</b>")],
    )
    .await;
    assert_eq!(proposed.status, 303, "{}", proposed.body);
    let id = proposal_of(&proposed);
    let page = r.get(&format!("/admin/rules/{id}")).await;
    assert!(page.body.contains("pack validate: no problems"), "{}", page.body);
    assert!(page.body.contains("pack test: passed"), "{}", page.body);
    assert!(page.body.contains("&#60;b&#62;kit&#60;/b&#62;") && !page.body.contains("<b>kit</b>"));
    // A Reviewer may not sign.
    let refused = post(&mut r, &format!("/admin/rules/{id}/sign"), &[("response", "{}")]).await;
    assert_eq!(refused.status, 403);

    // Publisher A approves with their signature; signing again, or with B's key from A's account, is refused.
    let alice = make_account(&app, "alice@example.test", TokenRole::Publisher, None).await;
    let bob = make_account(&app, "bob@example.test", TokenRole::Publisher, None).await;
    let mut a = Browser::new(&app);
    a.sign_in(&alice, 0).await;
    let forged = answer(&mut a, &id, &PrivateKey::generate().unwrap(), &root).await;
    let refused = post(&mut a, &format!("/admin/rules/{id}/sign"), &[("response", &forged)]).await;
    assert_eq!(refused.status, 400, "a key outside the root: {}", refused.body);
    let mut tampered: SigningResponse =
        SigningResponse::parse(answer(&mut a, &id, &dev_key(&app, 1), &root).await.as_bytes()).unwrap();
    for sig in tampered.signatures.values_mut() {
        sig.replace_range(0..2, if sig.starts_with("00") { "11" } else { "00" });
    }
    let tampered = String::from_utf8(tampered.to_bytes()).unwrap();
    let refused = post(&mut a, &format!("/admin/rules/{id}/sign"), &[("response", &tampered)]).await;
    assert_eq!(refused.status, 400, "a signature that does not verify: {}", refused.body);
    assert!(refused.body.contains("does not verify"), "{}", refused.body);
    let signed = answer(&mut a, &id, &dev_key(&app, 1), &root).await;
    let approved = post(&mut a, &format!("/admin/rules/{id}/sign"), &[("response", &signed)]).await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let again = answer(&mut a, &id, &dev_key(&app, 2), &root).await;
    let refused = post(&mut a, &format!("/admin/rules/{id}/sign"), &[("response", &again)]).await;
    assert_eq!(refused.status, 400, "the same publisher twice: {}", refused.body);
    let state = app.state.store.get_proposal(ProposalId(id.parse().unwrap())).await.unwrap();
    assert_eq!((state.state, state.approved_by.as_deref()), (ProposalState::Approved, Some("alice@example.test")));

    // Publisher B with A's key is refused; with B's own key it deploys.
    let mut bb = Browser::new(&app);
    bb.sign_in(&bob, 0).await;
    let with_alices = answer(&mut bb, &id, &dev_key(&app, 1), &root).await;
    let refused = post(&mut bb, &format!("/admin/rules/{id}/sign"), &[("response", &with_alices)]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let own = answer(&mut bb, &id, &dev_key(&app, 2), &root).await;
    let deployed = post(&mut bb, &format!("/admin/rules/{id}/sign"), &[("response", &own)]).await;
    assert_eq!(deployed.status, 303, "{}", deployed.body);
    let done = app.state.store.get_proposal(ProposalId(id.parse().unwrap())).await.unwrap();
    assert_eq!(done.state, ProposalState::Deployed, "{:?}", done.outcome);
    let version = done.staged.version.clone().unwrap();
    // This instance serves the new version at once (not after its cache revalidates).
    let page = bb.get(&format!("/admin/rules/{id}")).await;
    assert!(page.body.contains(&format!("the origin serves {version}")), "{}", page.body);
    assert!(done.outcome.as_deref().unwrap().contains(&version));

    // The origin serves the new version, which flags the URL; the console shows it.
    let (served, level, findings) = served_level(&app.data.join("origin"), root.clone(), PHISH);
    assert_eq!(served, version);
    assert_ne!(served, before_version);
    assert_eq!(level, Level::Red, "{findings:?}");
    let rules = bb.get("/admin/rules").await;
    assert!(rules.body.contains(&format!("id=\"served-version\">{version}<")), "{}", rules.body);
    // Nothing more to sign, and the audit log holds every step.
    let refused = post(&mut bb, &format!("/admin/rules/{id}/sign"), &[("response", &own)]).await;
    assert_eq!(refused.status, 400);
    let log = app.state.store.audit_after(0, 1000).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).filter(|a| a.starts_with("proposal.")).collect();
    assert_eq!(actions, ["proposal.created", "proposal.signed", "proposal.signed", "proposal.deployed"]);

    // A Publisher rolls back to the version before, through the same two signatures.
    let rollback =
        post(&mut a, "/admin/rules/rollback", &[("subject", &before_version), ("note", "false positives")]).await;
    assert_eq!(rollback.status, 303, "{}", rollback.body);
    let rb = proposal_of(&rollback);
    let first = answer(&mut a, &rb, &dev_key(&app, 1), &root).await;
    assert_eq!(post(&mut a, &format!("/admin/rules/{rb}/sign"), &[("response", &first)]).await.status, 303);
    let second = answer(&mut bb, &rb, &dev_key(&app, 2), &root).await;
    assert_eq!(post(&mut bb, &format!("/admin/rules/{rb}/sign"), &[("response", &second)]).await.status, 303);
    let (served, level, _) = served_level(&app.data.join("origin"), root, PHISH);
    assert!(served > version, "{served} after {version}");
    assert_ne!(level, Level::Red);
    app.stop().await;
}

#[tokio::test]
async fn the_wrong_roles_are_refused_at_each_step_and_a_bulletin_is_published_by_two() {
    let app = spawn_with(|_| {}, None).await;
    let root = root(&app);
    let viewer = make_account(&app, "viewer@example.test", TokenRole::Viewer, None).await;
    let reviewer = make_account(&app, "reviewer@example.test", TokenRole::Reviewer, None).await;
    let alice = make_account(&app, "alice@example.test", TokenRole::Publisher, None).await;
    let bob = make_account(&app, "bob@example.test", TokenRole::Publisher, None).await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let mut v = Browser::new(&app);
    v.sign_in(&viewer, 0).await;
    assert_eq!(v.get("/admin/rules").await.status, 403);
    let mut ad = Browser::new(&app);
    ad.sign_in(&admin, 0).await;
    assert_eq!(ad.get("/admin/bulletins").await.status, 403);
    let mut a = Browser::new(&app);
    a.sign_in(&alice, 0).await;
    let fields = [
        ("kind", "bulletin"),
        ("severity", "critical"),
        ("subject", "Campaign <script>alert(1)</script> against Example Bank"),
        ("brands", "Example Bank"),
        ("ttl_hours", "24"),
    ];
    // A Publisher may not propose.
    assert_eq!(post(&mut a, "/admin/bulletins", &fields).await.status, 403);
    let mut r = Browser::new(&app);
    r.sign_in(&reviewer, 0).await;
    // A Reviewer may not roll back.
    assert_eq!(post(&mut r, "/admin/rules/rollback", &[("subject", "2026.01.01.00"), ("note", "x")]).await.status, 403);
    // Bad input is a 400 with a reason.
    let bad = post(&mut r, "/admin/rules", &[("kind", "block_host"), ("subject", "com")]).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("public suffix"), "{}", bad.body);
    let bad =
        post(&mut r, "/admin/rules", &[("kind", "yara"), ("rule_id", "X-1"), ("severity", "high"), ("yara", "rule {")])
            .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let proposed = post(&mut r, "/admin/bulletins", &fields).await;
    assert_eq!(proposed.status, 303, "{}", proposed.body);
    let id = proposal_of(&proposed);
    let list = r.get("/admin/bulletins").await;
    assert!(list.body.contains("&#60;script&#62;") && !list.body.contains("<script>alert"), "{}", list.body);
    // The reviewer may not reject; a publisher may reject only with a reason.
    assert_eq!(post(&mut r, &format!("/admin/rules/{id}/reject"), &[("note", "no")]).await.status, 403);
    assert_eq!(post(&mut a, &format!("/admin/rules/{id}/reject"), &[("note", "")]).await.status, 400);
    let first = answer(&mut a, &id, &dev_key(&app, 1), &root).await;
    assert_eq!(post(&mut a, &format!("/admin/rules/{id}/sign"), &[("response", &first)]).await.status, 303);
    let mut b = Browser::new(&app);
    b.sign_in(&bob, 0).await;
    let second = answer(&mut b, &id, &dev_key(&app, 2), &root).await;
    assert_eq!(post(&mut b, &format!("/admin/rules/{id}/sign"), &[("response", &second)]).await.status, 303);
    let done = app.state.store.get_proposal(ProposalId(id.parse().unwrap())).await.unwrap();
    assert_eq!(done.state, ProposalState::Deployed, "{:?}", done.outcome);
    // The bulletin is served, signed by both, in the index clients read.
    let index = app.get("/v1/bulletins/index.json").await;
    assert_eq!(index.status(), 200);
    let index = index.text().await.unwrap();
    let name = done.outcome.unwrap().trim_start_matches("published ").trim_start_matches("bulletins/").to_owned();
    assert!(index.contains(&name), "{index} lacks {name}");
    let bytes = app.get(&format!("/v1/bulletins/{name}")).await.bytes().await.unwrap();
    let bulletin = ferretwatch_pack_client::bulletin::verify_bulletin(&bytes, &root, Timestamp::now()).unwrap();
    assert!(bulletin.advisory_text.contains("Example Bank"));
    app.stop().await;
}

/// Two proposals staged on the same served pack both take the next version: the first
/// deploys, the second is refused by the origin at deploy time and is marked failed with
/// the reason, and the origin keeps serving the first. A benign URL cannot become a block.
#[tokio::test]
async fn a_proposal_overtaken_by_another_deploy_fails_with_its_reason() {
    let app = spawn_with(|_| {}, None).await;
    let root = root(&app);
    let reviewer = make_account(&app, "reviewer@example.test", TokenRole::Reviewer, None).await;
    let alice = make_account(&app, "alice@example.test", TokenRole::Publisher, None).await;
    let bob = make_account(&app, "bob@example.test", TokenRole::Publisher, None).await;
    let mut r = Browser::new(&app);
    r.sign_in(&reviewer, 0).await;
    let token = app.install_token().await;
    assert_eq!(app.post_report(&token, &report_body("https://fine.example.test/")).await.status(), 201);
    let inbox = r.get("/admin/reports").await;
    let hash = inbox.body.split("href=\"/admin/reports/").nth(1).unwrap()[..64].to_owned();
    let benign = post(&mut r, &format!("/admin/reports/{hash}/decide"), &[("state", "benign")]).await;
    assert_eq!(benign.status, 303);
    let refused = post(
        &mut r,
        "/admin/rules",
        &[("kind", "block_url"), ("subject", "https://fine.example.test/"), ("url_hash", &hash)],
    )
    .await;
    assert_eq!(refused.status, 400, "a benign URL is not blocked: {}", refused.body);

    let mut ids = Vec::new();
    for url in ["https://first.example.test/a", "https://second.example.test/b"] {
        let page = post(&mut r, "/admin/rules", &[("kind", "block_url"), ("subject", url), ("note", "campaign")]).await;
        assert_eq!(page.status, 303, "{}", page.body);
        ids.push(proposal_of(&page));
    }
    let (mut a, mut b) = (Browser::new(&app), Browser::new(&app));
    a.sign_in(&alice, 0).await;
    b.sign_in(&bob, 0).await;
    for id in &ids {
        let signed = answer(&mut a, id, &dev_key(&app, 1), &root).await;
        assert_eq!(post(&mut a, &format!("/admin/rules/{id}/sign"), &[("response", &signed)]).await.status, 303);
    }
    for id in &ids {
        let signed = answer(&mut b, id, &dev_key(&app, 2), &root).await;
        assert_eq!(post(&mut b, &format!("/admin/rules/{id}/sign"), &[("response", &signed)]).await.status, 303);
    }
    let first = app.state.store.get_proposal(ProposalId(ids[0].parse().unwrap())).await.unwrap();
    let second = app.state.store.get_proposal(ProposalId(ids[1].parse().unwrap())).await.unwrap();
    assert_eq!(first.state, ProposalState::Deployed, "{:?}", first.outcome);
    assert_eq!(second.state, ProposalState::Failed);
    let why = second.outcome.unwrap();
    assert!(why.contains(first.staged.version.as_deref().unwrap()), "{why}");
    let page = b.get(&format!("/admin/rules/{}", ids[1])).await;
    assert!(page.body.contains("id=\"proposal-state\">failed<"), "{}", page.body);
    let (served, level, _) = served_level(&app.data.join("origin"), root, "https://first.example.test/a");
    assert_eq!(Some(served.as_str()), first.staged.version.as_deref());
    assert_eq!(level, Level::Red);
    let log = app.state.store.audit_after(0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.action == "proposal.failed"));
    app.stop().await;
}
