//! Rule pack canaries against a real origin written by `pack deploy`, read by real updater
//! clients: the cohort each client draws from the signed salt takes the canary pack, the
//! others the control, every file verified as usual; finalising converges everyone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferretwatch_pack_client::dir::DirSource;
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::update::{fetch_from, in_canary, run_cycle, Config, Outcome, Persisted, Staged, Updater};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_pack_publisher::publish::canary::{self, Decision};
use ferretwatch_pack_publisher::publish::deploy;
use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
use ferretwatch_pack_publisher::{build, BuildOptions};
use ferretwatch_types::{PackVersion, Timestamp};

const RULE: &str =
    "rule canary_marker { meta: severity = \"low\" strings: $a = \"zz-canary-marker-zz\" condition: $a }\n";

fn now() -> Timestamp {
    Timestamp::parse("2026-11-27T12:20:00Z").unwrap()
}

struct World {
    tmp: tempfile::TempDir,
    keys: Vec<PrivateKey>,
    root: Vec<u8>,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let keys = vec![PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap()];
        let root =
            Root::new(1, Timestamp::parse("2027-11-27T00:00:00Z").unwrap(), &[keys[0].public(), keys[1].public()], 2)
                .unwrap();
        let path = tmp.path().join("root.json");
        std::fs::write(&path, Envelope::new(&root).to_bytes()).unwrap();
        for key in &keys {
            sign_root(&path, key).unwrap();
        }
        let root = std::fs::read(&path).unwrap();
        std::fs::create_dir_all(tmp.path().join("intel")).unwrap();
        let w = World { tmp, keys, root };
        let out = w.tmp.path().join("dist-base");
        build(&BuildOptions::new(PackVersion::parse("2026.11.27.10").unwrap(), w.tmp.path().join("intel"), &out))
            .unwrap();
        for key in &w.keys {
            sign_pack(&out, key, None).unwrap();
        }
        deploy(&out, &w.origin(), &w.root, now()).unwrap();
        w
    }

    fn origin_dir(&self) -> PathBuf {
        self.tmp.path().join("origin")
    }

    fn origin(&self) -> Origin {
        Origin::open(&format!("file://{}", self.origin_dir().display())).unwrap()
    }

    fn out(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
}

struct Client {
    id: String,
    updater: Updater,
    files: BTreeMap<String, Vec<u8>>,
}

impl Client {
    fn new(w: &World, id: String) -> Self {
        let updater =
            Updater::new(Config::new(vec!["https://origin".into()], id.clone()), &w.root, Persisted::default())
                .unwrap();
        Client { id, updater, files: BTreeMap::new() }
    }

    fn poll(&mut self, origin: &Path, at: Timestamp) -> Outcome {
        let files = &mut self.files;
        run_cycle(
            &mut self.updater,
            at,
            |request| fetch_from(&DirSource(origin.to_owned()), request),
            |staged: &Staged| {
                let mut next: BTreeMap<String, Vec<u8>> =
                    staged.kept.iter().map(|name| (name.clone(), files[name].clone())).collect();
                next.extend(staged.fetched.clone());
                assert_eq!(next.keys().collect::<Vec<_>>(), staged.pack.files.keys().collect::<Vec<_>>());
                *files = next;
                Ok(())
            },
            |_| BTreeMap::new(),
        )
    }

    fn version(&self) -> String {
        self.updater.status(now()).pack_version.unwrap()
    }

    fn runs_canary_rules(&self) -> bool {
        self.files.keys().any(|name| name.starts_with("yara-canary."))
    }
}

fn fleet(w: &World, n: usize) -> Vec<Client> {
    (0..n).map(|i| Client::new(w, format!("{:032x}", i * 7919 + 13))).collect()
}

#[test]
fn a_canary_reaches_its_cohort_only_stays_put_and_a_rollback_or_promotion_converges_everyone() {
    let w = World::new();
    let origin = w.origin();
    let mut clients = fleet(&w, 120);
    for c in &mut clients {
        assert!(matches!(c.poll(&w.origin_dir(), now()), Outcome::Updated { .. }));
        assert_eq!(c.version(), "2026.11.27.10");
    }

    // A canary for half the fleet (so both sides are large in a small fleet).
    let started = canary::start(&origin, RULE, 50, &w.root, &w.keys, w.out("dist-c1"), now()).unwrap();
    assert!(started.made.fully_signed());
    deploy(&started.made.out, &origin, &w.root, now()).unwrap();
    canary::record_started(&origin, &started.record).unwrap();
    let record = canary::running(&origin).unwrap().expect("recorded");
    assert_eq!(record.salt.len(), 32);
    // A second canary is refused while this one runs.
    let err = canary::start(&origin, RULE, 5, &w.root, &w.keys, w.out("dist-c2"), now()).unwrap_err();
    assert!(err.to_string().contains("finalize it first"), "{err}");

    let later = now().plus_secs(3600);
    let mut in_cohort = 0;
    for c in &mut clients {
        assert!(matches!(c.poll(&w.origin_dir(), later), Outcome::Updated { .. }));
        let expected = in_canary(&c.id, &record.salt, 50);
        in_cohort += usize::from(expected);
        if expected {
            assert_eq!(c.version(), record.pack_version.as_str());
            assert!(c.runs_canary_rules(), "{} is in the cohort", c.id);
        } else {
            assert_eq!(c.version(), record.control_version.as_str());
            assert!(!c.runs_canary_rules());
        }
        assert!(!c.files.keys().any(|n| n.starts_with("canary/")), "no canary/ name is installed");
        // Stable: the next poll changes nothing.
        assert_eq!(c.poll(&w.origin_dir(), later.plus_secs(3600)), Outcome::Unchanged);
    }
    assert!((30..=90).contains(&in_cohort), "{in_cohort} of 120 in a 50% cohort");

    // Rollback: everyone on the control's content, the canary's rules nowhere.
    let (made, finished) =
        canary::finish_canary(&origin, Decision::Rollback, &w.root, &w.keys, w.out("dist-r"), now()).unwrap();
    deploy(&made.out, &origin, &w.root, now()).unwrap();
    canary::record_finished(&origin, &finished).unwrap();
    assert!(canary::running(&origin).unwrap().is_none());
    let final_version = finished.final_version.unwrap().to_string();
    for c in &mut clients {
        c.poll(&w.origin_dir(), later.plus_secs(7200));
        assert_eq!(c.version(), final_version);
        assert!(!c.runs_canary_rules());
    }
    let err = canary::finish_canary(&origin, Decision::Promote, &w.root, &w.keys, w.out("dist-x"), now()).unwrap_err();
    assert!(err.to_string().contains("no canary runs"), "{err}");

    // A new canary draws a new cohort (new salt); promoted, everyone runs its rules.
    let started = canary::start(&origin, RULE, 50, &w.root, &w.keys, w.out("dist-c3"), now()).unwrap();
    deploy(&started.made.out, &origin, &w.root, now()).unwrap();
    canary::record_started(&origin, &started.record).unwrap();
    assert_ne!(started.record.salt, record.salt);
    for c in &mut clients {
        c.poll(&w.origin_dir(), later.plus_secs(3 * 3600));
        assert_eq!(c.runs_canary_rules(), in_canary(&c.id, &started.record.salt, 50));
    }
    let (made, finished) =
        canary::finish_canary(&origin, Decision::Promote, &w.root, &w.keys, w.out("dist-p"), now()).unwrap();
    deploy(&made.out, &origin, &w.root, now()).unwrap();
    canary::record_finished(&origin, &finished).unwrap();
    let final_version = finished.final_version.unwrap().to_string();
    for c in &mut clients {
        c.poll(&w.origin_dir(), later.plus_secs(4 * 3600));
        assert_eq!(c.version(), final_version);
        assert!(c.runs_canary_rules(), "promoted: every install runs the new rules");
    }
}

#[test]
fn yara_that_does_not_compile_is_refused_with_the_compiler_message_and_nothing_is_written() {
    let w = World::new();
    let err = canary::start(&w.origin(), "rule broken { condition: }", 5, &w.root, &w.keys, w.out("dist-b"), now())
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("yara") || err.to_string().contains("canary.yar"), "{err}");
    assert!(canary::running(&w.origin()).unwrap().is_none());
}
