//! [`Introspect`] for PostgreSQL: the schema read from the system catalogs (never by running
//! `pg_dump`), in one round trip.
//!
//! Definitions come from the server's own deparsers (`pg_get_indexdef`, `pg_get_constraintdef`,
//! `pg_get_viewdef`, `pg_get_functiondef`, `pg_get_triggerdef`, `format_type`), so they are
//! canonical: two databases with the same schema give the same text, whatever the migrations'
//! formatting. Left out: the system schemas, objects that belong to an extension (the extension
//! itself is listed), strata's own `strata_*` tables, OIDs, and owners unless asked for.

use std::collections::BTreeMap;

use strata_core::schema::{Comparison, ENUM_VALUES, ObjectKind, SchemaObject};
use strata_core::{Dialect, DriverError, Introspect, SchemaSnapshot, SnapshotOptions};
use tokio_postgres::{SimpleQueryMessage, SimpleQueryRow};

use crate::driver::PgDriver;
use crate::errors::driver_error;

/// Schemas of the user, not of the system (`n` is the `pg_namespace` row).
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
    AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'";

/// `c` (a `pg_class` row) is not strata's bookkeeping and not part of an extension.
const USER_RELATION: &str = "c.relname NOT LIKE 'strata\\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d \
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')";

/// `c`'s name, schema-qualified and quoted where needed.
const RELATION_NAME: &str = "quote_ident(n.nspname) || '.' || quote_ident(c.relname)";

/// The catalog queries, one per kind of object, sent together as one simple-protocol batch.
/// The order of the results is [`Section`]'s.
fn queries() -> Vec<String> {
    vec![
        format!(
            "SELECT quote_ident(n.nspname), obj_description(n.oid, 'pg_namespace'), pg_get_userbyid(n.nspowner) \
             FROM pg_namespace n WHERE {USER_SCHEMA} AND NOT EXISTS (SELECT 1 FROM pg_depend d \
             WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')"
        ),
        "SELECT quote_ident(e.extname), 'schema ' || quote_ident(n.nspname) || ', version ' || e.extversion \
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            .to_owned(),
        format!(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(t.typname), t.typtype, \
               CASE t.typtype \
                 WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) \
                   FROM pg_enum e WHERE e.enumtypid = t.oid) \
                 WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod) \
                   || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END \
                   || coalesce(' DEFAULT ' || t.typdefault, '') \
                 WHEN 'c' THEN (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), \
                   ', ' ORDER BY a.attnum) FROM pg_attribute a \
                   WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) \
                 WHEN 'r' THEN (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) \
               END, \
               obj_description(t.oid, 'pg_type'), pg_get_userbyid(t.typowner) \
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE {USER_SCHEMA} \
               AND (t.typtype IN ('e', 'd', 'r') \
                 OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')) \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d \
                 WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')"
        ),
        format!(
            "SELECT {RELATION_NAME}, \
               format('%s START %s INCREMENT %s MINVALUE %s MAXVALUE %s CACHE %s%s', format_type(s.seqtypid, NULL), \
                 s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, \
                 CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END), \
               (SELECT quote_ident(rn.nspname) || '.' || quote_ident(rc.relname) || '.' || quote_ident(a.attname) \
                  FROM pg_depend d JOIN pg_class rc ON rc.oid = d.refobjid \
                  JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
                  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a' LIMIT 1), \
               obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner) \
             FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'S' AND {USER_SCHEMA} AND {USER_RELATION} \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                 AND d.objid = c.oid AND d.deptype = 'i')"
        ),
        format!(
            "SELECT {RELATION_NAME}, c.relkind, c.relpersistence, \
               CASE WHEN c.relrowsecurity THEN 'enabled' || CASE WHEN c.relforcerowsecurity THEN ', forced' ELSE '' END END, \
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, \
               (SELECT string_agg(quote_ident(pn.nspname) || '.' || quote_ident(pc.relname) \
                   || CASE WHEN c.relispartition THEN ' ' || pg_get_expr(c.relpartbound, c.oid) ELSE '' END, \
                   ', ' ORDER BY i.inhseqno) \
                  FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent \
                  JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid), \
               c.relispartition, array_to_string(c.reloptions, ', '), \
               obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'f') AND {USER_SCHEMA} AND {USER_RELATION}"
        ),
        format!(
            "SELECT {RELATION_NAME}, quote_ident(a.attname), \
               format_type(a.atttypid, a.atttypmod) \
               || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation \
                    THEN ' COLLATE ' || (SELECT quote_ident(co.collname) FROM pg_collation co WHERE co.oid = a.attcollation) \
                    ELSE '' END \
               || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END \
               || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' \
                    WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END \
               || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED' \
                    WHEN ad.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) \
                    ELSE '' END, \
               col_description(c.oid, a.attnum) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
             WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f') \
               AND {USER_SCHEMA} AND {USER_RELATION} \
             ORDER BY 1, a.attnum"
        ),
        format!(
            "SELECT CASE WHEN con.conrelid <> 0 THEN 'table' ELSE 'type' END, \
               quote_ident(n.nspname) || '.' || quote_ident(coalesce(c.relname, t.typname)), \
               quote_ident(con.conname), pg_get_constraintdef(con.oid, true), \
               obj_description(con.oid, 'pg_constraint') \
             FROM pg_constraint con LEFT JOIN pg_class c ON c.oid = con.conrelid \
             LEFT JOIN pg_type t ON t.oid = con.contypid \
             JOIN pg_namespace n ON n.oid = coalesce(c.relnamespace, t.typnamespace) \
             WHERE (c.relkind IN ('r', 'p', 'f') OR con.contypid <> 0) AND {USER_SCHEMA} \
               AND coalesce(c.relname, '') NOT LIKE 'strata\\_%' \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.deptype = 'e' \
                 AND ((d.classid = 'pg_class'::regclass AND d.objid = con.conrelid) \
                   OR (d.classid = 'pg_type'::regclass AND d.objid = con.contypid)))"
        ),
        format!(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), pg_get_indexdef(i.indexrelid), \
               i.indisvalid AND i.indisready, obj_description(ic.oid, 'pg_class') \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_SCHEMA} AND {USER_RELATION}"
        ),
        format!(
            "SELECT {RELATION_NAME}, c.relkind, pg_get_viewdef(c.oid, true), array_to_string(c.reloptions, ', '), \
               obj_description(c.oid, 'pg_class'), pg_get_userbyid(c.relowner) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMA} AND {USER_RELATION}"
        ),
        format!(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname) \
               || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
               p.prokind, pg_get_functiondef(p.oid), obj_description(p.oid, 'pg_proc'), pg_get_userbyid(p.proowner) \
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.prokind IN ('f', 'p', 'w') AND {USER_SCHEMA} \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d \
                 WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')"
        ),
        format!(
            "SELECT quote_ident(tg.tgname) || ' on ' || {RELATION_NAME}, pg_get_triggerdef(tg.oid, true), \
               tg.tgenabled, obj_description(tg.oid, 'pg_trigger') \
             FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE NOT tg.tgisinternal AND {USER_SCHEMA} AND {USER_RELATION}"
        ),
        format!(
            "SELECT {RELATION_NAME}, quote_ident(p.polname), \
               concat_ws(' ', CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, \
                 'FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
                   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, \
                 'TO ' || (SELECT string_agg(CASE WHEN r.oid = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r.oid)) END, \
                   ', ' ORDER BY 1) FROM unnest(p.polroles) AS r(oid)), \
                 'USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', \
                 'WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')') \
             FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_SCHEMA} AND {USER_RELATION}"
        ),
    ]
}

/// The result sets of [`queries`], in order.
#[derive(Debug, Clone, Copy)]
enum Section {
    Schemas,
    Extensions,
    Types,
    Sequences,
    Tables,
    Columns,
    Constraints,
    Indexes,
    Views,
    Functions,
    Triggers,
    Policies,
}

const SECTIONS: [Section; 12] = [
    Section::Schemas,
    Section::Extensions,
    Section::Types,
    Section::Sequences,
    Section::Tables,
    Section::Columns,
    Section::Constraints,
    Section::Indexes,
    Section::Views,
    Section::Functions,
    Section::Triggers,
    Section::Policies,
];

impl Introspect for PgDriver {
    fn snapshot(&mut self, options: &SnapshotOptions) -> Result<SchemaSnapshot, DriverError> {
        let batch = queries().join(";\n");
        let messages = self
            .block_on(self.client().simple_query(&batch))
            .map_err(|e| driver_error(&e))?;
        let mut builder = Builder {
            snapshot: SchemaSnapshot::new(Dialect::Postgres),
            options: *options,
            column_order: BTreeMap::new(),
        };
        let mut sections = SECTIONS.iter();
        let mut section = sections.next();
        for message in &messages {
            match message {
                SimpleQueryMessage::Row(row) => {
                    if let Some(section) = section {
                        builder.add(*section, &Row(row));
                    }
                }
                SimpleQueryMessage::CommandComplete(_) => section = sections.next(),
                _ => {}
            }
        }
        Ok(builder.finish())
    }
}

/// A result row whose columns are read as text.
struct Row<'a>(&'a SimpleQueryRow);

impl Row<'_> {
    fn text(&self, index: usize) -> Option<&str> {
        self.0.get(index).filter(|value| !value.is_empty())
    }

    fn name(&self, index: usize) -> String {
        self.text(index).unwrap_or_default().to_owned()
    }

    fn flag(&self, index: usize) -> bool {
        self.text(index) == Some("t")
    }
}

struct Builder {
    snapshot: SchemaSnapshot,
    options: SnapshotOptions,
    /// Each table's columns in their physical order (a note when it differs, never a failure).
    column_order: BTreeMap<String, Vec<String>>,
}

impl Builder {
    fn add(&mut self, section: Section, row: &Row) {
        match section {
            Section::Schemas => {
                let object = self.object(ObjectKind::Schema, row.name(0));
                set_optional(object, "comment", row.text(1));
                self.owner(ObjectKind::Schema, &row.name(0), row.text(2));
            }
            Section::Extensions => {
                self.object(ObjectKind::Extension, row.name(0))
                    .set("installed", row.name(1));
            }
            Section::Types => {
                let key = match row.text(1) {
                    Some("e") => ENUM_VALUES,
                    Some("d") => "domain over",
                    Some("r") => "range over",
                    _ => "composite",
                };
                let object = self.object(ObjectKind::Type, row.name(0));
                object.set(key, row.name(2));
                set_optional(object, "comment", row.text(3));
                self.owner(ObjectKind::Type, &row.name(0), row.text(4));
            }
            Section::Sequences => {
                let object = self.object(ObjectKind::Sequence, row.name(0));
                object.set("definition", row.name(1));
                set_optional(object, "owned by", row.text(2));
                set_optional(object, "comment", row.text(3));
                self.owner(ObjectKind::Sequence, &row.name(0), row.text(4));
            }
            Section::Tables => {
                let object = self.object(ObjectKind::Table, row.name(0));
                match row.text(1) {
                    Some("p") => {
                        object.set("kind", "partitioned table");
                    }
                    Some("f") => {
                        object.set("kind", "foreign table");
                    }
                    _ => {}
                }
                if row.text(2) == Some("u") {
                    object.set("unlogged", "true");
                }
                set_optional(object, "row level security", row.text(3));
                set_optional(object, "partition by", row.text(4));
                let parent_key = if row.flag(6) {
                    "partition of"
                } else {
                    "inherits"
                };
                set_optional(object, parent_key, row.text(5));
                set_optional(object, "options", row.text(7));
                set_optional(object, "comment", row.text(8));
                self.owner(ObjectKind::Table, &row.name(0), row.text(9));
            }
            Section::Columns => {
                let (table, column) = (row.name(0), row.name(1));
                let object = self.object(ObjectKind::Table, table.clone());
                object.set(format!("column {column}"), row.name(2));
                set_optional(object, &format!("column {column} comment"), row.text(3));
                self.column_order.entry(table).or_default().push(column);
            }
            Section::Constraints => {
                let kind = if row.text(0) == Some("table") {
                    ObjectKind::Table
                } else {
                    ObjectKind::Type
                };
                let name = row.name(2);
                let object = self.object(kind, row.name(1));
                object.set(format!("constraint {name}"), row.name(3));
                set_optional(object, &format!("constraint {name} comment"), row.text(4));
            }
            Section::Indexes => {
                let object = self.object(ObjectKind::Index, row.name(0));
                object.set("definition", row.name(1));
                if !row.flag(2) {
                    object.set("state", "INVALID (left by a failed concurrent build)");
                }
                set_optional(object, "comment", row.text(3));
            }
            Section::Views => {
                let kind = if row.text(1) == Some("m") {
                    ObjectKind::MaterializedView
                } else {
                    ObjectKind::View
                };
                let object = self.object(kind, row.name(0));
                object.set("definition", row.name(2).trim());
                set_optional(object, "options", row.text(3));
                set_optional(object, "comment", row.text(4));
                self.owner(kind, &row.name(0), row.text(5));
            }
            Section::Functions => {
                let kind = if row.text(1) == Some("p") {
                    ObjectKind::Procedure
                } else {
                    ObjectKind::Function
                };
                let object = self.object(kind, row.name(0));
                object.set_compared(
                    "definition",
                    row.name(2).trim(),
                    Comparison::Code(Dialect::Postgres),
                );
                set_optional(object, "comment", row.text(3));
                self.owner(kind, &row.name(0), row.text(4));
            }
            Section::Triggers => {
                let object = self.object(ObjectKind::Trigger, row.name(0));
                object.set("definition", row.name(1));
                let state = match row.text(2) {
                    Some("D") => Some("disabled"),
                    Some("R") => Some("replica only"),
                    Some("A") => Some("always"),
                    _ => None,
                };
                set_optional(object, "enabled", state);
                set_optional(object, "comment", row.text(3));
            }
            Section::Policies => {
                self.object(ObjectKind::Table, row.name(0))
                    .set(format!("policy {}", row.name(1)), row.name(2));
            }
        }
    }

    fn object(&mut self, kind: ObjectKind, name: String) -> &mut SchemaObject {
        self.snapshot.object(kind, name)
    }

    fn owner(&mut self, kind: ObjectKind, name: &str, owner: Option<&str>) {
        if self.options.include_owners {
            set_optional(self.snapshot.object(kind, name), "owner", owner);
        }
    }

    fn finish(mut self) -> SchemaSnapshot {
        for (table, columns) in std::mem::take(&mut self.column_order) {
            self.snapshot.object(ObjectKind::Table, table).set_compared(
                "columns",
                columns.join(", "),
                Comparison::NoteOnly,
            );
        }
        self.snapshot
    }
}

fn set_optional(object: &mut SchemaObject, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        object.set(key, value);
    }
}
