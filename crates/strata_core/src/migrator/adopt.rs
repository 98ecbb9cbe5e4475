//! `adopt`: another tool's history recorded in strata's, as [`crate::adopt`] plans it, through
//! the same path as `baseline`.

use super::Migrator;
use crate::adopt::{
    AdoptError, AdoptReport, ForeignSource, SqlxSettings, plan_adoption, read_foreign_history,
};
use crate::error::Error;

impl Migrator<'_> {
    /// Records as applied, without running them, the migrations the other tool's history table
    /// counts as applied (the table `source` names, or the only tool table that exists), in one
    /// transaction and with the other tool's times. With `dry_run`, only says what it would
    /// record (nothing is locked or changed). The other tool's table is never changed.
    pub fn adopt(&mut self, source: &ForeignSource, dry_run: bool) -> Result<AdoptReport, Error> {
        if dry_run {
            let mut report = self.plan_adoption(source)?;
            report.dry_run = true;
            return Ok(report);
        }
        self.with_lock(|this| {
            let report = this.plan_adoption(source)?;
            let mut rows = Vec::with_capacity(report.adopted.len());
            for adopted in &report.adopted {
                let migration = this.file(adopted.version)?;
                let mut row = this.not_run_row(migration)?;
                row.applied_by =
                    format!("{} (adopted from {})", this.options.applied_by, report.tool);
                row.applied_at = adopted.applied_at.clone().unwrap_or_default();
                rows.push(row);
            }
            this.record_not_run(rows)?;
            Ok(report)
        })
    }

    fn plan_adoption(&mut self, source: &ForeignSource) -> Result<AdoptReport, Error> {
        let tables = self
            .driver
            .foreign_tables()
            .ok_or(Error::Adopt(AdoptError::Unsupported))?;
        let sqlx = SqlxSettings::beside(&self.set.dir)?;
        let foreign = read_foreign_history(tables, source, &sqlx)?;
        let history = self.read_history()?;
        Ok(plan_adoption(self.set, &foreign, &history)?)
    }
}
