//! Marks the tests that need PostgreSQL ignored when `FERRETWATCH_SKIP_POSTGRES=1`, those
//! that need Redis when `FERRETWATCH_SKIP_REDIS=1`, and those that need moto (S3) when
//! `FERRETWATCH_SKIP_S3=1`, so they are reported as skipped, never as passed.

fn main() {
    println!("cargo::rerun-if-env-changed=FERRETWATCH_SKIP_POSTGRES");
    println!("cargo::rerun-if-env-changed=FERRETWATCH_SKIP_REDIS");
    println!("cargo::rerun-if-env-changed=FERRETWATCH_SKIP_S3");
    println!("cargo::rustc-check-cfg=cfg(skip_postgres)");
    println!("cargo::rustc-check-cfg=cfg(skip_redis)");
    println!("cargo::rustc-check-cfg=cfg(skip_s3)");
    if std::env::var("FERRETWATCH_SKIP_POSTGRES").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_postgres");
    }
    if std::env::var("FERRETWATCH_SKIP_REDIS").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_redis");
    }
    if std::env::var("FERRETWATCH_SKIP_S3").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_s3");
    }
}
