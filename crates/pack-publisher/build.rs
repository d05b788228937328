//! Marks the S3 tests ignored, so they are reported as skipped, when
//! `FERRETWATCH_SKIP_S3=1`.

fn main() {
    println!("cargo::rerun-if-env-changed=FERRETWATCH_SKIP_S3");
    println!("cargo::rustc-check-cfg=cfg(skip_s3)");
    if std::env::var("FERRETWATCH_SKIP_S3").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_s3");
    }
}
