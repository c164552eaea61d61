//! The one way results are printed: an aligned table on a terminal, tab-separated values when
//! piped, or `--output csv|json|yaml`. Times are shown in a named zone: `2026-12-03 09:00 CET`
//! in tables, RFC 3339 with that zone's offset in TSV and CSV; JSON and YAML carry the
//! server's own values.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::args::Format;
use super::exit::Failure;

/// One cell of a table.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    /// An instant, shown in the table's zone.
    Time(Option<DateTime<Utc>>),
    /// A status word, coloured on a terminal.
    Status(String),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<DateTime<Utc>> for Cell {
    fn from(t: DateTime<Utc>) -> Self {
        Cell::Time(Some(t))
    }
}
impl From<Option<DateTime<Utc>>> for Cell {
    fn from(t: Option<DateTime<Utc>>) -> Self {
        Cell::Time(t)
    }
}

/// Rows under headers, with the zone its times are shown in.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub zone: Option<Tz>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new(), zone: None }
    }

    /// Shows this table's times in `zone` (a resource's own) instead of the reader's.
    pub fn in_zone(mut self, zone: Tz) -> Self {
        self.zone = Some(zone);
        self
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }
}

/// Where and how results go.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    /// The reader's zone.
    pub zone: Tz,
}

impl Output {
    pub fn new(format: Option<Format>, no_color: bool, zone: Tz) -> Self {
        let tty = std::io::stdout().is_terminal();
        let format = format.unwrap_or(if tty { Format::Table } else { Format::Tsv });
        let color = tty && !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Output { format, color, zone }
    }

    /// Whether the data goes out as the server's JSON/YAML rather than as a table.
    pub fn structured(&self) -> bool {
        matches!(self.format, Format::Json | Format::Yaml)
    }

    /// A list: `data` as JSON/YAML, else `table`.
    pub fn list<T: Serialize + ?Sized>(&self, data: &T, table: Table) -> Result<(), Failure> {
        match self.format {
            Format::Json | Format::Yaml => self.structured_out(data),
            Format::Table => self.write(&self.aligned(&table)),
            Format::Tsv => self.write(&self.separated(&table)),
            Format::Csv => self.write(&self.csv(&table)?),
        }
    }

    /// One record: `data` as JSON/YAML; a `field  value` list on a terminal; one row of
    /// values (TSV) or a header and a row (CSV) otherwise.
    pub fn record<T: Serialize + ?Sized>(
        &self,
        data: &T,
        fields: Vec<(&'static str, Cell)>,
        zone: Option<Tz>,
    ) -> Result<(), Failure> {
        let (headers, cells): (Vec<_>, Vec<_>) = fields.into_iter().map(|(h, c)| (h.to_string(), c)).unzip();
        let table = Table { headers, rows: vec![cells], zone };
        match self.format {
            Format::Table => self.write(&self.vertical(&table)),
            _ => self.list(data, table),
        }
    }

    /// An answer whose shape this client does not model: an object as a record of its
    /// members, a list of objects as a table with a column per member.
    pub fn value(&self, value: &serde_json::Value) -> Result<(), Failure> {
        use serde_json::Value;
        let text = |v: &Value| match v {
            Value::String(s) => Cell::Text(s.clone()),
            Value::Null => Cell::Text(String::new()),
            other => Cell::Text(other.to_string()),
        };
        match value {
            Value::Object(members) => {
                let (headers, cells): (Vec<_>, Vec<_>) = members.iter().map(|(k, v)| (k.clone(), text(v))).unzip();
                let table = Table { headers, rows: vec![cells], zone: None };
                match self.format {
                    Format::Table => self.write(&self.vertical(&table)),
                    _ => self.list(value, table),
                }
            }
            Value::Array(items) => {
                let mut headers: Vec<String> = Vec::new();
                for item in items {
                    for key in item.as_object().into_iter().flat_map(|o| o.keys()) {
                        if !headers.contains(key) {
                            headers.push(key.clone());
                        }
                    }
                }
                let rows = items
                    .iter()
                    .map(|item| match item.as_object() {
                        Some(o) => {
                            headers.iter().map(|h| o.get(h).map(text).unwrap_or(Cell::Text(String::new()))).collect()
                        }
                        None => vec![text(item)],
                    })
                    .collect();
                if headers.is_empty() {
                    headers.push("value".into());
                }
                self.list(value, Table { headers, rows, zone: None })
            }
            other => {
                self.list(other, Table { headers: vec!["value".into()], rows: vec![vec![text(other)]], zone: None })
            }
        }
    }

    /// A line for a person on stderr (confirmations, hints); never mixed into the data.
    pub fn note(&self, text: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// Raw text to stdout (CSV downloads, iCalendar).
    pub fn raw(&self, text: &str) -> Result<(), Failure> {
        self.write(text)
    }

    pub fn structured_out<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), Failure> {
        let text = match self.format {
            Format::Yaml => {
                serde_saphyr::to_string(&data).map_err(|e| Failure::Other(format!("cannot write YAML: {e}")))?
            }
            _ => {
                let mut s = serde_json::to_string_pretty(data).map_err(|e| Failure::Other(e.to_string()))?;
                s.push('\n');
                s
            }
        };
        self.write(&text)
    }

    fn write(&self, text: &str) -> Result<(), Failure> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(())
    }

    fn aligned(&self, table: &Table) -> String {
        let zone = table.zone.unwrap_or(self.zone);
        let rows: Vec<Vec<(String, &Cell)>> =
            table.rows.iter().map(|r| r.iter().map(|c| (self.human(c, zone), c)).collect()).collect();
        let mut widths: Vec<usize> = table.headers.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (i, (text, _)) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(text.chars().count());
                }
            }
        }
        let last = table.headers.len().saturating_sub(1);
        let mut out = String::new();
        let header: Vec<String> = table
            .headers
            .iter()
            .enumerate()
            .map(|(i, h)| if i == last { h.to_string() } else { pad(h, widths[i]) })
            .collect();
        out.push_str(&self.bold(&header.join("  ").to_uppercase()));
        out.push('\n');
        for row in rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, (text, cell))| {
                    let padded = if i == last { text.clone() } else { pad(text, widths.get(i).copied().unwrap_or(0)) };
                    self.paint(cell, padded)
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }

    /// One record as `field  value` lines.
    fn vertical(&self, table: &Table) -> String {
        let zone = table.zone.unwrap_or(self.zone);
        let width = table.headers.iter().map(|h| h.chars().count()).max().unwrap_or(0);
        let mut text = String::new();
        for (header, cell) in table.headers.iter().zip(table.rows.first().into_iter().flatten()) {
            text.push_str(&format!("{}  {}\n", self.bold(&pad(header, width)), self.human(cell, zone)));
        }
        text
    }

    fn separated(&self, table: &Table) -> String {
        let zone = table.zone.unwrap_or(self.zone);
        let mut out = String::new();
        for row in &table.rows {
            let cells: Vec<String> =
                row.iter().map(|c| self.machine(c, zone).replace(['\t', '\n', '\r'], " ")).collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        out
    }

    fn csv(&self, table: &Table) -> Result<String, Failure> {
        let zone = table.zone.unwrap_or(self.zone);
        let mut writer = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| Failure::Other(format!("cannot write CSV: {e}"));
        writer.write_record(&table.headers).map_err(io)?;
        for row in &table.rows {
            writer.write_record(row.iter().map(|c| self.machine(c, zone))).map_err(io)?;
        }
        let bytes = writer.into_inner().map_err(|e| Failure::Other(e.to_string()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A cell for people: local time with the zone's abbreviation.
    pub fn human(&self, cell: &Cell, zone: Tz) -> String {
        match cell {
            Cell::Text(t) | Cell::Status(t) => t.clone(),
            Cell::Time(Some(t)) => t.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string(),
            Cell::Time(None) => "-".into(),
        }
    }

    /// A cell for programs: RFC 3339 with the zone's offset.
    fn machine(&self, cell: &Cell, zone: Tz) -> String {
        match cell {
            Cell::Text(t) | Cell::Status(t) => t.clone(),
            Cell::Time(Some(t)) => t.with_timezone(&zone).to_rfc3339(),
            Cell::Time(None) => String::new(),
        }
    }

    fn bold(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn paint(&self, cell: &Cell, text: String) -> String {
        let Cell::Status(status) = cell else { return text };
        if !self.color {
            return text;
        }
        let code = match status.as_str() {
            "confirmed" | "available" | "booked" | "bookable" | "delivered" | "active" | "completed" => "32",
            "pending_approval" | "requested" | "offered" | "maintenance" | "pending" => "33",
            "cancelled" | "rejected" | "conflict" | "refused" | "failed" | "retired" | "blackout" => "31",
            _ => return text,
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn out(format: Format) -> Output {
        Output { format, color: false, zone: chrono_tz::Europe::Berlin }
    }

    fn table() -> Table {
        let mut t = Table::new(&["id", "start", "status"]);
        t.row(vec![
            "a".into(),
            Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap().into(),
            Cell::Status("confirmed".into()),
        ]);
        t
    }

    #[test]
    fn tables_name_the_zone_and_pipes_get_rfc3339() {
        let o = out(Format::Table);
        let text = o.aligned(&table());
        assert!(text.starts_with("ID  START"), "{text}");
        assert!(text.contains("2026-12-03 09:00 CET"), "{text}");
        assert_eq!(out(Format::Tsv).separated(&table()), "a\t2026-12-03T09:00:00+01:00\tconfirmed\n");
        let csv = out(Format::Csv).csv(&table()).unwrap();
        assert_eq!(csv, "id,start,status\na,2026-12-03T09:00:00+01:00,confirmed\n");
        let tokyo = out(Format::Tsv).separated(&table().in_zone(chrono_tz::Asia::Tokyo));
        assert!(tokyo.contains("2026-12-03T17:00:00+09:00"), "{tokyo}");
    }

    #[test]
    fn tabs_in_values_do_not_break_columns() {
        let mut t = Table::new(&["name"]);
        t.row(vec!["a\tb\nc".into()]);
        assert_eq!(out(Format::Tsv).separated(&t), "a b c\n");
    }
}
