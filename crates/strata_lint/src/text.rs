//! Byte offsets to 1-based line and column numbers.
//!
//! Line starts are computed once per file so that locating N diagnostics costs O(N log L), never a rescan
//! from the start of the file. A line ends at `\n`, `\r\n` or a lone `\r`, as editors count them.

/// Precomputed line starts of one source text.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

/// A 1-based position in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex { starts }
    }

    /// 0-based line number containing `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    /// 1-based line and column (in characters) of `offset`.
    pub(crate) fn position(&self, text: &str, offset: usize) -> Position {
        let line = self.line_of(offset);
        let column = text
            .get(self.starts[line]..offset)
            .map_or(1, |prefix| prefix.chars().count() + 1);
        Position {
            line: to_u32(line + 1),
            column: to_u32(column),
        }
    }

    /// The text of the line containing `offset`, without its line ending.
    pub(crate) fn line_text<'a>(&self, text: &'a str, offset: usize) -> &'a str {
        let line = self.line_of(offset);
        let start = self.starts[line];
        let end = self.starts.get(line + 1).copied().unwrap_or(text.len());
        text[start..end].trim_end_matches(['\n', '\r'])
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lf_crlf_and_lone_cr_as_line_ends() {
        let text = "a\nb\r\nc\rd";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(index.position(text, 2), Position { line: 2, column: 1 });
        assert_eq!(index.position(text, 5), Position { line: 3, column: 1 });
        assert_eq!(index.position(text, 7), Position { line: 4, column: 1 });
        assert_eq!(index.line_text(text, 2), "b");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "-- é\nSELECT 'é', 1";
        let index = LineIndex::new(text);
        let offset = text.find("1").unwrap();
        assert_eq!(
            index.position(text, offset),
            Position {
                line: 2,
                column: 13
            }
        );
    }
}
