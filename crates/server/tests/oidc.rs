//! OpenID Connect sign-in (`console::oidc`) against a real provider: panva's
//! `oidc-provider` from npm, run by `tests/oidc-provider/provider.mjs` on a loopback
//! port. The test plays the browser by hand: it follows the provider's redirects, keeps
//! its cookies (by name and path, from `Set-Cookie`), fills the development login and
//! consent forms, and stops at the redirect to the console's callback URL, whose `code`
//! and `state` go to `OidcClient::complete`.
//!
//! Needs `node` and the provider's `node_modules`:
//! `source scripts/lib/oidc.sh && oidc_provider_install` (the test script runs it).
//! Without them the tests fail, saying so: a test that cannot run never passes.

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ferretwatch_server::console::oidc::{OidcClient, OidcError, OidcIdentity, PendingLogin};
use support::oidc_provider::{
    config, discover, http, provider_dir, Browser, Callback, Provider, CLIENT_ID, CLIENT_SECRET, REDIRECT_URL,
};

/// `begin`, then the browser through the provider to the callback.
async fn authorize(client: &OidcClient, login: &str) -> (PendingLogin, Callback) {
    let (url, pending) = client.begin();
    let callback = Browser::new().sign_in(url, login).await;
    (pending, callback)
}

fn alice(issuer: &str) -> OidcIdentity {
    OidcIdentity {
        issuer: issuer.to_owned(),
        subject: "alice".into(),
        email: Some("alice@example.test".into()),
        email_verified: true,
    }
}

#[tokio::test]
async fn signs_in_and_a_replayed_code_is_refused() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;
    assert_eq!(client.issuer(), provider.issuer);

    let (pending, callback) = authorize(&client, "alice").await;
    assert_eq!(callback.state, pending.state);
    let identity = client.complete(&pending, &callback.state, &callback.code).await.expect("sign-in");
    assert_eq!(identity, alice(&provider.issuer));

    // The same code again: the provider refuses it.
    match client.complete(&pending, &callback.state, &callback.code).await {
        Err(OidcError::TokenRefused { status: 400, error }) => assert_eq!(error, "invalid_grant"),
        other => panic!("a replayed code must be refused, got {other:?}"),
    }

    // Another account id is another subject.
    let (pending, callback) = authorize(&client, "bob").await;
    let bob = client.complete(&pending, &callback.state, &callback.code).await.unwrap();
    assert_eq!((bob.subject.as_str(), bob.email.as_deref()), ("bob", Some("bob@example.test")));
}

#[tokio::test]
async fn a_wrong_state_is_refused_without_spending_the_code() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;
    let (pending, callback) = authorize(&client, "alice").await;

    let (_, other) = client.begin();
    for wrong in [other.state.as_str(), "", &callback.state[1..]] {
        let result = client.complete(&pending, wrong, &callback.code).await;
        assert!(matches!(result, Err(OidcError::StateMismatch)), "{result:?}");
    }
    // The state is checked before the token request: the code is still good.
    let identity = client.complete(&pending, &callback.state, &callback.code).await.unwrap();
    assert_eq!(identity, alice(&provider.issuer));
}

#[tokio::test]
async fn a_wrong_nonce_or_pkce_verifier_is_refused() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;

    // The ID token carries the nonce of the request, not this one.
    let (pending, callback) = authorize(&client, "alice").await;
    let (_, other) = client.begin();
    let wrong_nonce = PendingLogin { nonce: other.nonce, ..pending.clone() };
    match client.complete(&wrong_nonce, &callback.state, &callback.code).await {
        Err(OidcError::InvalidIdToken(reason)) => assert!(reason.contains("nonce"), "{reason}"),
        other => panic!("a wrong nonce must be refused, got {other:?}"),
    }

    // The provider checks the PKCE verifier against the challenge `begin` sent.
    let (pending, callback) = authorize(&client, "alice").await;
    let wrong_verifier = PendingLogin { pkce_verifier: other.pkce_verifier, ..pending.clone() };
    match client.complete(&wrong_verifier, &callback.state, &callback.code).await {
        Err(OidcError::TokenRefused { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("a wrong PKCE verifier must be refused, got {other:?}"),
    }
}

/// The token request by hand, to get at the raw ID token.
async fn id_token_by_hand(issuer: &str, pending: &PendingLogin, callback: &Callback) -> String {
    let http = http();
    let discovery = http.get(format!("{issuer}/.well-known/openid-configuration")).send().await.unwrap();
    let discovery: serde_json::Value = serde_json::from_slice(&discovery.bytes().await.unwrap()).unwrap();
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", &callback.code)
        .append_pair("redirect_uri", REDIRECT_URL)
        .append_pair("code_verifier", &pending.pkce_verifier);
    let response = http
        .post(token_endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "token request: {}", response.status());
    let answer: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    answer["id_token"].as_str().expect("an id_token").to_owned()
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    let client = discover(&provider).await;
    let (pending, callback) = authorize(&client, "alice").await;
    let token = id_token_by_hand(&provider.issuer, &pending, &callback).await;

    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let refused = |result: Result<OidcIdentity, OidcError>| match result {
        Err(OidcError::InvalidIdToken(reason)) => reason,
        other => panic!("expected the ID token to be refused, got {other:?}"),
    };

    // Another subject under the provider's signature.
    claims["sub"] = "mallory".into();
    let forged = URL_SAFE_NO_PAD.encode(claims.to_string());
    let reason = refused(client.verify_id_token(&format!("{}.{forged}.{}", parts[0], parts[2]), &pending.nonce).await);
    assert_eq!(reason, "bad signature");
    // A changed signature.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let changed = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(signature));
    assert_eq!(refused(client.verify_id_token(&changed, &pending.nonce).await), "bad signature");
    // The same claims, unsigned.
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), parts[1]);
    assert!(refused(client.verify_id_token(&none, &pending.nonce).await).contains("not allowed"));
    // The genuine token with another nonce.
    let (_, other) = client.begin();
    assert!(refused(client.verify_id_token(&token, &other.nonce).await).contains("nonce"));
    // And the genuine token as it came.
    assert_eq!(client.verify_id_token(&token, &pending.nonce).await.unwrap(), alice(&provider.issuer));
}

#[tokio::test]
async fn a_new_signing_key_is_fetched_when_its_kid_is_unknown() {
    let Some(dir) = provider_dir() else { return };
    let first = Provider::start(&dir, 0);
    let client = discover(&first).await;
    let (issuer, port) = (first.issuer.clone(), first.port);
    let jwks = |issuer: String| async move {
        let body = http().get(format!("{issuer}/jwks")).send().await.unwrap().bytes().await.unwrap();
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["keys"][0]["kid"].as_str().unwrap().to_owned()
    };
    let old_kid = jwks(issuer.clone()).await;
    drop(first);

    // The same issuer again, with a key made anew: the client only knows the old one.
    let second = Provider::start(&dir, port);
    assert_eq!(second.issuer, issuer);
    assert_ne!(jwks(issuer.clone()).await, old_kid);
    let (pending, callback) = authorize(&client, "alice").await;
    let identity = client.complete(&pending, &callback.state, &callback.code).await.unwrap();
    assert_eq!(identity, alice(&issuer));
}

#[tokio::test]
async fn discovery_refuses_another_issuer() {
    let Some(dir) = provider_dir() else { return };
    let provider = Provider::start(&dir, 0);
    // Same server, but not the issuer it advertises (http://127.0.0.1:PORT).
    let localhost = format!("http://localhost:{}", provider.port);
    match OidcClient::discover(config(&localhost), http()).await {
        Err(OidcError::IssuerMismatch { advertised, .. }) => assert_eq!(advertised, provider.issuer),
        other => panic!("expected an issuer mismatch, got {other:?}"),
    }
    // Plain http is for loopback only.
    match OidcClient::discover(config("http://id.example.test"), http()).await {
        Err(OidcError::BadUrl { what: "issuer", .. }) => {}
        other => panic!("expected plain http off loopback to be refused, got {other:?}"),
    }
}
