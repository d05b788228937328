//! Marks the S3 tests ignored when `FERRETWATCH_SKIP_S3=1`, and the Redis tests when
//! `FERRETWATCH_SKIP_REDIS=1`, so they are reported as skipped, never as passed.

fn main() {
    println!("cargo::rerun-if-env-changed=FERRETWATCH_SKIP_S3");
    println!("cargo::rerun-if-env-changed=FERRETWATCH_SKIP_REDIS");
    println!("cargo::rustc-check-cfg=cfg(skip_s3)");
    println!("cargo::rustc-check-cfg=cfg(skip_redis)");
    if std::env::var("FERRETWATCH_SKIP_S3").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_s3");
    }
    if std::env::var("FERRETWATCH_SKIP_REDIS").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_redis");
    }
}
