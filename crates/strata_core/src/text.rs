//! Byte offsets to line numbers. Every error strata prints names a line, so this is computed once
//! per file (a table of line starts) and looked up in O(log n) per statement.

/// Line starts of a text, for mapping byte offsets to 1-based line and column numbers.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`. A line ends at `\n`, at `\r\n`, or at a lone `\r`.
    pub fn new(text: &str) -> Self {
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

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> u32 {
        let line = self.starts.partition_point(|&start| start <= offset);
        u32::try_from(line).unwrap_or(u32::MAX)
    }

    /// 1-based (line, column) of a byte offset; the column counts bytes.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[line as usize - 1];
        (line, u32::try_from(offset - start + 1).unwrap_or(u32::MAX))
    }

    /// 1-based (line, column) of a byte offset in `text` (the text this index was built from),
    /// the column counting characters, as editors and code-scanning tools show them.
    pub fn line_char_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let line = self.line(offset);
        let start = self.starts[line as usize - 1];
        let column = text
            .get(start..offset)
            .map_or(1, |prefix| prefix.chars().count() + 1);
        (line, u32::try_from(column).unwrap_or(u32::MAX))
    }

    /// The line of `text` containing `offset`, without its line ending.
    pub fn line_text<'a>(&self, text: &'a str, offset: usize) -> &'a str {
        let line = self.line(offset) as usize;
        let start = self.starts[line - 1];
        let end = self.starts.get(line).copied().unwrap_or(text.len());
        text[start..end].trim_end_matches(['\n', '\r'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_offsets_with_mixed_line_endings() {
        let text = "a\nb\r\nc\rd";
        let index = LineIndex::new(text);
        assert_eq!(index.line(0), 1);
        assert_eq!(index.line(2), 2);
        assert_eq!(index.line(5), 3);
        assert_eq!(index.line_col(7), (4, 1));
        assert_eq!(index.line_col(text.len()), (4, 2));
        assert_eq!(index.line_text(text, 2), "b");
        assert_eq!(index.line_text(text, 7), "d");
    }

    #[test]
    fn character_columns_count_characters_not_bytes() {
        let text = "-- é\nSELECT 'é', 1";
        let index = LineIndex::new(text);
        let offset = text.find('1').unwrap();
        assert_eq!(index.line_char_col(text, offset), (2, 13));
        assert_eq!(index.line_col(offset), (2, 14));
    }
}
