//! The `[lint]` table of `strata.toml`: target PostgreSQL and MySQL versions, the small-table threshold, and
//! per-rule severities. `config.rs` reads it as part of the file (unknown keys are errors there);
//! this module checks rule ids and severities against the linter's registry, naming the line of a
//! bad entry.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use strata_lint::{RuleSetting, Settings, Severity};
use toml::Spanned;

use crate::error::CliError;

/// `[lint]` as written in `strata.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LintTable {
    /// Target PostgreSQL major version, when no `--pg-version` is given.
    pg_version: Option<u32>,
    /// Target MySQL or MariaDB version (`8.0.28`, `10.11-mariadb`), when no `--mysql-version` is given.
    mysql_version: Option<Spanned<String>>,
    /// Tables with fewer estimated rows have their locking findings lowered to `info`.
    small_table_rows: Option<u64>,
    /// `"<rule-id>" = "error" | "warning" | "info" | "off"`; spans locate a bad entry.
    #[serde(default)]
    rules: BTreeMap<String, Spanned<String>>,
}

impl LintTable {
    /// The linter's settings: the table's values over the linter's defaults. `config_file` is the
    /// file the table came from, named (with the line) when an entry is wrong.
    pub(crate) fn to_settings(&self, config_file: Option<&Path>) -> Result<Settings, CliError> {
        let mut settings = Settings::default();
        if let Some(version) = self.pg_version {
            settings.postgres_version = version;
        }
        if let Some(rows) = self.small_table_rows {
            settings.small_table_rows = rows;
        }
        if let Some(version) = &self.mysql_version {
            settings.mysql_version =
                super::parse_mysql_version(version.get_ref()).map_err(|e| match config_file {
                    Some(path) => e.at(path, line_of(path, version.span().start)),
                    None => e,
                })?;
        }
        for (id, value) in &self.rules {
            let setting = match value.get_ref().as_str() {
                "off" => Ok(RuleSetting::Disabled),
                other => other.parse::<Severity>().map(RuleSetting::Severity),
            };
            let result = setting.and_then(|setting| settings.configure(id, setting));
            if let Err(error) = result {
                let mut cli = CliError::usage(format!("[lint.rules] \"{id}\": {error}"))
                    .with_hint("severities are error, warning, info or off; `strata explain <rule-id>` shows a rule");
                if let Some(path) = config_file {
                    cli = cli.at(path, line_of(path, value.span().start));
                }
                return Err(cli);
            }
        }
        Ok(settings)
    }

    /// The PostgreSQL version the file sets, if any (it wins over the connected server's).
    pub(crate) fn pg_version(&self) -> Option<u32> {
        self.pg_version
    }

    /// Whether the file sets the MySQL version (which then wins over the connected server's).
    pub(crate) fn sets_mysql_version(&self) -> bool {
        self.mysql_version.is_some()
    }
}

/// 1-based line of a byte offset in the configuration file (read again: this runs only on error).
fn line_of(path: &Path, offset: usize) -> u32 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let before = text.get(..offset).unwrap_or(&text);
    u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml_text: &str) -> LintTable {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn severities_and_off_configure_rules() {
        let settings = table(
            "pg_version = 12\nsmall_table_rows = 5\n[rules]\n\"drop-table\" = \"error\"\ntruncate = \"off\"\n",
        )
        .to_settings(None)
        .unwrap();
        assert_eq!(settings.postgres_version, 12);
        assert_eq!(settings.small_table_rows, 5);
        let migration = strata_lint::Migration::new(
            "1_x.up.sql",
            "DROP TABLE t; TRUNCATE u;",
            strata_lint::Dialect::Postgres,
        );
        let found: Vec<(&str, Severity)> =
            strata_lint::lint_directory(&[migration], &settings, None)
                .iter()
                .filter(|d| ["drop-table", "truncate"].contains(&d.rule))
                .map(|d| (d.rule, d.severity))
                .collect();
        assert_eq!(found, [("drop-table", Severity::Error)]);
    }

    #[test]
    fn unknown_ids_and_severities_are_usage_errors() {
        let err = table("[rules]\n\"drop-tabel\" = \"error\"\n")
            .to_settings(None)
            .unwrap_err();
        assert_eq!(err.exit_code, 2);
        assert!(err.message.contains("drop-tabel"), "{}", err.message);
        let err = table("[rules]\n\"drop-table\" = \"fatal\"\n")
            .to_settings(None)
            .unwrap_err();
        assert!(err.message.contains("fatal"), "{}", err.message);
    }

    #[test]
    fn mysql_versions_are_read_and_checked() {
        let settings = table("mysql_version = \"10.4-mariadb\"\n")
            .to_settings(None)
            .unwrap();
        assert_eq!(settings.mysql_version.to_string(), "MariaDB 10.4.0");
        let err = table("mysql_version = \"latest\"\n")
            .to_settings(None)
            .unwrap_err();
        assert_eq!(err.exit_code, 2);
        assert!(err.message.contains("latest"), "{}", err.message);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<LintTable>("pg_versoin = 12").is_err());
    }
}
