//! sqlx's project settings (`sqlx.toml`, sqlx 0.9 and later), as far as they change what its
//! history means: the history table's name and the characters its checksums leave out.

use std::path::Path;

use super::AdoptError;

/// `[migrate]` of `sqlx.toml`; the defaults when the project has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlxSettings {
    /// `table-name`: the history table, when not `_sqlx_migrations`.
    pub table_name: Option<String>,
    /// `ignored-chars`: dropped from a file's text before sqlx hashes it.
    pub ignored_chars: Vec<char>,
}

impl SqlxSettings {
    /// Reads `sqlx.toml` from the directory that holds `migrations_dir` (the crate root, where
    /// `sqlx migrate` and `migrate!()` find both); the defaults when there is no such file.
    pub fn beside(migrations_dir: &Path) -> Result<SqlxSettings, AdoptError> {
        let Some(path) = migrations_dir
            .parent()
            .map(|project| project.join("sqlx.toml"))
            .filter(|path| path.is_file())
        else {
            return Ok(SqlxSettings::default());
        };
        let bad = |message: String| AdoptError::SqlxSettings {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
        SqlxSettings::parse(&text).map_err(bad)
    }

    fn parse(text: &str) -> Result<SqlxSettings, String> {
        let document: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let mut settings = SqlxSettings::default();
        let Some(migrate) = document.get("migrate") else {
            return Ok(settings);
        };
        let migrate = migrate.as_table().ok_or("[migrate] is not a table")?;
        if let Some(name) = migrate.get("table-name") {
            let name = name.as_str().ok_or("migrate.table-name is not a string")?;
            if name.contains(['.', '"', '`']) {
                return Err(format!(
                    "migrate.table-name {name:?} is qualified or quoted; strata reads a history table by its plain name, in the schema (or database) where it keeps its own"
                ));
            }
            settings.table_name = Some(name.to_owned());
        }
        if let Some(chars) = migrate.get("ignored-chars") {
            let chars = chars
                .as_array()
                .ok_or("migrate.ignored-chars is not an array")?;
            for value in chars {
                let mut one = value.as_str().unwrap_or_default().chars();
                match (one.next(), one.next()) {
                    (Some(c), None) => settings.ignored_chars.push(c),
                    _ => {
                        let shown = value
                            .as_str()
                            .map_or_else(|| value.to_string(), |text| format!("{text:?}"));
                        return Err(format!(
                            "migrate.ignored-chars holds {shown}, not a single character"
                        ));
                    }
                }
            }
        }
        Ok(settings)
    }

    /// sqlx's history table: `table-name`, or its default.
    pub fn table(&self) -> &str {
        self.table_name
            .as_deref()
            .unwrap_or(super::ForeignTool::Sqlx.table())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_name_and_the_ignored_characters() {
        let settings = SqlxSettings::parse(
            "[migrate]\ntable-name = \"app_migrations\"\nignored-chars = [\" \", \"\\r\", \"\\uFEFF\"]\n[migrate.defaults]\nmigration-type = \"reversible\"\n",
        )
        .unwrap();
        assert_eq!(settings.table(), "app_migrations");
        assert_eq!(settings.ignored_chars, [' ', '\r', '\u{feff}']);
        let defaults = SqlxSettings::parse("[common]\ndatabase-url-var = \"APP_DB\"\n").unwrap();
        assert_eq!(defaults.table(), "_sqlx_migrations");
        assert!(defaults.ignored_chars.is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let error = |text: &str| SqlxSettings::parse(text).unwrap_err();
        assert_eq!(
            error("[migrate]\nignored-chars = [\"\\r\\n\"]\n"),
            "migrate.ignored-chars holds \"\\r\\n\", not a single character"
        );
        assert!(
            error("[migrate]\ntable-name = \"tenant._sqlx_migrations\"\n")
                .starts_with("migrate.table-name \"tenant._sqlx_migrations\" is qualified")
        );
        assert!(error("[migrate\n").contains("TOML parse error"));
    }

    #[test]
    fn is_found_beside_the_migrations_directory() {
        let project = tempfile::tempdir().unwrap();
        let migrations = project.path().join("migrations");
        std::fs::create_dir(&migrations).unwrap();
        assert_eq!(
            SqlxSettings::beside(&migrations).unwrap(),
            SqlxSettings::default()
        );
        std::fs::write(
            project.path().join("sqlx.toml"),
            "[migrate]\nignored-chars = [\"\\r\"]\n",
        )
        .unwrap();
        let settings = SqlxSettings::beside(&migrations).unwrap();
        assert_eq!(settings.ignored_chars, ['\r']);
    }
}
