//! CSV writing. Quoting is minimal but always enough for `read_table` to give back exactly the
//! same headers and fields, including through its blank-line skipping and delimiter sniffing.

/// RFC 4180 CSV (comma, LF line ends, no BOM) for ad-hoc outputs. A field is quoted when it
/// holds the delimiter, a quote, CR or LF, starts or ends with whitespace, starts with a BOM,
/// or is the empty only field of a row (which would read back as a skipped blank line).
/// Header fields are also quoted when they hold `,` `;` or a tab, or the first starts with
/// `{`/`[`, so delimiter and format sniffing read them back as written.
pub fn write_csv(headers: &[String], rows: &[Vec<String>]) -> String {
    delimited(headers, rows.iter().map(Vec::as_slice), ',', "\n")
}

pub(crate) fn delimited<'a>(
    headers: &[String],
    rows: impl Iterator<Item = &'a [String]>,
    delim: char,
    eol: &str,
) -> String {
    let mut out = String::new();
    write_record(&mut out, headers, delim, eol, true);
    for row in rows {
        write_record(&mut out, row, delim, eol, false);
    }
    out
}

fn write_record(out: &mut String, fields: &[String], delim: char, eol: &str, header: bool) {
    let only = fields.len() == 1;
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(delim);
        }
        let sniffable = header && (f.contains([',', ';', '\t']) || (i == 0 && f.starts_with(['{', '['])));
        if sniffable || (only && f.is_empty()) || needs_quotes(f, delim) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str(eol);
}

fn needs_quotes(f: &str, delim: char) -> bool {
    f.contains([delim, '"', '\r', '\n'])
        || f.starts_with(char::is_whitespace)
        || f.ends_with(char::is_whitespace)
        || f.starts_with('\u{FEFF}')
}

impl super::Table {
    /// Whether writing uses CRLF line ends (as the input did, mostly).
    pub fn crlf(&self) -> bool {
        self.crlf
    }

    pub fn set_crlf(&mut self, crlf: bool) {
        self.crlf = crlf;
    }

    pub(super) fn eol(&self) -> &'static str {
        if self.crlf {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// RFC 4180 CSV with comma delimiters; see [`write_csv`] for when fields are quoted.
    pub fn to_csv(&self) -> String {
        self.to_delimited(',')
    }

    /// Like [`Table::to_csv`] with another delimiter (e.g. `'\t'` for `.tsv`).
    pub fn to_delimited(&self, delimiter: char) -> String {
        delimited(&self.headers, self.rows.iter().map(|r| r.fields.as_slice()), delimiter, self.eol())
    }

    /// One JSON object per row. Values read from JSON keep their type (number, bool, null,
    /// nested), keys absent from a record stay absent; everything else is a string.
    pub fn to_jsonl(&self) -> String {
        super::jsonl::write(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn quotes_only_where_needed() {
        let out = write_csv(&s(&["a", "b;c"]), &[s(&["x,y", "say \"hi\""]), s(&[" pad", "plain"]), s(&["", "l1\nl2"])]);
        assert_eq!(out, "a,\"b;c\"\n\"x,y\",\"say \"\"hi\"\"\"\n\" pad\",plain\n,\"l1\nl2\"\n");
    }

    #[test]
    fn lone_empty_field_is_quoted() {
        assert_eq!(write_csv(&s(&["p"]), &[s(&[""]), s(&["x"])]), "p\n\"\"\nx\n");
    }
}
