//! The Rules and Bulletins modules: a Reviewer proposes a change (block or allow a domain
//! or URL, a YARA rule, a bulletin), the server stages it through the pack pipeline and
//! runs `pack validate` and `pack test` on it, a Publisher approves it with their
//! signature, a second, different Publisher signs, and the server deploys it to the
//! origin. A Publisher may also stage a rollback to a version the origin served.
//!
//! The server never holds a publisher's key: each publisher downloads the proposal's
//! signing request, signs it offline with `ferretwatch pack sign-request` and pastes the
//! one-line answer back ([`ferretwatch_pack_publisher::signing`], decision 0024). The
//! answer is checked against the root of trust before it is stored; the database refuses
//! a second signature by the same account or key.
//!
//! Staged packs live under `DATA_DIR/proposals/ID/` of the instance that staged them.

use std::path::{Path as FsPath, PathBuf};

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ferretwatch_pack_client::bulletin::Severity;
use ferretwatch_pack_client::trust::metadata::{Root, Signature};
use ferretwatch_pack_publisher::bulletin::{self, BulletinSpec};
use ferretwatch_pack_publisher::corpus_test::{self, Limits, DEFAULT_MAX_FP, DEFAULT_MIN_DETECTION};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::{self, EmergencyRule, ListChange, OnlineKey};
use ferretwatch_pack_publisher::signing::{self, SigningRequest, SigningResponse, Subject};
use ferretwatch_pack_publisher::validate;
use ferretwatch_store::{
    ErrorKind, Finish, ModerationState, NewProposal, NewSignature, Proposal, ProposalId, ProposalKind, ProposalState,
    UrlHash,
};
use ferretwatch_types::{PackVersion, Timestamp};
use serde::Deserialize;

use super::error::ConsoleError;
use super::permissions::Permission;
use super::session::{Propose, Publish, Rules, Signed, Viewer};
use super::views::{render, time, Nav, ProposalPage, ProposalRow, ProposalsPage};
use crate::state::AppState;

/// The largest YARA rule a proposal carries.
pub const MAX_YARA_BYTES: usize = 64 * 1024;
/// The longest note or subject.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Proposals listed per page.
pub const LIST_LIMIT: u32 = 100;

/// Where publishing reads and writes: the origin, the root of trust, the online key.
struct Publishing {
    origin_url: String,
    s3: ferretwatch_pack_publisher::origin::S3Options,
    root: Vec<u8>,
    online: Option<PathBuf>,
    ttl_secs: u64,
    staging: PathBuf,
    corpus: Option<PathBuf>,
}

impl Publishing {
    fn of(state: &AppState) -> Result<Self, ConsoleError> {
        let settings = &state.settings;
        let root_path = match &settings.server.root {
            Some(path) => path.clone(),
            None if settings.dev_bootstrap => settings.data_dir.join(crate::dev::DEV_KEYS_DIR).join("root.json"),
            None => {
                return Err(ConsoleError::BadRequest(
                    "Publishing from the console needs the root of trust (server.root).".into(),
                ))
            }
        };
        let root = std::fs::read(&root_path).map_err(|e| {
            tracing::error!(root = %root_path.display(), error = %e, "the root of trust cannot be read");
            ConsoleError::BadRequest("The root of trust cannot be read; see the server log.".into())
        })?;
        Ok(Publishing {
            origin_url: settings.origin_url(),
            s3: settings.server.s3_options(),
            root,
            online: settings.server.online_key.clone(),
            ttl_secs: settings.server.timestamp_ttl_secs,
            staging: settings.data_dir.join("proposals"),
            corpus: settings.console.test_corpus.clone(),
        })
    }

    fn origin(&self) -> Result<Origin, String> {
        Origin::open_with(&self.origin_url, &self.s3).map_err(|e| e.to_string())
    }

    fn root(&self) -> Result<Root, String> {
        Root::parse_unverified(&self.root).map_err(|e| e.to_string())
    }

    fn dir(&self, id: ProposalId) -> PathBuf {
        staged_dir(&self.staging, id)
    }
}

/// Where a proposal's staged pack is kept under the staging directory.
fn staged_dir(staging: &FsPath, id: ProposalId) -> PathBuf {
    staging.join(id.to_string())
}

/// Runs blocking publishing work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<Result<T, String>, ConsoleError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "a publishing task failed");
        ConsoleError::BadRequest("The publishing task failed; see the server log.".into())
    })
}

fn clean(text: &str, max: usize) -> Result<String, ConsoleError> {
    let text: String = text.trim().chars().filter(|c| !c.is_control() || *c == '\n').collect();
    if text.chars().count() > max {
        return Err(ConsoleError::BadRequest(format!("At most {max} characters.")));
    }
    Ok(text)
}

/// The proposal form: one form for every kind, each kind reading its fields.
#[derive(Debug, Default, Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    url_hash: String,
    #[serde(default)]
    rule_id: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    yara: String,
    #[serde(default)]
    brands: String,
    #[serde(default)]
    etld1: String,
    #[serde(default)]
    ttl_hours: String,
}

/// A checked proposal, ready to stage.
#[derive(Debug, Clone)]
enum Change {
    List(ListChange),
    Yara(EmergencyRule),
    Bulletin(Box<ferretwatch_pack_client::bulletin::Bulletin>),
    Rollback(PackVersion),
}

fn severity(text: &str) -> Result<Severity, ConsoleError> {
    text.parse()
        .map_err(|e: ferretwatch_pack_client::bulletin::UnknownSeverity| ConsoleError::BadRequest(e.to_string()))
}

/// Checks the form for `kind`: the change, its subject and the details to keep.
fn change_of(kind: ProposalKind, form: &ProposeForm) -> Result<(Change, String, serde_json::Value), ConsoleError> {
    let subject = clean(&form.subject, 2048)?;
    let bad = |why: String| ConsoleError::BadRequest(why);
    let list = |change: ListChange| -> Result<_, ConsoleError> {
        let indicator = change.indicator().map_err(|e| bad(e.to_string()))?;
        Ok((Change::List(change), indicator.value, serde_json::json!({ "kind": indicator.kind.name() })))
    };
    match kind {
        ProposalKind::BlockHost => list(ListChange::BlockHost(subject)),
        ProposalKind::BlockUrl => list(ListChange::BlockUrl(subject)),
        ProposalKind::AllowDomain => list(ListChange::AllowDomain(subject)),
        ProposalKind::AllowUrl => list(ListChange::AllowUrl(subject)),
        ProposalKind::Yara => {
            if form.yara.trim().is_empty() || form.yara.len() > MAX_YARA_BYTES {
                return Err(bad(format!("A YARA rule is required, at most {MAX_YARA_BYTES} bytes.")));
            }
            let rule_id = form.rule_id.trim().to_owned();
            let rule = EmergencyRule {
                rule_id: rule_id.clone(),
                severity: severity(&form.severity)?,
                source: form.yara.clone(),
            };
            let details =
                serde_json::json!({ "rule_id": rule_id, "severity": rule.severity.name(), "yara": form.yara });
            Ok((Change::Yara(rule), rule_id, details))
        }
        ProposalKind::Bulletin => {
            let hours: u64 = form
                .ttl_hours
                .trim()
                .parse()
                .ok()
                .filter(|h| (1..=24 * 30).contains(h))
                .ok_or_else(|| bad("Hours until it expires is a whole number from 1 to 720.".into()))?;
            let mut spec = BulletinSpec::new(severity(&form.severity)?, subject.clone(), Timestamp::now());
            spec.ttl = hours * 3600;
            spec.brands = form.brands.split(',').map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned).collect();
            spec.etld_plus1 =
                form.etld1.split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned).collect();
            let made = bulletin::create(spec).map_err(|e| bad(e.to_string()))?;
            let details = serde_json::json!({
                "id": made.id, "severity": made.severity.name(), "brands": made.brands,
                "etld_plus1": made.etld_plus1, "expires": made.expires.to_string(),
            });
            let headline: String = made.advisory_text.chars().take(120).collect();
            Ok((Change::Bulletin(Box::new(made)), headline, details))
        }
        ProposalKind::Rollback => {
            let version = PackVersion::parse(subject.trim()).map_err(|e| bad(e.to_string()))?;
            Ok((Change::Rollback(version.clone()), version.to_string(), serde_json::json!({})))
        }
    }
}

/// What staging made.
struct Staged {
    base_version: Option<String>,
    version: Option<String>,
    request: SigningRequest,
    test_passed: Option<bool>,
    test_summary: String,
}

/// Stages `change` into `dir` (pack changes) and tests it.
fn stage(publishing: &Publishing, change: Change, dir: &FsPath, reference: &str) -> Result<Staged, String> {
    let now = Timestamp::now();
    let root = publishing.root()?;
    let made = match change {
        Change::Bulletin(made) => {
            return Ok(Staged {
                base_version: None,
                version: None,
                request: signing::bulletin_request(&made, reference),
                test_passed: None,
                test_summary: format!("bulletin {} checked: expires {}", made.id, made.expires),
            })
        }
        Change::List(change) => {
            publish::amend(&publishing.origin()?, &change, &publishing.root, &[], Some(dir.to_owned()), now)
        }
        Change::Yara(rule) => {
            publish::emergency(&publishing.origin()?, &rule, &publishing.root, &[], Some(dir.to_owned()), now)
        }
        Change::Rollback(version) => {
            publish::rollback(&publishing.origin()?, &version, &publishing.root, &[], Some(dir.to_owned()), now)
        }
    }
    .map_err(|e| e.to_string())?;
    let mut summary = String::new();
    let validation = validate::validate(dir).map_err(|e| e.to_string())?;
    let mut passed = validation.ok();
    if validation.ok() {
        summary.push_str("pack validate: no problems\n");
    } else {
        summary.push_str("pack validate: problems\n");
        for problem in validation.errors() {
            summary.push_str(&format!("  [{}] {}\n", problem.code, problem.message));
        }
    }
    let tested = match &publishing.corpus {
        Some(corpus) => {
            let limits = Limits { min_detection: DEFAULT_MIN_DETECTION, max_fp: DEFAULT_MAX_FP };
            match corpus_test::run(dir, corpus, None, limits, &[]) {
                Ok(report) => {
                    passed &= report.passed();
                    summary.push_str(&format!(
                        "pack test: {} — detection {}/{} ({:.1}%), false positives {}/{} ({:.1}%)\n",
                        if report.passed() { "passed" } else { "FAILED" },
                        report.detection.hits,
                        report.detection.total,
                        report.detection.rate * 100.0,
                        report.false_positive.hits,
                        report.false_positive.total,
                        report.false_positive.rate * 100.0,
                    ));
                    for failure in &report.failures {
                        summary.push_str(&format!("  [{}] {}\n", failure.code, failure.message));
                    }
                    Some(passed)
                }
                Err(e) => {
                    summary.push_str(&format!("pack test: could not run: {e}\n"));
                    Some(false)
                }
            }
        }
        None => {
            summary.push_str("pack test: not run (no test corpus configured: console.test_corpus)\n");
            (!validation.ok()).then_some(false)
        }
    };
    let request = signing::pack_request(dir, &root, reference).map_err(|e| e.to_string())?;
    Ok(Staged {
        base_version: Some(made.from_version.to_string()),
        version: Some(made.version.to_string()),
        request,
        test_passed: tested,
        test_summary: summary,
    })
}

fn random_hex() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).map_err(|_| ConsoleError::BadRequest("No randomness available.".into()))?;
    Ok(hex::encode(bytes))
}

/// `POST /admin/rules` (and `/admin/bulletins`): stages, tests and stores a proposal.
pub async fn propose(
    State(state): State<AppState>,
    signed: Signed<Propose>,
    Form(form): Form<ProposeForm>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let kind = ProposalKind::from_code(form.kind.trim())
        .filter(|k| *k != ProposalKind::Rollback)
        .ok_or_else(|| ConsoleError::BadRequest("Choose what to propose.".into()))?;
    let note = clean(&form.note, MAX_TEXT_CHARS)?;
    let url_hash = match form.url_hash.trim() {
        "" => None,
        hex => {
            let hash = UrlHash::from_hex(hex).map_err(|_| ConsoleError::NotFound)?;
            let entry = state.store.get_moderation(&hash).await?;
            let allow = matches!(kind, ProposalKind::AllowDomain | ProposalKind::AllowUrl);
            let fits =
                if allow { entry.state == ModerationState::Benign } else { entry.state == ModerationState::Verified };
            if !fits {
                return Err(ConsoleError::BadRequest(if allow {
                    "Only a URL decided benign can become an allow proposal; decide it first.".into()
                } else {
                    "Only a verified report becomes a block or rule proposal; decide it first.".into()
                }));
            }
            Some(hash.to_string())
        }
    };
    create(&state, &viewer, kind, &form, note, url_hash).await
}

/// `POST /admin/rules/rollback`: a Publisher stages a rollback to a served version.
pub async fn propose_rollback(
    State(state): State<AppState>,
    signed: Signed<Publish>,
    Form(form): Form<ProposeForm>,
) -> Result<Response, ConsoleError> {
    let note = clean(&form.note, MAX_TEXT_CHARS)?;
    if note.is_empty() {
        return Err(ConsoleError::BadRequest("Say why you roll back (it goes into the audit log).".into()));
    }
    create(&state, &signed.viewer, ProposalKind::Rollback, &form, note, None).await
}

async fn create(
    state: &AppState,
    viewer: &Viewer,
    kind: ProposalKind,
    form: &ProposeForm,
    note: String,
    url_hash: Option<String>,
) -> Result<Response, ConsoleError> {
    let (change, subject, details) = change_of(kind, form)?;
    let publishing = Publishing::of(state)?;
    let token = random_hex()?;
    let reference = format!("console proposal {token}");
    let tmp = publishing.staging.join(format!(".staging-{token}"));
    let staging = publishing.staging.clone();
    let kept_in = staging.clone();
    let (tmp_dir, reference_owned) = (tmp.clone(), reference.clone());
    let staged = blocking(move || {
        std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
        let result = stage(&publishing, change, &tmp_dir, &reference_owned);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp_dir);
        }
        result
    })
    .await?
    .map_err(|why| ConsoleError::BadRequest(format!("The proposal could not be staged: {why}")))?;
    let entry = viewer.audit_entry(
        "proposal.created",
        "proposal",
        serde_json::json!({
            "kind": kind.code(), "subject": subject, "note": note, "url_hash": url_hash,
            "version": staged.version, "test_passed": staged.test_passed,
        }),
    );
    let proposal = NewProposal {
        kind,
        subject,
        body: details.to_string(),
        note,
        url_hash,
        proposed_by: viewer.actor(),
        proposed_at: entry.at,
        base_version: staged.base_version,
        version: staged.version,
        test_passed: staged.test_passed,
        test_summary: staged.test_summary,
        request: String::from_utf8(staged.request.to_bytes()).unwrap_or_default(),
    };
    let stored = state.store.create_proposal(&proposal, state.console.audited(&entry)).await;
    let stored = match stored {
        Ok(stored) => stored,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&tmp).await;
            return Err(e.into());
        }
    };
    if tmp.exists() {
        let dir = staged_dir(&kept_in, stored.id);
        tokio::fs::rename(&tmp, &dir).await.map_err(|e| {
            tracing::error!(from = %tmp.display(), to = %dir.display(), error = %e, "a staged pack could not be kept");
            ConsoleError::BadRequest("The staged pack could not be kept; see the server log.".into())
        })?;
    }
    Ok(Redirect::to(&format!("/admin/rules/{}", stored.id)).into_response())
}

fn row(p: &Proposal) -> ProposalRow {
    ProposalRow {
        id: p.id.0,
        kind: p.staged.kind.code(),
        subject: p.staged.subject.clone(),
        state: p.state.code(),
        version: p.staged.version.clone().unwrap_or_default(),
        test: match p.staged.test_passed {
            Some(true) => "passed",
            Some(false) => "failed",
            None => "not run",
        },
        proposed_by: p.staged.proposed_by.clone(),
        proposed_at: time(p.staged.proposed_at),
    }
}

async fn list_page(state: &AppState, viewer: &Viewer, bulletins: bool) -> Result<Response, ConsoleError> {
    let proposals = state.store.list_proposals(&[], LIST_LIMIT * 2).await?;
    let rows = proposals
        .iter()
        .filter(|p| p.staged.kind.is_bulletin() == bulletins)
        .take(LIST_LIMIT as usize)
        .map(row)
        .collect();
    let served = state.origin.pack_version().await;
    let versions = if bulletins || !viewer.can(Permission::PublishRules) {
        Vec::new()
    } else {
        let publishing = Publishing::of(state)?;
        blocking(move || {
            let origin = publishing.origin()?;
            publish::known_versions(&origin).map_err(|e| e.to_string())
        })
        .await?
        .unwrap_or_default()
        .into_iter()
        .rev()
        .map(|v| v.to_string())
        .collect()
    };
    let page = ProposalsPage {
        nav: Some(Nav::new(viewer, if bulletins { "/admin/bulletins" } else { "/admin/rules" })),
        flash: None,
        csrf: viewer.csrf.clone(),
        bulletins,
        served: served.unwrap_or_else(|| "none".into()),
        rows,
        can_propose: viewer.can(Permission::ProposeRules),
        can_publish: viewer.can(Permission::PublishRules),
        versions,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /admin/rules`.
pub async fn rules(State(state): State<AppState>, signed: Signed<Rules>) -> Result<Response, ConsoleError> {
    list_page(&state, &signed.viewer, false).await
}

/// `GET /admin/bulletins`.
pub async fn bulletins(State(state): State<AppState>, signed: Signed<Rules>) -> Result<Response, ConsoleError> {
    list_page(&state, &signed.viewer, true).await
}

fn proposal_id(raw: &str) -> Result<ProposalId, ConsoleError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).map(ProposalId).ok_or(ConsoleError::NotFound)
}

/// `GET /admin/rules/{id}`: the proposal, its test, its signatures and the next step.
pub async fn detail(
    State(state): State<AppState>,
    signed: Signed<Rules>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let proposal = state.store.get_proposal(proposal_id(&id)?).await?;
    let signatures = state.store.proposal_signatures(proposal.id).await?;
    let served = state.origin.pack_version().await.unwrap_or_else(|| "none".into());
    let details: serde_json::Value = serde_json::from_str(&proposal.staged.body).unwrap_or_default();
    let open = matches!(proposal.state, ProposalState::Proposed | ProposalState::Approved);
    let page = ProposalPage {
        nav: Some(Nav::new(
            &viewer,
            if proposal.staged.kind.is_bulletin() { "/admin/bulletins" } else { "/admin/rules" },
        )),
        flash: None,
        csrf: viewer.csrf.clone(),
        row: row(&proposal),
        note: proposal.staged.note.clone(),
        details: serde_json::to_string_pretty(&details).unwrap_or_default(),
        url_hash: proposal.staged.url_hash.clone(),
        base_version: proposal.staged.base_version.clone().unwrap_or_default(),
        test_summary: proposal.staged.test_summary.clone(),
        approved_by: proposal.approved_by.clone(),
        finished: proposal
            .finished_at
            .map(|at| format!("{} by {}", time(at), proposal.finished_by.clone().unwrap_or_default())),
        outcome: proposal.outcome.clone(),
        signatures: signatures.iter().map(|s| (time(s.signed_at), s.actor.clone(), s.keyid.clone())).collect(),
        served,
        can_sign: open && viewer.can(Permission::PublishRules) && proposal.staged.test_passed != Some(false),
        can_reject: open && viewer.can(Permission::PublishRules),
        signed_already: signatures.iter().any(|s| s.account == viewer.account.id),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /admin/rules/{id}/request.json`: the signing request, to sign offline.
pub async fn request(
    State(state): State<AppState>,
    _signed: Signed<Rules>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let proposal = state.store.get_proposal(proposal_id(&id)?).await?;
    let mut response = proposal.staged.request.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"proposal-{}.request.json\"", proposal.id))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The signature form: the answer `ferretwatch pack sign-request` printed.
#[derive(Debug, Default, Deserialize)]
pub struct SignForm {
    #[serde(default)]
    response: String,
}

/// `POST /admin/rules/{id}/sign`: a Publisher's signature; the second one deploys.
pub async fn sign(
    State(state): State<AppState>,
    signed: Signed<Publish>,
    Path(id): Path<String>,
    Form(form): Form<SignForm>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let id = proposal_id(&id)?;
    let proposal = state.store.get_proposal(id).await?;
    if proposal.staged.test_passed == Some(false) {
        return Err(ConsoleError::BadRequest(
            "This proposal failed its tests and cannot be signed; reject it and propose a fixed one.".into(),
        ));
    }
    let request = SigningRequest::parse(proposal.staged.request.as_bytes())
        .map_err(|e| ConsoleError::BadRequest(format!("The stored signing request is unreadable: {e}")))?;
    let response = SigningResponse::parse(form.response.trim().as_bytes())
        .map_err(|e| ConsoleError::BadRequest(format!("Not a signing response: {e}")))?;
    let publishing = Publishing::of(&state)?;
    let root = publishing.root().map_err(ConsoleError::BadRequest)?;
    signing::check_response(&request, &response, &root)
        .map_err(|e| ConsoleError::BadRequest(format!("The signature is refused: {e}")))?;
    let entry = viewer.audit_entry(
        "proposal.signed",
        &format!("proposal:{id}"),
        serde_json::json!({ "keyid": response.keyid, "state_before": proposal.state.code() }),
    );
    let signature = NewSignature {
        account: viewer.account.id,
        actor: viewer.actor(),
        keyid: response.keyid.clone(),
        signatures: String::from_utf8(response.to_bytes()).unwrap_or_default(),
        at: entry.at,
    };
    let (proposal, signatures) = match state.store.sign_proposal(id, &signature, state.console.audited(&entry)).await {
        Ok(done) => done,
        Err(e) if e.kind() == ErrorKind::Conflict => return Err(ConsoleError::BadRequest(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    if proposal.state == ProposalState::Deploying {
        let mut all = Vec::new();
        for s in &signatures {
            let answer = SigningResponse::parse(s.signatures.as_bytes())
                .and_then(|r| signing::check_response(&request, &r, &root))
                .map_err(|e| ConsoleError::BadRequest(format!("A stored signature is unreadable: {e}")))?;
            all.push(answer);
        }
        deploy(&state, &viewer, proposal, request, all, publishing).await?;
    }
    Ok(Redirect::to(&format!("/admin/rules/{id}")).into_response())
}

/// Deploys a proposal both publishers signed, and records what happened.
async fn deploy(
    state: &AppState,
    viewer: &Viewer,
    proposal: Proposal,
    request: SigningRequest,
    signatures: Vec<Vec<(String, Signature)>>,
    publishing: Publishing,
) -> Result<(), ConsoleError> {
    let id = proposal.id;
    let dir = publishing.dir(id);
    let outcome = blocking(move || {
        let origin = publishing.origin()?;
        let now = Timestamp::now();
        match request.subject {
            Subject::Bulletin => {
                let (_, envelope) = request.envelopes(&signatures).into_iter().next().ok_or("an empty request")?;
                let name = bulletin::publish_bulletin(&origin, &envelope.to_bytes(), &publishing.root, now)
                    .map_err(|e| e.to_string())?;
                Ok(format!("published {name}"))
            }
            Subject::Pack => {
                if !dir.is_dir() {
                    return Err(format!(
                        "the staged pack is not on this instance ({}); propose it again",
                        dir.display()
                    ));
                }
                signing::write_pack_metadata(&dir, &request, &signatures).map_err(|e| e.to_string())?;
                let online = match &publishing.online {
                    Some(path) => Some(OnlineKey {
                        key: PrivateKey::read(path).map_err(|e| format!("the online key: {e}"))?,
                        ttl_secs: publishing.ttl_secs,
                    }),
                    None => None,
                };
                let report = publish::deploy_online(&dir, &origin, &publishing.root, now, online.as_ref())
                    .map_err(|e| e.to_string())?;
                Ok(format!("deployed version {}", report.version))
            }
        }
    })
    .await?;
    let (to, text) = match outcome {
        Ok(text) => (ProposalState::Deployed, text),
        Err(why) => (ProposalState::Failed, why),
    };
    let action = if to == ProposalState::Deployed { "proposal.deployed" } else { "proposal.failed" };
    let entry = viewer.audit_entry(action, &format!("proposal:{id}"), serde_json::json!({ "outcome": text }));
    let actor = viewer.actor();
    let finish = Finish { from: &[ProposalState::Deploying], to, by: &actor, at: entry.at, outcome: &text };
    state.store.finish_proposal(id, finish, state.console.audited(&entry)).await?;
    if to == ProposalState::Deployed {
        state.origin.forget_mutable();
        *state.pack_version.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            state.origin.pack_version().await;
    }
    Ok(())
}

/// The rejection form.
#[derive(Debug, Default, Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    note: String,
}

/// `POST /admin/rules/{id}/reject`: a Publisher refuses a proposal before it is deployed.
pub async fn reject(
    State(state): State<AppState>,
    signed: Signed<Publish>,
    Path(id): Path<String>,
    Form(form): Form<RejectForm>,
) -> Result<Response, ConsoleError> {
    let viewer = signed.viewer;
    let id = proposal_id(&id)?;
    let note = clean(&form.note, MAX_TEXT_CHARS)?;
    if note.is_empty() {
        return Err(ConsoleError::BadRequest("Say why you reject it (it goes into the audit log).".into()));
    }
    let entry = viewer.audit_entry("proposal.rejected", &format!("proposal:{id}"), serde_json::json!({ "note": note }));
    let actor = viewer.actor();
    let finish = Finish {
        from: &[ProposalState::Proposed, ProposalState::Approved],
        to: ProposalState::Rejected,
        by: &actor,
        at: entry.at,
        outcome: &note,
    };
    match state.store.finish_proposal(id, finish, state.console.audited(&entry)).await {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::Conflict => return Err(ConsoleError::BadRequest(e.to_string())),
        Err(e) => return Err(e.into()),
    }
    if let Ok(publishing) = Publishing::of(&state) {
        let _ = tokio::fs::remove_dir_all(publishing.dir(id)).await;
    }
    Ok(Redirect::to(&format!("/admin/rules/{id}")).into_response())
}
