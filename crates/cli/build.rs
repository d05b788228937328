//! Marks the PostgreSQL test ignored, so it is reported as skipped, when
//! `FERRETWATCH_SKIP_POSTGRES=1`.

fn main() {
    println!("cargo::rerun-if-env-changed=FERRETWATCH_SKIP_POSTGRES");
    println!("cargo::rustc-check-cfg=cfg(skip_postgres)");
    if std::env::var("FERRETWATCH_SKIP_POSTGRES").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=skip_postgres");
    }
}
