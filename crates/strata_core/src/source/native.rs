//! strata's own layout, which is golang-migrate's and sqlx's: `<version>_<name>.up.sql`, an
//! optional `<version>_<name>.down.sql`, and up-only `<version>_<name>.sql` (which may be a
//! dbmate file of sections, found when it is read).

use std::path::Path;

use super::{Entry, Listed, Listing, Part, SourceError, is_known_companion};
use crate::version::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    /// An up-only `.sql` file.
    Plain,
    Down,
}

struct ParsedName<'a> {
    label: &'a str,
    name: &'a str,
    direction: Direction,
}

/// Splits a file name into version digits, name and direction, or `None` if it is not a migration.
fn parse_file_name(file_name: &str) -> Option<ParsedName<'_>> {
    let stem = file_name.strip_suffix(".sql")?;
    let (stem, direction) = if let Some(stem) = stem.strip_suffix(".up") {
        (stem, Direction::Up)
    } else if let Some(stem) = stem.strip_suffix(".down") {
        (stem, Direction::Down)
    } else {
        (stem, Direction::Plain)
    };
    let (label, name) = stem.split_once('_')?;
    if label.is_empty() || !label.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    Some(ParsedName {
        label,
        name,
        direction,
    })
}

/// Whether the entry is a migration file of this layout (for detecting the layout).
pub(super) fn claims(entry: &Entry) -> bool {
    !entry.is_dir && parse_file_name(&entry.name).is_some()
}

pub(super) fn list(dir: &Path, entries: &[Entry]) -> Result<Listing, SourceError> {
    let mut warnings = Vec::new();
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    for entry in entries.iter().filter(|e| !e.is_dir) {
        let Some(parsed) = parse_file_name(&entry.name) else {
            if entry.name.ends_with(".sql") && !is_known_companion(&entry.name) {
                warnings.push(format!(
                    "ignoring {}: not named <version>_<name>.up.sql, .down.sql or .sql",
                    dir.join(&entry.name).display()
                ));
            }
            continue;
        };
        let path = dir.join(&entry.name);
        let version = Version::parse(parsed.label).map_err(|cause| SourceError::BadVersion {
            path: path.clone(),
            cause,
        })?;
        match parsed.direction {
            Direction::Down => downs.push((version, parsed, path)),
            _ => ups.push((version, parsed, path)),
        }
    }
    // Stable sorts: files of one version stay in name order, so a duplicate names the earlier
    // file first.
    ups.sort_by_key(|(version, ..)| *version);
    downs.sort_by_key(|(version, ..)| *version);
    if let Some([(version, _, first), (_, _, second)]) =
        downs.array_windows().find(|[a, b]| a.0 == b.0)
    {
        return Err(SourceError::DuplicateVersion {
            version: *version,
            first: first.clone(),
            second: second.clone(),
        });
    }
    let mut downs = downs.into_iter().peekable();
    let mut migrations = Vec::with_capacity(ups.len());
    for (version, parsed, up) in ups {
        if let Some((_, _, orphan)) = downs.next_if(|(v, ..)| *v < version) {
            return Err(orphan_down(dir, &orphan));
        }
        let down = match downs.next_if(|(v, ..)| *v == version) {
            // The down of `<label>_<name>.up.sql` must be `<label>_<name>.down.sql`.
            Some((_, down, path)) if (down.label, down.name) != (parsed.label, parsed.name) => {
                return Err(orphan_down(dir, &path));
            }
            Some((_, _, path)) => Some(path),
            None => None,
        };
        migrations.push(Listed {
            version,
            label: parsed.label.to_owned(),
            name: parsed.name.to_owned(),
            up_part: match parsed.direction {
                Direction::Plain => Part::Plain,
                _ => Part::Whole,
            },
            up,
            down,
            no_transaction: false,
        });
    }
    if let Some((_, _, orphan)) = downs.next() {
        return Err(orphan_down(dir, &orphan));
    }
    Ok(Listing {
        migrations,
        warnings,
    })
}

/// A down file whose version has no up file, or whose up file has another name.
fn orphan_down(dir: &Path, down: &Path) -> SourceError {
    let file_name = down
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    SourceError::DownWithoutUp {
        path: down.to_owned(),
        expected: dir.join(file_name.replace(".down.sql", ".up.sql")),
    }
}
