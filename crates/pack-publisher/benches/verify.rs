//! Verify a 10 MB pack (signatures and hashes) ≤ 50 ms: a client's whole check of a pack
//! signed by two publishers, read from a directory: root, timestamp, snapshot, targets,
//! then every file's length and sha256.
//!
//! `cargo bench -p ferretwatch-pack-publisher --bench verify`

use criterion::{criterion_group, criterion_main, Criterion};
use ferretwatch_pack_client::dir::DirSource;
use ferretwatch_pack_client::trust::metadata::{Envelope, Root};
use ferretwatch_pack_client::trust::verify::{State, Verifier};
use ferretwatch_pack_publisher::keys::PrivateKey;
use ferretwatch_pack_publisher::sign::{sign_pack, sign_root};
use ferretwatch_types::Timestamp;

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (PrivateKey::generate().unwrap(), PrivateKey::generate().unwrap());
    let root = Root::new(1, Timestamp::parse("2030-01-01T00:00:00Z").unwrap(), &[a.public(), b.public()], 2).unwrap();
    let root_path = tmp.path().join("root.json");
    std::fs::write(&root_path, Envelope::new(&root).to_bytes()).unwrap();
    sign_root(&root_path, &a).unwrap();
    sign_root(&root_path, &b).unwrap();
    let root_bytes = std::fs::read(&root_path).unwrap();

    // 10 MB in the shape of a pack: three filters, rules, YARA sources, a manifest.
    let pack = tmp.path().join("dist");
    std::fs::create_dir_all(&pack).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    for (name, size) in [("intel-host.fwf", 4_000_000), ("intel-url.fwf", 4_000_000), ("intel-ip.fwf", 1_500_000)] {
        std::fs::write(pack.join(name), noise(size)).unwrap();
    }
    std::fs::write(pack.join("rules.json"), vec![b' '; 400_000]).unwrap();
    for i in 0..20 {
        std::fs::write(pack.join(format!("yara-{i}.yar")), vec![b'r'; 5_000]).unwrap();
    }
    std::fs::write(pack.join("manifest.json"), r#"{"version": "2029.01.01.00", "expires": "2029-12-31T00:00:00Z"}"#)
        .unwrap();
    sign_pack(&pack, &a, None).unwrap();
    sign_pack(&pack, &b, None).unwrap();

    let now = Timestamp::parse("2029-06-01T00:00:00Z").unwrap();
    let source = DirSource(pack);
    let verified = Verifier::new(root_bytes.clone(), now, State::default()).verify(&source).unwrap();
    let bytes: usize = verified.files.values().map(Vec::len).sum();
    assert!(bytes >= 10_000_000, "{bytes} bytes");

    c.bench_function("verify_10mb_pack_two_signatures", |bench| {
        bench.iter(|| Verifier::new(root_bytes.clone(), now, State::default()).verify(&source).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
