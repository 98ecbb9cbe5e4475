//! dbmate's single-file migrations: `<version>_<name>.sql` with a `-- migrate:up` section and an
//! optional `-- migrate:down` section, each marker optionally followed by `transaction:false`.
//!
//! Each section keeps its place in the file (the down section's text starts with as many empty
//! lines as precede it), so statement line numbers in messages are the file's own.

use std::path::Path;

use super::SourceError;

/// One section of a dbmate file.
#[derive(Debug, Default)]
pub(super) struct Section {
    pub(super) text: String,
    /// `transaction:false` on the section's marker.
    pub(super) no_transaction: bool,
}

/// The sections of a dbmate file.
#[derive(Debug)]
pub(super) struct Sections {
    pub(super) up: Section,
    pub(super) down: Option<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Up,
    Down,
}

/// A marker line: `-- migrate:up` or `-- migrate:down`, then its options.
fn marker(line: &str) -> Option<(Marker, &str)> {
    let body = line.strip_prefix("--")?.trim_start();
    let (marker, rest) = if let Some(rest) = body.strip_prefix("migrate:up") {
        (Marker::Up, rest)
    } else {
        (Marker::Down, body.strip_prefix("migrate:down")?)
    };
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some((marker, rest))
}

/// The file's sections, or `None` when it has no `-- migrate:up` marker (a plain up-only file).
pub(super) fn sections(path: &Path, sql: &str) -> Result<Option<Sections>, SourceError> {
    let error = |line: usize, message: String| SourceError::Directive {
        path: path.to_owned(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        message,
    };
    // (marker, its 1-based line, the byte offset where its line starts, its options)
    let mut markers = Vec::new();
    let mut offset = 0;
    let mut statements_before_up = None;
    for (index, line) in sql.split('\n').enumerate() {
        let trimmed = line.trim_end_matches('\r');
        if let Some((kind, options)) = marker(trimmed) {
            markers.push((kind, index + 1, offset, options));
        } else if markers.is_empty()
            && statements_before_up.is_none()
            && !trimmed.trim().is_empty()
            && !trimmed.trim_start().starts_with("--")
        {
            statements_before_up = Some(index + 1);
        }
        offset += line.len() + 1;
    }
    let Some(&(first, first_line, ..)) = markers.first() else {
        return Ok(None);
    };
    if !markers.iter().any(|(kind, ..)| *kind == Marker::Up) {
        return Ok(None);
    }
    if first != Marker::Up {
        return Err(error(
            first_line,
            "`-- migrate:down` before `-- migrate:up`: a dbmate file starts with its up section"
                .into(),
        ));
    }
    if let Some(line) = statements_before_up {
        return Err(error(
            line,
            "SQL before `-- migrate:up`: a dbmate file starts with its up section".into(),
        ));
    }
    if let Some(&(kind, line, ..)) = markers
        .get(2)
        .or_else(|| markers.get(1).filter(|(kind, ..)| *kind == Marker::Up))
    {
        let name = if kind == Marker::Up { "up" } else { "down" };
        return Err(error(
            line,
            format!(
                "a second `-- migrate:{name}`: strata reads one up and one down section per file"
            ),
        ));
    }
    let section = |line: usize, options: &str, text: String| -> Result<Section, SourceError> {
        let mut no_transaction = false;
        for option in options.split_whitespace() {
            match option {
                "transaction:false" => no_transaction = true,
                "transaction:true" => no_transaction = false,
                other => {
                    return Err(error(
                        line,
                        format!(
                            "unknown dbmate option {other:?} (known: transaction:false, transaction:true)"
                        ),
                    ));
                }
            }
        }
        Ok(Section {
            text,
            no_transaction,
        })
    };
    let (_, up_line, _, up_options) = markers[0];
    let up_end = markers.get(1).map_or(sql.len(), |(_, _, start, _)| *start);
    let up = section(up_line, up_options, sql[..up_end].to_owned())?;
    let down = match markers.get(1) {
        Some(&(_, line, start, options)) => {
            let text = "\n".repeat(line - 1) + &sql[start..];
            Some(section(line, options, text)?)
        }
        None => None,
    };
    Ok(Some(Sections { up, down }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Result<Option<Sections>, SourceError> {
        sections(Path::new("m/1_a.sql"), sql)
    }

    #[test]
    fn splits_up_and_down_keeping_line_numbers() {
        let sql = "-- migrate:up\nCREATE TABLE t (id int);\n\n-- migrate:down transaction:false\nDROP TABLE t;\n";
        let sections = split(sql).unwrap().unwrap();
        assert_eq!(
            sections.up.text,
            "-- migrate:up\nCREATE TABLE t (id int);\n\n"
        );
        assert!(!sections.up.no_transaction);
        let down = sections.down.unwrap();
        assert_eq!(
            down.text,
            "\n\n\n-- migrate:down transaction:false\nDROP TABLE t;\n"
        );
        assert!(down.no_transaction);
    }

    #[test]
    fn a_file_without_markers_is_plain() {
        assert!(split("CREATE TABLE t (id int);").unwrap().is_none());
        assert!(split("-- migrate:upgrade\nSELECT 1;").unwrap().is_none());
    }

    #[test]
    fn misplaced_markers_and_unknown_options_name_the_line() {
        for (sql, expected) in [
            (
                "SELECT 1;\n-- migrate:up\nSELECT 2;",
                "m/1_a.sql:1: SQL before `-- migrate:up`",
            ),
            (
                "-- migrate:down\n-- migrate:up\n",
                "m/1_a.sql:1: `-- migrate:down` before",
            ),
            (
                "-- migrate:up\n-- migrate:up\n",
                "m/1_a.sql:2: a second `-- migrate:up`",
            ),
            (
                "-- migrate:up\n-- migrate:down\n-- migrate:down\n",
                "m/1_a.sql:3: a second `-- migrate:down`",
            ),
            (
                "-- migrate:up tx:no\nSELECT 1;",
                "m/1_a.sql:1: unknown dbmate option \"tx:no\"",
            ),
        ] {
            let message = split(sql).unwrap_err().to_string();
            assert!(message.starts_with(expected), "{message}");
        }
    }
}
