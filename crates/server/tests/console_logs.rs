//! No secret of the console reaches the log: a whole enrolment, sign-in, invitation and
//! failed attempts run with every log level on (the server's and sqlx's), and the captured
//! output is searched for each secret involved.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use ferretwatch_store::TokenRole;
use support::console::{make_account, Browser, PASSWORD};
use support::spawn_app;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn passwords_codes_seeds_cookies_and_invitations_never_reach_the_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let app = spawn_app().await;
    let admin = make_account(&app, "admin@example.test", TokenRole::Admin, None).await;
    let mut a = Browser::new(&app);
    let mut secrets = vec![PASSWORD.to_owned(), admin.code(0)];
    a.sign_in(&admin, 0).await;
    secrets.push(a.session().unwrap());
    let csrf = a.csrf().await;
    secrets.push(csrf.clone());
    let made = a.post("/admin/accounts/invite", &[("csrf", &csrf), ("role", "viewer"), ("email", "")]).await;
    let code = made.body.split("code=").nth(1).unwrap().split('<').next().unwrap().to_owned();
    secrets.push(code.clone());
    let mut b = Browser::new(&app);
    let page = b.get(&format!("/admin/enrol?code={code}")).await;
    let seed = page.body.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    secrets.push(seed.clone());
    let bytes = totp_rs::Secret::Encoded(seed).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let second_password = "another long passphrase 42";
    secrets.push(second_password.to_owned());
    let fields = [
        ("csrf", page.csrf()),
        ("code", code.clone()),
        ("email", "v@example.test".into()),
        ("password", second_password.into()),
        ("totp", totp.generate(now)),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = b.post("/admin/enrol", &fields).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let recovery = done.body.split("<li><code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    secrets.push(recovery);
    // A failed attempt with a password close to the real one.
    let login = b.get("/admin/login").await;
    b.post(
        "/admin/login",
        &[("csrf", &login.csrf()), ("email", "v@example.test"), ("password", "another long passphrase 43")],
    )
    .await;
    secrets.push("another long passphrase 43".into());
    app.stop().await;

    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(log.contains("admin/login"), "the capture works: {} bytes", log.len());
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret:?} is in the log");
    }
}
