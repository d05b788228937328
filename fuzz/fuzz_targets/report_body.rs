//! Fuzzes what a reporter controls on `POST /v1/report`: the install-token header and the
//! JSON body, through the same functions the handler calls. Neither may panic, and every
//! refusal of the body must be a 4xx (a 5xx here would be a server error a client caused).
#![no_main]

use ferretwatch_server::extract::parse_json;
use ferretwatch_server::install::InstallKeys;
use ferretwatch_server::report_api::{to_new_report, ReportRequest};
use ferretwatch_store::ReportKind;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

fuzz_target!(|data: &[u8]| {
    // The first line is the X-Install-Token header, the rest the body.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or_default());

    let keys = InstallKeys::new(SecretString::from("k".repeat(32)), 30).expect("a 32-byte secret is accepted");
    if let Ok(header) = std::str::from_utf8(header) {
        let _ = keys.verify(header);
    }

    match parse_json::<ReportRequest>(body) {
        Ok(request) => {
            let ip = std::net::IpAddr::from([192, 0, 2, 1]);
            let _ = to_new_report(request, ReportKind::Report, "00112233445566778899aabbccddeeff", ip);
        }
        Err(err) => assert!(err.status().is_client_error(), "a malformed body answered {}", err.status()),
    }
});
