//! What each tool's history rows mean: the columns strata reads and how they become a
//! [`ForeignHistory`].

use super::{
    AdoptError, ForeignChecksum, ForeignEntry, ForeignHistory, ForeignTool, ForeignValue, UpTo,
};

pub(super) fn columns(tool: ForeignTool) -> &'static [&'static str] {
    match tool {
        // CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)
        ForeignTool::GolangMigrate => &["version", "dirty"],
        // create table schema_migrations (version varchar(128) primary key)
        ForeignTool::Dbmate => &["version"],
        // _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
        ForeignTool::Sqlx => &["version", "installed_on", "success", "checksum"],
        // __diesel_schema_migrations (version varchar(50), run_on timestamp)
        ForeignTool::Diesel => &["version", "run_on"],
        // flyway_schema_history (installed_rank, version, description, type, script, checksum,
        // installed_by, installed_on, execution_time, success)
        ForeignTool::Flyway => &[
            "installed_rank",
            "version",
            "type",
            "script",
            "checksum",
            "installed_on",
            "success",
        ],
    }
}

/// The rows (with [`columns`] in order) as the tool means them.
/// `sqlx_ignored_chars`: what sqlx's checksums leave out ([`super::SqlxSettings`]).
pub(super) fn interpret(
    tool: ForeignTool,
    table: String,
    rows: &[Vec<ForeignValue>],
    sqlx_ignored_chars: &[char],
) -> Result<ForeignHistory, AdoptError> {
    let bad = |row: usize, message: String| AdoptError::BadRow {
        table: table.clone(),
        row: row + 1,
        message,
    };
    let mut history = ForeignHistory {
        tool,
        table: table.clone(),
        entries: Vec::new(),
        up_to: None,
        notes: Vec::new(),
    };
    match tool {
        ForeignTool::GolangMigrate => golang_migrate(&mut history, rows, bad)?,
        ForeignTool::Dbmate | ForeignTool::Diesel => {
            for (index, row) in rows.iter().enumerate() {
                history.entries.push(ForeignEntry {
                    version: text(&row[0]).ok_or_else(|| bad(index, "version is empty".into()))?,
                    applied_at: row.get(1).and_then(ForeignValue::as_time),
                    checksum: None,
                    ran_from_code: None,
                });
            }
        }
        ForeignTool::Sqlx => sqlx(&mut history, rows, sqlx_ignored_chars, bad)?,
        ForeignTool::Flyway => flyway(&mut history, rows, bad)?,
    }
    Ok(history)
}

fn text(value: &ForeignValue) -> Option<String> {
    value
        .as_text()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// One row: the current version, and whether its migration stopped part-way. No row, or
/// version -1, means nothing is applied.
fn golang_migrate(
    history: &mut ForeignHistory,
    rows: &[Vec<ForeignValue>],
    bad: impl Fn(usize, String) -> AdoptError,
) -> Result<(), AdoptError> {
    let Some(row) = rows.first() else {
        return Ok(());
    };
    if rows.len() > 1 {
        return Err(bad(1, "golang-migrate keeps a single row".into()));
    }
    let version = row[0]
        .as_i64()
        .ok_or_else(|| bad(0, "version is not a number".into()))?;
    if row[1]
        .as_bool()
        .ok_or_else(|| bad(0, "dirty is not a boolean".into()))?
    {
        return Err(AdoptError::Dirty {
            version: version.to_string(),
        });
    }
    if version >= 0 {
        history.up_to = Some(UpTo {
            version: version.to_string(),
            applied_at: None,
            needs_file: true,
        });
    }
    Ok(())
}

/// One row per migration; `success = false` is a migration that failed part-way (MySQL).
fn sqlx(
    history: &mut ForeignHistory,
    rows: &[Vec<ForeignValue>],
    ignored_chars: &[char],
    bad: impl Fn(usize, String) -> AdoptError,
) -> Result<(), AdoptError> {
    let mut failed = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let version = row[0]
            .as_i64()
            .ok_or_else(|| bad(index, "version is not a number".into()))?
            .to_string();
        if !row[2]
            .as_bool()
            .ok_or_else(|| bad(index, "success is not a boolean".into()))?
        {
            failed.push(version);
            continue;
        }
        let checksum = row[3]
            .as_bytes()
            .ok_or_else(|| bad(index, "checksum is not binary".into()))?;
        history.entries.push(ForeignEntry {
            version,
            applied_at: row[1].as_time(),
            checksum: Some(ForeignChecksum::Sha384 {
                digest: checksum,
                ignored_chars: ignored_chars.to_vec(),
            }),
            ran_from_code: None,
        });
    }
    if !failed.is_empty() {
        return Err(AdoptError::Failed {
            tool: ForeignTool::Sqlx,
            versions: failed,
        });
    }
    Ok(())
}

/// Rows in `installed_rank` order, each an event: a versioned migration applied (`SQL`, or
/// `JDBC` for a Java one, which has no file here), a baseline (everything up to its version
/// counts as applied, files or not), an undo or a `repair`'s deletion (the version is no longer
/// applied), a repeatable migration (no version: strata has no such thing, noted), the schema
/// creation marker (nothing). A failed row (`success = false`) stops the adoption.
fn flyway(
    history: &mut ForeignHistory,
    rows: &[Vec<ForeignValue>],
    bad: impl Fn(usize, String) -> AdoptError,
) -> Result<(), AdoptError> {
    let mut ordered: Vec<(i64, usize, &Vec<ForeignValue>)> = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let rank = row[0]
            .as_i64()
            .ok_or_else(|| bad(index, "installed_rank is not a number".into()))?;
        ordered.push((rank, index, row));
    }
    ordered.sort_by_key(|(rank, ..)| *rank);
    let mut failed = Vec::new();
    let mut repeatables = Vec::new();
    for (_, index, row) in ordered {
        let version = text(&row[1]);
        let kind = text(&row[2]).unwrap_or_default();
        let script = text(&row[3]).unwrap_or_default();
        let success = row[6]
            .as_bool()
            .ok_or_else(|| bad(index, "success is not a boolean".into()))?;
        if !success {
            failed.push(version.unwrap_or(script));
            continue;
        }
        let forget = |entries: &mut Vec<ForeignEntry>, version: &str| {
            entries.retain(|entry| entry.version != version);
        };
        match (kind.as_str(), version) {
            ("SCHEMA", _) => {}
            ("BASELINE", Some(version)) => {
                history.up_to = Some(UpTo {
                    version,
                    applied_at: row[5].as_time(),
                    needs_file: false,
                });
            }
            ("DELETE", Some(version)) => forget(&mut history.entries, &version),
            (undo, Some(version)) if undo.starts_with("UNDO_") => {
                forget(&mut history.entries, &version);
            }
            (_, None) => {
                if !repeatables.contains(&script) {
                    repeatables.push(script);
                }
            }
            (kind, Some(version)) => {
                // Only an SQL script's checksum is of a file strata reads.
                let checksum = if kind == "SQL" && row[4] != ForeignValue::Null {
                    let crc = row[4]
                        .as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(|| bad(index, "checksum is not a 32-bit integer".into()))?;
                    Some(ForeignChecksum::Crc32(crc))
                } else {
                    None
                };
                let ran_from_code = match kind {
                    "SQL" => None,
                    "JDBC" | "SPRING_JDBC" => Some(format!("Java migration {script}")),
                    kind => Some(format!("{kind} migration {script}")),
                };
                forget(&mut history.entries, &version);
                history.entries.push(ForeignEntry {
                    version,
                    applied_at: row[5].as_time(),
                    checksum,
                    ran_from_code,
                });
            }
        }
    }
    if !failed.is_empty() {
        return Err(AdoptError::Failed {
            tool: ForeignTool::Flyway,
            versions: failed,
        });
    }
    for script in repeatables {
        history.notes.push(format!(
            "{script}: a repeatable migration Flyway applied; strata has no repeatable migrations, so it records nothing for it"
        ));
    }
    Ok(())
}
