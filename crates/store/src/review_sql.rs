//! [`crate::ReviewStore`] for both backends from one body of SQL (the same approach as
//! `console_sql.rs`).

impl crate::review::ReviewStore for crate::SqliteStore {}
impl crate::review::ReviewStore for crate::PostgresStore {}
