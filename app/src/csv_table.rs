//! Every CSV the service reads or writes goes through here, with the `csv` crate and one set of
//! rules:
//!
//! * reading: UTF-8, a byte-order mark is dropped, any line ending (`\r\n`, `\n`, `\r`), quoted
//!   fields may hold separators, quotes and line breaks; the header names columns
//!   case-insensitively, and an unknown, repeated or missing required column is refused naming
//!   it (never silently ignored); blank lines are skipped; every row keeps its line number;
//! * writing: RFC 4180 quoting, and cells that a spreadsheet would run as a formula (beginning
//!   with `=`, `+`, `-`, `@`, tab or carriage return, and not a plain number) are neutralised
//!   with a leading `'` (OWASP "CSV injection").

use std::borrow::Cow;

use crate::error::AppError;

/// A parsed CSV file: its columns (lower-cased) and its rows.
#[derive(Debug)]
pub struct CsvTable {
    columns: Vec<String>,
    pub rows: Vec<CsvRow>,
}

/// One data row and the line it starts on (1 is the header).
#[derive(Debug)]
pub struct CsvRow {
    pub line: u64,
    fields: Vec<String>,
    columns: std::sync::Arc<[String]>,
}

impl CsvRow {
    /// The row's value of `column` (trimmed; empty when the column is absent or the row short).
    pub fn get(&self, column: &str) -> &str {
        self.columns.iter().position(|c| c == column).and_then(|i| self.fields.get(i)).map_or("", |v| v.as_str())
    }

    /// Whether the file has `column` at all.
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

impl CsvTable {
    /// Reads `bytes` whose header may name `known` columns and must name `required` ones.
    /// Errors: `Validation` on field `file`, naming the line or column at fault.
    pub fn read(bytes: &[u8], known: &[&str], required: &[&str]) -> Result<CsvTable, AppError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if std::str::from_utf8(bytes).is_err() {
            return Err(AppError::validation("file", "the CSV must be UTF-8 text"));
        }
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(bytes);
        let header = reader.headers().map_err(|e| parse_error(&e))?.clone();
        if header.iter().all(str::is_empty) {
            return Err(AppError::validation(
                "file",
                format!("the CSV is empty; the header names columns: {}", known.join(",")),
            ));
        }
        let mut columns: Vec<String> = Vec::with_capacity(header.len());
        for name in header.iter().map(|h| h.to_lowercase()) {
            if name.is_empty() {
                return Err(AppError::validation("file", "a column of the header has no name"));
            }
            if !known.contains(&name.as_str()) {
                let hint = closest(&name, known).map(|k| format!(" (did you mean {k:?}?)")).unwrap_or_default();
                return Err(AppError::validation(
                    "file",
                    format!("unknown column {name:?}{hint}; the columns are {}", known.join(", ")),
                ));
            }
            if columns.contains(&name) {
                return Err(AppError::validation("file", format!("the column {name:?} appears twice")));
            }
            columns.push(name);
        }
        if let Some(missing) = required.iter().find(|r| !columns.iter().any(|c| c == *r)) {
            return Err(AppError::validation("file", format!("the header needs a {missing} column")));
        }
        let columns: std::sync::Arc<[String]> = columns.into();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| parse_error(&e))?;
            if record.iter().all(str::is_empty) {
                continue;
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.len() > columns.len() {
                return Err(AppError::validation(
                    "file",
                    format!("line {line}: {} fields, but the header names {} columns", record.len(), columns.len()),
                ));
            }
            rows.push(CsvRow { line, fields: record.iter().map(str::to_string).collect(), columns: columns.clone() });
        }
        Ok(CsvTable { columns: columns.to_vec(), rows })
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }
}

fn parse_error(e: &csv::Error) -> AppError {
    let line = e.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
    AppError::validation("file", format!("{line}not valid CSV ({e})"))
}

/// The known column nearest to a misspelt one, if it is near at all.
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().map(|k| (edit_distance(name, k), *k)).filter(|(d, _)| *d <= 2).min().map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            current.push((previous[j] + usize::from(ca != *cb)).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A list inside one field (`"meeting,projector"`, `lab;gpu`, `a|b`): split on `,`, `;` or
/// `|`, trimmed, empty items dropped.
pub fn split_list(field: &str) -> Vec<String> {
    field.split([',', ';', '|']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

/// A cell as written to an export: a would-be formula gets a leading `'`.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// An export: the header, then every row, quoted as needed and neutralised.
pub fn write<I, R, C>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    // Writing to memory cannot fail; a record that did would only lose its own line.
    let _ = writer.write_record(header);
    for row in rows {
        let cells: Vec<String> = row.into_iter().map(|c| neutralise(c.as_ref()).into_owned()).collect();
        let _ = writer.write_record(&cells);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [&str; 3] = ["name", "tags", "available"];

    fn names(table: &CsvTable) -> Vec<&str> {
        table.rows.iter().map(|r| r.get("name")).collect()
    }

    #[test]
    fn a_byte_order_mark_and_any_line_ending_are_fine() {
        for text in ["\u{feff}name,tags\nRoom A,x\n", "name,tags\r\nRoom A,x\r\n", "name,tags\rRoom A,x\r"] {
            let table = CsvTable::read(text.as_bytes(), &COLUMNS, &["name"]).expect(text);
            assert_eq!(names(&table), ["Room A"], "{text:?}");
        }
    }

    #[test]
    fn quoted_fields_keep_separators_quotes_and_line_breaks() {
        let text = "name,tags,available\n\"Room B\",\"meeting,projector\",true\n\"Hall\nEast\",\"a \"\"quoted\"\" tag\",false\n";
        let table = CsvTable::read(text.as_bytes(), &COLUMNS, &["name"]).expect("parse");
        assert_eq!(names(&table), ["Room B", "Hall\nEast"]);
        assert_eq!(split_list(table.rows[0].get("tags")), ["meeting", "projector"]);
        assert_eq!(table.rows[1].get("tags"), "a \"quoted\" tag");
        assert_eq!(table.rows[1].line, 3);
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_named() {
        let unknown = CsvTable::read(b"nmae,tags\nx,y\n", &COLUMNS, &["name"]).unwrap_err().to_string();
        assert!(unknown.contains("\"nmae\"") && unknown.contains("did you mean \"name\""), "{unknown}");
        let twice = CsvTable::read(b"name,Name\nx,y\n", &COLUMNS, &["name"]).unwrap_err().to_string();
        assert!(twice.contains("twice"), "{twice}");
        let missing = CsvTable::read(b"tags\nx\n", &COLUMNS, &["name"]).unwrap_err().to_string();
        assert!(missing.contains("name column"), "{missing}");
        assert!(CsvTable::read(b"\xff\xfe", &COLUMNS, &["name"]).is_err());
    }

    #[test]
    fn exports_neutralise_formulas_but_not_numbers() {
        let out = write(&["a", "b"], [vec!["=HYPERLINK(\"x\")", "-3.5"], vec!["@sum", "plain, with comma"]]);
        assert_eq!(out, "a,b\r\n\"'=HYPERLINK(\"\"x\"\")\",-3.5\r\n'@sum,\"plain, with comma\"\r\n");
    }
}
