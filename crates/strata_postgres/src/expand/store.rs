//! `strata_expansions`: the open expand/contract migrations, each with the plan stored when its
//! expand started, and the progress of its complete or abort phase.

use chrono::{DateTime, SecondsFormat, Utc};
use strata_core::{DriverError, ExpandPlan, Expansion, ExpansionState, Version};
use tokio_postgres::Client;

use crate::errors::driver_error;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS strata_expansions (
    version bigint PRIMARY KEY,
    label text NOT NULL,
    name text NOT NULL,
    state text NOT NULL CHECK (state IN ('expanding', 'expanded', 'completing', 'aborting')),
    checksum text NOT NULL,
    plan jsonb NOT NULL,
    statements_done integer NOT NULL,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
)";

const SELECT: &str = "SELECT version, label, name, state, checksum, plan::text, statements_done, \
    error, started_at FROM strata_expansions ORDER BY version";

/// Everything but the start time: a resumed phase writes back the plan it read from here, and
/// an expand that starts afresh (none of its statements had run) replaces a stale one.
const UPSERT: &str = "INSERT INTO strata_expansions \
    (version, label, name, state, checksum, plan, statements_done, error) \
    VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8) \
    ON CONFLICT (version) DO UPDATE SET label = excluded.label, name = excluded.name, \
    state = excluded.state, checksum = excluded.checksum, plan = excluded.plan, \
    statements_done = excluded.statements_done, error = excluded.error, updated_at = now()";

pub(super) async fn read(client: &Client) -> Result<Vec<Expansion>, DriverError> {
    if !exists(client).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(SELECT, &[])
        .await
        .map_err(|e| driver_error(&e))?;
    rows.iter()
        .map(|row| {
            let state: String = row.get(3);
            let plan: String = row.get(5);
            let plan: ExpandPlan = serde_json::from_str(&plan).map_err(|e| {
                DriverError::new(format!(
                    "strata_expansions holds a plan strata cannot read: {e}"
                ))
            })?;
            let started_at: DateTime<Utc> = row.get(8);
            Ok(Expansion {
                version: Version::from_i64(row.get(0)),
                label: row.get(1),
                name: row.get(2),
                state: ExpansionState::parse(&state).ok_or_else(|| {
                    DriverError::new(format!("strata_expansions has an unknown state {state:?}"))
                })?,
                checksum: row.get(4),
                plan,
                statements_done: u32::try_from(row.get::<_, i32>(6)).unwrap_or(0),
                error: row.get(7),
                started_at: started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            })
        })
        .collect()
}

pub(super) async fn write(client: &Client, expansion: &Expansion) -> Result<(), DriverError> {
    client
        .batch_execute(CREATE)
        .await
        .map_err(|e| driver_error(&e))?;
    let plan = serde_json::to_string(&expansion.plan)
        .map_err(|e| DriverError::new(format!("cannot store the plan: {e}")))?;
    let done = i32::try_from(expansion.statements_done).unwrap_or(i32::MAX);
    client
        .execute(
            UPSERT,
            &[
                &expansion.version.as_i64(),
                &expansion.label,
                &expansion.name,
                &expansion.state.as_str(),
                &expansion.checksum,
                &plan,
                &done,
                &expansion.error,
            ],
        )
        .await
        .map_err(|e| driver_error(&e))?;
    Ok(())
}

pub(super) async fn delete(client: &Client, version: Version) -> Result<(), DriverError> {
    if exists(client).await? {
        client
            .execute(
                "DELETE FROM strata_expansions WHERE version = $1",
                &[&version.as_i64()],
            )
            .await
            .map_err(|e| driver_error(&e))?;
    }
    Ok(())
}

async fn exists(client: &Client) -> Result<bool, DriverError> {
    Ok(client
        .query_one("SELECT to_regclass('strata_expansions') IS NOT NULL", &[])
        .await
        .map_err(|e| driver_error(&e))?
        .get(0))
}
