//! The MySQL/MariaDB backfill driver against the real server: what a batch counts, lock waits,
//! who runs a backfill, statement checks, text keys that need quoting, and replicas.

use std::time::Duration;

use strata_core::backfill::{BackfillDriver, Batch, Key, KeyValue, ReplicaLag, TableName};
use strata_core::{
    BackfillJob, BackfillRecord, BackfillRunner, BackfillState, BackfillStatement, Dialect, Driver,
    LockPolicy,
};
use strata_mysql::{MySqlDriver, MySqlTarget};
use strata_test_support::{MySqlSession, MySqlTestDb};

fn driver(db: &MySqlTestDb) -> MySqlDriver {
    MySqlDriver::connect(&MySqlTarget::parse(&db.url()).unwrap()).expect("connect")
}

fn statement(sql: &str) -> BackfillStatement {
    BackfillStatement::parse(sql, Dialect::MySql).unwrap()
}

fn table(name: &str) -> TableName {
    TableName {
        schema: None,
        name: name.into(),
    }
}

fn int_key(n: i64) -> Key {
    Key(vec![KeyValue::Integer(n)])
}

fn scalar(session: &mut MySqlSession, sql: &str) -> String {
    session.query(sql)[0][0].clone().unwrap_or_default()
}

/// The batch of backfill `name` over keys 1..=`upto` of `t`, the first one.
fn first_batch<'a>(
    name: &'a str,
    statement: &'a BackfillStatement,
    columns: &'a [String],
    upto: &'a Key,
    rows: u64,
) -> Batch<'a> {
    Batch {
        name,
        statement,
        key_columns: columns,
        after: None,
        upto,
        rows,
        batch_size: rows,
        last: false,
    }
}

fn record(name: &str, end: i64) -> BackfillRecord {
    BackfillRecord {
        name: name.into(),
        table: "t".into(),
        statement_checksum: "c".into(),
        key_columns: vec!["id".into()],
        end_key: Some(int_key(end)),
        last_key: None,
        rows_scanned: 0,
        rows_changed: 0,
        estimated_rows: None,
        batch_size: 10,
        state: BackfillState::Running,
        error: None,
        started_at: String::new(),
        updated_at: String::new(),
    }
}

/// `t (id PRIMARY KEY, flag NOT NULL)` with ids 1..=10, flag 1 on the even ones.
fn ten_rows(db: &MySqlTestDb) -> MySqlSession {
    let mut session = db.session();
    session.query("CREATE TABLE t (id int PRIMARY KEY, flag int NOT NULL DEFAULT 0)");
    session.query(
        "INSERT INTO t (id, flag) VALUES (1, 0), (2, 1), (3, 0), (4, 1), (5, 0), (6, 1), (7, 0), (8, 1), (9, 0), (10, 1)",
    );
    session
}

/// PostgreSQL and SQLite count every row an UPDATE matched; MySQL by default only those whose
/// values changed. strata's session counts matched rows, so the drivers agree.
#[test]
fn rows_changed_counts_every_row_the_statement_matched() {
    let db = MySqlTestDb::create("bf_found_rows");
    let mut session = ten_rows(&db);
    let mut driver = driver(&db);
    driver.ensure_progress_table().unwrap();
    driver.start_progress(&record("flags", 10)).unwrap();
    let change = statement("UPDATE t SET flag = 1");
    let columns = vec!["id".to_owned()];
    let upto = int_key(6);
    let changed = driver
        .run_batch(&first_batch("flags", &change, &columns, &upto, 6))
        .unwrap();
    assert_eq!(changed, 6, "three rows already had flag = 1 and count too");
    let progress = driver.read_progress("flags").unwrap().unwrap();
    assert_eq!(progress.rows_changed, 6);
    assert_eq!(progress.rows_scanned, 6);
    assert_eq!(progress.last_key, Some(upto));
    assert_eq!(scalar(&mut session, "SELECT SUM(flag) FROM t"), "8");
}

/// A batch that waits for a row lock longer than lock_timeout fails as retryable, and leaves
/// neither the rows nor the progress changed; once the lock is gone it runs.
#[test]
fn a_row_lock_timeout_is_retryable_and_changes_nothing() {
    let db = MySqlTestDb::create("bf_row_lock");
    let mut holder = ten_rows(&db);
    let mut driver = driver(&db);
    driver.set_lock_policy(&LockPolicy {
        lock_timeout: Duration::from_secs(1),
        ..LockPolicy::default()
    });
    driver.ensure_progress_table().unwrap();
    driver.start_progress(&record("bump", 10)).unwrap();
    holder.query("START TRANSACTION");
    holder.query("SELECT * FROM t WHERE id = 3 FOR UPDATE");
    let change = statement("UPDATE t SET flag = flag + 10");
    let columns = vec!["id".to_owned()];
    let upto = int_key(5);
    let batch = first_batch("bump", &change, &columns, &upto, 5);
    let error = driver.run_batch(&batch).unwrap_err();
    assert!(error.lock_not_available, "{error}");
    assert_eq!(error.code.as_deref(), Some("1205 (HY000)"), "{error}");
    let mut observer = db.session();
    assert_eq!(scalar(&mut observer, "SELECT MAX(flag) FROM t"), "1");
    let progress = driver.read_progress("bump").unwrap().unwrap();
    assert_eq!((progress.last_key, progress.rows_changed), (None, 0));
    holder.query("COMMIT");
    assert_eq!(driver.run_batch(&batch).unwrap(), 5);
    assert_eq!(
        scalar(&mut observer, "SELECT COUNT(*) FROM t WHERE flag >= 10"),
        "5"
    );
}

/// A batch runs only where the progress row still ends: a second run of the same range is
/// refused, and the rows are changed once.
#[test]
fn a_batch_whose_progress_moved_on_is_refused() {
    let db = MySqlTestDb::create("bf_moved_on");
    let mut session = ten_rows(&db);
    let mut driver = driver(&db);
    driver.ensure_progress_table().unwrap();
    driver.start_progress(&record("once", 10)).unwrap();
    let change = statement("UPDATE t SET flag = flag + 1");
    let columns = vec!["id".to_owned()];
    let upto = int_key(4);
    let batch = first_batch("once", &change, &columns, &upto, 4);
    driver.run_batch(&batch).unwrap();
    let error = driver.run_batch(&batch).unwrap_err();
    assert!(error.message.contains("another process"), "{error}");
    assert_eq!(
        scalar(&mut session, "SELECT SUM(flag) FROM t WHERE id <= 4"),
        "6"
    );
}

/// `GET_LOCK` marks the session running a backfill: a second session cannot claim it, and
/// `status` calls a running backfill whose session is gone interrupted.
#[test]
fn claims_are_exclusive_and_released_with_the_session() {
    let db = MySqlTestDb::create("bf_claim");
    ten_rows(&db);
    let mut first = driver(&db);
    let mut second = driver(&db);
    first.ensure_progress_table().unwrap();
    first.start_progress(&record("claimed", 10)).unwrap();
    assert!(first.claim("claimed").unwrap());
    assert!(!second.claim("claimed").unwrap());
    let listed = second.list_progress().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, BackfillState::Running);
    assert_eq!(listed[0].key_columns, ["id"]);
    assert_eq!(listed[0].end_key, Some(int_key(10)));
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while second.list_progress().unwrap()[0].state != BackfillState::Interrupted {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock outlived its session"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(second.claim("claimed").unwrap());
    second.release("claimed").unwrap();
    let mut third = driver(&db);
    assert!(third.claim("claimed").unwrap(), "released");
}

/// Unknown columns and functions are found by the server before anything runs.
#[test]
fn statements_are_checked_by_the_server_without_running() {
    let db = MySqlTestDb::create("bf_check");
    let mut session = ten_rows(&db);
    let mut driver = driver(&db);
    let columns = vec!["id".to_owned()];
    let error = driver
        .check_statement(&statement("UPDATE t SET nope = 1"), &columns)
        .unwrap_err();
    assert!(error.message.contains("Unknown column 'nope'"), "{error}");
    let error = driver
        .check_statement(&statement("DELETE FROM t WHERE missing_fn(id)"), &columns)
        .unwrap_err();
    assert!(error.message.contains("missing_fn"), "{error}");
    driver
        .check_statement(&statement("DELETE FROM t WHERE flag = 0"), &columns)
        .unwrap();
    assert_eq!(scalar(&mut session, "SELECT COUNT(*) FROM t"), "10");
    assert!(driver.list_progress().unwrap().is_empty(), "no table yet");
}

/// The key columns in primary key order, NOT NULL columns, and a table that does not exist.
#[test]
fn tables_are_described_from_information_schema() {
    let db = MySqlTestDb::create("bf_describe");
    let mut session = db.session();
    session.query(
        "CREATE TABLE k (a int NOT NULL, b varchar(10) NOT NULL, c int NULL, PRIMARY KEY (b, a))",
    );
    session.query("INSERT INTO k (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')");
    let mut driver = driver(&db);
    let shape = driver.describe_table(&table("k")).unwrap().unwrap();
    assert_eq!(shape.primary_key, ["b", "a"]);
    let nullable: Vec<(&str, bool)> = shape
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.nullable))
        .collect();
    assert_eq!(nullable, [("a", false), ("b", false), ("c", true)]);
    assert_eq!(shape.estimated_rows, Some(3));
    let qualified = TableName {
        schema: Some(db.name().to_owned()),
        name: "k".into(),
    };
    assert!(driver.describe_table(&qualified).unwrap().is_some());
    assert_eq!(driver.describe_table(&table("missing")).unwrap(), None);
}

/// Text keys holding quotes and backslashes are batched over exactly, through the whole engine.
#[test]
fn text_keys_with_quotes_and_backslashes_are_batched_exactly_once() {
    let db = MySqlTestDb::create("bf_text_keys");
    let mut session = db.session();
    session
        .query("CREATE TABLE words (w varchar(20) NOT NULL PRIMARY KEY, n int NOT NULL DEFAULT 0)");
    session.query(
        r"INSERT INTO words (w) VALUES ('a'), ('it''s'), ('back\\slash'), ('q\''), ('z'), ('\\'), ('m'), ('n''\\'), ('x'), ('y')",
    );
    let mut driver = driver(&db);
    let job = BackfillJob {
        name: "words".into(),
        statement: statement("UPDATE words SET n = n + 1"),
        options: strata_core::BackfillOptions {
            batch: Some(3),
            ..Default::default()
        },
        statement_checksum: "c".into(),
    };
    let report = strata_backfill::Engine
        .run(&mut driver, &job, &LockPolicy::default(), &mut |_| {})
        .unwrap();
    assert_eq!(report.record.rows_changed, 10);
    assert_eq!(report.record.state, BackfillState::Done);
    assert_eq!(
        session.query("SELECT n, COUNT(*) FROM words GROUP BY n"),
        [[Some("1".to_owned()), Some("10".to_owned())]]
    );
}

/// Without replicas MySQL cannot see the lag; a replica that cannot be reached is an error that
/// names it without its password.
#[test]
fn replica_lag_needs_reachable_replicas() {
    let db = MySqlTestDb::create("bf_replicas");
    let mut driver = driver(&db);
    assert!(matches!(
        driver.replica_lag().unwrap(),
        ReplicaLag::Unwatchable { why } if why.contains("cannot be watched from the primary")
    ));
    let replica = MySqlTarget::parse_server("mysql://monitor:s3cret@127.0.0.1:1").unwrap();
    let mut driver = driver.with_replicas(vec![replica]);
    let error = driver.replica_lag().unwrap_err();
    assert!(
        error
            .message
            .contains("cannot connect to mysql://monitor:***@127.0.0.1:1/"),
        "{error}"
    );
    assert!(!error.to_string().contains("s3cret"), "{error}");
    // The test server is a primary, not a replica: it is refused as one.
    let primary = MySqlTarget::parse_server(&db.url()).unwrap();
    let mut driver = self::driver(&db).with_replicas(vec![primary]);
    let error = driver.replica_lag().unwrap_err();
    assert!(error.message.contains("is not a replica"), "{error}");
}
