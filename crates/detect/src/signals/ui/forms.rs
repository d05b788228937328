//! Forms and fields: where credentials are posted, what hidden fields carry, payment
//! cards and wallet seed phrases.

use super::mentions;
use crate::domain::{resolve_host, Target};
use crate::html::{Form, Input, PageFacts};
use crate::rules::Key;
use crate::verdict::Signal;

pub(super) fn forms(target: &Target, facts: &PageFacts, out: &mut Vec<Signal>) {
    let mut reported_other = false;
    for form in &facts.forms {
        let Some(action) = form.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) else {
            continue;
        };
        let Some(host) = resolve_host(&target.url, action) else { continue };
        if target.same_site(&host) {
            continue;
        }
        let has_password = form.inputs.iter().any(|i| i.kind == "password");
        let written = if form.written_by_script { " (a form the page's script decodes and writes)" } else { "" };
        if has_password {
            out.push(Signal::new(
                Key::phishing_form_cross_domain,
                900,
                format!("a password form on {} posts to {host}{written}", target.registrable()),
            ));
        } else if !reported_other {
            reported_other = true;
            let confidence = if collects_identity(form) { 600 } else { 300 };
            out.push(Signal::new(
                Key::form_action_off_domain,
                confidence,
                format!("a form on {} posts to {host}", target.registrable()),
            ));
        }
    }
}

fn collects_identity(form: &Form) -> bool {
    form.inputs.iter().any(|i| {
        matches!(i.kind.as_str(), "email" | "tel")
            || is_card_field(i)
            || mentions(&i.name, &["email", "phone", "ssn", "card"])
    })
}

pub(super) fn hidden_fields(facts: &PageFacts, out: &mut Vec<Signal>) {
    let carried: Vec<&Input> = facts
        .inputs()
        .filter(|i| i.kind == "hidden")
        .filter(|i| {
            looks_like_email(&i.value)
                || mentions(&i.name, &["email", "e-mail", "phone", "login", "username", "userid"])
        })
        .collect();
    if let Some(first) = carried.first() {
        let what = if looks_like_email(&first.value) {
            "an email address".to_owned()
        } else {
            format!("field '{}'", first.name)
        };
        out.push(Signal::new(
            Key::hidden_identity_fields,
            650,
            format!("{} hidden input(s) carry identity data, e.g. {what}", carried.len()),
        ));
    }
}

pub(super) fn looks_like_email(value: &str) -> bool {
    let value = value.trim();
    match value.split_once('@') {
        Some((user, domain)) => !user.is_empty() && domain.contains('.') && !value.contains(char::is_whitespace),
        None => false,
    }
}

pub(super) fn is_card_field(input: &Input) -> bool {
    let text = format!("{} {}", input.name, input.hint);
    mentions(
        &text,
        &[
            "cc-number",
            "cardnumber",
            "card_number",
            "card-number",
            "ccnum",
            "cvv",
            "cvc",
            "csc",
            "cc-csc",
            "securitycode",
        ],
    )
}

pub(super) fn seed_phrase(facts: &PageFacts, out: &mut Vec<Signal>) {
    let phrase_field = facts.inputs().find(|i| {
        let text = format!("{} {}", i.name, i.hint);
        mentions(
            &text,
            &[
                "mnemonic",
                "seed phrase",
                "seedphrase",
                "recovery phrase",
                "secret phrase",
                "private key",
                "privatekey",
                "phrase",
            ],
        )
    });
    let word_fields = facts
        .inputs()
        .filter(|i| {
            let n = i.name.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
            n.starts_with("word") || n.starts_with("seed") || n.starts_with("mnemonic")
        })
        .count();
    if let Some(field) = phrase_field {
        out.push(Signal::new(
            Key::seed_phrase_form,
            900,
            format!("a field asks for a wallet secret ('{}')", field_label(field)),
        ));
    } else if word_fields >= 12 {
        out.push(Signal::new(
            Key::seed_phrase_form,
            900,
            format!("{word_fields} word fields ask for a wallet recovery phrase"),
        ));
    }
}

fn field_label(input: &Input) -> &str {
    if input.hint.is_empty() {
        &input.name
    } else {
        &input.hint
    }
}
