//! Python's `str()` of a JSON value, as the paper's code writes a label after the prompt
//! (METHOD.md 1d: `tokenize(prompt + str(answer))`): `true` is "True", `1.50` is "1.5",
//! `1e5` is "100000.0", `[1, "a"]` is "[1, 'a']". A JSON string is itself.

use serde_json::Value;

/// `str()` of the JSON text `raw` (a number, bool, array or object as the file spelled it);
/// `None` when `raw` is not JSON.
pub fn python_str(raw: &str) -> Option<String> {
    let v: Value = serde_json::from_str(raw).ok()?;
    Some(match &v {
        Value::String(s) => s.clone(),
        _ => repr(&v, raw.trim()),
    })
}

/// `repr()` of a value inside a container, or `str()` of a top-level non-string. `spelling`
/// is the number's JSON text where known (serde_json's `Number` keeps integers exactly, but a
/// float's shortest spelling is recomputed either way).
fn repr(v: &Value, spelling: &str) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => number(n, spelling),
        Value::String(s) => string_repr(s),
        Value::Array(a) => format!("[{}]", a.iter().map(|x| repr(x, "")).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter().map(|(k, x)| format!("{}: {}", string_repr(k), repr(x, ""))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Python's json module reads a number with no fraction or exponent as an int (kept exactly,
/// `-0` becomes `0`), anything else as a float.
fn number(n: &serde_json::Number, spelling: &str) -> String {
    let is_int = !spelling.is_empty() && !spelling.contains(['.', 'e', 'E']);
    if let (true, Some(i)) = (is_int || spelling.is_empty(), n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)))
    {
        return i.to_string();
    }
    if is_int {
        // An integer beyond 64 bits: Python keeps every digit.
        let digits = spelling.trim_start_matches('-').trim_start_matches('0');
        let sign = if spelling.starts_with('-') && !digits.is_empty() { "-" } else { "" };
        return format!("{sign}{}", if digits.is_empty() { "0" } else { digits });
    }
    float_repr(n.as_f64().unwrap_or(f64::NAN))
}

/// Python's `repr(float)`: the shortest digits that read back the same number, positional
/// for exponents in [-4, 16), else scientific with a signed two-digit exponent.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.5e0", "-1e-7".
    let e = format!("{x:e}");
    let (mantissa, exp) = e.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let s = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{s}")
    } else {
        let rest = &digits[1..];
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        format!("{sign}{}{frac}e{}{:02}", &digits[..1], if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Python's `repr(str)`: single quotes unless the text holds a single quote and no double
/// one; backslash, the quote, \n \r \t and other control characters escaped.
fn string_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_as_python_prints_them() {
        for (raw, want) in [
            ("true", "True"),
            ("false", "False"),
            ("1", "1"),
            ("-0", "0"),
            ("1.50", "1.5"),
            ("2.0", "2.0"),
            ("1e5", "100000.0"),
            ("1E-7", "1e-07"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1e16", "1e+16"),
            ("123456789012345.6", "123456789012345.6"),
            ("-2.5e-3", "-0.0025"),
            ("0.1", "0.1"),
            ("12345678901234567890123", "12345678901234567890123"),
            ("\"positive\"", "positive"),
            ("null", "None"),
        ] {
            assert_eq!(python_str(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(python_str("not json"), None);
    }

    proptest::proptest! {
        /// Every finite float's repr reads back as the same float, in Python's shape.
        #[test]
        fn float_repr_round_trips(x in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let s = float_repr(x);
            proptest::prop_assert_eq!(s.parse::<f64>().unwrap(), x, "{}", s);
            proptest::prop_assert!(s.contains('.') || s.contains('e'), "{}", s);
        }
    }

    #[test]
    fn containers_are_their_repr() {
        assert_eq!(python_str(r#"[1, "a", true, null, 2.50]"#).unwrap(), "[1, 'a', True, None, 2.5]");
        assert_eq!(python_str(r#"{"k": "it's", "n": [1.0]}"#).unwrap(), r#"{'k': "it's", 'n': [1.0]}"#);
        assert_eq!(python_str(r#"["a\nb", "q'\""]"#).unwrap(), r#"['a\nb', 'q\'"']"#);
    }
}
