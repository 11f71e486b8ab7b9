//! Number and text formatting for display. Pure, so it is tested natively.

/// Integer with comma thousands separators ("1,028"), as core writes budgets in its notes.
pub use labelcast_core::words::thousands;

/// A budget as the CLI shows it (`labelcast_core::forecast::round_budget`: two significant
/// digits from 100 up, 1,610 → 1,600), since a forecast whose band spans a factor of two has no
/// third digit to show. Non-finite or negative values never come from a valid forecast; they
/// show as a dash rather than a misleading number.
pub fn budget(b: f64) -> String {
    if !b.is_finite() || b < 0.0 {
        return "—".to_string();
    }
    if b >= u64::MAX as f64 {
        return format!("{b:.3e}");
    }
    thousands(labelcast_core::forecast::round_budget(b))
}

/// "760 – 1,400": an interval of budgets.
pub fn budget_range(lo: f64, hi: f64) -> String {
    format!("{} – {}", budget(lo), budget(hi))
}

/// A share in [0, 1] as a percentage without needless decimals ("90%", "95%", "12.5%").
pub fn percent(share: f64) -> String {
    if !share.is_finite() {
        return "—".to_string();
    }
    let p = share * 100.0;
    let r = (p * 10.0).round() / 10.0;
    if (r - r.round()).abs() < 1e-9 {
        format!("{}%", r.round() as i64)
    } else {
        format!("{r:.1}%")
    }
}

/// `x` with `digits` decimals, rounded like JavaScript's `Number.prototype.toFixed` (ties
/// away from zero on the exact binary value), so what the page shows agrees with numbers
/// a script or test prints with `toFixed`. Rust's `{:.N}` rounds exact ties to even.
/// Unlike `toFixed`, a negative value that rounds to zero shows without a minus sign.
pub fn fixed(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    // 40 extra decimals are enough to hold any tie exactly for the few digits used here.
    let exact = format!("{:.*}", digits + 40, x.abs());
    let (int, frac) = exact.split_once('.').unwrap_or((&exact, ""));
    let keep = &frac[..digits.min(frac.len())];
    let rest = &frac[digits.min(frac.len())..];
    let round_up = rest.as_bytes().first().is_some_and(|&d| d >= b'5');
    let mut digits_vec: Vec<u8> = int.bytes().chain(keep.bytes()).map(|d| d - b'0').collect();
    if round_up {
        let mut i = digits_vec.len();
        loop {
            if i == 0 {
                digits_vec.insert(0, 1);
                break;
            }
            i -= 1;
            if digits_vec[i] == 9 {
                digits_vec[i] = 0;
            } else {
                digits_vec[i] += 1;
                break;
            }
        }
    }
    let s: String = digits_vec.iter().map(|d| char::from(b'0' + d)).collect();
    let (i, f) = s.split_at(s.len() - digits);
    let negative = x < 0.0 && s.bytes().any(|b| b != b'0');
    let sign = if negative { "-" } else { "" };
    if digits == 0 {
        format!("{sign}{i}")
    } else {
        format!("{sign}{i}.{f}")
    }
}

/// "pool.csv — 120 rows, 4 columns", with singular forms where they apply.
pub fn file_summary(name: &str, rows: usize, columns: usize) -> String {
    format!("{name} — {}, {}", count(rows, "row", "rows"), count(columns, "column", "columns"))
}

pub use labelcast_core::words::{bytes, count};

/// "2 h 05 min", "1 min 05 s", "42 s".
pub fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        let min = (s + 30) / 60;
        format!("{} h {:02} min", min / 60, min % 60)
    } else if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_two_significant_digits() {
        assert_eq!(budget(1610.4), "1,600");
        assert_eq!(budget(1007.0), "1,000");
        assert_eq!(budget(523.0), "520");
        assert_eq!(budget(37.4), "37");
        assert_eq!(budget(0.4), "0");
        assert_eq!(budget(f64::NAN), "—");
        assert_eq!(budget(-1.0), "—");
        assert_eq!(budget(f64::INFINITY), "—");
        assert!(budget(1e30).contains('e'));
    }

    #[test]
    fn budget_range_uses_en_dash() {
        assert_eq!(budget_range(760.2, 1390.0), "760 – 1,400");
    }

    #[test]
    fn percent_drops_trailing_zero_decimals() {
        assert_eq!(percent(0.9), "90%");
        assert_eq!(percent(0.95), "95%");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(f64::NAN), "—");
    }

    #[test]
    fn file_summary_matches_status_line() {
        assert_eq!(file_summary("pool.csv", 120, 4), "pool.csv — 120 rows, 4 columns");
        assert_eq!(file_summary("a.jsonl", 1, 1), "a.jsonl — 1 row, 1 column");
        assert_eq!(file_summary("b.csv", 12000, 2), "b.csv — 12,000 rows, 2 columns");
    }

    #[test]
    fn fixed_rounds_ties_away_from_zero_like_javascript() {
        assert_eq!(fixed(0.8125, 3), "0.813"); // Rust's {:.3} gives 0.812
        assert_eq!(fixed(0.25, 1), "0.3");
        assert_eq!(fixed(0.35, 1), "0.3"); // 0.35 is really 0.34999…
        assert_eq!(fixed(0.66425, 3), "0.664");
        assert_eq!(fixed(9.9996, 3), "10.000");
        assert_eq!(fixed(-0.0004, 3), "0.000");
        assert_eq!(fixed(-1.2345, 2), "-1.23");
        assert_eq!(fixed(2.5, 0), "3");
        assert_eq!(fixed(f64::NAN, 3), "—");
    }

    #[test]
    fn durations_read_in_the_largest_unit_that_helps() {
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(65.0), "1 min 05 s");
        assert_eq!(duration(7_199.0), "2 h 00 min");
        assert_eq!(duration(100_000.0), "27 h 47 min");
    }
}
