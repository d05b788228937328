//! Just enough DER to read a certificate's end of validity (`notAfter`), and PEM to find
//! the certificates in a file. A whole X.509 parser for one date would be most of a
//! dependency tree; this walks five fields and bounds-checks every step.

use base64::Engine;
use ferretwatch_types::Timestamp;

/// One DER element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;

/// The `notAfter` of a DER certificate.
pub fn not_after(certificate: &[u8]) -> Option<Timestamp> {
    let (SEQUENCE, certificate, _) = element(certificate)? else { return None };
    let (SEQUENCE, tbs, _) = element(certificate)? else { return None };
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.2;
    }
    let rest = element(rest)?.2; // serial number
    let rest = element(rest)?.2; // signature algorithm
    let rest = element(rest)?.2; // issuer
    let (SEQUENCE, validity, _) = element(rest)? else { return None };
    let after = element(validity)?.2; // notBefore
    let (tag, time, _) = element(after)?;
    let text = std::str::from_utf8(time).ok()?.strip_suffix('Z')?;
    let digits = |s: &str| s.parse::<u32>().ok();
    let (year, rest) = match tag {
        // Two-digit years: 50–99 are 19xx, 00–49 are 20xx (RFC 5280, 4.1.2.5.1).
        UTC_TIME if text.len() == 12 => {
            let yy = digits(&text[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 14 => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Timestamp::from_civil(
        year,
        digits(&rest[0..2])?,
        digits(&rest[2..4])?,
        digits(&rest[4..6])?,
        digits(&rest[6..8])?,
        digits(&rest[8..10])?,
    )
}

/// The certificates of a PEM file, in order, as DER.
pub fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b64) = body.take() {
                if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
                    out.push(der);
                }
            }
        } else if let Some(b64) = body.as_mut() {
            b64.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The skeleton of a certificate: the fields the walk reads, with a `notAfter` of
    /// `not_after` under `tag` (the integration tests read real ones made by openssl).
    fn certificate(not_after: &[u8], tag: u8) -> Vec<u8> {
        let mut validity = vec![UTC_TIME, 13];
        validity.extend_from_slice(b"261205050012Z");
        validity.extend_from_slice(&[tag, not_after.len() as u8]);
        validity.extend_from_slice(not_after);
        let mut tbs = vec![VERSION, 3, 0x02, 0x01, 0x02]; // [0] INTEGER 2
        tbs.extend_from_slice(&[0x02, 0x01, 0x07]); // serial
        tbs.extend_from_slice(&[SEQUENCE, 0x02, 0x05, 0x00]); // algorithm
        tbs.extend_from_slice(&[SEQUENCE, 0x00]); // issuer
        tbs.push(SEQUENCE);
        tbs.push(validity.len() as u8);
        tbs.extend_from_slice(&validity);
        let mut cert = vec![SEQUENCE, tbs.len() as u8];
        cert.extend_from_slice(&tbs);
        let mut outer = vec![SEQUENCE, 0x81, cert.len() as u8];
        outer.extend_from_slice(&cert);
        outer
    }

    #[test]
    fn not_after_reads_utc_and_generalized_times() {
        assert_eq!(not_after(&certificate(b"261206050012Z", UTC_TIME)), Timestamp::from_civil(2026, 12, 6, 5, 0, 12));
        assert_eq!(
            not_after(&certificate(b"491231235959Z", UTC_TIME)),
            Timestamp::from_civil(2049, 12, 31, 23, 59, 59)
        );
        assert_eq!(
            not_after(&certificate(b"20510101000000Z", GENERALIZED_TIME)),
            Timestamp::from_civil(2051, 1, 1, 0, 0, 0)
        );
    }

    #[test]
    fn truncated_or_malformed_input_gives_none() {
        let good = certificate(b"261206050012Z", UTC_TIME);
        for cut in 0..good.len() {
            assert_eq!(not_after(&good[..cut]), None, "cut at {cut}");
        }
        assert_eq!(not_after(&certificate(b"2612060500xxZ", UTC_TIME)), None);
        assert_eq!(not_after(&certificate(b"261306050012Z", UTC_TIME)), None, "month 13");
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn pem_certificates_are_found_in_order() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAQI=\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_certificates(pem), vec![vec![1, 2], vec![3]]);
    }
}
