//! Signing requests: how a publisher signs a pack or a bulletin that the admin console
//! staged, without the console ever holding a publisher's key (`docs/formats/signing.md`,
//! "Signing requests").
//!
//! The console writes a [`SigningRequest`]: the `signed` part of every metadata document
//! the publishers must sign, each with its TUF role. A publisher downloads it, reads what
//! it says with [`describe`] (made from the signed content itself, never from a summary
//! the console wrote), and signs it offline with [`sign_request`] (`ferretwatch pack
//! sign-request`). The console takes the [`SigningResponse`] back and checks it with
//! [`check_response`]: a key the root lists for each role it signs, a valid signature over
//! the canonical JSON of each document, nothing missing and nothing extra.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use ferretwatch_pack_client::bulletin::Bulletin;
use ferretwatch_pack_client::layout;
use ferretwatch_pack_client::trust::metadata::{typed, Envelope, Root, Signature, Targets};
use ferretwatch_pack_client::trust::{canonical_json, TrustError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::PrivateKey;
use crate::sign::pack_metadata;

/// The format of requests and responses.
pub const FORMAT: u32 = 1;
/// The largest request or response accepted, in bytes.
pub const MAX_BYTES: usize = 4 << 20;

/// What is to be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    /// A pack: its `targets` (and `snapshot` and `timestamp` when publishers sign those).
    Pack,
    /// A bulletin.
    Bulletin,
}

/// One document to sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// The file it becomes (`targets.json`, `bulletins/….json`).
    pub name: String,
    /// The TUF role whose keys sign it.
    pub role: String,
    /// The signed content.
    pub signed: Value,
}

/// A signing request (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningRequest {
    /// [`FORMAT`].
    pub format: u32,
    /// Pack or bulletin.
    pub subject: Subject,
    /// Where it came from, for the publisher's records (`console proposal 7`); not signed.
    pub reference: String,
    /// The documents, in signing order.
    pub documents: Vec<Document>,
}

/// A publisher's answer to a [`SigningRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningResponse {
    /// [`FORMAT`].
    pub format: u32,
    /// The request's reference, repeated.
    pub reference: String,
    /// The signing key's id.
    pub keyid: String,
    /// One hex ed25519 signature per document name.
    pub signatures: BTreeMap<String, String>,
}

impl SigningRequest {
    /// Parses a request (at most [`MAX_BYTES`]), checking its shape.
    pub fn parse(bytes: &[u8]) -> Result<Self, TrustError> {
        if bytes.len() > MAX_BYTES {
            return Err(TrustError::Metadata(format!("a signing request is at most {MAX_BYTES} bytes")));
        }
        let request: SigningRequest =
            serde_json::from_slice(bytes).map_err(|e| TrustError::Metadata(format!("signing request: {e}")))?;
        if request.format != FORMAT {
            return Err(TrustError::Metadata(format!("signing request format {} (expected {FORMAT})", request.format)));
        }
        if request.documents.is_empty() || request.documents.iter().all(|d| d.role != "targets") {
            return Err(TrustError::Metadata("a signing request has a targets-role document".into()));
        }
        Ok(request)
    }

    /// The request as written: pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a request serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The envelopes the documents become with `signatures` (one list per publisher).
    pub fn envelopes(&self, signatures: &[Vec<(String, Signature)>]) -> Vec<(String, Envelope)> {
        self.documents
            .iter()
            .map(|doc| {
                let mut sigs: Vec<Signature> = signatures
                    .iter()
                    .flatten()
                    .filter(|(name, _)| *name == doc.name)
                    .map(|(_, sig)| sig.clone())
                    .collect();
                sigs.sort_by(|a, b| a.keyid.cmp(&b.keyid));
                sigs.dedup_by(|a, b| a.keyid == b.keyid);
                (doc.name.clone(), Envelope { signed: doc.signed.clone(), signatures: sigs })
            })
            .collect()
    }
}

impl SigningResponse {
    /// Parses a response (at most [`MAX_BYTES`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, TrustError> {
        if bytes.len() > MAX_BYTES {
            return Err(TrustError::Metadata(format!("a signing response is at most {MAX_BYTES} bytes")));
        }
        let response: SigningResponse =
            serde_json::from_slice(bytes).map_err(|e| TrustError::Metadata(format!("signing response: {e}")))?;
        if response.format != FORMAT {
            return Err(TrustError::Metadata(format!(
                "signing response format {} (expected {FORMAT})",
                response.format
            )));
        }
        Ok(response)
    }

    /// The response as written: one line of JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).expect("a response serialises");
        bytes.push(b'\n');
        bytes
    }
}

/// Whether any key that signs `targets` under `root` also signs `role` (then the
/// publishers sign it; otherwise the online key makes it at deploy time).
fn publishers_sign(root: &Root, role: &str) -> bool {
    let Some(targets) = root.roles.get("targets") else { return false };
    root.roles.get(role).is_some_and(|r| r.keyids.iter().any(|k| targets.keyids.contains(k)))
}

/// The request for the unsigned pack in `dir`: its `targets`, and its `snapshot` and
/// `timestamp` when `root` gives those roles to the publishers' keys.
pub fn pack_request(dir: &Path, root: &Root, reference: &str) -> Result<SigningRequest, TrustError> {
    let (targets, snapshot, timestamp) = pack_metadata(dir)?;
    let mut documents =
        vec![Document { name: layout::TARGETS.into(), role: "targets".into(), signed: Envelope::new(&targets).signed }];
    for (name, role, signed) in [
        (layout::SNAPSHOT, "snapshot", Envelope::new(&snapshot).signed),
        (layout::TIMESTAMP, "timestamp", Envelope::new(&timestamp).signed),
    ] {
        if publishers_sign(root, role) {
            documents.push(Document { name: name.into(), role: role.into(), signed });
        }
    }
    Ok(SigningRequest { format: FORMAT, subject: Subject::Pack, reference: reference.into(), documents })
}

/// The request for an unsigned bulletin (signed by the `targets` keys).
pub fn bulletin_request(bulletin: &Bulletin, reference: &str) -> SigningRequest {
    SigningRequest {
        format: FORMAT,
        subject: Subject::Bulletin,
        reference: reference.into(),
        documents: vec![Document {
            name: bulletin.file_name(),
            role: "targets".into(),
            signed: Envelope::new(bulletin).signed,
        }],
    }
}

/// What the request asks a publisher to sign, in words, from the signed content.
pub fn describe(request: &SigningRequest) -> Result<String, TrustError> {
    let mut out = String::new();
    let _ = writeln!(out, "signing request {:?} ({} document(s))", request.reference, request.documents.len());
    for doc in &request.documents {
        match (request.subject, doc.role.as_str()) {
            (Subject::Pack, "targets") => {
                let targets: Targets = typed(&doc.name, &doc.signed)?;
                let version = targets.custom.as_ref().and_then(|c| c.get("pack_version")).and_then(Value::as_str);
                let _ = writeln!(
                    out,
                    "  {}: pack {} (targets version {}), expires {}, {} file(s):",
                    doc.name,
                    version.unwrap_or("?"),
                    targets.version,
                    targets.expires,
                    targets.targets.len()
                );
                for (name, file) in &targets.targets {
                    let _ = writeln!(out, "    {name}  {} bytes", file.length);
                }
            }
            (Subject::Bulletin, _) => {
                let bulletin: Bulletin = typed(&doc.name, &doc.signed)?;
                let _ = writeln!(
                    out,
                    "  {}: bulletin {} v{}, severity {}, expires {}, brands [{}]\n    text: {:?}",
                    doc.name,
                    bulletin.id,
                    bulletin.version,
                    bulletin.severity.name(),
                    bulletin.expires,
                    bulletin.brands.join(", "),
                    bulletin.advisory_text
                );
            }
            (_, role) => {
                let _ = writeln!(out, "  {}: {role} metadata", doc.name);
            }
        }
    }
    Ok(out)
}

/// Signs every document of `request` whose role `root` lists `key` for (all of them
/// without a root). A key that may not sign `targets` is refused.
pub fn sign_request(
    request: &SigningRequest,
    key: &PrivateKey,
    root: Option<&Root>,
) -> Result<SigningResponse, TrustError> {
    let keyid = key.public().key_id();
    if let Some(root) = root {
        root.check_signer(&keyid, &["targets"])?;
    }
    let mut signatures = BTreeMap::new();
    for doc in &request.documents {
        if root.is_some_and(|root| root.check_signer(&keyid, &[doc.role.as_str()]).is_err()) {
            continue;
        }
        let message = canonical_json(&doc.signed)?;
        signatures.insert(doc.name.clone(), hex::encode(key.sign(&message)));
    }
    Ok(SigningResponse { format: FORMAT, reference: request.reference.clone(), keyid, signatures })
}

/// Checks `response` against `request` under `root`: the key is one the root lists for
/// `targets`; every document whose role the root lists the key for carries a valid
/// signature, and no other name is signed. Returns the signatures to attach.
pub fn check_response(
    request: &SigningRequest,
    response: &SigningResponse,
    root: &Root,
) -> Result<Vec<(String, Signature)>, TrustError> {
    let keyid = &response.keyid;
    root.check_signer(keyid, &["targets"])?;
    let key = root
        .keys
        .get(keyid)
        .ok_or_else(|| TrustError::Key(format!("key {keyid} is not in root version {}", root.version)))?;
    if response.reference != request.reference {
        return Err(TrustError::Metadata(format!(
            "this response answers {:?}, not {:?}",
            response.reference, request.reference
        )));
    }
    if let Some(extra) = response.signatures.keys().find(|name| !request.documents.iter().any(|d| &d.name == *name)) {
        return Err(TrustError::Metadata(format!("the response signs {extra:?}, which the request does not hold")));
    }
    let mut out = Vec::new();
    for doc in &request.documents {
        if root.check_signer(keyid, &[doc.role.as_str()]).is_err() {
            continue;
        }
        let sig = response
            .signatures
            .get(&doc.name)
            .ok_or_else(|| TrustError::Metadata(format!("the response does not sign {}", doc.name)))?;
        let bytes =
            hex::decode(sig).map_err(|_| TrustError::Metadata(format!("the signature of {} is not hex", doc.name)))?;
        if !key.verifies(&canonical_json(&doc.signed)?, &bytes) {
            return Err(TrustError::Metadata(format!(
                "the signature of {} by key {keyid} does not verify: it was made over other content or with \
                 another key",
                doc.name
            )));
        }
        out.push((doc.name.clone(), Signature { keyid: keyid.clone(), sig: sig.clone() }));
    }
    Ok(out)
}

/// Writes the pack request's envelopes, with the publishers' signatures, into `dir`
/// (timestamp last).
pub fn write_pack_metadata(
    dir: &Path,
    request: &SigningRequest,
    signatures: &[Vec<(String, Signature)>],
) -> Result<(), TrustError> {
    let mut envelopes = request.envelopes(signatures);
    envelopes.sort_by_key(|(name, _)| name == layout::TIMESTAMP);
    for (name, envelope) in envelopes {
        if name.contains('/') || !layout::is_metadata(&name) {
            return Err(TrustError::Metadata(format!("a pack signing request names {name:?}")));
        }
        let path = dir.join(&name);
        ferretwatch_pack_client::dir::write_atomic(&path, &envelope.to_bytes())
            .map_err(|source| TrustError::Io { path, source })?;
    }
    Ok(())
}
