//! Queries over the report log for reviews and investigations: coordinated-abuse
//! detection and the export of suspicious reports (runbook §7.1 and §7.3). A supertrait of
//! [`crate::Store`], implemented for both backends from one body of SQL in
//! `review_sql.rs`.

use async_trait::async_trait;

/// Report-log queries for reviews (see the module documentation).
#[async_trait]
pub trait ReviewStore: Send + Sync {}
