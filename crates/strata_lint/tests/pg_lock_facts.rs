//! The lock facts each locking rule documents, checked against a live PostgreSQL server.
//!
//! For every rule with a PostgreSQL operation, the rule's `bad` example runs after
//! [`strata_lint::registry::EXAMPLE_SCHEMA`] in a fresh database, inside a transaction that is rolled back;
//! the locks the last statement added (from `pg_locks`) and whether a table's `relfilenode` changed must match
//! [`strata_lint::facts::pg_lock_fact`] for the server's major version. Statements that cannot run in a
//! transaction (`VACUUM FULL`) are observed from a second session while they wait behind a conflicting lock.
//!
//! Server: `127.0.0.1:5432`, user `postgres`, database `test` (override with `STRATA_TEST_PG`). When it is
//! unreachable the test is skipped locally and fails when `CI=true`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use strata_lint::facts::{LockFact, LockMode, PgOperation, pg_lock_fact};
use strata_lint::registry::{EXAMPLE_SCHEMA, RULES};
use tokio_postgres::{Client, NoTls};

fn server() -> String {
    std::env::var("STRATA_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres".to_owned())
}

async fn connect(database: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) =
        tokio_postgres::connect(&format!("{} dbname={database}", server()), NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A scratch database, dropped (with `FORCE`) when the guard goes out of scope, panics included.
struct ScratchDb {
    name: String,
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let admin = connect("test").await?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop scratch database {}", self.name);
        }
    }
}

/// Relation locks (`oid` → modes) held or requested by `pid`.
async fn locks_of(client: &Client, pid: i32) -> BTreeMap<u32, BTreeSet<String>> {
    let rows = client
        .query(
            "SELECT relation, mode FROM pg_locks WHERE locktype = 'relation' AND pid = $1",
            &[&pid],
        )
        .await
        .expect("pg_locks");
    let mut locks: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        locks.entry(row.get(0)).or_default().insert(row.get(1));
    }
    locks
}

/// `oid` → (name, relkind) of the relations in `public`; taken before a statement so that relations it
/// drops can still be named.
async fn relations(client: &Client) -> BTreeMap<u32, (String, String)> {
    let rows = client
        .query("SELECT oid, relname::text, relkind::text FROM pg_class WHERE relnamespace = 'public'::regnamespace", &[])
        .await
        .expect("pg_class");
    rows.into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}

async fn relfilenodes(client: &Client) -> BTreeMap<String, u32> {
    let rows = client
        .query(
            "SELECT relname::text, relfilenode FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
            &[],
        )
        .await
        .expect("pg_class");
    rows.into_iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, u32>(1)))
        .collect()
}

fn mode_named(name: &str) -> LockMode {
    LockMode::ALL
        .into_iter()
        .find(|m| m.pg_name() == name)
        .unwrap_or_else(|| panic!("unknown lock mode {name}"))
}

/// Locks in `after` that were not in `before`, strongest per named relation of `public`.
fn added_locks(
    before: &BTreeMap<u32, BTreeSet<String>>,
    after: &BTreeMap<u32, BTreeSet<String>>,
    names: &BTreeMap<u32, (String, String)>,
) -> BTreeMap<(String, String), LockMode> {
    after
        .iter()
        .filter_map(|(oid, modes)| {
            let relation = names.get(oid)?;
            let old = before.get(oid);
            let strongest = modes
                .iter()
                .filter(|m| old.is_none_or(|o| !o.contains(*m)))
                .map(|m| mode_named(m))
                .max()?;
            Some((relation.clone(), strongest))
        })
        .collect()
}

/// Compares what the server did with what the facts claim; returns a description of each mismatch.
fn compare(
    fact: &LockFact,
    added: &BTreeMap<(String, String), LockMode>,
    nodes_before: &BTreeMap<String, u32>,
    nodes_after: &BTreeMap<String, u32>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let tables: Vec<LockMode> = added
        .iter()
        .filter(|((_, kind), _)| kind == "r" || kind == "p")
        .map(|(_, m)| *m)
        .collect();
    let strongest_table = tables.iter().max().copied();
    if strongest_table != Some(fact.table) {
        problems.push(format!(
            "table lock: claimed {:?}, server took {strongest_table:?}",
            fact.table
        ));
    }
    if let Some(mode) = fact.referenced_table {
        let holding = tables.iter().filter(|m| **m == mode).count();
        let needed = if mode == fact.table { 2 } else { 1 };
        if holding < needed {
            problems.push(format!(
                "referenced table lock: claimed {mode:?}, server took {tables:?}"
            ));
        }
    }
    if let Some(mode) = fact.indexes {
        let on_indexes: Vec<LockMode> = added
            .iter()
            .filter(|((_, kind), _)| kind == "i")
            .map(|(_, m)| *m)
            .collect();
        if !on_indexes.contains(&mode) {
            problems.push(format!(
                "index lock: claimed {mode:?}, server took {on_indexes:?}"
            ));
        }
    }
    let rewritten = nodes_before
        .iter()
        .any(|(table, node)| nodes_after.get(table).is_some_and(|after| after != node));
    if rewritten != fact.rewrites {
        problems.push(format!(
            "rewrite: claimed {}, relfilenode changed: {rewritten}",
            fact.rewrites
        ));
    }
    problems
}

/// The server's own message when there is one (`Display` of the client error only says "db error").
fn describe(error: &tokio_postgres::Error) -> String {
    error.as_db_error().map_or_else(
        || error.to_string(),
        |db| format!("{}: {}", db.code().code(), db.message()),
    )
}

fn cannot_run_in_transaction(statement: &str) -> bool {
    let upper = statement.to_ascii_uppercase();
    upper.starts_with("VACUUM") || upper.contains("CONCURRENTLY")
}

async fn observe_in_transaction(
    client: &Client,
    statements: &[&str],
) -> Result<
    (
        BTreeMap<(String, String), LockMode>,
        BTreeMap<String, u32>,
        BTreeMap<String, u32>,
    ),
    String,
> {
    let error = |e: tokio_postgres::Error| describe(&e);
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .map_err(error)?
        .get(0);
    client.batch_execute("BEGIN").await.map_err(error)?;
    let (last, earlier) = statements.split_last().ok_or("empty example")?;
    for statement in earlier {
        client.batch_execute(statement).await.map_err(error)?;
    }
    let nodes_before = relfilenodes(client).await;
    let mut names = relations(client).await;
    let before = locks_of(client, pid).await;
    client.batch_execute(last).await.map_err(error)?;
    let after = locks_of(client, pid).await;
    names.extend(relations(client).await);
    let nodes_after = relfilenodes(client).await;
    client.batch_execute("ROLLBACK").await.map_err(error)?;
    Ok((
        added_locks(&before, &after, &names),
        nodes_before,
        nodes_after,
    ))
}

/// Runs a statement that cannot run in a transaction while a second session holds `ACCESS SHARE` on every
/// table, and reads the locks it waits for from that second session.
async fn observe_while_blocked(
    database: &str,
    statement: &str,
) -> Result<
    (
        BTreeMap<(String, String), LockMode>,
        BTreeMap<String, u32>,
        BTreeMap<String, u32>,
    ),
    String,
> {
    let error = |e: tokio_postgres::Error| describe(&e);
    let runner = connect(database).await.map_err(error)?;
    let observer = connect(database).await.map_err(error)?;
    let pid: i32 = runner
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .map_err(error)?
        .get(0);
    let nodes_before = relfilenodes(&observer).await;
    let names = relations(&observer).await;
    let tables: Vec<String> = nodes_before.keys().cloned().collect();
    observer
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {} IN ACCESS SHARE MODE",
            tables.join(", ")
        ))
        .await
        .map_err(error)?;
    let statement = statement.to_owned();
    let running = tokio::spawn(async move { runner.batch_execute(&statement).await });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = BTreeMap::new();
    while Instant::now() < deadline {
        let waiting = observer
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted",
                &[&pid],
            )
            .await
            .map_err(error)?
            .get::<_, i64>(0);
        if waiting > 0 {
            // Read once it waits: a read from before could predate the statement's lock request.
            seen = locks_of(&observer, pid).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    observer.batch_execute("ROLLBACK").await.map_err(error)?;
    running.await.map_err(|e| e.to_string())?.map_err(error)?;
    let nodes_after = relfilenodes(&observer).await;
    Ok((
        added_locks(&BTreeMap::new(), &seen, &names),
        nodes_before,
        nodes_after,
    ))
}

async fn check_rule(
    id: &str,
    bad: &str,
    operation: PgOperation,
    major: u32,
) -> Result<Vec<String>, String> {
    let fact = pg_lock_fact(operation, major)
        .ok_or_else(|| format!("no fact for {operation:?} on {major}"))?;
    let scratch = ScratchDb {
        name: format!(
            "strata_lint_facts_{}_{}",
            std::process::id(),
            id.replace('-', "_")
        ),
    };
    let admin = connect("test").await.map_err(|e| describe(&e))?;
    for command in [
        "DROP DATABASE IF EXISTS {0} WITH (FORCE)",
        "CREATE DATABASE {0}",
    ] {
        let command = command.replace("{0}", &scratch.name);
        admin
            .batch_execute(&command)
            .await
            .map_err(|e| describe(&e))?;
    }
    let client = connect(&scratch.name).await.map_err(|e| describe(&e))?;
    client
        .batch_execute(EXAMPLE_SCHEMA)
        .await
        .map_err(|e| format!("example schema: {e}"))?;
    let statements = pg_query::split_with_parser(bad).map_err(|e| e.to_string())?;
    let (added, before, after) = match statements.last() {
        Some(last) if cannot_run_in_transaction(last) => {
            observe_while_blocked(&scratch.name, last).await?
        }
        _ => observe_in_transaction(&client, &statements).await?,
    };
    Ok(compare(&fact, &added, &before, &after))
}

#[test]
fn locking_rules_claim_the_locks_the_server_takes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let admin = connect("test").await.unwrap_or_else(|error| {
            panic!("cannot reach the PostgreSQL test server ({error}); start it with scripts/test-servers")
        });
        let version: i32 = admin
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .expect("version")
            .get(0);
        let major = u32::try_from(version / 10_000).expect("positive version");
        let mut failures = Vec::new();
        let mut checked = 0;
        for rule in RULES.iter().filter(|r| !r.trace_only) {
            let Some(operation) = rule.operation else {
                continue;
            };
            checked += 1;
            match check_rule(rule.id, rule.bad, operation, major).await {
                Ok(problems) => {
                    failures.extend(problems.into_iter().map(|p| format!("{}: {p}", rule.id)))
                }
                Err(error) => failures.push(format!(
                    "{}: could not run the bad example: {error}",
                    rule.id
                )),
            }
        }
        assert!(checked >= 20, "only {checked} rules carry lock facts");
        assert!(
            failures.is_empty(),
            "lock facts disagree with PostgreSQL {major}:\n{}",
            failures.join("\n")
        );
    });
}
