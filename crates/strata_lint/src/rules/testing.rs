//! Test helpers for rules: lint SQL through the whole engine and keep one rule's diagnostics.

use crate::input::{Catalog, Dialect, Migration, Settings, TransactionMode};
use crate::registry::Rule;
use crate::report::Diagnostic;

/// One test scenario: optional earlier migrations, then the migration under test.
pub(crate) struct Case {
    earlier: Vec<String>,
    sql: String,
    settings: Settings,
    dialect: Dialect,
    transaction: TransactionMode,
    has_down: bool,
    catalog: Option<Catalog>,
}

pub(crate) fn case(sql: &str) -> Case {
    Case {
        earlier: Vec::new(),
        sql: sql.to_owned(),
        settings: Settings::default(),
        dialect: Dialect::Postgres,
        transaction: TransactionMode::Decide,
        has_down: true,
        catalog: None,
    }
}

impl Case {
    /// Adds an earlier migration of the same directory.
    pub(crate) fn after(mut self, earlier: &str) -> Self {
        self.earlier.push(earlier.to_owned());
        self
    }

    pub(crate) fn postgres(mut self, version: u32) -> Self {
        self.settings.postgres_version = version;
        self
    }

    pub(crate) fn sqlite(mut self) -> Self {
        self.dialect = Dialect::Sqlite;
        self
    }

    /// MySQL or MariaDB at `version` (`8.0.28`, `10.11-mariadb`).
    pub(crate) fn mysql(mut self, version: &str) -> Self {
        self.dialect = Dialect::MySql;
        self.settings.mysql_version =
            crate::facts::MySqlVersion::parse(version).expect("a MySQL version");
        self
    }

    pub(crate) fn in_transaction(mut self, in_transaction: bool) -> Self {
        self.transaction = if in_transaction {
            TransactionMode::InTransaction
        } else {
            TransactionMode::OutsideTransaction
        };
        self
    }

    pub(crate) fn without_down(mut self) -> Self {
        self.has_down = false;
        self
    }

    pub(crate) fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    pub(crate) fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// All diagnostics of the migration under test.
    pub(crate) fn lint(&self) -> Vec<Diagnostic> {
        let earlier: Vec<Migration> = self
            .earlier
            .iter()
            .enumerate()
            .map(|(i, sql)| {
                Migration::new(format!("{i}_earlier.up.sql"), sql.as_str(), self.dialect)
            })
            .collect();
        let migration = Migration::new("9_test.up.sql", self.sql.as_str(), self.dialect)
            .with_down(self.has_down)
            .with_transaction(self.transaction);
        crate::lint_one(&migration, &earlier, &self.settings, self.catalog.as_ref())
    }

    pub(crate) fn findings(&self, rule: &Rule) -> Vec<Diagnostic> {
        self.lint()
            .into_iter()
            .filter(|d| d.rule == rule.id)
            .collect()
    }

    /// Asserts the rule reports something and returns the first diagnostic.
    #[track_caller]
    pub(crate) fn fires(self, rule: &Rule) -> Diagnostic {
        let findings = self.findings(rule);
        assert!(
            !findings.is_empty(),
            "`{}` should fire on:\n{}\nall diagnostics: {:#?}",
            rule.id,
            self.sql,
            self.lint()
        );
        findings.into_iter().next().expect("checked non-empty")
    }

    /// Asserts the rule reports nothing.
    #[track_caller]
    pub(crate) fn silent(self, rule: &Rule) {
        let findings = self.findings(rule);
        assert!(
            findings.is_empty(),
            "`{}` should not fire on:\n{}\nbut reported: {findings:#?}",
            rule.id,
            self.sql
        );
    }
}

#[track_caller]
pub(crate) fn fires(rule: &Rule, sql: &str) -> Diagnostic {
    case(sql).fires(rule)
}

#[track_caller]
pub(crate) fn silent(rule: &Rule, sql: &str) {
    case(sql).silent(rule);
}
