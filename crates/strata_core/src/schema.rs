//! Schema snapshots: a deterministic, human-readable model of a database's schema, read from its
//! catalogs by a driver's [`Introspect`], and the comparison of two snapshots.
//!
//! A snapshot is a set of named objects (tables, indexes, functions, ...), each a sorted list of
//! attributes (`column email`, `constraint users_pkey`, `definition`, ...). Objects and their
//! attributes are compared by name, never by position, so two databases that hold the same
//! schema give byte-identical text whatever order it was built in. Differences that cannot
//! change behaviour — column order, whitespace and comments inside function bodies — are
//! [`SchemaDiff::notes`], not [`SchemaDiff::differences`].

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::Dialect;
use crate::driver::{Driver, DriverError};
use crate::lexer::{TokenKind, tokenize};

/// What a snapshot includes beyond the schema itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Record each object's owner. Off by default: owners differ between a developer's database
    /// and production without changing the schema.
    pub include_owners: bool,
}

/// A database whose schema strata can read from its catalogs.
pub trait Introspect {
    /// The schema as it is now, without strata's own bookkeeping tables.
    fn snapshot(&mut self, options: &SnapshotOptions) -> Result<SchemaSnapshot, DriverError>;
}

/// A driver that can also read its schema: what `verify`, `drift` and `schema dump` need.
pub trait SchemaDriver: Driver + Introspect {}

impl<T: Driver + Introspect + ?Sized> SchemaDriver for T {}

/// The kinds of object a snapshot holds, in the order the text lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    Schema,
    Extension,
    Type,
    Sequence,
    Table,
    View,
    MaterializedView,
    Index,
    Function,
    Procedure,
    Trigger,
}

impl ObjectKind {
    /// The word used in the text and in differences.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Schema => "schema",
            ObjectKind::Extension => "extension",
            ObjectKind::Type => "type",
            ObjectKind::Sequence => "sequence",
            ObjectKind::Table => "table",
            ObjectKind::View => "view",
            ObjectKind::MaterializedView => "materialized view",
            ObjectKind::Index => "index",
            ObjectKind::Function => "function",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Trigger => "trigger",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How two values of an attribute are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Any difference is a difference.
    Exact,
    /// Any difference is only a note (column order).
    NoteOnly,
    /// SQL source (a function body): a difference in tokens is a difference; one only in
    /// whitespace or comments is a note.
    Code(Dialect),
}

/// One property of an object, such as `column email` → `text NOT NULL DEFAULT ''::text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub value: String,
    pub comparison: Comparison,
}

/// A named object and its attributes, keyed (and listed) by attribute name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaObject {
    pub attributes: BTreeMap<String, Attribute>,
}

impl SchemaObject {
    /// Sets an attribute compared exactly.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.set_compared(key, value, Comparison::Exact)
    }

    /// Sets an attribute with its own comparison.
    pub fn set_compared(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        comparison: Comparison,
    ) -> &mut Self {
        self.attributes.insert(
            key.into(),
            Attribute {
                value: value.into(),
                comparison,
            },
        );
        self
    }
}

/// A database's schema, objects keyed by kind and qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaSnapshot {
    pub dialect: Dialect,
    pub objects: BTreeMap<(ObjectKind, String), SchemaObject>,
}

impl SchemaSnapshot {
    pub fn new(dialect: Dialect) -> SchemaSnapshot {
        SchemaSnapshot {
            dialect,
            objects: BTreeMap::new(),
        }
    }

    /// The object of this kind and name, created empty on first use.
    pub fn object(&mut self, kind: ObjectKind, name: impl Into<String>) -> &mut SchemaObject {
        self.objects.entry((kind, name.into())).or_default()
    }

    /// The deterministic text form, as `strata schema dump` writes it.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "-- strata schema snapshot ({}): generated by `strata schema dump`; do not edit.\n",
            self.dialect
        );
        for ((kind, name), object) in &self.objects {
            let _ = write!(out, "\n{kind} {name}\n");
            for (key, attribute) in &object.attributes {
                write_attribute(&mut out, "  ", key, &attribute.value);
            }
        }
        out
    }

    /// What differs between `expected` and `self` (the schema found), object by object.
    pub fn diff(&self, expected: &SchemaSnapshot) -> SchemaDiff {
        let mut diff = SchemaDiff::default();
        let keys: std::collections::BTreeSet<&(ObjectKind, String)> =
            expected.objects.keys().chain(self.objects.keys()).collect();
        for key in keys {
            let (kind, name) = key;
            let object = format!("{kind} {name}");
            match (expected.objects.get(key), self.objects.get(key)) {
                (Some(_), None) => diff
                    .differences
                    .push(Difference::new(object, Change::Missing)),
                (None, Some(_)) => {
                    diff.differences
                        .push(Difference::new(object, Change::Unexpected));
                }
                (Some(before), Some(after)) => {
                    compare_objects(&mut diff, *kind, &object, before, after)
                }
                (None, None) => {}
            }
        }
        diff
    }
}

fn write_attribute(out: &mut String, indent: &str, key: &str, value: &str) {
    if value.contains('\n') {
        let _ = writeln!(out, "{indent}{key}:");
        for line in value.split('\n') {
            let _ = writeln!(out, "{indent}    {}", line.trim_end());
        }
    } else if value.is_empty() {
        let _ = writeln!(out, "{indent}{key}");
    } else {
        let _ = writeln!(out, "{indent}{key}: {value}");
    }
}

fn compare_objects(
    diff: &mut SchemaDiff,
    kind: ObjectKind,
    object: &str,
    expected: &SchemaObject,
    found: &SchemaObject,
) {
    let keys: std::collections::BTreeSet<&String> = expected
        .attributes
        .keys()
        .chain(found.attributes.keys())
        .collect();
    let differences_before = diff.differences.len();
    let notes_before = diff.notes.len();
    for key in keys {
        let before = expected.attributes.get(key);
        let after = found.attributes.get(key);
        if before.map(|a| &a.value) == after.map(|a| &a.value) {
            continue;
        }
        let comparison = before.or(after).map_or(Comparison::Exact, |a| a.comparison);
        let is_note = match (comparison, before, after) {
            (Comparison::NoteOnly, _, _) => true,
            (Comparison::Code(dialect), Some(b), Some(a)) => {
                code_tokens(&b.value, dialect) == code_tokens(&a.value, dialect)
            }
            _ => false,
        };
        let mut difference = Difference::new(
            object.to_owned(),
            Change::Changed {
                attribute: key.clone(),
                expected: before.map(|a| a.value.clone()),
                found: after.map(|a| a.value.clone()),
            },
        );
        if is_note {
            difference.reason = Some(match comparison {
                Comparison::NoteOnly => "does not change behaviour".into(),
                _ => "only whitespace or comments differ".into(),
            });
            diff.notes.push(difference);
        } else {
            if kind == ObjectKind::Type && key == ENUM_VALUES {
                difference.reason = enum_value_reason(before, after);
            }
            diff.differences.push(difference);
        }
    }
    // An object that differs anyway needs no notes (a column added or dropped also changes
    // the column order; saying so adds nothing).
    if diff.differences.len() > differences_before {
        diff.notes.truncate(notes_before);
    }
}

/// The attribute under which drivers list an enum type's values (`'a', 'b'`).
pub const ENUM_VALUES: &str = "enum values";

/// Why a down leaves added enum values behind: PostgreSQL cannot remove one.
fn enum_value_reason(before: Option<&Attribute>, after: Option<&Attribute>) -> Option<String> {
    let (before, after) = (before?, after?);
    let found: Vec<&str> = after.value.split(", ").collect();
    let kept_all = before.value.split(", ").all(|value| found.contains(&value));
    (kept_all && found.len() > before.value.split(", ").count()).then(|| {
        "a value added to an enum type cannot be removed (there is no ALTER TYPE ... DROP VALUE): \
         recreate the type in the down file, or declare the migration `-- strata:irreversible`"
            .to_owned()
    })
}

/// The significant tokens of SQL source, with dollar-quoted bodies (PostgreSQL function
/// bodies) tokenised in turn, so only whitespace and comments are ignored.
fn code_tokens(source: &str, dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    for token in tokenize(source, dialect) {
        if !token.is_significant() {
            continue;
        }
        let text = token.text(source);
        match dollar_quoted_body(text) {
            Some((tag, body)) if token.kind == TokenKind::Quoted => {
                out.push(tag.to_owned());
                out.extend(code_tokens(body, dialect));
                out.push(tag.to_owned());
            }
            _ => out.push(text.to_owned()),
        }
    }
    out
}

/// `$tag$body$tag$` → (`$tag$`, `body`).
fn dollar_quoted_body(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    let tag_end = rest.find('$')? + 2;
    let tag = &text[..tag_end];
    let body = text[tag_end..].strip_suffix(tag)?;
    Some((tag, body))
}

/// The result of comparing a schema with the one expected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    /// Differences that matter.
    pub differences: Vec<Difference>,
    /// Differences that cannot change behaviour (column order, function body formatting).
    pub notes: Vec<Difference>,
}

impl SchemaDiff {
    /// No differences that matter (there may be notes).
    pub fn is_equivalent(&self) -> bool {
        self.differences.is_empty()
    }
}

/// One object that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// Kind and qualified name, e.g. `index public.users_email_idx`.
    pub object: String,
    #[serde(flatten)]
    pub change: Change,
    /// Why it differs, when strata knows (an enum value PostgreSQL cannot remove), or why it is
    /// only a note.
    pub reason: Option<String>,
}

impl Difference {
    fn new(object: String, change: Change) -> Difference {
        Difference {
            object,
            change,
            reason: None,
        }
    }
}

/// How an object differs from the one expected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Expected, but not there.
    Missing,
    /// There, but not expected.
    Unexpected,
    /// There, with an attribute that differs (`None`: the attribute is absent on that side).
    Changed {
        attribute: String,
        expected: Option<String>,
        found: Option<String>,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let object = &self.object;
        match &self.change {
            Change::Missing => write!(f, "- {object}: expected, but missing")?,
            Change::Unexpected => write!(f, "+ {object}: present, but not expected")?,
            Change::Changed {
                attribute,
                expected,
                found,
            } => match (expected, found) {
                (Some(expected), Some(found))
                    if expected.contains('\n') || found.contains('\n') =>
                {
                    let mut text = format!("~ {object}: {attribute} differs\n");
                    write_attribute(&mut text, "    ", "expected", expected);
                    write_attribute(&mut text, "    ", "found", found);
                    f.write_str(text.trim_end())?;
                }
                (Some(expected), Some(found)) => {
                    write!(
                        f,
                        "~ {object}: {attribute}: expected {expected}, found {found}"
                    )?;
                }
                (Some(expected), None) => {
                    write!(f, "~ {object}: missing {attribute}{}", first_line(expected))?;
                }
                (None, Some(found)) => {
                    write!(f, "~ {object}: unexpected {attribute}{}", first_line(found))?;
                }
                (None, None) => write!(f, "~ {object}: {attribute}")?,
            },
        }
        if let Some(reason) = &self.reason {
            write!(f, "\n    ({reason})")?;
        }
        Ok(())
    }
}

/// ` (first line of the value)`, or nothing for an attribute that is only a name.
fn first_line(value: &str) -> String {
    value
        .split('\n')
        .next()
        .map(|line| format!(" ({line})"))
        .unwrap_or_default()
}

/// SQL text in one canonical form, for catalogs that store it as the author wrote it (SQLite's
/// `sqlite_master.sql`): comments and a final `;` dropped, one space between tokens (none
/// inside parentheses, before a comma or `;`, or around a dot), unquoted words and simple
/// quoted identifiers lower-cased.
/// The same definition written two ways gives the same text.
pub fn normalize_sql(source: &str, dialect: Dialect) -> String {
    let mut out = String::with_capacity(source.len());
    let mut previous: Option<String> = None;
    let mut tokens: Vec<_> = tokenize(source, dialect)
        .into_iter()
        .filter(|token| token.is_significant())
        .collect();
    while tokens
        .last()
        .is_some_and(|token| token.kind == TokenKind::Semicolon)
    {
        tokens.pop();
    }
    for token in tokens {
        let raw = token.text(source);
        let text = match token.kind {
            TokenKind::Word => raw.to_ascii_lowercase(),
            TokenKind::Quoted => simple_identifier(raw).unwrap_or_else(|| raw.to_owned()),
            _ => raw.to_owned(),
        };
        let glued = previous.as_deref().is_some_and(|p| {
            p == "(" || p == "." || matches!(text.as_str(), ")" | "," | "." | ";")
        });
        if previous.is_some() && !glued {
            out.push(' ');
        }
        out.push_str(&text);
        previous = Some(text);
    }
    out
}

/// `"Name"`, `` `name` `` or `[name]` → `name` when the identifier needs no quotes.
fn simple_identifier(quoted: &str) -> Option<String> {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .or_else(|| quoted.strip_prefix('`').and_then(|q| q.strip_suffix('`')))
        .or_else(|| quoted.strip_prefix('[').and_then(|q| q.strip_suffix(']')))?;
    let mut chars = inner.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then(|| inner.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(build: impl FnOnce(&mut SchemaSnapshot)) -> SchemaSnapshot {
        let mut snapshot = SchemaSnapshot::new(Dialect::Postgres);
        build(&mut snapshot);
        snapshot
    }

    fn users(default: &str) -> impl FnOnce(&mut SchemaSnapshot) {
        move |s| {
            s.object(ObjectKind::Table, "public.users")
                .set("column id", "bigint NOT NULL")
                .set("column email", format!("text DEFAULT {default}"))
                .set_compared("columns", "id, email", Comparison::NoteOnly);
        }
    }

    #[test]
    fn identical_snapshots_have_no_differences() {
        let a = snapshot(users("'a'::text"));
        assert_eq!(a.diff(&a.clone()), SchemaDiff::default());
    }

    #[test]
    fn names_a_missing_and_an_unexpected_object() {
        let expected = snapshot(|s| {
            s.object(ObjectKind::Index, "public.users_email_idx")
                .set("definition", "CREATE INDEX ...");
        });
        let found = snapshot(|s| {
            s.object(ObjectKind::Function, "public.touch()")
                .set("definition", "CREATE FUNCTION ...");
        });
        let diff = found.diff(&expected);
        let lines: Vec<String> = diff.differences.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "- index public.users_email_idx: expected, but missing",
                "+ function public.touch(): present, but not expected"
            ]
        );
    }

    #[test]
    fn a_changed_default_names_the_table_and_column() {
        let diff = snapshot(users("'b'::text")).diff(&snapshot(users("'a'::text")));
        assert_eq!(diff.notes, []);
        assert_eq!(
            diff.differences
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "~ table public.users: column email: expected text DEFAULT 'a'::text, found text DEFAULT 'b'::text"
            ]
        );
    }

    #[test]
    fn column_order_is_a_note() {
        let expected = snapshot(users("1"));
        let mut found = expected.clone();
        found
            .object(ObjectKind::Table, "public.users")
            .set_compared("columns", "email, id", Comparison::NoteOnly);
        let diff = found.diff(&expected);
        assert!(diff.is_equivalent(), "{diff:?}");
        assert_eq!(diff.notes.len(), 1);
        assert!(diff.notes[0].to_string().contains("columns"));
    }

    #[test]
    fn function_body_whitespace_and_comments_are_notes_but_tokens_are_not() {
        let body = |text: &str| {
            let text = text.to_owned();
            move |s: &mut SchemaSnapshot| {
                s.object(ObjectKind::Function, "public.f()").set_compared(
                    "definition",
                    text,
                    Comparison::Code(Dialect::Postgres),
                );
            }
        };
        let expected = snapshot(body("AS $f$ BEGIN RETURN 1; END $f$"));
        let reformatted = snapshot(body("AS $f$\nBEGIN\n  -- one\n  RETURN 1;\nEND\n$f$"));
        let diff = reformatted.diff(&expected);
        assert!(diff.is_equivalent(), "{diff:?}");
        assert_eq!(diff.notes.len(), 1);
        let changed = snapshot(body("AS $f$ BEGIN RETURN 2; END $f$"));
        assert!(!changed.diff(&expected).is_equivalent());
    }

    #[test]
    fn an_enum_value_left_behind_says_why() {
        let mood = |values: &str| {
            let values = values.to_owned();
            move |s: &mut SchemaSnapshot| {
                s.object(ObjectKind::Type, "public.mood")
                    .set(ENUM_VALUES, values);
            }
        };
        let diff = snapshot(mood("'sad', 'ok', 'happy'")).diff(&snapshot(mood("'sad', 'happy'")));
        assert_eq!(diff.differences.len(), 1);
        let text = diff.differences[0].to_string();
        assert!(text.contains("cannot be removed"), "{text}");
    }

    #[test]
    fn text_is_sorted_by_kind_and_name() {
        let text = snapshot(|s| {
            s.object(ObjectKind::Index, "public.b_idx")
                .set("definition", "x");
            s.object(ObjectKind::Table, "public.b")
                .set("column id", "int");
            s.object(ObjectKind::Table, "public.a")
                .set("column id", "int");
        })
        .to_text();
        let headers: Vec<&str> = text
            .split('\n')
            .filter(|l| !l.starts_with(' ') && !l.starts_with("--") && !l.is_empty())
            .collect();
        assert_eq!(
            headers,
            ["table public.a", "table public.b", "index public.b_idx"]
        );
    }

    #[test]
    fn normalizes_the_authors_formatting() {
        let a = "CREATE TABLE \"Users\" (\n  id INTEGER PRIMARY KEY, -- key\n  name TEXT\n)";
        let b = "create table users(id integer primary key,name text);";
        assert_eq!(
            normalize_sql(a, Dialect::Sqlite),
            normalize_sql(b, Dialect::Sqlite)
        );
        assert_eq!(
            normalize_sql(b, Dialect::Sqlite),
            "create table users (id integer primary key, name text)"
        );
        assert_eq!(
            normalize_sql(
                "SELECT 'Keep Case', \"odd name\" FROM main.t",
                Dialect::Sqlite
            ),
            "select 'Keep Case', \"odd name\" from main.t"
        );
    }
}
