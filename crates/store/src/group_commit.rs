//! Group commit for PostgreSQL: reports appended at the same moment are written by one
//! transaction of two statements, and each caller gets its `Ok` only after that
//! transaction committed.
//!
//! Callers put their report on a queue. A few writer tasks take turns at it. Each writer
//! takes everything queued (up to [`MAX_BATCH`]) and writes it:
//! - a batch of one goes through the one-statement append;
//! - a larger batch is one statement too: an upsert of the moderation entries (grouped by
//!   URL hash, in hash order so that concurrent batches lock rows in the same order and
//!   cannot deadlock) and a multi-row insert into the log, committed together.
//!
//! While one writer commits, the next collects what arrived meanwhile: under load, batches
//! grow with the load and the number of commits (each an fsync) stays near the number of
//! writers. A batch that fails is retried report by report, so one report cannot fail
//! another; each caller gets exactly the outcome of its own report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::model::{NewReport, ReportId, ReportReceipt};
use crate::{Result, StoreError};

/// The most reports one transaction writes.
pub const MAX_BATCH: usize = 128;

struct Pending {
    report: NewReport,
    reply: oneshot::Sender<Result<ReportReceipt>>,
}

/// The queue and its writers.
pub(crate) struct GroupCommit {
    queue: Mutex<Option<mpsc::Sender<Pending>>>,
    writers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl GroupCommit {
    /// Starts `writers` writer tasks on `pool` (on the current Tokio runtime).
    pub(crate) fn start(pool: PgPool, writers: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Pending>(MAX_BATCH * writers.max(1) * 4);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let handles = (0..writers.max(1)).map(|_| tokio::spawn(write_loop(pool.clone(), Arc::clone(&rx)))).collect();
        GroupCommit { queue: Mutex::new(Some(tx)), writers: Mutex::new(handles) }
    }

    /// Appends `report`; `Ok` once its transaction has committed.
    pub(crate) async fn append(&self, report: &NewReport) -> Result<ReportReceipt> {
        let queue = self.queue.lock().expect("queue lock").clone();
        let queue = queue.ok_or_else(|| StoreError::Unavailable(sqlx::Error::PoolClosed))?;
        let (reply, answer) = oneshot::channel();
        queue
            .send(Pending { report: report.clone(), reply })
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolClosed))?;
        answer.await.map_err(|_| StoreError::Unavailable(sqlx::Error::PoolClosed))?
    }

    /// Stops taking reports and waits until every queued one is written.
    pub(crate) async fn close(&self) {
        drop(self.queue.lock().expect("queue lock").take());
        let writers = std::mem::take(&mut *self.writers.lock().expect("writers lock"));
        for writer in writers {
            let _ = writer.await;
        }
    }
}

async fn write_loop(pool: PgPool, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        write(&pool, batch).await;
    }
}

async fn write(pool: &PgPool, batch: Vec<Pending>) {
    if batch.len() > 1 {
        let reports: Vec<&NewReport> = batch.iter().map(|p| &p.report).collect();
        if let Ok(receipts) = append_many(pool, &reports).await {
            for (pending, receipt) in batch.into_iter().zip(receipts) {
                let _ = pending.reply.send(Ok(receipt));
            }
            return;
        }
        // Nothing of the batch committed: write each report on its own, so that each
        // caller gets its own report's outcome.
    }
    for pending in batch {
        let outcome = crate::postgres::append_one(pool, &pending.report).await;
        let _ = pending.reply.send(outcome);
    }
}

/// A batch in one statement (one round trip, one implicit transaction, as the append of
/// one report): the moderation upserts (one row per URL, in hash order) and the log rows
/// (in batch order). The result is the entries' totals (`e`) and the reports' ids (`r`).
const APPEND_MANY_SQL: &str = "\
WITH entry AS (
    INSERT INTO moderation AS m (url_hash, url, state, first_seen, last_seen, report_count,
                                 false_positive_count, max_score)
    SELECT h, u, 'queued', f, l, n, fp, s
    FROM UNNEST($1::bytea[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int2[])
         AS t(h, u, f, l, n, fp, s)
    ORDER BY h
    ON CONFLICT (url_hash) DO UPDATE SET
        first_seen = LEAST(m.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(m.last_seen, EXCLUDED.last_seen),
        report_count = m.report_count + EXCLUDED.report_count,
        false_positive_count = m.false_positive_count + EXCLUDED.false_positive_count,
        max_score = GREATEST(m.max_score, EXCLUDED.max_score)
    RETURNING m.url_hash, m.report_count
), logged AS (
    INSERT INTO reports (received_at, kind, url, url_hash, reason, reason_text, client_timestamp,
                         extension_version, pack_version, score, findings, screenshot_hash,
                         install_token_id, client_net)
    SELECT received_at, kind, url, url_hash, reason, reason_text, client_timestamp,
           extension_version, pack_version, score, findings::jsonb, screenshot_hash,
           install_token_id, client_net
    FROM UNNEST($8::int8[], $9::text[], $10::text[], $11::bytea[], $12::text[], $13::text[], $14::int8[],
                $15::text[], $16::text[], $17::int2[], $18::text[], $19::bytea[], $20::text[], $21::text[])
         WITH ORDINALITY AS t(received_at, kind, url, url_hash, reason, reason_text, client_timestamp,
                              extension_version, pack_version, score, findings, screenshot_hash,
                              install_token_id, client_net, ord)
    ORDER BY ord
    RETURNING id
)
SELECT 'e' AS part, url_hash, report_count AS n FROM entry
UNION ALL
SELECT 'r', NULL, id FROM logged";

/// One moderation entry's share of a batch.
#[derive(Default)]
struct Group {
    url: String,
    first_seen: i64,
    last_seen: i64,
    count: i64,
    false_positives: i64,
    max_score: i16,
}

/// Writes `reports` in one statement; receipts in the same order.
async fn append_many(pool: &PgPool, reports: &[&NewReport]) -> Result<Vec<ReportReceipt>> {
    // Per URL hash (ordered, for a consistent lock order): the entry's increments, and
    // each report's position among the batch's reports of that URL.
    let mut groups: BTreeMap<[u8; 32], Group> = BTreeMap::new();
    let mut position = Vec::with_capacity(reports.len());
    for r in reports {
        let hash = *r.url.hash().digest().as_bytes();
        let at = r.received_at.as_millis();
        let group = groups.entry(hash).or_insert_with(|| Group {
            url: r.url.as_str().to_owned(),
            first_seen: at,
            last_seen: at,
            ..Group::default()
        });
        position.push(group.count);
        group.count += 1;
        group.first_seen = group.first_seen.min(at);
        group.last_seen = group.last_seen.max(at);
        group.false_positives += i64::from(r.kind == crate::ReportKind::FalsePositive);
        group.max_score = group.max_score.max(i16::from(r.score.get()));
    }

    let rows: Vec<(String, Option<Vec<u8>>, i64)> = sqlx::query_as(APPEND_MANY_SQL)
        .bind(groups.keys().map(|h| h.to_vec()).collect::<Vec<_>>())
        .bind(groups.values().map(|g| g.url.clone()).collect::<Vec<_>>())
        .bind(groups.values().map(|g| g.first_seen).collect::<Vec<_>>())
        .bind(groups.values().map(|g| g.last_seen).collect::<Vec<_>>())
        .bind(groups.values().map(|g| g.count).collect::<Vec<_>>())
        .bind(groups.values().map(|g| g.false_positives).collect::<Vec<_>>())
        .bind(groups.values().map(|g| g.max_score).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.received_at.as_millis()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.kind.code()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.url.as_str()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.url.hash().digest().as_bytes().to_vec()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.reason.code()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.reason.text()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.client_timestamp.as_millis()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.extension_version.as_str()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.pack_version.as_str()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| i16::from(r.score.get())).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.findings.to_json()).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.screenshot_hash.as_ref().map(|h| h.as_bytes().to_vec())).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.install_token_id.as_ref().map(|t| t.as_str())).collect::<Vec<_>>())
        .bind(reports.iter().map(|r| r.client_net.as_ref().map(|n| n.as_str())).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?;
    let mut totals: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
    let mut ids = Vec::with_capacity(reports.len());
    for (part, hash, n) in rows {
        match (part.as_str(), hash) {
            ("e", Some(hash)) => {
                totals.insert(hash, n);
            }
            _ => ids.push((n,)),
        }
    }

    if ids.len() != reports.len() {
        return Err(StoreError::Internal(format!("{} rows for {} reports", ids.len(), reports.len()).into()));
    }
    // Identity values are drawn as the rows are inserted, in `ord` order: ascending ids
    // are the reports in batch order.
    ids.sort_unstable();
    let mut receipts = Vec::with_capacity(reports.len());
    for ((r, (id,)), k) in reports.iter().zip(ids).zip(position) {
        let url_hash = r.url.hash();
        let hash = url_hash.digest().as_bytes().to_vec();
        let group = &groups[url_hash.digest().as_bytes()];
        let total = totals
            .get(&hash)
            .copied()
            .ok_or_else(|| StoreError::Internal("a URL of the batch has no moderation total".into()))?;
        let report_count = total - group.count + k + 1;
        receipts.push(ReportReceipt { id: ReportId(id), url_hash, new_url: report_count == 1, report_count });
    }
    Ok(receipts)
}
