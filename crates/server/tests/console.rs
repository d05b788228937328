//! The admin console over real HTTP: enrolment, sign-in with TOTP, the role matrix,
//! CSRF, brute force, session fixation and expiry, elevation, policies, hostile strings,
//! headers, and the audit chain the console leaves behind.

mod support;

use ferretwatch_server::console::permissions::{self, Permission};
use ferretwatch_server::router::{ConsoleAccess, CONSOLE_ROUTES};
use ferretwatch_store::{AccessOutcome, ChainCheck, NewSession, SessionStage, TokenRole};
use ferretwatch_types::{Sha256, Timestamp};
use support::console::{make_account, Browser, PASSWORD};
use support::spawn_app;

#[tokio::test]
async fn an_invitation_enrols_an_account_that_then_signs_in_with_password_and_totp() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let mut a = Browser::new(&app);
    assert_eq!(a.sign_in(&admin, 0).await.location(), Some("/admin"));
    let csrf = a.csrf().await;
    let made = a.post("/admin/accounts/invite", &[("csrf", &csrf), ("role", "reviewer"), ("email", "")]).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let marker = "id=\"invitation-url\">";
    let start = made.body.find(marker).expect("the invitation link is shown") + marker.len();
    let url = made.body[start..].split('<').next().unwrap().replace("&#x3d;", "=").replace("&#61;", "=");
    let path = url.strip_prefix(&format!("http://{}", app.addr)).expect("the link points at the console").to_owned();

    let mut b = Browser::new(&app);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = "id=\"totp-secret\">";
    let start = page.body.find(marker).unwrap() + marker.len();
    let secret = page.body[start..].split('<').next().unwrap().to_owned();
    // A reload shows the same seed.
    assert!(b.get(&path).await.body.contains(&secret));
    let seed = totp_rs::Secret::Encoded(secret).to_bytes().unwrap();
    let code_now = |offset: i64| {
        let step = Timestamp::now().as_secs() as i64 / 30 + offset;
        totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, seed.clone(), None, String::new())
            .generate((step * 30) as u64)
    };
    let code = path.split("code=").nth(1).unwrap().to_owned();
    let csrf = page.csrf();
    let short = b
        .post(
            "/admin/enrol",
            &[
                ("csrf", &csrf),
                ("code", &code),
                ("email", "rev@example.test"),
                ("password", "short"),
                ("totp", &code_now(0)),
            ],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("at least 12 characters"));
    let done = b
        .post(
            "/admin/enrol",
            &[
                ("csrf", &csrf),
                ("code", &code),
                ("email", "rev@example.test"),
                ("password", PASSWORD),
                ("totp", &code_now(0)),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let recovery: Vec<String> =
        done.body.split("<li><code>").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);
    // The invitation is spent.
    let again = b
        .post(
            "/admin/enrol",
            &[
                ("csrf", &csrf),
                ("code", &code),
                ("email", "other@example.test"),
                ("password", PASSWORD),
                ("totp", &code_now(1)),
            ],
        )
        .await;
    assert_eq!(again.status, 400);

    // Sign in: password, then a recovery code (the enrolment's TOTP step is spent).
    let login = b.get("/admin/login").await;
    let first =
        b.post("/admin/login", &[("csrf", &login.csrf()), ("email", "rev@example.test"), ("password", PASSWORD)]).await;
    assert_eq!(first.location(), Some("/admin/login/totp"));
    let totp = b.get("/admin/login/totp").await;
    let reused = b.post("/admin/login/totp", &[("csrf", &totp.csrf()), ("code", &code_now(0))]).await;
    assert_eq!(reused.status, 401, "a TOTP code is accepted once");
    let signed =
        b.post("/admin/login/totp", &[("csrf", &totp.csrf()), ("recovery", &recovery[0].to_uppercase())]).await;
    assert_eq!(signed.location(), Some("/admin"), "{}", signed.body);
    assert_eq!(b.get("/admin").await.status, 200);
    let account = app
        .state
        .store
        .find_account_by_email(&ferretwatch_store::Email::parse("rev@example.test").unwrap())
        .await
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(account.role, TokenRole::Reviewer);
    assert_eq!(app.state.store.recovery_codes_left(account.id).await.unwrap(), 9);
}

/// Every console route, for every role and signed out, against the permission table.
#[tokio::test]
async fn every_route_answers_every_role_as_the_permission_table_says() {
    let app = spawn_app().await;
    let target = make_account(&app, "target@example.test", TokenRole::Viewer, None).await;
    let id = target.account.id.0.to_string();
    for role in TokenRole::ALL {
        let who = make_account(&app, &format!("{}@example.test", role.code()), role, None).await;
        let mut b = Browser::new(&app);
        b.sign_in(&who, 0).await;
        let csrf = b.csrf().await;
        for (method, path, access) in CONSOLE_ROUTES {
            if matches!(*path, "/admin/logout" | "/admin/logout/everywhere") {
                continue; // would end the session the loop uses; covered below
            }
            let path = path.replace("{id}", &id).replace("{action}", "enable").replace("{hash}", &"0".repeat(64));
            let page = if *method == "GET" { b.get(&path).await } else { b.post(&path, &[("csrf", &csrf)]).await };
            let allowed = match access {
                ConsoleAccess::Public | ConsoleAccess::SignedIn => true,
                ConsoleAccess::Needs(p) => permissions::allows(role, *p),
            };
            if allowed {
                assert_ne!(page.status, 403, "{role} {method} {path}: {}", page.body);
                if *access != ConsoleAccess::Public {
                    assert_ne!(page.location(), Some("/admin/login"), "{role} {method} {path}");
                }
            } else {
                assert_eq!(page.status, 403, "{role} {method} {path} must be refused");
                assert!(page.body.contains(&format!("Your role, {role}, may not")), "{}", page.body);
            }
        }
    }
    // Signed out, everything but the public routes sends the browser to sign in.
    let mut anonymous = Browser::new(&app);
    for (method, path, access) in CONSOLE_ROUTES {
        if *access == ConsoleAccess::Public || *method != "GET" {
            continue;
        }
        let page = anonymous.get(&path.replace("{id}", &id).replace("{hash}", &"0".repeat(64))).await;
        assert_eq!((page.status, page.location()), (303, Some("/admin/login")), "{path}");
    }
}

#[tokio::test]
async fn a_viewer_is_refused_the_admin_pages_until_a_reasoned_elevation_and_after_it_ends() {
    let app = spawn_app().await;
    let viewer = make_account(&app, "viewer@example.test", TokenRole::Viewer, Some(TokenRole::Admin)).await;
    let plain = make_account(&app, "plain@example.test", TokenRole::Viewer, None).await;
    let mut b = Browser::new(&app);
    b.sign_in(&viewer, 0).await;
    let refused = b.get("/admin/accounts").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("request elevation"), "the page says elevation is possible");
    let csrf = b.csrf().await;
    let no_reason = b.post("/admin/account/elevate", &[("csrf", &csrf), ("reason", "x"), ("minutes", "10")]).await;
    assert_eq!(no_reason.status, 400);
    let too_long = b
        .post("/admin/account/elevate", &[("csrf", &csrf), ("reason", "rotate the audit key"), ("minutes", "600")])
        .await;
    assert_eq!(too_long.status, 400);
    let ok = b
        .post("/admin/account/elevate", &[("csrf", &csrf), ("reason", "rotate the audit key"), ("minutes", "10")])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(b.get("/admin/accounts").await.status, 200);
    let audit = app.state.store.audit_after(0, 1000).await.unwrap();
    let elevated = audit.iter().find(|e| e.action == "session.elevated").expect("the elevation is audited");
    assert!(elevated.details.contains("rotate the audit key") && elevated.actor == "viewer@example.test");
    b.post("/admin/account/elevation/end", &[("csrf", &csrf)]).await;
    assert_eq!(b.get("/admin/accounts").await.status, 403);

    let mut c = Browser::new(&app);
    c.sign_in(&plain, 0).await;
    let csrf = c.csrf().await;
    let refused =
        c.post("/admin/account/elevate", &[("csrf", &csrf), ("reason", "let me in please"), ("minutes", "10")]).await;
    assert_eq!(refused.status, 400, "an account that is not eligible cannot elevate");
}

#[tokio::test]
async fn every_state_changing_route_refuses_a_missing_foreign_or_cross_origin_csrf_token() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let other = make_account(&app, "other@example.test", TokenRole::Admin, None).await;
    let mut a = Browser::new(&app);
    a.sign_in(&admin, 0).await;
    let mut o = Browser::new(&app);
    o.sign_in(&other, 0).await;
    let foreign = o.csrf().await;
    let own = a.csrf().await;
    let before = app.state.store.audit_after(0, 10_000).await.unwrap().len();
    let id = other.account.id.0.to_string();
    for (method, path, _) in CONSOLE_ROUTES.iter().filter(|(m, _, _)| *m == "POST") {
        let path = path.replace("{id}", &id).replace("{action}", "disable").replace("{hash}", &"0".repeat(64));
        let missing = a.post(&path, &[("role", "admin")]).await;
        assert_eq!(missing.status, 403, "{method} {path} without a token");
        let wrong = a.post(&path, &[("csrf", &foreign), ("role", "admin")]).await;
        assert_eq!(wrong.status, 403, "{method} {path} with another session's token");
        let cross = a.post_from(&path, &[("csrf", &own), ("role", "admin")], Some("https://evil.example")).await;
        assert_eq!(cross.status, 403, "{method} {path} from another origin");
    }
    assert_eq!(app.state.store.audit_after(0, 10_000).await.unwrap().len(), before, "nothing was changed");
    assert!(app.state.store.get_account(other.account.id).await.unwrap().is_active());
    assert_eq!(a.get("/admin").await.status, 200, "still signed in");
}

#[tokio::test]
async fn brute_force_locks_the_account_and_a_spray_from_one_network_is_throttled() {
    let app = spawn_app().await;
    let victim = make_account(&app, "victim@example.test", TokenRole::Admin, None).await;
    let mut attacker = Browser::new(&app);
    let csrf = attacker.get("/admin/login").await.csrf();
    for _ in 0..5 {
        let page = attacker
            .post(
                "/admin/login",
                &[("csrf", &csrf), ("email", "victim@example.test"), ("password", "guess-guess-guess")],
            )
            .await;
        assert_eq!(page.status, 401);
    }
    let right = attacker
        .post("/admin/login", &[("csrf", &csrf), ("email", "victim@example.test"), ("password", PASSWORD)])
        .await;
    assert_eq!(right.status, 401, "the right password is refused while locked");
    assert!(right.body.contains("locked"), "{}", right.body);
    let account = app.state.store.get_account(victim.account.id).await.unwrap();
    assert!(account.locked_until.is_some_and(|u| u > Timestamp::now()));
    // An unknown address gets the same words as a wrong password.
    let unknown =
        attacker.post("/admin/login", &[("csrf", &csrf), ("email", "nobody@example.test"), ("password", "x")]).await;
    assert!(unknown.body.contains("The email or password is wrong."));

    // A spray over many accounts from one network meets the per-network limit (20/min).
    let mut refused = 0;
    for i in 0..30 {
        let page = attacker
            .post(
                "/admin/login",
                &[("csrf", &csrf), ("email", &format!("user{i}@example.test")), ("password", "Winter2026!!")],
            )
            .await;
        if page.status == 429 {
            refused += 1;
            assert!(page.headers.contains_key("retry-after"));
        }
    }
    assert!(refused >= 10, "refused {refused}");
    let since = Timestamp::from_millis(Timestamp::now().as_millis() - 60_000);
    let log = app.state.store.list_access(since, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.outcome == AccessOutcome::Locked && e.email == "victim@example.test"));
    assert!(log.iter().filter(|e| e.outcome == AccessOutcome::Throttled).count() >= 10);
    assert!(log.iter().all(|e| e.client_net == "127.0.0.0/24"));
}

#[tokio::test]
async fn a_cookie_planted_before_sign_in_is_never_the_session_and_the_pending_id_dies_at_sign_in() {
    let app = spawn_app().await;
    let who = make_account(&app, "fix@example.test", TokenRole::Viewer, None).await;
    let planted = "ab".repeat(32);
    let mut b = Browser::new(&app);
    b.cookies.insert("__Host-fw_session".into(), planted.clone());
    let login = b.get("/admin/login").await;
    let first =
        b.post("/admin/login", &[("csrf", &login.csrf()), ("email", "fix@example.test"), ("password", PASSWORD)]).await;
    assert_eq!(first.status, 303);
    let pending = b.session().unwrap();
    assert_ne!(pending, planted, "the server draws the id");
    let totp = b.get("/admin/login/totp").await;
    b.post("/admin/login/totp", &[("csrf", &totp.csrf()), ("code", &who.code(0))]).await;
    let full = b.session().unwrap();
    assert_ne!(full, pending, "a new id at the second factor");
    let mut thief = Browser::new(&app);
    thief.cookies.insert("__Host-fw_session".into(), pending);
    assert_eq!(thief.get("/admin").await.location(), Some("/admin/login?expired=1"));
    let mut planter = Browser::new(&app);
    planter.cookies.insert("__Host-fw_session".into(), planted);
    assert_eq!(planter.get("/admin").await.location(), Some("/admin/login?expired=1"));
    assert_eq!(b.get("/admin").await.status, 200);
}

#[tokio::test]
async fn idle_and_absolutely_expired_sessions_end_and_sign_out_ends_them_everywhere() {
    let app = spawn_app().await;
    let who = make_account(&app, "exp@example.test", TokenRole::Viewer, None).await;
    let now = Timestamp::now().as_millis();
    for (name, created, expires) in [("idle", now - 31 * 60_000, now + 3_600_000), ("old", now - 60_000, now - 1)] {
        let id = format!("{:0>64}", hex_of(name));
        app.state
            .store
            .create_session(&NewSession {
                id_hash: Sha256::of(id.as_bytes()),
                account_id: who.account.id,
                stage: SessionStage::Full,
                created_at: Timestamp::from_millis(created),
                expires_at: Timestamp::from_millis(expires),
                client_net: None,
            })
            .await
            .unwrap();
        let mut b = Browser::new(&app);
        b.cookies.insert("__Host-fw_session".into(), id.clone());
        assert_eq!(b.get("/admin").await.location(), Some("/admin/login?expired=1"), "{name}");
        assert!(app.state.store.find_session(&Sha256::of(id.as_bytes())).await.unwrap().is_none(), "{name} deleted");
    }
    let mut one = Browser::new(&app);
    one.sign_in(&who, 0).await;
    let mut two = Browser::new(&app);
    two.sign_in(&who, 1).await;
    let csrf = one.csrf().await;
    let out = one.post("/admin/logout/everywhere", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/admin/login?signed_out=1"));
    assert_eq!(two.get("/admin").await.location(), Some("/admin/login?expired=1"));
    assert!(two.get("/admin/login?expired=1").await.body.contains("Your session has ended"));
    assert!(app.state.store.list_account_sessions(who.account.id).await.unwrap().is_empty());
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_saved_policy_applies_and_is_audited_and_a_bad_value_changes_nothing() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin, 0).await;
    let page = b.get("/admin/settings").await;
    let csrf = page.csrf();
    let bad = b.post("/admin/settings", &[("csrf", &csrf), ("console.lockout_after", "0")]).await;
    assert_eq!(bad.status, 422);
    assert_eq!(app.state.console.policies.lockout_after(), 5);
    let ok = b
        .post("/admin/settings", &[("csrf", &csrf), ("console.lockout_after", "7"), ("limits.ip_per_minute", "2")])
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(app.state.console.policies.lockout_after(), 7);
    let audit = app.state.store.audit_after(0, 1000).await.unwrap();
    let change = audit.iter().rev().find(|e| e.action == "settings.changed").unwrap();
    assert!(change.details.contains("\"console.lockout_after\":{\"from\":5,\"to\":7}"), "{}", change.details);
    // The new report limit (2 per minute per address: the install and one report) is in force.
    let token = app.install_token().await;
    let body = support::report_body("https://limit.example.test/");
    assert_eq!(app.post_report(&token, &body).await.status(), 201);
    assert_eq!(app.post_report(&token, &body).await.status(), 429);
}

const HOSTILE: &str = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";

#[tokio::test]
async fn hostile_strings_from_reports_user_agents_and_audit_details_are_inert_in_every_page() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    // Failed sign-ins with hostile addresses and user agents fill the access log.
    let mut attacker = Browser::new(&app);
    attacker.user_agent = HOSTILE.into();
    let csrf = attacker.get("/admin/login").await.csrf();
    attacker.post("/admin/login", &[("csrf", &csrf), ("email", HOSTILE), ("password", HOSTILE)]).await;
    // A report whose URL and reason carry markup.
    let token = app.install_token().await;
    let mut body = support::report_body(&format!("https://evil.example.test/?q={HOSTILE}"));
    body["reason"] = "other".into();
    body["reason_text"] = HOSTILE.into();
    app.post_report(&token, &body).await;
    let entry = ferretwatch_store::NewAuditEntry {
        at: Timestamp::now(),
        actor: HOSTILE.into(),
        action: "test.hostile".into(),
        target: HOSTILE.into(),
        details: serde_json::json!({ "x": HOSTILE }),
    };
    app.state.store.append_audit(app.state.console.audited(&entry)).await.unwrap();

    let mut b = Browser::new(&app);
    b.user_agent = HOSTILE.into();
    b.sign_in(&admin, 0).await;
    let pages = [
        "/admin",
        "/admin/accounts",
        "/admin/settings",
        "/admin/audit",
        "/admin/access",
        "/admin/account",
        &format!("/admin/audit?actor={}", url::form_urlencoded::byte_serialize(HOSTILE.as_bytes()).collect::<String>()),
    ];
    for path in pages {
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            !page.body.contains("<script>alert") && !page.body.contains("<img src=x"),
            "{path} renders markup: {}",
            page.body
        );
    }
    let access = b.get("/admin/access").await;
    assert!(access.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "the hostile agent is shown, escaped");

    // The reported URL and reason, in the reviewer's inbox and detail page.
    let reviewer = make_account(&app, "rev@example.test", TokenRole::Reviewer, None).await;
    let mut r = Browser::new(&app);
    r.sign_in(&reviewer, 0).await;
    let inbox = r.get("/admin/reports").await;
    assert_eq!(inbox.status, 200);
    let hash = inbox
        .body
        .split("href=\"/admin/reports/")
        .nth(1)
        .expect("a reported URL")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    for path in [
        "/admin/reports".to_owned(),
        format!("/admin/reports/{hash}"),
        format!("/admin/reports?q={}", url::form_urlencoded::byte_serialize(HOSTILE.as_bytes()).collect::<String>()),
    ] {
        let page = r.get(&path).await;
        assert!(page.status == 200, "{path}: {}", page.status);
        assert!(
            !page.body.contains("<script>alert") && !page.body.contains("<img src=x"),
            "{path} renders markup: {}",
            page.body
        );
    }
    assert!(
        r.get(&format!("/admin/reports/{hash}")).await.body.contains("&#60;script&#62;"),
        "the reason text is shown, escaped"
    );
}

#[tokio::test]
async fn console_pages_carry_a_strict_policy_against_scripts_framing_and_sniffing() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let mut b = Browser::new(&app);
    for path in ["/admin/login", "/admin/static/console.css"] {
        check_headers(&b.get(path).await, path);
    }
    b.sign_in(&admin, 0).await;
    for path in ["/admin", "/admin/accounts", "/admin/audit", "/admin/account", "/admin/nope"] {
        let page = b.get(path).await;
        if path != "/admin/nope" {
            check_headers(&page, path);
            assert!(!page.body.contains("<script"), "{path} has no script");
            assert!(!page.body.contains("style="), "{path} has no inline style");
        }
    }
    let css = b.get("/admin/static/console.css").await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
}

fn check_headers(page: &support::console::Page, path: &str) {
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"),
        "{path}: {csp}"
    );
    assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
    assert_eq!(page.headers["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(page.headers["cache-control"], "no-store", "{path}");
    // Not `no-referrer`: browsers then send `Origin: null` on our own forms.
    assert_eq!(page.headers["referrer-policy"], "same-origin", "{path}");
    if path.ends_with(".css") {
        return;
    }
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8", "{path}");
    for cookie in page.headers.get_all("set-cookie") {
        let c = cookie.to_str().unwrap();
        assert!(
            c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Strict") && c.starts_with("__Host-"),
            "{c}"
        );
    }
}

#[tokio::test]
async fn the_audit_chain_the_console_leaves_verifies_with_the_public_key_and_secrets_are_not_stored_in_clear() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let mut b = Browser::new(&app);
    b.sign_in(&admin, 0).await;
    let session = b.session().unwrap();
    let csrf = b.csrf().await;
    let id = admin.account.id.0.to_string();
    b.post(&format!("/admin/accounts/{id}/role"), &[("csrf", &csrf), ("role", "admin"), ("eligible", "auditor")]).await;
    b.post("/admin/settings", &[("csrf", &csrf), ("console.lockout_after", "6")]).await;
    let entries = app.state.store.audit_after(0, 10_000).await.unwrap();
    assert!(entries.len() >= 4);
    let public = app.state.console.keys.audit_public();
    let mut check = ChainCheck::new();
    for e in &entries {
        check.push(e, &public);
    }
    assert_eq!(check.finish(entries.last()).problems, vec![]);

    app.state.store.close().await;
    let mut bytes = Vec::new();
    for suffix in ["ferretwatch.db", "ferretwatch.db-wal"] {
        bytes.extend(std::fs::read(app.data.join(suffix)).unwrap_or_default());
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(PASSWORD.as_bytes()), "password in clear");
    assert!(!contains(&admin.seed), "TOTP seed in clear");
    assert!(!contains(session.as_bytes()), "session id in clear");
    assert!(contains(b"$argon2id$"), "the password is an argon2id hash");
    let _ = Permission::ALL;
}

/// Every field a person fills in has a label tied to it, on every page.
#[tokio::test]
async fn every_form_field_on_every_page_has_a_label() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, Some(TokenRole::Auditor)).await;
    make_account(&app, "other@example.test", TokenRole::Viewer, None).await;
    let mut anonymous = Browser::new(&app);
    let mut pages = vec![("/admin/login".to_owned(), anonymous.get("/admin/login").await.body)];
    let mut b = Browser::new(&app);
    b.sign_in(&admin, 0).await;
    for path in ["/admin", "/admin/accounts", "/admin/settings", "/admin/audit", "/admin/access", "/admin/account"] {
        pages.push((path.to_owned(), b.get(path).await.body));
    }
    let mut checked = 0;
    for (path, body) in &pages {
        for tag in ["<input", "<select"] {
            for piece in body.split(tag).skip(1) {
                let element = &piece[..piece.find('>').unwrap()];
                if element.contains("type=\"hidden\"") {
                    continue;
                }
                let id = element.split("id=\"").nth(1).map(|rest| rest.split('"').next().unwrap());
                let id = id.unwrap_or_else(|| panic!("{path}: a field without an id: {tag}{element}>"));
                assert!(body.contains(&format!("<label for=\"{id}\"")), "{path}: no label for #{id}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "checked {checked} fields");
}

#[tokio::test]
async fn a_reviewer_triages_reports_one_at_a_time_and_in_bulk_and_each_decision_is_audited() {
    let app = spawn_app().await;
    let reviewer = make_account(&app, "rev@example.test", TokenRole::Reviewer, None).await;
    let token = app.install_token().await;
    for url in ["https://login.paypa1.example/a", "https://shop-a.example/pay", "https://shop-b.example/pay"] {
        assert_eq!(app.post_report(&token, &support::report_body(url)).await.status(), 201);
    }
    let mut r = Browser::new(&app);
    r.sign_in(&reviewer, 0).await;
    let inbox = r.get("/admin/reports?state=queued&q=paypa1").await;
    assert_eq!(inbox.status, 200);
    assert!(
        inbox.body.contains("login.paypa1.example") && !inbox.body.contains("shop-a.example"),
        "the text filter applies"
    );
    let bad = r.get("/admin/reports?min_score=101").await;
    assert_eq!(bad.status, 422);
    let hash = inbox.body.split("href=\"/admin/reports/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let detail = r.get(&format!("/admin/reports/{hash}")).await;
    assert!(
        detail.body.contains("idn_homograph_high") && detail.body.contains("2026.01.02.03"),
        "the evidence as sent"
    );
    let csrf = detail.csrf();
    let done = r
        .post(
            &format!("/admin/reports/{hash}/decide"),
            &[("csrf", &csrf), ("state", "verified"), ("note", "kit seen before")],
        )
        .await;
    assert_eq!(done.status, 303);
    let again =
        r.post(&format!("/admin/reports/{hash}/decide"), &[("csrf", &csrf), ("state", "rejected"), ("note", "")]).await;
    assert_eq!(again.status, 409, "a decided URL is reopened before it is decided again");
    let detail = r.get(&format!("/admin/reports/{hash}")).await;
    assert!(detail.body.contains("kit seen before") && detail.body.contains("verified"));

    let inbox = r.get("/admin/reports?state=queued").await;
    let hashes: Vec<String> = inbox
        .body
        .split("name=\"url_hash\" value=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(hashes.len(), 2);
    let mut fields = vec![("csrf", csrf.as_str()), ("state", "rejected"), ("note", "one campaign of fake reports")];
    fields.extend(hashes.iter().map(|h| ("url_hash", h.as_str())));
    fields.push(("url_hash", hash.as_str()));
    let bulk = r.post("/admin/reports/decide", &fields).await;
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert!(bulk.body.contains("2 URL(s) marked rejected") && bulk.body.contains("Not changed"), "{}", bulk.body);
    let decided: Vec<_> = app
        .state
        .store
        .audit_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "report.decided")
        .collect();
    assert_eq!(decided.len(), 3);
    assert!(decided.iter().all(|e| e.actor == "rev@example.test"));
    let nothing = r.post("/admin/reports/decide", &[("csrf", &csrf), ("state", "rejected")]).await;
    assert_eq!(nothing.status, 422);
}

#[tokio::test]
async fn coordinated_reporting_is_flagged_in_the_inbox_at_the_threshold_policy() {
    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let reviewer = make_account(&app, "rev@example.test", TokenRole::Reviewer, None).await;
    let mut a = Browser::new(&app);
    a.sign_in(&admin, 0).await;
    let csrf = a.csrf().await;
    let saved = a
        .post(
            "/admin/settings",
            &[
                ("csrf", &csrf),
                ("abuse.threshold", "3"),
                ("limits.ip_per_minute", "100"),
                ("limits.install_per_minute", "100"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let mut r = Browser::new(&app);
    r.sign_in(&reviewer, 0).await;
    let quiet = r.get("/admin/reports").await;
    assert!(!quiet.body.contains("id=\"coordinated\""), "nothing to flag yet");
    let token = app.install_token().await;
    for _ in 0..3 {
        assert_eq!(
            app.post_report(&token, &support::report_body("https://campaign.example/login")).await.status(),
            201
        );
    }
    let flagged = r.get("/admin/reports").await;
    assert!(flagged.body.contains("id=\"coordinated\""), "{}", flagged.body);
    assert!(flagged.body.contains("url_reports (3)"), "the URL's row is flagged: {}", flagged.body);
    assert!(flagged.body.contains("install_token: install "), "the install is named, shortened");
}
