//! Single sign-on through the console against a real OpenID Connect provider: an invited
//! account links its identity, then signs in with it and its own TOTP; an identity no
//! account linked is refused, and a callback cannot be replayed.

mod support;

use ferretwatch_store::{AccessOutcome, TokenRole};
use ferretwatch_types::Timestamp;
use secrecy::SecretString;
use support::console::{make_account, Browser};
use support::oidc_provider::{provider_dir, Browser as ProviderBrowser, Provider, CLIENT_ID, CLIENT_SECRET};
use support::spawn_bound;
use tokio::net::TcpListener;

#[tokio::test]
async fn a_linked_identity_signs_in_with_totp_and_an_unlinked_one_or_a_replay_is_refused() {
    let dir = provider_dir().expect("provider");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = format!("http://{}/admin/login/oidc/callback", listener.local_addr().unwrap());
    let provider = Provider::start_for(&dir, 0, &redirect);
    let issuer = provider.issuer.clone();
    let app = spawn_bound(
        listener,
        |s| {
            s.console.oidc_issuer = Some(issuer.clone());
            s.console.oidc_client_id = Some(CLIENT_ID.into());
            s.console.oidc_client_secret = Some(SecretString::from(CLIENT_SECRET));
        },
        None,
    )
    .await;
    let alice = make_account(&app, "alice@example.test", TokenRole::Admin, None).await;

    // Alice, signed in with her password and code, links her identity.
    let mut b = Browser::new(&app);
    b.sign_in(&alice, 0).await;
    let start = b.get("/admin/login/oidc?link=1").await;
    assert_eq!(start.status, 303);
    let authorize = url::Url::parse(start.location().unwrap()).unwrap();
    assert!(authorize.as_str().starts_with(&provider.issuer), "{authorize}");
    let cb = ProviderBrowser::new().sign_in_to(authorize, "alice", &redirect).await;
    let callback = format!("/admin/login/oidc/callback?code={}&state={}", cb.code, cb.state);
    let linked = b.get(&callback).await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    let account = app.state.store.get_account(alice.account.id).await.unwrap();
    let (linked_issuer, subject) = account.oidc.clone().expect("linked");
    assert_eq!(subject, "alice");
    assert!(linked_issuer.starts_with("http://127.0.0.1:"));
    let audit = app.state.store.audit_after(0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "account.oidc_linked" && e.details.contains("\"subject\":\"alice\"")));
    // The callback cannot be replayed.
    assert_eq!(b.get(&callback).await.status, 400);

    // A new browser signs in through the provider, then still needs Alice's code.
    let mut c = Browser::new(&app);
    let login = c.get("/admin/login").await;
    assert!(login.body.contains("/admin/login/oidc"), "the sign-in page offers single sign-on");
    let start = c.get("/admin/login/oidc").await;
    let cb = ProviderBrowser::new()
        .sign_in_to(url::Url::parse(start.location().unwrap()).unwrap(), "alice", &redirect)
        .await;
    let back = c.get(&format!("/admin/login/oidc/callback?code={}&state={}", cb.code, cb.state)).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(back.body.contains("url=/admin/login/totp"), "the page moves on to the code step");
    assert_eq!(c.get("/admin").await.location(), Some("/admin/login/totp"), "not signed in before the code");
    let totp = c.get("/admin/login/totp").await;
    assert_eq!(totp.status, 200);
    let done = c.post("/admin/login/totp", &[("csrf", &totp.csrf()), ("code", &alice.code(1))]).await;
    assert_eq!(done.location(), Some("/admin"));
    assert_eq!(c.get("/admin").await.status, 200);

    // Mallory has an identity at the provider but no linked account.
    let mut m = Browser::new(&app);
    let start = m.get("/admin/login/oidc").await;
    let cb = ProviderBrowser::new()
        .sign_in_to(url::Url::parse(start.location().unwrap()).unwrap(), "mallory", &redirect)
        .await;
    let refused = m.get(&format!("/admin/login/oidc/callback?code={}&state={}", cb.code, cb.state)).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("not linked"));
    assert!(m.session().is_none());
    let since = Timestamp::from_millis(Timestamp::now().as_millis() - 60_000);
    let log = app.state.store.list_access(since, 100).await.unwrap();
    assert!(log.iter().any(|e| e.method == "oidc" && e.outcome == AccessOutcome::UnknownAccount));
    drop(provider);
}
