//! Intel deltas: made from two built packs and their feeds, applied by a client, refused
//! when they do not fit, never a panic on damaged input.

use ferretwatch_types::Coded;
use std::collections::BTreeMap;
use std::path::Path;

use ferretwatch_detect::filter::{FilterFile, IndicatorKind};
use ferretwatch_detect::{Engine, Page, Reputation, Rules, ScanOptions};
use ferretwatch_pack_client::indicator::Indicator;
use ferretwatch_pack_client::manifest::FeedSource as Source;
use ferretwatch_pack_publisher::delta::{
    self, diff_filter, read_pack_filters, update, Delta, DeltaOptions, MakeDeltaError, Patch, Update, DELTA_HEADER_LEN,
};
use ferretwatch_pack_publisher::feedfile::{FeedFile, FeedHeader};
use ferretwatch_pack_publisher::feeds::{ParseReport, Record};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::PackVersion;

const BASE: &str = "2025.09.24.15";
const TARGET: &str = "2025.09.25.15";

fn version(text: &str) -> PackVersion {
    PackVersion::parse(text).unwrap()
}

/// Writes a plain feed of `hosts` and `ips` fetched five minutes before `version`'s hour.
fn write_feed(dir: &Path, version_text: &str, hosts: &[String], ips: &[String]) {
    let fetched = version(version_text).hour().minus_secs(300);
    let header = FeedHeader {
        name: "plain".into(),
        source: Source::Plain,
        origin: "test".into(),
        fetched_at: fetched,
        expires: fetched.plus_secs(72 * 3600),
        confidence: 900,
        keep_query: false,
        license: "test".into(),
        report: ParseReport::default(),
        indicators: 0,
    };
    let record = |kind, value: &String| Record { indicator: Indicator { kind, value: value.clone() }, id: None };
    let records = hosts
        .iter()
        .map(|h| record(IndicatorKind::Host, h))
        .chain(ips.iter().map(|i| record(IndicatorKind::Ip, i)))
        .collect();
    std::fs::create_dir_all(dir).unwrap();
    FeedFile::new(header, records).write(&dir.join("plain.feed")).unwrap();
}

struct Packs {
    _tmp: tempfile::TempDir,
    base: std::path::PathBuf,
    base_feeds: std::path::PathBuf,
    target: std::path::PathBuf,
    target_feeds: std::path::PathBuf,
}

fn hosts(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("phish-{i}.example.com")).collect()
}

fn ips(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| std::net::Ipv4Addr::from(0xcb00_7100 + i).to_string()).collect()
}

/// Builds a base pack and a target pack from the given indicator lists.
fn packs(base: (&[String], &[String]), target: (&[String], &[String])) -> Packs {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);
    let packs = Packs {
        base: p("base"),
        base_feeds: p("base-intel"),
        target: p("target"),
        target_feeds: p("target-intel"),
        _tmp: tmp,
    };
    write_feed(&packs.base_feeds, BASE, base.0, base.1);
    write_feed(&packs.target_feeds, TARGET, target.0, target.1);
    build(&BuildOptions::new(version(BASE), &packs.base_feeds, &packs.base)).unwrap();
    build(&BuildOptions::new(version(TARGET), &packs.target_feeds, &packs.target)).unwrap();
    packs
}

fn make(p: &Packs) -> Result<Delta, MakeDeltaError> {
    delta::make(&p.base, &p.base_feeds, &p.target, &p.target_feeds, DeltaOptions::default()).map(|s| s.delta)
}

fn by_kind(files: Vec<FilterFile>) -> BTreeMap<IndicatorKind, FilterFile> {
    files.into_iter().map(|f| (f.kind, f)).collect()
}

/// 2,000 hosts and one IP in the base (an exact set: exact wins only for a handful of short
/// items); 1% of the hosts removed and 1% added in the target, the IP replaced.
fn churned() -> (Packs, Vec<String>, Vec<String>, Vec<String>) {
    let base_hosts = hosts(0..2000);
    let target_hosts = hosts(20..2020);
    let packs = packs((&base_hosts, &ips(0..1)), (&target_hosts, &ips(1..2)));
    (packs, hosts(0..20), hosts(2000..2020), hosts(20..2000))
}

#[test]
fn applying_a_delta_answers_like_the_full_new_pack_for_added_removed_and_unchanged_indicators() {
    let (p, removed, added, unchanged) = churned();
    let delta = make(&p).unwrap();
    assert_eq!((delta.base_version.as_str(), delta.target_version.as_str()), (BASE, TARGET));
    let decoded = Delta::from_bytes(&delta.to_bytes()).unwrap();
    assert_eq!(decoded, delta, "the file round-trips");

    let applied = by_kind(delta::apply_to_pack(&decoded, &p.base).unwrap());
    let (_, full) = read_pack_filters(&p.target).unwrap();
    let full: BTreeMap<_, _> = full.iter().map(|(k, b)| (*k, FilterFile::from_bytes(b).unwrap())).collect();

    let hosts_now = &applied[&IndicatorKind::Host];
    let hosts_full = &full[&IndicatorKind::Host];
    assert_eq!(hosts_now.encoding(), "bloom");
    assert_eq!(hosts_now.count, 2000);
    for h in &added {
        assert!(hosts_now.set.contains(h) && hosts_full.set.contains(h), "added {h}");
    }
    for h in &unchanged {
        assert!(hosts_now.set.contains(h) && hosts_full.set.contains(h), "unchanged {h}");
    }
    for h in &removed {
        assert!(!hosts_now.set.contains(h) && !hosts_full.set.contains(h), "removed {h} must be gone");
    }
    // Non-members: the patched filter keeps the pack's false-positive budget (1e-6).
    let strangers = (0..200_000).filter(|i| hosts_now.set.contains(&format!("stranger-{i}.example.org"))).count();
    assert!(strangers <= 2, "{strangers} false positives in 200,000");

    // Exact sets patch to exactly the target pack's file.
    let ips_now = &applied[&IndicatorKind::Ip];
    assert_eq!(ips_now.encoding(), "exact");
    assert_eq!(ips_now.to_bytes(), full[&IndicatorKind::Ip].to_bytes());
    assert!(ips_now.set.contains(&ips(1..2)[0]) && !ips_now.set.contains(&ips(0..1)[0]));
    match &delta.sections.iter().find(|s| s.kind == IndicatorKind::Ip).unwrap().patch {
        Patch::Exact { removed, added } => assert_eq!((removed, added), (&ips(0..1), &ips(1..2))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_engine_reads_patched_filters_like_any_pack_filters() {
    let (p, removed, added, _) = churned();
    let delta = make(&p).unwrap();
    let reputation = Reputation::from_filters(delta::apply_to_pack(&delta, &p.base).unwrap()).unwrap();
    let engine = Engine::new(Rules::builtin()).unwrap().with_reputation(reputation);
    let listed = |host: &str| {
        let url = format!("https://login.{host}/verify");
        let verdict = engine.scan(&Page::url(&url), &ScanOptions::default()).unwrap();
        verdict.findings.iter().any(|f| f.key.name() == "reputation_hit")
    };
    assert!(listed(&added[0]), "an added host is listed, with its subdomains");
    assert!(!listed(&removed[0]), "a removed host is no longer listed");
}

#[test]
fn a_client_with_another_base_is_told_to_fetch_the_full_pack() {
    let (p, _, _, _) = churned();
    let bytes = make(&p).unwrap().to_bytes();
    let (target_manifest, target_filters) = read_pack_filters(&p.target).unwrap();
    match update(&target_manifest.version, &target_filters, &bytes) {
        Update::FullPackNeeded(e) => assert_eq!(e.code(), "delta_base_mismatch"),
        Update::Applied(_) => panic!("a delta applied to the wrong version"),
    }
    // The right version label on other filter bytes is refused too, before decoding them.
    let (base_manifest, mut base_filters) = read_pack_filters(&p.base).unwrap();
    base_filters.insert(IndicatorKind::Host, target_filters[&IndicatorKind::Host].clone());
    match update(&base_manifest.version, &base_filters, &bytes) {
        Update::FullPackNeeded(e) => assert_eq!(e.code(), "delta_base_mismatch"),
        Update::Applied(_) => panic!("a delta applied to another filter"),
    }
    let (_, base_filters) = read_pack_filters(&p.base).unwrap();
    assert!(matches!(update(&base_manifest.version, &base_filters, &bytes), Update::Applied(f) if f.len() == 3));
}

#[test]
fn feeds_that_do_not_rebuild_the_base_pack_are_refused() {
    let (p, _, _, _) = churned();
    let err = delta::make(&p.base, &p.target_feeds, &p.target, &p.target_feeds, DeltaOptions::default()).unwrap_err();
    assert_eq!(err.code(), "delta_feeds_mismatch", "{err}");
    let err = delta::make(&p.target, &p.target_feeds, &p.base, &p.base_feeds, DeltaOptions::default()).unwrap_err();
    assert_eq!(err.code(), "delta_not_newer", "{err}");
}

#[test]
fn a_target_that_outgrew_the_base_filter_gets_no_delta() {
    let p = packs((&hosts(0..2000), &[]), (&hosts(0..2600), &[]));
    match make(&p).unwrap_err() {
        MakeDeltaError::FilterFull { kind, target, base_rate, target_rate } => {
            assert_eq!((kind, target), (IndicatorKind::Host, 2600));
            assert!(target_rate > 2.0 * base_rate);
        }
        other => panic!("{other}"),
    }
    // Modest growth stays within the budget.
    let p = packs((&hosts(0..2000), &[]), (&hosts(0..2020), &[]));
    assert!(make(&p).is_ok());
}

#[test]
fn damaged_deltas_are_refused_with_precise_errors() {
    let (p, _, _, _) = churned();
    let good = make(&p).unwrap().to_bytes();
    let code = |bytes: &[u8]| Delta::from_bytes(bytes).unwrap_err().code();
    assert_eq!(code(&good[..10]), "delta_truncated");
    assert_eq!(code(&good[..good.len() - 1]), "delta_length");
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(code(&flipped), "delta_checksum");
    let mut magic = good.clone();
    magic[0] = b'X';
    assert_eq!(code(&magic), "delta_bad_magic");
    let mut version = good.clone();
    version[4] = 9;
    assert_eq!(code(&version), "delta_version");
    assert_eq!(code(&vec![0; delta::MAX_DELTA_BYTES + 1]), "delta_too_large");
}

#[test]
fn a_delta_whose_result_differs_from_its_promise_is_refused() {
    let (p, _, _, _) = churned();
    let mut delta = make(&p).unwrap();
    for section in &mut delta.sections {
        if let Patch::Bloom { flips } = &mut section.patch {
            flips.pop();
        }
    }
    let err = delta::apply_to_pack(&delta, &p.base).unwrap_err();
    assert_eq!(err.code(), "delta_result_mismatch");
}

#[test]
fn diffing_an_exact_filter_lists_the_changes() {
    let base = FilterFile::build(IndicatorKind::Url, ["a.example/x"], 1e-6);
    assert_eq!(base.encoding(), "exact");
    let section = diff_filter(&base.to_bytes(), &["a.example/x"], &["c.example/z"], DeltaOptions::default()).unwrap();
    assert_eq!(section.patch, Patch::Exact { removed: vec!["a.example/x".into()], added: vec!["c.example/z".into()] });
    assert_eq!(section.result_count, 1);
    let err = diff_filter(&base.to_bytes(), &["b.example/y"], &[], DeltaOptions::default()).unwrap_err();
    assert_eq!(err.code(), "delta_feeds_mismatch");
}

/// Re-frames a body with a valid header, to reach the body checks.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DELTA_HEADER_LEN + body.len());
    out.extend_from_slice(b"FWDL");
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(ferretwatch_types::Sha256::of(body).as_bytes());
    out.extend_from_slice(body);
    out
}

fn small_delta() -> Vec<u8> {
    let base = FilterFile::build(IndicatorKind::Host, hosts(0..300).iter().map(String::as_str), 1e-6).to_bytes();
    let old = hosts(0..300);
    let new = hosts(3..303);
    let mut old: Vec<&str> = old.iter().map(String::as_str).collect();
    let mut new: Vec<&str> = new.iter().map(String::as_str).collect();
    old.sort_unstable();
    new.sort_unstable();
    let section = diff_filter(&base, &old, &new, DeltaOptions::default()).unwrap();
    Delta { base_version: version(BASE), target_version: version(TARGET), sections: vec![section] }.to_bytes()
}

/// Bytes either decode to a delta whose own encoding decodes to the same delta, or are
/// refused with a delta code.
fn round_trips(bytes: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
    match Delta::from_bytes(bytes) {
        Ok(delta) => {
            proptest::prop_assert!(delta.target_version > delta.base_version);
            proptest::prop_assert_eq!(Delta::from_bytes(&delta.to_bytes()).unwrap(), delta);
        }
        Err(e) => proptest::prop_assert!(e.code().starts_with("delta_"), "{}", e),
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_are_refused_or_decode_to_a_delta_that_round_trips(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
    ) {
        round_trips(&bytes)?;
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_frame_are_refused_or_decode_to_a_delta_that_round_trips(
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
    ) {
        round_trips(&framed(&body))?;
    }

    #[test]
    fn truncated_valid_bodies_behind_a_valid_frame_are_refused(cut in 0usize..4096) {
        let bytes = small_delta();
        let body = &bytes[DELTA_HEADER_LEN..];
        let cut = cut % body.len();
        proptest::prop_assert!(Delta::from_bytes(&framed(&body[..cut])).is_err());
    }

    #[test]
    fn every_single_byte_corruption_is_refused_without_panic(index in 0usize..1 << 16, flip in 1u8..=255) {
        let mut bytes = small_delta();
        let index = index % bytes.len();
        bytes[index] ^= flip;
        proptest::prop_assert!(Delta::from_bytes(&bytes).is_err());
    }
}

/// The base and target packs of [`churned`], the target carrying its delta from the base,
/// both signed by two publishers and deployed in turn to an origin; returns the root.
struct Deployed {
    packs: Packs,
    removed: Vec<String>,
    added: Vec<String>,
    tmp: tempfile::TempDir,
    root: Vec<u8>,
}

impl Deployed {
    fn origin_dir(&self) -> std::path::PathBuf {
        self.tmp.path().join("origin")
    }

    /// Deploys the base pack and a client that installs it (whole: its first pack).
    fn client_on_base(&self) -> DeltaClient {
        let base_at = version(BASE).hour().plus_secs(600);
        self.deploy(&self.packs.base, base_at);
        let mut client = DeltaClient::new(&self.root);
        let outcome = client.poll(&self.origin_dir(), base_at);
        assert_eq!(outcome, ferretwatch_pack_client::update::Outcome::Updated { pack_version: BASE.into() });
        client
    }

    /// Deploys the target pack (with its delta); the time to poll for it.
    fn deploy_target(&self) -> ferretwatch_types::Timestamp {
        let target_at = version(TARGET).hour().plus_secs(600);
        self.deploy(&self.packs.target, target_at);
        target_at
    }

    fn deploy(&self, pack: &Path, at: ferretwatch_types::Timestamp) {
        let origin =
            ferretwatch_pack_publisher::origin::Origin::open(&format!("file://{}", self.origin_dir().display()))
                .unwrap();
        ferretwatch_pack_publisher::publish::deploy(pack, &origin, &self.root, at).unwrap();
    }
}

fn deployed_with_delta() -> Deployed {
    use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
    use ferretwatch_pack_publisher::keys::PrivateKey;
    use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
    let (packs, removed, added, _) = churned();
    let d = make(&packs).unwrap();
    let path = delta::delta_path(&packs.target, &version(BASE));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, d.to_bytes()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let keys = [PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap()];
    let expires = ferretwatch_types::Timestamp::parse("2027-01-01T00:00:00Z").unwrap();
    let root = Root::new(1, expires, &[keys[0].public(), keys[1].public()], 2).unwrap();
    let root_path = tmp.path().join("root.json");
    std::fs::write(&root_path, Envelope::new(&root).to_bytes()).unwrap();
    for key in &keys {
        sign_root(&root_path, key).unwrap();
    }
    for pack in [&packs.base, &packs.target] {
        for key in &keys {
            sign_pack(pack, key, None).unwrap();
        }
    }
    let root = std::fs::read(&root_path).unwrap();
    Deployed { packs, removed, added, tmp, root }
}

/// A client of the updater that keeps its running files and a copy of its delta base.
struct DeltaClient {
    updater: ferretwatch_pack_client::update::Updater,
    files: BTreeMap<String, Vec<u8>>,
    base: BTreeMap<String, Vec<u8>>,
    asked: Vec<String>,
}

impl DeltaClient {
    fn new(root: &[u8]) -> Self {
        use ferretwatch_pack_client::update::{Config, Persisted, Updater};
        let updater =
            Updater::new(Config::new(vec!["https://origin".into()], "install-7"), root, Persisted::default()).unwrap();
        DeltaClient { updater, files: BTreeMap::new(), base: BTreeMap::new(), asked: Vec::new() }
    }

    fn poll(&mut self, origin: &Path, at: ferretwatch_types::Timestamp) -> ferretwatch_pack_client::update::Outcome {
        use ferretwatch_pack_client::dir::DirSource;
        use ferretwatch_pack_client::update::{fetch_from, run_cycle};
        let (files, base, asked) = (&mut self.files, &mut self.base, &mut self.asked);
        let kept_base = base.clone();
        asked.clear();
        run_cycle(
            &mut self.updater,
            at,
            |request| {
                asked.push(request.name.clone());
                fetch_from(&DirSource(origin.to_owned()), request)
            },
            |staged| {
                let mut next: BTreeMap<String, Vec<u8>> =
                    staged.kept.iter().map(|name| (name.clone(), files[name].clone())).collect();
                next.extend(staged.fetched.clone());
                *files = next;
                if !staged.base_files.is_empty() {
                    *base = staged.base_files.iter().map(|name| (name.clone(), files[name].clone())).collect();
                }
                Ok(())
            },
            |names| names.iter().filter_map(|name| Some((name.clone(), kept_base.get(name)?.clone()))).collect(),
        )
    }

    fn host_filter(&self) -> FilterFile {
        let installed = self.updater.persisted().current.clone().unwrap();
        let manifest = ferretwatch_pack_client::manifest::Manifest::from_json(
            &self.files[ferretwatch_pack_client::layout::MANIFEST],
        )
        .unwrap();
        let entry = manifest.files.iter().find(|e| e.kind == Some(IndicatorKind::Host)).unwrap();
        assert!(installed.files.contains_key(&entry.name));
        FilterFile::from_bytes(&self.files[&entry.name]).unwrap()
    }
}

#[test]
fn an_updating_client_applies_the_delta_from_its_base_instead_of_downloading_the_filters() {
    use ferretwatch_pack_client::load::{load, load_patched, YaraLimit};
    use ferretwatch_pack_client::update::Outcome;
    let d = deployed_with_delta();
    let mut client = d.client_on_base();
    let installed = client.updater.persisted().current.clone().unwrap();
    let base = installed.base.expect("filters downloaded whole become the delta base");
    assert_eq!(base.pack_version, BASE);
    assert_eq!(client.base.keys().collect::<Vec<_>>(), base.filters.keys().collect::<Vec<_>>());

    let target_at = d.deploy_target();
    assert_eq!(client.poll(&d.origin_dir(), target_at), Outcome::Updated { pack_version: TARGET.into() });
    let (target_manifest, _) = read_pack_filters(&d.packs.target).unwrap();
    let filters: Vec<&str> = target_manifest
        .files
        .iter()
        .filter(|e| e.role == ferretwatch_pack_client::manifest::Role::Filter)
        .map(|e| e.name.as_str())
        .collect();
    assert!(
        client.asked.iter().any(|name| name.starts_with("deltas/") && name.ends_with(&format!("{BASE}.fwd"))),
        "{:?} {:?}",
        client.asked,
        std::fs::read_dir(d.packs.target.join("deltas"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .collect::<Vec<_>>()
    );
    for filter in &filters {
        assert!(!client.asked.iter().any(|name| name.ends_with(filter)), "{filter} came by delta: {:?}", client.asked);
    }
    let installed = client.updater.persisted().current.clone().unwrap();
    for filter in &filters {
        let unchanged = base.filters.contains_key(*filter);
        assert!(installed.patched.contains_key(*filter) || unchanged, "{filter}: patched, or kept as it was");
    }
    assert_eq!(installed.patched.len(), 2, "the host and ip filters changed");
    assert_eq!(installed.base.as_ref().unwrap().pack_version, BASE, "the base stays for the next delta");

    // The patched filter answers like the new pack, and loads only with the bytes the
    // delta's hashes promise.
    let hosts_now = client.host_filter();
    assert!(d.added.iter().all(|h| hosts_now.set.contains(h)));
    assert!(!d.removed.iter().any(|h| hosts_now.set.contains(h)));
    let timeout = std::time::Duration::from_millis(500);
    assert!(load_patched(&client.files, &installed.patched, target_at, YaraLimit::Timeout(timeout), false).is_ok());
    let mut damaged = client.files.clone();
    let name = installed.patched.keys().next().unwrap();
    let bytes = damaged.get_mut(name).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let err = load_patched(&damaged, &installed.patched, target_at, YaraLimit::Timeout(timeout), false).unwrap_err();
    assert!(err.to_string().contains("differs from its manifest entry"), "{err}");
    // (Here the target kept the base's size, so the patched bytes are the target's own.)
    assert!(load(&client.files, target_at, YaraLimit::Timeout(timeout), false).is_ok());
}

#[test]
fn a_damaged_delta_base_falls_back_to_the_whole_filters_and_they_become_the_new_base() {
    use ferretwatch_pack_client::load::{load, YaraLimit};
    use ferretwatch_pack_client::update::Outcome;
    let d = deployed_with_delta();
    let mut client = d.client_on_base();
    for bytes in client.base.values_mut() {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
    }
    let target_at = d.deploy_target();
    assert_eq!(client.poll(&d.origin_dir(), target_at), Outcome::Updated { pack_version: TARGET.into() });
    let installed = client.updater.persisted().current.clone().unwrap();
    assert!(installed.patched.is_empty(), "nothing of the delta was used");
    assert_eq!(installed.base.unwrap().pack_version, TARGET, "the whole filters are the new base");
    let hosts_now = client.host_filter();
    assert!(d.added.iter().all(|h| hosts_now.set.contains(h)));
    assert!(load(&client.files, target_at, YaraLimit::Timeout(std::time::Duration::from_millis(500)), false).is_ok());
}

#[test]
fn a_delta_the_origin_cannot_serve_falls_back_to_the_whole_filters() {
    use ferretwatch_pack_client::update::Outcome;
    let d = deployed_with_delta();
    let mut client = d.client_on_base();
    let target_at = d.deploy_target();
    let deltas = d.origin_dir().join("deltas");
    std::fs::remove_dir_all(&deltas).unwrap();
    assert_eq!(client.poll(&d.origin_dir(), target_at), Outcome::Updated { pack_version: TARGET.into() });
    assert!(client.asked.iter().any(|name| name.starts_with("deltas/")), "the delta was tried");
    let installed = client.updater.persisted().current.clone().unwrap();
    assert!(installed.patched.is_empty(), "the filters came whole");
    assert!(d.added.iter().all(|h| client.host_filter().set.contains(h)));
}
