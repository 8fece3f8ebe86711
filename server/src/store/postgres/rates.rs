//! Rate buckets shared by every instance: the GCRA that `governor` runs in memory, run by
//! the database on its own clock, one statement per take. `governor` cannot keep its state
//! outside the process, and no kept crate rate-limits through PostgreSQL.
//!
//! A bucket is one row holding its theoretical arrival time (`tat`, ms): taking `n` cells
//! moves it to `max(tat, now) + n·interval`, allowed while that is at most
//! `burst·interval` ahead of now. A full bucket needs no row; prune drops rows in the past.

use super::{backend, Conn};
use crate::store::{Rate, StoreResult};
use std::time::Duration;

/// The database's clock in milliseconds; instances' clocks may disagree, its does not.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// See [`Store::take_rate`](crate::store::Store::take_rate).
pub(super) fn take(
    conn: &mut Conn,
    bucket: &str,
    key: &str,
    rate: Rate,
    n: u32,
    force: bool,
) -> StoreResult<Result<(), Duration>> {
    let interval = millis(rate.interval);
    let window = interval.saturating_mul(i64::from(rate.burst.max(1)));
    let cost = interval.saturating_mul(i64::from(n));
    if n == 0 {
        let sql = format!(
            "SELECT GREATEST(tat, {NOW_MS}) - {NOW_MS} - $3 FROM rate_buckets \
             WHERE bucket = $1 AND key = $2"
        );
        let over: Option<i64> = conn
            .query_opt(&sql, &[&bucket, &key, &window])
            .map_err(backend)?
            .map(|row| row.get(0));
        return Ok(wait(over.unwrap_or(0)));
    }
    if cost > window && !force {
        // More than the bucket can ever hold: no take of this size will pass.
        return Ok(Err(Duration::from_millis(window.unsigned_abs())));
    }
    // EXCLUDED.tat - $3 is the statement's "now". A refused, unforced take matches no row
    // and changes nothing.
    let sql = format!(
        "INSERT INTO rate_buckets AS b (bucket, key, tat) VALUES ($1, $2, {NOW_MS} + $3) \
         ON CONFLICT (bucket, key) DO UPDATE \
             SET tat = GREATEST(b.tat, EXCLUDED.tat - $3) + $3 \
             WHERE $5 OR GREATEST(b.tat, EXCLUDED.tat - $3) + $3 - $4 <= EXCLUDED.tat - $3 \
         RETURNING tat - {NOW_MS} - $4"
    );
    let over: Option<i64> = conn
        .query_opt(&sql, &[&bucket, &key, &cost, &window, &force])
        .map_err(backend)?
        .map(|row| row.get(0));
    match over {
        Some(over) => Ok(wait(over)),
        None => {
            let sql = format!(
                "SELECT GREATEST(tat, {NOW_MS}) + $3 - {NOW_MS} - $4 FROM rate_buckets \
                 WHERE bucket = $1 AND key = $2"
            );
            let over: Option<i64> = conn
                .query_opt(&sql, &[&bucket, &key, &cost, &window])
                .map_err(backend)?
                .map(|row| row.get(0));
            Ok(Err(Duration::from_millis(
                over.unwrap_or(1).max(1).unsigned_abs(),
            )))
        }
    }
}

/// How far past the window a bucket is: nothing to wait for at or below zero.
fn wait(over_ms: i64) -> Result<(), Duration> {
    if over_ms <= 0 {
        Ok(())
    } else {
        Err(Duration::from_millis(over_ms.unsigned_abs()))
    }
}

/// Drop the rows of full buckets (arrival time in the past): they hold nothing a fresh
/// bucket would not.
pub(super) fn prune(conn: &mut Conn) -> StoreResult<u64> {
    conn.execute(
        &format!("DELETE FROM rate_buckets WHERE tat < {NOW_MS}"),
        &[],
    )
    .map_err(backend)
}
