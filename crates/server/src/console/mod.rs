//! The admin console: server-rendered pages behind accounts with passwords and TOTP (or
//! OpenID Connect and TOTP), sessions, roles and a signed audit log.

pub mod codes;
pub mod keys;
pub mod oidc;
pub mod permissions;
