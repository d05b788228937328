//! The updater state machine against real origins written by `pack deploy`: a client that
//! keeps its state refuses every attack class of TUF's threat model, recovers after a
//! fast-forward once the keys rotate, fails over between mirrors, and keeps its last known
//! good pack when a new one does not install.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferretwatch_pack_client::dir::DirSource;
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::update::{
    fetch_from, in_canary, run_cycle, spread, Config, Outcome, Persisted, Request, Response, Staged, Step, Updater,
};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::deploy;
use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::{PackVersion, Timestamp};

const NOW: &str = "2026-11-27T12:20:00Z";

fn now() -> Timestamp {
    Timestamp::parse(NOW).unwrap()
}

struct World {
    tmp: tempfile::TempDir,
    keys: Vec<PrivateKey>,
    root: Vec<u8>,
}

fn signed_root(path: &Path, root: &Root, signers: &[&PrivateKey]) -> Vec<u8> {
    std::fs::write(path, Envelope::new(root).to_bytes()).unwrap();
    for key in signers {
        sign_root(path, key).unwrap();
    }
    std::fs::read(path).unwrap()
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let keys = vec![PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap()];
    let root =
        Root::new(1, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[keys[0].public(), keys[1].public()], 2)
            .unwrap();
    let root = signed_root(&tmp.path().join("root.json"), &root, &[&keys[0], &keys[1]]);
    std::fs::create_dir_all(tmp.path().join("intel")).unwrap();
    World { tmp, keys, root }
}

impl World {
    /// Builds `version` with `marker` in a YARA rule (so packs differ in one file) and signs
    /// it with `signers`.
    fn pack(&self, version: &str, marker: &str, signers: &[&PrivateKey]) -> PathBuf {
        let out = self.tmp.path().join(format!("dist-{version}"));
        let mut options = BuildOptions::new(PackVersion::parse(version).unwrap(), self.tmp.path().join("intel"), &out);
        let yara = self.tmp.path().join(format!("yara-{version}"));
        std::fs::create_dir_all(&yara).unwrap();
        std::fs::write(yara.join("kit.yar"), format!("rule kit {{ strings: $a = \"{marker}\" condition: $a }}\n"))
            .unwrap();
        options.yara = Some(yara);
        build(&options).unwrap();
        for key in signers {
            sign_pack(&out, key, None).unwrap();
        }
        out
    }

    fn deploy(&self, version: &str, marker: &str) -> PathBuf {
        let pack = self.pack(version, marker, &[&self.keys[0], &self.keys[1]]);
        deploy(&pack, &self.origin(), &self.root, now()).unwrap();
        pack
    }

    fn origin_dir(&self) -> PathBuf {
        self.tmp.path().join("origin")
    }

    fn origin(&self) -> Origin {
        Origin::open(&format!("file://{}", self.origin_dir().display())).unwrap()
    }

    fn updater(&self, persisted: Persisted) -> Updater {
        Updater::new(Config::new(vec!["https://mirror-0".into()], "install-1"), &self.root, persisted).unwrap()
    }
}

/// A client: the updater and the files it runs, installed only from [`Step::Install`].
struct Client {
    updater: Updater,
    files: BTreeMap<String, Vec<u8>>,
    /// Copies of the delta base's files.
    base: BTreeMap<String, Vec<u8>>,
}

impl Client {
    fn new(updater: Updater) -> Self {
        Client { updater, files: BTreeMap::new(), base: BTreeMap::new() }
    }

    /// One cycle against the origin directories `mirrors` (by mirror index).
    fn poll(&mut self, at: Timestamp, mirrors: &[&Path]) -> Outcome {
        self.poll_with(at, |request| fetch_from(&DirSource(mirrors[request.mirror].to_owned()), request))
    }

    /// One cycle, answering requests with `fetch`.
    fn poll_with(&mut self, at: Timestamp, fetch: impl FnMut(&Request) -> Response) -> Outcome {
        let (files, base) = (&mut self.files, &mut self.base);
        let kept_base = base.clone();
        run_cycle(
            &mut self.updater,
            at,
            fetch,
            |staged: &Staged| {
                install(files, staged);
                if !staged.base_files.is_empty() {
                    *base = staged.base_files.iter().map(|name| (name.clone(), files[name].clone())).collect();
                }
                Ok(())
            },
            |names| names.iter().filter_map(|name| Some((name.clone(), kept_base.get(name)?.clone()))).collect(),
        )
    }

    fn version(&self) -> Option<String> {
        self.updater.status(now()).pack_version
    }
}

/// Installs like a client does: the kept files from what it runs, the fetched ones new.
fn install(files: &mut BTreeMap<String, Vec<u8>>, staged: &Staged) {
    let mut next: BTreeMap<String, Vec<u8>> =
        staged.kept.iter().map(|name| (name.clone(), files[name].clone())).collect();
    next.extend(staged.fetched.clone());
    assert_eq!(next.keys().collect::<Vec<_>>(), staged.pack.files.keys().collect::<Vec<_>>());
    *files = next;
}

fn multi(w: &World, mirrors: usize) -> Updater {
    let names = (0..mirrors).map(|i| format!("https://mirror-{i}")).collect();
    Updater::new(Config::new(names, "install-1"), &w.root, Persisted::default()).unwrap()
}

fn expect_failed(outcome: Outcome, code: &str) {
    match outcome {
        Outcome::Failed { code: got, reason } => assert_eq!(got, code, "{reason}"),
        other => panic!("expected a refusal ({code}), got {other:?}"),
    }
}

/// Copies the origin (a mirror an attacker controls starts as a faithful copy).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_client_installs_then_fetches_only_what_changed_and_a_304_or_the_same_timestamp_is_unchanged() {
    let w = world();
    let v1 = w.deploy("2026.11.27.10", "marker-one");
    let mut client = Client::new(w.updater(Persisted::default()));
    let origin = w.origin_dir();
    assert_eq!(client.poll(now(), &[&origin]), Outcome::Updated { pack_version: "2026.11.27.10".into() });
    let on_disk = ferretwatch_pack_client::dir::pack_files(&v1).unwrap();
    assert_eq!(client.files, on_disk, "exactly the signed files");
    assert_eq!(client.poll(now(), &[&origin]), Outcome::Unchanged);

    w.deploy("2026.11.27.11", "marker-two");
    let mut fetched = Vec::new();
    let outcome = run_cycle(
        &mut client.updater,
        now(),
        |r| {
            fetched.push(r.name.clone());
            fetch_from(&DirSource(origin.clone()), r)
        },
        |staged| {
            assert!(!staged.kept.is_empty(), "unchanged files are kept");
            install(&mut client.files, staged);
            Ok(())
        },
        |_| BTreeMap::new(),
    );
    assert_eq!(outcome, Outcome::Updated { pack_version: "2026.11.27.11".into() });
    // Consistent snapshots: versioned metadata and hash-prefixed targets.
    assert!(fetched.iter().any(|n| n.ends_with(".snapshot.json") && n != "snapshot.json"), "{fetched:?}");
    assert!(fetched.iter().any(|n| n.ends_with(".targets.json") && n != "targets.json"), "{fetched:?}");
    let yara: Vec<&String> = fetched.iter().filter(|n| n.contains("yara-")).collect();
    assert_eq!(yara.len(), 1, "only the changed rule file: {fetched:?}");
    let (prefix, _) = yara[0].split_once('.').unwrap();
    assert!(prefix.len() == 64 && prefix.bytes().all(|b| b.is_ascii_hexdigit()), "hash-prefixed: {}", yara[0]);

    // A conditional request answered 304 is unchanged while the timestamp is valid.
    let mut step = client.updater.start(now());
    let mut answers = 0;
    let outcome = loop {
        step = match step {
            Step::Fetch(request) if request.name == "timestamp.json" => {
                answers += 1;
                client.updater.handle(now(), Response::NotModified)
            }
            Step::Fetch(request) => client.updater.handle(now(), fetch_from(&DirSource(origin.clone()), &request)),
            Step::Install(_) | Step::ReadBase(_) => panic!("nothing to install"),
            Step::Done(outcome) => break outcome,
        }
    };
    assert_eq!((outcome, answers), (Outcome::Unchanged, 1));
}

#[test]
fn attack_rollback_to_an_older_signed_pack_is_refused_by_a_client_with_state() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    let old = w.tmp.path().join("old-origin");
    copy_dir(&w.origin_dir(), &old);
    w.deploy("2026.11.27.11", "two");
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    // The client restarts from what it persisted, and the mirror now serves the old pack.
    let mut client =
        Client { updater: w.updater(client.updater.persisted().clone()), files: client.files, base: BTreeMap::new() };
    expect_failed(client.poll(now(), &[&old]), "rollback");
    assert_eq!(client.version().as_deref(), Some("2026.11.27.11"));
}

#[test]
fn attack_freeze_is_noticed_when_the_timestamp_expires_and_a_304_does_not_hide_it() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    let expires = client.updater.persisted().timestamp_expires.unwrap();
    assert!(!client.updater.status(now()).stale);
    // The network keeps serving the same (frozen) metadata past its expiry.
    let later = expires.plus_secs(1);
    expect_failed(client.poll(later, &[&w.origin_dir()]), "expired");
    assert!(client.updater.status(later).stale, "a freeze is reported as stale");
    // A cache answering 304 to the conditional request does not hide it either.
    let mut step = client.updater.start(later);
    let outcome = loop {
        step = match step {
            Step::Fetch(request) if request.name == "timestamp.json" => {
                client.updater.handle(later, Response::NotModified)
            }
            Step::Fetch(request) => client.updater.handle(later, fetch_from(&DirSource(w.origin_dir()), &request)),
            Step::Install(_) | Step::ReadBase(_) => panic!("nothing to install"),
            Step::Done(outcome) => break outcome,
        }
    };
    expect_failed(outcome, "expired");
}

#[test]
fn attack_mix_and_match_of_two_versions_metadata_is_refused() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    let v1_snapshot = std::fs::read_dir(w.origin_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".snapshot.json") && n != "snapshot.json")
        .unwrap();
    w.deploy("2026.11.27.11", "two");
    let evil = w.tmp.path().join("evil");
    copy_dir(&w.origin_dir(), &evil);
    // The new timestamp, with the old snapshot where the new one should be.
    let new_snapshot = std::fs::read_dir(&evil)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".snapshot.json") && n != "snapshot.json")
        .max()
        .unwrap();
    std::fs::copy(evil.join(&v1_snapshot), evil.join(&new_snapshot)).unwrap();
    let mut client = Client::new(w.updater(Persisted::default()));
    expect_failed(client.poll(now(), &[&evil]), "mixed_pack");
    assert_eq!(client.version(), None, "nothing installed");
}

#[test]
fn attack_tampered_or_endless_targets_are_refused_and_an_honest_mirror_is_used_instead() {
    let w = world();
    let pack = w.deploy("2026.11.27.10", "one");
    let evil = w.tmp.path().join("evil");
    copy_dir(&w.origin_dir(), &evil);
    let files = ferretwatch_pack_client::dir::pack_files(&pack).unwrap();
    let (name, bytes) = files.iter().find(|(n, _)| n.starts_with("yara-")).unwrap();
    let prefixed = ferretwatch_pack_client::layout::hash_prefixed(name, &ferretwatch_types::Sha256::of(bytes).to_hex());
    let mut changed = bytes.clone();
    changed[0] ^= 1;
    std::fs::write(evil.join(&prefixed), &changed).unwrap();

    let mut alone = Client::new(multi(&w, 1));
    expect_failed(alone.poll(now(), &[&evil]), "tampered");
    assert!(alone.files.is_empty(), "nothing unverified is ever installed");

    // Endless data: the same file, far longer than listed.
    std::fs::write(evil.join(&prefixed), vec![b'x'; bytes.len() * 100]).unwrap();
    let mut alone = Client::new(multi(&w, 1));
    expect_failed(alone.poll(now(), &[&evil]), "oversized");

    // With an honest mirror next to it, the client passes the bad one over.
    for first in [0usize, 1] {
        let mut client = Client::new(multi(&w, 2));
        let origin = w.origin_dir();
        let mirrors: [&Path; 2] = if first == 0 { [&evil, &origin] } else { [&origin, &evil] };
        assert!(matches!(client.poll(now(), &mirrors), Outcome::Updated { .. }));
        assert_eq!(client.files, files);
    }
}

#[test]
fn attack_unknown_keys_and_too_few_signatures_are_refused() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));

    // A mirror serving a pack signed by one publisher, or by a stranger.
    let mallory = PrivateKey::generate().unwrap();
    for (signers, code) in [(vec![&w.keys[0]], "too_few_signatures"), (vec![&w.keys[0], &mallory], "unknown_key")] {
        let pack = w.pack("2026.11.27.12", "evil", &signers);
        let evil = w.tmp.path().join(format!("evil-{code}"));
        copy_dir(&w.origin_dir(), &evil);
        for name in ["timestamp.json", "snapshot.json", "targets.json"] {
            std::fs::copy(pack.join(name), evil.join(name)).unwrap();
        }
        let mut client = Client {
            updater: w.updater(client.updater.persisted().clone()),
            files: BTreeMap::new(),
            base: BTreeMap::new(),
        };
        expect_failed(client.poll(now(), &[&evil]), code);
        std::fs::remove_dir_all(&pack).unwrap();
    }
}

#[test]
fn after_a_fast_forward_with_stolen_keys_rotating_them_lets_clients_take_legitimate_packs_again() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    // Mallory holds both keys and pushes a pack from far in the future.
    let stolen = w.pack("2030.01.01.00", "evil", &[&w.keys[0], &w.keys[1]]);
    let evil = w.tmp.path().join("evil");
    copy_dir(&w.origin_dir(), &evil);
    let mut attacked = Client::new(w.updater(Persisted::default()));
    deploy(&stolen, &Origin::open(&format!("file://{}", evil.display())).unwrap(), &w.root, now()).unwrap();
    assert_eq!(attacked.poll(now(), &[&evil]), Outcome::Updated { pack_version: "2030.01.01.00".into() });

    // The legitimate next pack, still under the stolen keys: refused as a rollback.
    w.deploy("2026.11.27.11", "two");
    let saved = attacked.updater.persisted().clone();
    let mut client = Client { updater: w.updater(saved.clone()), files: attacked.files.clone(), base: BTreeMap::new() };
    expect_failed(client.poll(now(), &[&w.origin_dir()]), "rollback");

    // The publishers rotate to new keys (root 2, signed by old and new) and publish.
    let new_keys = [PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap()];
    let root2 = Root::new(
        2,
        Timestamp::parse("2027-11-27T00:00:00Z").unwrap(),
        &[new_keys[0].public(), new_keys[1].public()],
        2,
    )
    .unwrap();
    let pack = w.pack("2026.11.27.12", "three", &[&new_keys[0], &new_keys[1]]);
    signed_root(&pack.join("2.root.json"), &root2, &[&w.keys[0], &w.keys[1], &new_keys[0], &new_keys[1]]);
    deploy(&pack, &w.origin(), &w.root, now()).unwrap();
    let mut client = Client { updater: w.updater(saved), files: attacked.files, base: BTreeMap::new() };
    assert_eq!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { pack_version: "2026.11.27.12".into() });
    assert_eq!(client.updater.root_version(), 2);
    // And rollback protection holds again from there.
    assert_eq!(client.poll(now(), &[&w.origin_dir()]), Outcome::Unchanged);
}

#[test]
fn a_pack_that_fails_to_install_is_never_retried_and_the_last_known_good_stays() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    w.deploy("2026.11.27.11", "two");
    let outcome = run_cycle(
        &mut client.updater,
        now(),
        |r| fetch_from(&DirSource(w.origin_dir()), r),
        |_| Err("the engine refused the rules".into()),
        |_| BTreeMap::new(),
    );
    expect_failed(outcome, "install_failed");
    assert_eq!(client.version().as_deref(), Some("2026.11.27.10"));
    // The next poll does not fetch it again.
    let mut installs = 0;
    let outcome = run_cycle(
        &mut client.updater,
        now(),
        |r| fetch_from(&DirSource(w.origin_dir()), r),
        |_| {
            installs += 1;
            Ok(())
        },
        |_| BTreeMap::new(),
    );
    assert_eq!((outcome, installs), (Outcome::Unchanged, 0));
    // A newer version is taken.
    w.deploy("2026.11.27.12", "three");
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    // A pack that stops loading later falls back to the last known good one.
    assert_eq!(client.updater.fall_back().map(|p| p.pack_version.clone()).as_deref(), Some("2026.11.27.10"));
    // Answering a fetch while an install is pending is a caller's mistake, refused calmly.
    w.deploy("2026.11.27.13", "pending");
    let mut step = client.updater.start(now());
    while let Step::Fetch(request) = step {
        step = client.updater.handle(now(), fetch_from(&DirSource(w.origin_dir()), &request));
    }
    assert!(matches!(step, Step::Install(_)));
    let refused = client.updater.handle(now(), Response::NotFound);
    assert!(matches!(refused, Step::Done(Outcome::Failed { ref code, .. }) if code == "installing"), "{refused:?}");
    assert!(matches!(client.updater.installed(now(), Err("not now".into())), Outcome::Failed { .. }));
}

#[test]
fn failures_back_off_honour_retry_after_then_fail_over_and_a_failed_cycle_waits_for_the_next_poll() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    let mut updater = multi(&w, 2);
    let Step::Fetch(first) = updater.start(now()) else { panic!("a request") };
    let Step::Fetch(second) = updater.handle(now(), Response::Failed { status: Some(503), retry_after: Some(5) })
    else {
        panic!("a retry")
    };
    assert_eq!(second.mirror, first.mirror, "retried on the same mirror first");
    assert!(second.not_before >= now().plus_secs(5), "Retry-After honoured: {:?}", second.not_before);
    let Step::Fetch(third) = updater.handle(now(), Response::Failed { status: None, retry_after: None }) else {
        panic!("a retry")
    };
    assert!(third.not_before > now(), "backed off");
    let Step::Fetch(fourth) = updater.handle(now(), Response::Failed { status: Some(500), retry_after: None }) else {
        panic!("a third retry")
    };
    assert_eq!(fourth.mirror, first.mirror, "three retries on the same mirror");
    assert!(fourth.not_before.as_millis() - now().as_millis() > third.not_before.as_millis() - now().as_millis());
    let Step::Fetch(other) = updater.handle(now(), Response::Failed { status: Some(500), retry_after: None }) else {
        panic!("the other mirror")
    };
    assert_ne!(other.mirror, first.mirror, "after the first attempt and three retries, the next mirror");
    let mut step = Step::Fetch(other);
    let outcome = loop {
        step = match step {
            Step::Fetch(_) => updater.handle(now(), Response::Failed { status: Some(502), retry_after: None }),
            Step::Done(outcome) => break outcome,
            Step::Install(_) | Step::ReadBase(_) => panic!(),
        }
    };
    expect_failed(outcome, "unreadable");
    let next = updater.persisted().next_poll.unwrap();
    assert!(next >= now().plus_secs(3600) && next <= now().plus_secs(3600 + 360), "{next}");
}

#[test]
fn a_fleet_spreads_its_first_polls_and_the_canary_cohort_is_stable_and_changes_with_the_salt() {
    let interval = 3600;
    let mut buckets = [0u32; 12];
    for i in 0..12_000 {
        buckets[(spread(&format!("install-{i}"), u64::MAX, interval) / 300) as usize] += 1;
    }
    assert!(buckets.iter().all(|&b| (800..=1200).contains(&b)), "evenly spread: {buckets:?}");
    let salt = "00112233445566778899aabbccddeeff";
    let cohort: Vec<usize> = (0..10_000).filter(|i| in_canary(&format!("install-{i}"), salt, 5)).collect();
    assert!((400..=600).contains(&cohort.len()), "{} of 10000 in a 5% cohort", cohort.len());
    assert!(
        (0..100).all(|i| in_canary(&format!("install-{i}"), salt, 5) == in_canary(&format!("install-{i}"), salt, 5))
    );
    let other: Vec<usize> =
        (0..10_000).filter(|i| in_canary(&format!("install-{i}"), "ffeeddccbbaa99887766554433221100", 5)).collect();
    let both = cohort.iter().filter(|i| other.contains(i)).count();
    assert!(both < 60, "a new salt draws a new cohort: {both} of {} in both", cohort.len());
    assert_eq!((0..1000).filter(|i| in_canary(&format!("install-{i}"), salt, 100)).count(), 1000);
}

#[test]
fn attack_one_mirror_replaying_an_old_valid_timestamp_cannot_hold_a_client_back() {
    let w = world();
    w.deploy("2026.11.27.10", "one");
    let mut client = Client::new(multi(&w, 2));
    assert!(matches!(client.poll(now(), &[&w.origin_dir(), &w.origin_dir()]), Outcome::Updated { .. }));
    // Mirror 0 is frozen at what the client has; mirror 1 gets the next pack.
    let frozen = w.tmp.path().join("frozen");
    copy_dir(&w.origin_dir(), &frozen);
    w.deploy("2026.11.27.11", "two");
    for mirrors in [[&frozen, &w.origin_dir()], [&w.origin_dir(), &frozen]] {
        let mut c = Client { updater: multi(&w, 2), files: BTreeMap::new(), base: BTreeMap::new() };
        assert!(matches!(c.poll(now(), &[&frozen, &frozen]), Outcome::Updated { .. }));
        assert_eq!(
            c.poll(now(), &[mirrors[0].as_path(), mirrors[1].as_path()]),
            Outcome::Updated { pack_version: "2026.11.27.11".into() }
        );
    }
    // With both mirrors frozen the client cannot know yet: unchanged, until the
    // timestamp expires (the freeze test above).
    assert_eq!(client.poll(now(), &[&frozen, &frozen]), Outcome::Unchanged);
}

/// A root whose timestamp role is the online key's alone.
fn online_world() -> (World, ferretwatch_pack_publisher::publish::OnlineKey) {
    let mut w = world();
    let online = PrivateKey::generate().unwrap();
    let root = Root::with_online_roles(
        1,
        Timestamp::parse("2027-11-27T00:00:00Z").unwrap(),
        &[w.keys[0].public(), w.keys[1].public()],
        2,
        &online.public(),
    )
    .unwrap();
    w.root = signed_root(&w.tmp.path().join("root.json"), &root, &[&w.keys[0], &w.keys[1]]);
    (w, ferretwatch_pack_publisher::publish::OnlineKey { key: online, ttl_secs: 24 * 3600 })
}

#[test]
fn an_online_timestamp_lives_a_day_is_renewed_by_the_service_and_a_freeze_shows_within_that_day() {
    use ferretwatch_pack_publisher::publish::{deploy_online, renew, Renewal};
    let (w, online) = online_world();
    let root = Root::parse_unverified(&w.root).unwrap();
    // Publishers sign targets and snapshot; the timestamp is not theirs to sign.
    let pack = w.tmp.path().join("dist-online");
    let mut options =
        BuildOptions::new(PackVersion::parse("2026.11.27.10").unwrap(), w.tmp.path().join("intel"), &pack);
    options.yara = None;
    build(&options).unwrap();
    for key in &w.keys {
        sign_pack(&pack, key, Some(&root)).unwrap();
    }
    assert!(!pack.join("timestamp.json").exists(), "publishers do not sign the online roles");
    assert!(!pack.join("snapshot.json").exists(), "publishers do not sign the online roles");
    // A deploy without the online key says what is missing.
    let err = deploy(&pack, &w.origin(), &w.root, now()).unwrap_err();
    assert!(err.to_string().contains("--online-key"), "{err}");
    deploy_online(&pack, &w.origin(), &w.root, now(), Some(&online)).unwrap();

    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    let expires = client.updater.persisted().timestamp_expires.unwrap();
    assert_eq!(expires, now().whole_second().plus_secs(24 * 3600), "a day, not the pack's week");

    // Renewal: nothing to do while more than half is left, then a new version.
    assert!(matches!(renew(&w.origin(), &w.root, &online, now(), 12 * 3600).unwrap(), Renewal::Fresh { .. }));
    let later = now().plus_secs(13 * 3600);
    let Renewal::Renewed { version, expires: renewed } =
        renew(&w.origin(), &w.root, &online, later, 12 * 3600).unwrap()
    else {
        panic!("due for renewal")
    };
    assert!(version > client.updater.persisted().trust.timestamp);
    assert_eq!(client.poll(later, &[&w.origin_dir()]), Outcome::Unchanged);
    assert_eq!(client.updater.persisted().timestamp_expires, Some(renewed));

    // Nobody renews any more (or the network freezes the view): noticed within the day.
    let frozen = renewed.plus_secs(1);
    expect_failed(client.poll(frozen, &[&w.origin_dir()]), "expired");
    assert!(client.updater.status(frozen).stale);

    // The online key signs snapshots and timestamps, never content: targets it signs
    // (a rules file of its own choosing) are refused.
    let evil = w.tmp.path().join("evil");
    copy_dir(&w.origin_dir(), &evil);
    let mut forged = Envelope::parse(&std::fs::read(evil.join("targets.json")).unwrap()).unwrap();
    let version = forged.signed["version"].as_u64().unwrap() + 1;
    forged.signed["version"] = serde_json::json!(version);
    forged.signatures.clear();
    online.key.sign_envelope(&mut forged).unwrap();
    let forged_targets = forged.to_bytes();
    std::fs::write(evil.join(format!("{version}.targets.json")), &forged_targets).unwrap();
    let snapshot = ferretwatch_pack_publisher::publish::timestamp::make_snapshot(
        &forged_targets,
        &[],
        version,
        later.plus_secs(86_400),
        &online,
    )
    .unwrap();
    std::fs::write(evil.join(format!("{version}.snapshot.json")), &snapshot).unwrap();
    let ts =
        ferretwatch_pack_publisher::publish::timestamp::make(&snapshot, version, 99_999_999_999_999, &online, later, 1);
    std::fs::write(evil.join("timestamp.json"), ts).unwrap();
    let mut fresh = Client::new(w.updater(Persisted::default()));
    expect_failed(fresh.poll(later, &[&evil]), "unknown_key");
}

/// An online world whose pack delegates `intel/*` to an automated key, deployed.
fn intel_world() -> (World, ferretwatch_pack_publisher::publish::OnlineKey, PrivateKey) {
    use ferretwatch_pack_publisher::publish::{deploy_online, intel::write_delegation};
    let (w, online) = online_world();
    let intel = PrivateKey::generate().unwrap();
    let root = Root::parse_unverified(&w.root).unwrap();
    let pack = w.tmp.path().join("dist-delegating");
    build(&BuildOptions::new(PackVersion::parse("2026.11.27.10").unwrap(), w.tmp.path().join("intel"), &pack)).unwrap();
    write_delegation(&pack, Some(&intel.public())).unwrap();
    for key in &w.keys {
        sign_pack(&pack, key, Some(&root)).unwrap();
    }
    deploy_online(&pack, &w.origin(), &w.root, now(), Some(&online)).unwrap();
    (w, online, intel)
}

/// Feeds refreshed: the URLhaus fixture, fetched at `at`.
fn refresh_feeds(w: &World, at: Timestamp) {
    use ferretwatch_pack_client::manifest::FeedSource;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/feeds/urlhaus.csv");
    let request = ferretwatch_pack_publisher::FetchRequest::new(
        FeedSource::Urlhaus,
        fixture.display().to_string(),
        w.tmp.path().join("intel"),
        at,
    );
    ferretwatch_pack_publisher::fetch(&request).unwrap();
}

fn publish_intel_at(
    w: &World,
    online: &ferretwatch_pack_publisher::publish::OnlineKey,
    intel: &PrivateKey,
    at: Timestamp,
) -> ferretwatch_pack_publisher::publish::IntelReport {
    use ferretwatch_pack_publisher::publish::intel::{publish_intel, IntelPublish};
    let work = tempfile::tempdir().unwrap();
    let feeds = w.tmp.path().join("intel");
    let request = IntelPublish { feeds: &feeds, ttl_secs: 48 * 3600, now: at, work: work.path() };
    publish_intel(&w.origin(), &w.root, intel, online, &request).unwrap()
}

#[test]
fn fresh_intel_signed_by_the_delegated_key_alone_reaches_a_client_and_loads() {
    let (w, online, intel) = intel_world();
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    assert!(!client.files.contains_key("intel/manifest.json"));

    let later = now().plus_secs(1800);
    refresh_feeds(&w, later);
    let report = publish_intel_at(&w, &online, &intel, later);
    assert_eq!(report.role_version, 1);
    assert!(report.filters.iter().any(|(_, count)| *count > 0), "{:?}", report.filters);
    assert_eq!(report.uploaded.last().map(String::as_str), Some("timestamp.json"));

    // No publisher signed anything since; the client takes the intel at its next poll.
    assert!(matches!(client.poll(later, &[&w.origin_dir()]), Outcome::Updated { .. }));
    assert!(client.files.contains_key("intel/manifest.json"));
    let loaded = ferretwatch_pack_client::load::load(
        &client.files,
        later,
        ferretwatch_pack_client::load::YaraLimit::Timeout(std::time::Duration::from_secs(1)),
        false,
    )
    .expect("the pack with fresh intel loads");
    assert!(loaded.expired_filters.is_empty());
    assert_eq!(client.updater.persisted().trust.delegated.get("intel"), Some(&1));

    // A second refresh: the role's version moves on, the client follows.
    let again = later.plus_secs(3600);
    refresh_feeds(&w, again);
    assert_eq!(publish_intel_at(&w, &online, &intel, again).role_version, 2);
    assert!(matches!(client.poll(again, &[&w.origin_dir()]), Outcome::Updated { .. }));
    assert_eq!(client.updater.persisted().trust.delegated.get("intel"), Some(&2));
}

#[test]
fn attack_the_intel_key_cannot_ship_rules_and_its_old_metadata_cannot_be_replayed() {
    use ferretwatch_pack_publisher::publish::timestamp::{make, make_snapshot};
    let (w, online, intel) = intel_world();
    let later = now().plus_secs(1800);
    refresh_feeds(&w, later);
    publish_intel_at(&w, &online, &intel, later);
    let old = w.tmp.path().join("origin-intel-1");
    copy_dir(&w.origin_dir(), &old);
    publish_intel_at(&w, &online, &intel, later.plus_secs(60));
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(later.plus_secs(60), &[&w.origin_dir()]), Outcome::Updated { .. }));
    // Replaying the first intel (a valid, older role version) is a rollback.
    expect_failed(client.poll(later.plus_secs(60), &[&old]), "rollback");

    // Whoever holds the automated keys lists a rules file in the intel role.
    let evil = w.tmp.path().join("evil");
    copy_dir(&w.origin_dir(), &evil);
    let rules = b"{\"version\": \"evil\"}".to_vec();
    let sha = ferretwatch_types::Sha256::of(&rules).to_hex();
    let name = format!("rules.{}.json", &sha[..16]);
    std::fs::write(evil.join(ferretwatch_pack_client::layout::hash_prefixed(&name, &sha)), &rules).unwrap();
    let role = ferretwatch_pack_client::trust::metadata::Targets {
        kind: "targets".into(),
        spec_version: "1.0.31".into(),
        version: 9,
        expires: later.plus_secs(86_400),
        targets: BTreeMap::from([(name, ferretwatch_pack_client::trust::metadata::TargetFile::of(&rules))]),
        custom: None,
        delegations: None,
    };
    let mut envelope = Envelope::new(&role);
    intel.sign_envelope(&mut envelope).unwrap();
    let role_bytes = envelope.to_bytes();
    std::fs::write(evil.join("9.intel.json"), &role_bytes).unwrap();
    let targets = std::fs::read(evil.join("targets.json")).unwrap();
    let snapshot =
        make_snapshot(&targets, &[("intel".into(), role_bytes)], 99, later.plus_secs(86_400), &online).unwrap();
    std::fs::write(evil.join("99.snapshot.json"), &snapshot).unwrap();
    std::fs::write(evil.join("timestamp.json"), make(&snapshot, 99, 99, &online, later, 1)).unwrap();
    let mut fresh = Client::new(w.updater(Persisted::default()));
    expect_failed(fresh.poll(later.plus_secs(60), &[&evil]), "delegation_violation");

    // And a role signed by a key the delegation does not name is refused.
    let mallory = PrivateKey::generate().unwrap();
    let mut envelope = Envelope::new(&role);
    envelope.signed["targets"] = serde_json::json!({});
    mallory.sign_envelope(&mut envelope).unwrap();
    let role_bytes = envelope.to_bytes();
    std::fs::write(evil.join("9.intel.json"), &role_bytes).unwrap();
    let snapshot =
        make_snapshot(&targets, &[("intel".into(), role_bytes)], 99, later.plus_secs(86_400), &online).unwrap();
    std::fs::write(evil.join("99.snapshot.json"), &snapshot).unwrap();
    std::fs::write(evil.join("timestamp.json"), make(&snapshot, 99, 99, &online, later, 1)).unwrap();
    let mut fresh = Client::new(w.updater(Persisted::default()));
    expect_failed(fresh.poll(later.plus_secs(60), &[&evil]), "unknown_key");
}

#[test]
fn the_degradation_level_in_the_timestamp_holds_packs_back_and_slows_polls_until_it_drops() {
    use ferretwatch_pack_publisher::publish::deploy_online;
    use ferretwatch_pack_publisher::publish::timestamp::set_degradation;
    let (w, online) = online_world();
    let root = Root::parse_unverified(&w.root).unwrap();
    let deploy_version = |version: &str, marker: &str, at: Timestamp| {
        let pack = w.pack(version, marker, &[]);
        for key in &w.keys {
            sign_pack(&pack, key, Some(&root)).unwrap();
        }
        deploy_online(&pack, &w.origin(), &w.root, at, Some(&online)).unwrap();
    };
    deploy_version("2026.11.27.10", "first", now());
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    assert_eq!(client.updater.degradation(), 1);
    let normal_wait = client.updater.next_poll(now()).secs_since(now());
    assert!((3600..=3960).contains(&normal_wait), "{normal_wait}");

    // Level 3: cached rules only. A new pack is deployed, and the client keeps its own.
    let t1 = now().plus_secs(3600);
    set_degradation(&w.origin(), &w.root, &online, t1, 3).unwrap();
    deploy_version("2026.11.27.11", "second", t1);
    assert_eq!(client.poll(t1, &[&w.origin_dir()]), Outcome::Unchanged);
    assert_eq!(client.updater.status(t1).pack_version.as_deref(), Some("2026.11.27.10"));
    assert_eq!(client.updater.status(t1).degradation, 3);
    assert!(!client.updater.status(t1).stale, "the timestamp was still verified and renewed");
    let degraded_wait = client.updater.next_poll(t1).secs_since(t1);
    assert!(degraded_wait >= 4 * 3600, "polls four times less often: {degraded_wait}");
    // A client that has nothing yet still installs a pack.
    let mut newcomer = Client::new(w.updater(Persisted::default()));
    assert!(matches!(newcomer.poll(t1, &[&w.origin_dir()]), Outcome::Updated { .. }));

    // The level cannot be forged: a copy whose timestamp says 1, signed by a stranger.
    let evil = w.tmp.path().join("evil-level");
    copy_dir(&w.origin_dir(), &evil);
    let mut forged = Envelope::parse(&std::fs::read(evil.join("timestamp.json")).unwrap()).unwrap();
    forged.signed.as_object_mut().unwrap().remove("custom");
    forged.signed["version"] = serde_json::json!(forged.signed["version"].as_u64().unwrap() + 1);
    forged.signatures.clear();
    PrivateKey::generate().unwrap().sign_envelope(&mut forged).unwrap();
    std::fs::write(evil.join("timestamp.json"), forged.to_bytes()).unwrap();
    expect_failed(client.poll(t1.plus_secs(60), &[&evil]), "unknown_key");
    assert_eq!(client.updater.degradation(), 3);

    // Back to full service: the next poll takes the new pack.
    let t2 = t1.plus_secs(4 * 3600);
    set_degradation(&w.origin(), &w.root, &online, t2, 1).unwrap();
    assert!(
        matches!(client.poll(t2, &[&w.origin_dir()]), Outcome::Updated { pack_version } if pack_version == "2026.11.27.11")
    );
    assert_eq!(client.updater.degradation(), 1);
}

#[test]
fn mirrors_listed_in_the_signed_pack_are_used_when_the_configured_origin_is_down() {
    let w = world();
    let pack = w.tmp.path().join("dist-mirrored");
    build(&BuildOptions::new(PackVersion::parse("2026.11.27.10").unwrap(), w.tmp.path().join("intel"), &pack)).unwrap();
    std::fs::write(pack.join(ferretwatch_pack_client::layout::MIRRORS), r#"["https://cdn-b.example/packs/"]"#).unwrap();
    for key in &w.keys {
        sign_pack(&pack, key, None).unwrap();
    }
    deploy(&pack, &w.origin(), &w.root, now()).unwrap();
    let mut client = Client::new(w.updater(Persisted::default()));
    assert_eq!(client.updater.mirrors(), ["https://mirror-0"]);
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    assert_eq!(client.updater.mirrors(), ["https://mirror-0", "https://cdn-b.example/packs"]);

    // The configured origin goes down; the listed mirror (a faithful copy) serves the
    // next pack, verified exactly as the origin's would be.
    w.deploy("2026.11.27.11", "second");
    let mirror = w.tmp.path().join("cdn-b");
    copy_dir(&w.origin_dir(), &mirror);
    let at = now().plus_secs(3600);
    let files = &mut client.files;
    let mut asked = Vec::new();
    let outcome = run_cycle(
        &mut client.updater,
        at,
        |request: &Request| {
            asked.push(request.url.clone());
            match request.mirror {
                0 => Response::Failed { status: Some(503), retry_after: None },
                _ => fetch_from(&DirSource(mirror.clone()), request),
            }
        },
        |staged: &Staged| {
            install(files, staged);
            Ok(())
        },
        |_| BTreeMap::new(),
    );
    assert!(matches!(outcome, Outcome::Updated { ref pack_version } if pack_version == "2026.11.27.11"), "{outcome:?}");
    assert!(asked.iter().any(|url| url.starts_with("https://cdn-b.example/packs/")), "{asked:?}");
    // The new pack lists no mirrors: the list follows the installed pack.
    assert_eq!(client.updater.mirrors(), ["https://mirror-0"]);
}

#[test]
fn bulletins_are_verified_held_shown_in_scope_within_their_cap_and_forgeries_are_dropped() {
    use ferretwatch_pack_client::bulletin::{Place, Severity};
    use ferretwatch_pack_publisher::bulletin::{create, publish_bulletin, sign_new, BulletinSpec};
    let w = world();
    w.deploy("2026.11.27.10", "first");
    let publish = |spec: BulletinSpec, keys: &[PrivateKey]| {
        let envelope = sign_new(&create(spec).unwrap(), keys).unwrap();
        publish_bulletin(&w.origin(), &envelope.to_bytes(), &w.root, now()).unwrap();
    };
    let mut paypal = BulletinSpec::new(Severity::High, "PayPal invoices are a scam today", now());
    paypal.id = Some("paypal-invoices".into());
    paypal.etld_plus1 = vec!["paypal.com".into()];
    paypal.brands = vec!["PayPal".into()];
    paypal.frequency_cap = 2;
    paypal.ttl = 3 * 86_400;
    publish(paypal.clone(), &w.keys);
    let mut everywhere = BulletinSpec::new(Severity::Critical, "Check links before you sign in", now());
    everywhere.id = Some("everywhere".into());
    everywhere.locales = vec!["de".into()];
    publish(everywhere, &w.keys);

    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(now(), &[&w.origin_dir()]), Outcome::Updated { .. }));
    let held = &client.updater.persisted().bulletins.held;
    assert_eq!(held.keys().collect::<Vec<_>>(), ["everywhere", "paypal-invoices"]);

    let brands = ["paypal".to_owned()];
    fn on<'a>(etld1: Option<&'a str>, brands: &'a [String], locale: &'a str) -> Place<'a> {
        Place { etld1, brands, locale }
    }
    fn ids(client: &Client, place: &Place<'_>, at: Timestamp) -> Vec<String> {
        client.updater.bulletins_for(place, at).iter().map(|b| b.id.clone()).collect()
    }
    assert_eq!(ids(&client, &on(Some("paypal.com"), &[], "en-GB"), now()), ["paypal-invoices"]);
    assert_eq!(ids(&client, &on(Some("paypa1-login.example"), &brands, "en"), now()), ["paypal-invoices"]);
    assert!(ids(&client, &on(Some("example.org"), &[], "en"), now()).is_empty(), "out of scope, and not in German");
    assert_eq!(ids(&client, &on(Some("paypal.com"), &[], "de-CH"), now()), ["everywhere"]);
    // The frequency cap: twice a day, then again the next day.
    client.updater.bulletin_shown("paypal-invoices", now());
    client.updater.bulletin_shown("paypal-invoices", now());
    assert!(ids(&client, &on(Some("paypal.com"), &[], "en"), now()).is_empty());
    let tomorrow = now().plus_secs(86_400);
    assert_eq!(ids(&client, &on(Some("paypal.com"), &[], "en"), tomorrow), ["paypal-invoices"]);
    // The German one lived a day: gone, not merely uncapped.
    assert!(ids(&client, &on(None, &[], "de"), tomorrow).is_empty());

    // A reissue with a higher version replaces the held one; a forged bulletin (one
    // publisher's signature, or a stranger's) at the same origin is never held.
    let mut reissue = paypal.clone();
    reissue.version = 2;
    reissue.advisory_text = "PayPal invoices: still a scam".into();
    publish(reissue, &w.keys);
    let index_path = w.origin_dir().join(ferretwatch_pack_client::layout::BULLETIN_INDEX);
    let mut forged = BulletinSpec::new(Severity::Critical, "Install this 'security update'", now());
    forged.id = Some("forged".into());
    let envelope = sign_new(&create(forged).unwrap(), &[PrivateKey::generate().unwrap()]).unwrap();
    let file = "bulletins/bulletin-forged.0123456789abcdef.json".to_owned();
    std::fs::write(w.origin_dir().join(&file), envelope.to_bytes()).unwrap();
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["bulletins"].as_array_mut().unwrap().push(serde_json::json!({
        "id": "forged", "version": 1, "severity": "critical", "file": file, "expires": "2026-11-28T12:20:00Z"
    }));
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    assert_eq!(client.poll(now().plus_secs(3600), &[&w.origin_dir()]), Outcome::Unchanged);
    let held = &client.updater.persisted().bulletins.held;
    assert_eq!(held.keys().collect::<Vec<_>>(), ["everywhere", "paypal-invoices"]);
    assert_eq!(held["paypal-invoices"].version, 2);
    let board = &client.updater.persisted().bulletins;
    assert!(!board.fetched.contains(&file) && board.index_etag.is_none(), "nothing unverified is remembered");

    // A bulletin damaged on one mirror is taken from the other, whichever is asked first.
    let mut urgent = BulletinSpec::new(Severity::Critical, "Fake parcel notices today", now());
    urgent.id = Some("parcels".into());
    publish(urgent, &w.keys);
    let damaged = w.tmp.path().join("damaged");
    copy_dir(&w.origin_dir(), &damaged);
    for entry in std::fs::read_dir(damaged.join("bulletins")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("bulletin-parcels.") {
            let mut bytes = std::fs::read(&path).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 1;
            std::fs::write(&path, bytes).unwrap();
        }
    }
    for order in [[&damaged, &w.origin_dir()], [&w.origin_dir(), &damaged]] {
        let mut two = Client::new(multi(&w, 2));
        let outcome = two.poll_with(now(), |r| fetch_from(&DirSource(order[r.mirror].to_path_buf()), r));
        assert!(matches!(outcome, Outcome::Updated { .. }), "{outcome:?}");
        assert!(two.updater.persisted().bulletins.held.contains_key("parcels"), "{:?}", order);
    }

    // At degradation level 4 only critical bulletins show.
    let mut state = client.updater.persisted().clone();
    state.degradation = 4;
    let degraded = Client::new(w.updater(state));
    assert!(ids(&degraded, &on(Some("paypal.com"), &[], "en"), now().plus_secs(3600)).is_empty());
    assert_eq!(ids(&degraded, &on(None, &[], "de"), now().plus_secs(3600)), ["everywhere"]);
}

#[test]
fn an_emergency_rule_keeps_the_intel_delegation_and_the_mirrors_and_clients_keep_fresh_intel() {
    use ferretwatch_pack_client::bulletin::Severity;
    use ferretwatch_pack_publisher::publish::intel::write_delegation;
    use ferretwatch_pack_publisher::publish::{deploy_online, emergency, EmergencyRule};
    use ferretwatch_pack_publisher::sign::write_mirrors;
    let (w, online, intel) = intel_world();
    let root = Root::parse_unverified(&w.root).unwrap();
    let pack = w.tmp.path().join("dist-mirrored");
    build(&BuildOptions::new(PackVersion::parse("2026.11.27.11").unwrap(), w.tmp.path().join("intel"), &pack)).unwrap();
    write_delegation(&pack, Some(&intel.public())).unwrap();
    write_mirrors(&pack, &["https://cdn-b.example/packs".to_owned()]).unwrap();
    for key in &w.keys {
        sign_pack(&pack, key, Some(&root)).unwrap();
    }
    deploy_online(&pack, &w.origin(), &w.root, now(), Some(&online)).unwrap();
    let later = now().plus_secs(1800);
    refresh_feeds(&w, later);
    publish_intel_at(&w, &online, &intel, later);
    let mut client = Client::new(w.updater(Persisted::default()));
    assert!(matches!(client.poll(later, &[&w.origin_dir()]), Outcome::Updated { .. }));
    assert!(client.files.contains_key("intel/manifest.json"));

    let rule = EmergencyRule {
        rule_id: "PHISH-2026-001".into(),
        severity: Severity::High,
        source: "rule phish_2026_001 { strings: $a = \"kit-2026-001\" condition: $a }".into(),
    };
    let at = later.plus_secs(600);
    let out = w.tmp.path().join("dist-emergency");
    let republished = emergency(&w.origin(), &rule, &w.root, &w.keys, Some(out.clone()), at).unwrap();
    assert!(out.join(ferretwatch_pack_client::layout::DELEGATIONS).exists(), "the delegation is kept");
    deploy_online(&out, &w.origin(), &w.root, at, Some(&online)).unwrap();
    let outcome = client.poll(at, &[&w.origin_dir()]);
    assert_eq!(outcome, Outcome::Updated { pack_version: republished.version.to_string() });
    assert!(client.files.contains_key("intel/manifest.json"), "fresh intel still reaches the client");
    assert_eq!(client.updater.mirrors(), ["https://mirror-0", "https://cdn-b.example/packs"]);
    // And the intel role can still publish on top of the emergency pack.
    publish_intel_at(&w, &online, &intel, at.plus_secs(60));
    assert!(matches!(client.poll(at.plus_secs(60), &[&w.origin_dir()]), Outcome::Updated { .. }));
}

#[test]
fn fresh_intel_is_installed_on_disk_beside_the_running_pack_which_stays_the_last_known_good() {
    use ferretwatch_pack_client::install::ClientDir;
    let (w, online, intel) = intel_world();
    let client = ClientDir::open(&w.tmp.path().join("client")).unwrap();
    let mut updater = w.updater(Persisted::default());
    let yara = std::time::Duration::from_secs(2);
    let poll = |updater: &mut Updater, at: Timestamp| {
        let running = updater.persisted().current.clone();
        run_cycle(
            updater,
            at,
            |r| fetch_from(&DirSource(w.origin_dir()), r),
            |staged| client.install(staged, running.as_ref(), at, yara).map_err(|e| e.to_string()),
            |names| client.read_base(names),
        )
    };
    assert!(matches!(poll(&mut updater, now()), Outcome::Updated { .. }));
    let first = updater.persisted().current.clone().unwrap();
    let later = now().plus_secs(1800);
    refresh_feeds(&w, later);
    publish_intel_at(&w, &online, &intel, later);
    assert!(matches!(poll(&mut updater, later), Outcome::Updated { .. }));
    let second = updater.persisted().current.clone().unwrap();
    assert_eq!(first.version, second.version, "fresh intel keeps the targets version");
    assert_ne!(client.pack_dir(&first), client.pack_dir(&second), "but not the directory");
    assert_eq!(updater.persisted().last_known_good.as_ref(), Some(&first));
    assert!(client.files(&second).unwrap().contains_key("intel/manifest.json"));
    client.load(&second, later, yara).unwrap();
    client.load(&first, later, yara).unwrap();
    client.prune(updater.persisted()).unwrap();
    assert!(client.pack_dir(&first).exists() && client.pack_dir(&second).exists());
}

mod hostile_network {
    //! Whatever a hostile network answers, in any order, the updater never panics, never
    //! installs anything, and always ends its cycle within a bounded number of requests.
    use super::*;
    use proptest::prelude::*;

    fn response() -> impl Strategy<Value = Response> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..600).prop_map(|bytes| Response::Body { bytes, etag: None }),
            Just(Response::Body {
                bytes: b"{\"signed\": {}, \"signatures\": []}".to_vec(),
                etag: Some("\"x\"".into())
            }),
            Just(Response::NotModified),
            Just(Response::NotFound),
            (proptest::option::of(100u16..600), proptest::option::of(0u64..100_000))
                .prop_map(|(status, retry_after)| Response::Failed { status, retry_after }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_answers_never_install_and_always_end(answers in proptest::collection::vec(response(), 1..60)) {
            let w = world();
            let mut updater = multi(&w, 2);
            let mut step = updater.start(now());
            let mut requests = 0;
            let mut answers = answers.into_iter().cycle();
            let outcome = loop {
                step = match step {
                    Step::Fetch(request) => {
                        requests += 1;
                        prop_assert!(requests < 1000, "a cycle must end");
                        prop_assert!(request.url.ends_with(&request.name));
                        updater.handle(request.not_before, answers.next().unwrap())
                    }
                    Step::Install(_) | Step::ReadBase(_) => panic!("nothing unverified is ever installed"),
                    Step::Done(outcome) => break outcome,
                };
            };
            prop_assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
            prop_assert!(updater.persisted().current.is_none());
            prop_assert!(updater.persisted().next_poll.unwrap() >= now().plus_secs(3600));
        }
    }
}
