//! Replication lag on MySQL and MariaDB, for a backfill's `max_lag`. Unlike PostgreSQL's
//! `pg_stat_replication`, the primary does not know how far behind its replicas are: each replica
//! does, in `SHOW REPLICA STATUS` (MySQL 8.0.22+, MariaDB 10.5.1+) or `SHOW SLAVE STATUS` (older
//! servers). So strata connects to the replicas the configuration lists, the first time a backfill
//! asks, and reads the status there. A replica whose SQL thread is stopped reports no lag at all
//! (`NULL`): it falls further behind every second, so it counts as lagging, never as caught up.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use strata_core::DriverError;
use strata_core::backfill::ReplicaLag;

use crate::errors::{ConnectError, driver_error};
use crate::target::MySqlTarget;

/// Connecting to a replica, or reading its status, never waits longer than this: an unreachable
/// host must not hold the backfill back silently.
const REPLICA_TIMEOUT: Duration = Duration::from_secs(10);

/// Server error 1064: a syntax error, what a server older than `SHOW REPLICA STATUS` answers.
const PARSE_ERROR: u16 = 1064;

/// Said when `max_lag` is set on MySQL without any replica to read the lag from.
pub(crate) const NO_REPLICAS: &str = "on MySQL and MariaDB replication lag cannot be watched from \
    the primary (only each replica shows it), and no replica is configured: list them in strata.toml \
    (`[backfill]` `replicas = [\"mysql://user:password@replica:3306\"]`) or with `--replica URL`";

/// The replicas strata reads the lag from, connected on first use.
pub(crate) struct Replicas {
    replicas: Vec<Replica>,
}

struct Replica {
    target: MySqlTarget,
    conn: Option<Conn>,
    /// `SHOW SLAVE STATUS`, once the server refused `SHOW REPLICA STATUS`.
    legacy: bool,
}

impl Replicas {
    pub(crate) fn new(targets: Vec<MySqlTarget>) -> Replicas {
        Replicas {
            replicas: targets
                .into_iter()
                .map(|target| Replica {
                    target,
                    conn: None,
                    legacy: false,
                })
                .collect(),
        }
    }

    /// The worst state among the replicas; [`ReplicaLag::Unwatchable`] without any.
    pub(crate) async fn lag(&mut self) -> Result<ReplicaLag, DriverError> {
        if self.replicas.is_empty() {
            return Ok(ReplicaLag::Unwatchable {
                why: NO_REPLICAS.to_owned(),
            });
        }
        let mut worst = ReplicaLag::NoReplicas;
        for replica in &mut self.replicas {
            worst = worst.worse(replica.lag().await?);
        }
        Ok(worst)
    }

    /// Disconnects from every replica.
    pub(crate) async fn disconnect(&mut self) {
        for replica in &mut self.replicas {
            if let Some(conn) = replica.conn.take() {
                let _ = conn.disconnect().await;
            }
        }
    }
}

impl Replica {
    async fn lag(&mut self) -> Result<ReplicaLag, DriverError> {
        let name = self.target.redacted().to_owned();
        let timed_out = || {
            DriverError::new(format!(
                "replica {name} did not answer within {}s",
                REPLICA_TIMEOUT.as_secs()
            ))
            .with_hint(Some(replica_hint()))
        };
        let rows = tokio::time::timeout(REPLICA_TIMEOUT, self.status())
            .await
            .map_err(|_| timed_out())?;
        if rows.is_err() {
            // Reconnect next time rather than reuse a connection in an unknown state.
            self.conn = None;
        }
        replica_state(&name, &rows?)
    }

    /// The rows of `SHOW REPLICA STATUS` (one per replication channel), as column name and
    /// text value.
    async fn status(&mut self) -> Result<Vec<StatusRow>, DriverError> {
        if self.conn.is_none() {
            let conn = self.target.connect().await.map_err(|e| {
                let error = ConnectError::classify(&e, self.target.redacted(), "");
                DriverError::new(format!("replica: {error}")).with_hint(Some(replica_hint()))
            })?;
            self.conn = Some(conn);
        }
        let conn = self.conn.as_mut().expect("connected above");
        if !self.legacy {
            match conn.query::<Row, _>("SHOW REPLICA STATUS").await {
                Ok(rows) => return Ok(rows.into_iter().map(status_row).collect()),
                Err(mysql_async::Error::Server(e)) if e.code == PARSE_ERROR => self.legacy = true,
                Err(e) => return Err(status_error(&self.target, &e)),
            }
        }
        conn.query::<Row, _>("SHOW SLAVE STATUS")
            .await
            .map(|rows| rows.into_iter().map(status_row).collect())
            .map_err(|e| status_error(&self.target, &e))
    }
}

fn replica_hint() -> String {
    "check the replica's URL (strata.toml `[backfill]` `replicas`, or `--replica`); its user needs \
     the REPLICATION CLIENT privilege (REPLICA MONITOR on MariaDB 10.5+) to read the status"
        .to_owned()
}

fn status_error(target: &MySqlTarget, error: &mysql_async::Error) -> DriverError {
    let cause = driver_error(error);
    DriverError::new(format!(
        "cannot read the replication status of replica {}: {}",
        target.redacted(),
        cause.message
    ))
    .with_code(cause.code.unwrap_or_default())
    .with_hint(Some(replica_hint()))
}

/// One channel's replication status: each column's name and its value as text.
type StatusRow = Vec<(String, Option<String>)>;

/// `SHOW` statements answer in the text protocol: every value is text or NULL.
fn status_row(row: Row) -> StatusRow {
    let names: Vec<String> = row
        .columns_ref()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    names
        .into_iter()
        .zip(row.unwrap().into_iter().map(|value| {
            mysql_async::from_value_opt::<Option<String>>(value)
                .ok()
                .flatten()
        }))
        .collect()
}

/// The lag of replica `name` from its status rows: the worst of its channels. MySQL 8.0.22+
/// names the columns after the source (`Seconds_Behind_Source`, `Replica_SQL_Running`), MariaDB
/// and older MySQL after the master (`Seconds_Behind_Master`, `Slave_SQL_Running`).
pub(crate) fn replica_state(name: &str, rows: &[StatusRow]) -> Result<ReplicaLag, DriverError> {
    if rows.is_empty() {
        return Err(DriverError::new(format!(
            "{name} is not a replica: SHOW REPLICA STATUS returned nothing"
        ))
        .with_hint(Some(
            "list only replicas of this database's server in `replicas` / `--replica`".to_owned(),
        )));
    }
    let mut worst = ReplicaLag::NoReplicas;
    for row in rows {
        let field = |names: &[&str]| {
            row.iter()
                .find(|(column, _)| names.iter().any(|n| column.eq_ignore_ascii_case(n)))
                .map(|(_, value)| value.as_deref())
        };
        let Some(seconds) = field(&["Seconds_Behind_Source", "Seconds_Behind_Master"]) else {
            return Err(DriverError::new(format!(
                "the replication status of {name} has neither Seconds_Behind_Source nor Seconds_Behind_Master"
            )));
        };
        let channel = field(&["Channel_Name", "Connection_name"])
            .flatten()
            .filter(|c| !c.is_empty());
        let replica = match channel {
            Some(channel) => format!("{name} (channel {channel})"),
            None => name.to_owned(),
        };
        let state = match seconds.and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(seconds) => ReplicaLag::Measured {
                lag: Duration::from_secs(seconds),
                replica: Some(replica),
            },
            None => ReplicaLag::Stopped {
                why: stopped_because(&field),
                replica,
            },
        };
        worst = worst.worse(state);
    }
    Ok(worst)
}

/// Why a replica reports no lag: its SQL thread stopped (with the error that stopped it), or its
/// I/O thread lost the source.
fn stopped_because<'a>(field: &impl Fn(&[&str]) -> Option<Option<&'a str>>) -> String {
    let running = |names: &[&str]| field(names).flatten() == Some("Yes");
    let error = |names: &[&str]| {
        field(names)
            .flatten()
            .filter(|e| !e.is_empty())
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    };
    if !running(&["Replica_SQL_Running", "Slave_SQL_Running"]) {
        format!("its SQL thread is stopped{}", error(&["Last_SQL_Error"]))
    } else if !running(&["Replica_IO_Running", "Slave_IO_Running"]) {
        format!(
            "its I/O thread is not connected to the source{}",
            error(&["Last_IO_Error"])
        )
    } else {
        "it reports no lag (Seconds_Behind_Source is NULL)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: &[(&str, Option<&str>)]) -> StatusRow {
        fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.map(str::to_owned)))
            .collect()
    }

    const NAME: &str = "mysql://monitor:***@replica:3306/";

    #[test]
    fn reads_the_lag_under_mysql_and_mariadb_names() {
        let mysql = row(&[
            ("Replica_IO_Running", Some("Yes")),
            ("Replica_SQL_Running", Some("Yes")),
            ("Seconds_Behind_Source", Some("7")),
            ("Channel_Name", Some("")),
        ]);
        assert_eq!(
            replica_state(NAME, &[mysql]).unwrap(),
            ReplicaLag::Measured {
                lag: Duration::from_secs(7),
                replica: Some(NAME.into())
            }
        );
        let mariadb = row(&[
            ("Slave_IO_Running", Some("Yes")),
            ("Slave_SQL_Running", Some("Yes")),
            ("Seconds_Behind_Master", Some("0")),
        ]);
        assert_eq!(
            replica_state(NAME, &[mariadb]).unwrap(),
            ReplicaLag::Measured {
                lag: Duration::ZERO,
                replica: Some(NAME.into())
            }
        );
    }

    #[test]
    fn a_stopped_sql_thread_counts_as_lagging_and_says_why() {
        let stopped = row(&[
            ("Slave_IO_Running", Some("Yes")),
            ("Slave_SQL_Running", Some("No")),
            (
                "Last_SQL_Error",
                Some("Duplicate entry '4' for key 'PRIMARY'"),
            ),
            ("Seconds_Behind_Master", None),
        ]);
        let state = replica_state(NAME, &[stopped]).unwrap();
        assert_eq!(
            state,
            ReplicaLag::Stopped {
                replica: NAME.into(),
                why: "its SQL thread is stopped: Duplicate entry '4' for key 'PRIMARY'".into()
            }
        );
        assert!(state.exceeds(Duration::from_secs(86_400)));
        let lost_source = row(&[
            ("Replica_IO_Running", Some("Connecting")),
            ("Replica_SQL_Running", Some("Yes")),
            ("Last_IO_Error", Some("")),
            ("Seconds_Behind_Source", None),
        ]);
        assert_eq!(
            replica_state(NAME, &[lost_source]).unwrap(),
            ReplicaLag::Stopped {
                replica: NAME.into(),
                why: "its I/O thread is not connected to the source".into()
            }
        );
    }

    #[test]
    fn the_worst_channel_counts() {
        let channel = |name: &str, seconds: Option<&str>, sql: &str| {
            row(&[
                ("Replica_SQL_Running", Some(sql)),
                ("Replica_IO_Running", Some("Yes")),
                ("Seconds_Behind_Source", seconds),
                ("Channel_Name", Some(name)),
            ])
        };
        assert_eq!(
            replica_state(
                NAME,
                &[
                    channel("a", Some("3"), "Yes"),
                    channel("b", Some("40"), "Yes")
                ]
            )
            .unwrap(),
            ReplicaLag::Measured {
                lag: Duration::from_secs(40),
                replica: Some(format!("{NAME} (channel b)"))
            }
        );
        assert!(matches!(
            replica_state(NAME, &[channel("a", Some("3"), "Yes"), channel("b", None, "No")]).unwrap(),
            ReplicaLag::Stopped { replica, .. } if replica.ends_with("(channel b)")
        ));
    }

    #[test]
    fn a_server_that_is_no_replica_is_an_error() {
        let error = replica_state(NAME, &[]).unwrap_err();
        assert!(error.message.contains("is not a replica"), "{error}");
        let error = replica_state(NAME, &[row(&[("Slave_SQL_Running", Some("Yes"))])]).unwrap_err();
        assert!(error.message.contains("Seconds_Behind"), "{error}");
    }
}
