//! `tojson` as transformers defines it for chat templates: Python's
//! `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`, not
//! Jinja's HTML-escaping filter. Templates that print tool schemas or message dicts with it
//! must produce the very characters the model saw in training, so the spacing (", " and ": "
//! without indent, "," and ": " with it) and escaping follow Python exactly.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, Value};

struct Options {
    ensure_ascii: bool,
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
}

/// The `tojson` filter: `value | tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
pub(crate) fn tojson(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false);
    let indent = match kwargs.get::<Option<Value>>("indent")? {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.as_i64() {
            Some(n) => " ".repeat(n.max(0) as usize),
            None => v.as_str().map(str::to_string).ok_or_else(|| bad("indent must be an int or a string"))?,
        }),
    };
    let (item_sep, key_sep) = match kwargs.get::<Option<Value>>("separators")? {
        Some(v) if !v.is_none() => {
            let parts: Vec<Value> = v.try_iter()?.collect();
            match parts.as_slice() {
                [a, b] => (a.to_string(), b.to_string()),
                _ => return Err(bad("separators must be a pair of strings")),
            }
        }
        _ => (if indent.is_some() { "," } else { ", " }.to_string(), ": ".to_string()),
    };
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let opts = Options { ensure_ascii, indent, item_sep, key_sep, sort_keys };
    let mut out = String::new();
    write_value(&mut out, value, &opts, 0)?;
    Ok(out)
}

fn bad(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("tojson: {msg}"))
}

fn write_value(out: &mut String, v: &Value, o: &Options, depth: usize) -> Result<(), Error> {
    match v.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, v),
        ValueKind::String => write_string(out, v.as_str().unwrap_or_default(), o.ensure_ascii),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            write_container(out, o, depth, '[', ']', &items, |out, item| write_value(out, item, o, depth + 1))?;
        }
        ValueKind::Map | ValueKind::Plain => {
            let mut pairs = Vec::new();
            for key in v.try_iter()? {
                let value = v.get_item(&key)?;
                pairs.push((key_string(&key)?, value));
            }
            if o.sort_keys {
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
            }
            write_container(out, o, depth, '{', '}', &pairs, |out, (k, val)| {
                write_string(out, k, o.ensure_ascii);
                out.push_str(&o.key_sep);
                write_value(out, val, o, depth + 1)
            })?;
        }
        // Python's json.dumps raises on anything it cannot serialize; so do we.
        _ => return Err(bad(&format!("Object of type {} is not JSON serializable", v.kind()))),
    }
    Ok(())
}

fn write_container<T>(
    out: &mut String,
    o: &Options,
    depth: usize,
    open: char,
    close: char,
    items: &[T],
    mut each: impl FnMut(&mut String, &T) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return Ok(());
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&o.item_sep);
        }
        if let Some(ind) = &o.indent {
            out.push('\n');
            out.push_str(&ind.repeat(depth + 1));
        }
        each(out, item)?;
    }
    if let Some(ind) = &o.indent {
        out.push('\n');
        out.push_str(&ind.repeat(depth));
    }
    out.push(close);
    Ok(())
}

/// Python turns str, int, float, bool and None keys into strings; anything else is an error.
fn key_string(k: &Value) -> Result<String, Error> {
    Ok(match k.kind() {
        ValueKind::String => k.as_str().unwrap_or_default().to_string(),
        ValueKind::None => "null".into(),
        ValueKind::Bool => if k.is_true() { "true" } else { "false" }.into(),
        ValueKind::Number => {
            let mut s = String::new();
            write_number(&mut s, k);
            s
        }
        other => return Err(bad(&format!("keys must be str, int, float, bool or None, not {other}"))),
    })
}

fn write_number(out: &mut String, v: &Value) {
    if let Some(i) = v.as_i64() {
        if v.to_string() == i.to_string() {
            out.push_str(&i.to_string());
            return;
        }
    }
    match f64::try_from(v.clone()) {
        Ok(f) => out.push_str(&python_float(f)),
        // u128/i128 beyond i64: their decimal form is what Python prints.
        Err(_) => out.push_str(&v.to_string()),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, ".0" on integral values, exponent form
/// below 1e-4 and from 1e16, and JavaScript's names for the non-finite values.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust's `{:e}` is shortest round-trip too ("1e-5", "1.5e20"); Python writes "1e-05", "1.5e+20".
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').expect("exponent form");
        let exp: i32 = exp.parse().expect("integer exponent");
        return format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dumps(source: &str, ctx: Value) -> String {
        let mut env = minijinja::Environment::new();
        env.add_filter("tojson", tojson);
        env.render_str(source, ctx).unwrap()
    }

    #[test]
    fn matches_python_json_dumps() {
        let v = Value::from_serialize(serde_json::json!({
            "b": [1, 2.5, true, null, "x\"y\\z\n\t\u{1}é😀"], "a": {}, "c": [], "f": 1.0, "g": 1e-5, "h": 1.5e20
        }));
        assert_eq!(
            dumps("{{ v | tojson }}", minijinja::context! { v => v.clone() }),
            r#"{"b": [1, 2.5, true, null, "x\"y\\z\n\t\u0001é😀"], "a": {}, "c": [], "f": 1.0, "g": 1e-05, "h": 1.5e+20}"#
        );
        assert_eq!(
            dumps("{{ v.b | tojson(indent=2, ensure_ascii=true) }}", minijinja::context! { v => v.clone() }),
            "[\n  1,\n  2.5,\n  true,\n  null,\n  \"x\\\"y\\\\z\\n\\t\\u0001\\u00e9\\ud83d\\ude00\"\n]"
        );
        assert_eq!(
            dumps(
                "{{ v | tojson(separators=(',', ':'), sort_keys=true) }}",
                minijinja::context! { v => serde_json::json!({"z": 1, "a": [2]}) }
            ),
            r#"{"a":[2],"z":1}"#
        );
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(-0.0), "-0.0");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(123456.75), "123456.75");
    }
}
