//! Numbers written for people, one way for the CLI, the page and every message of the crates
//! below them: thousands separated by commas, counted nouns, byte sizes.

/// An integer with comma thousands separators ("1,028"), as budgets are shown.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// "1 file", "1,028 files".
pub fn count(n: usize, one: &str, many: &str) -> String {
    let word = if n == 1 { one } else { many };
    format!("{} {word}", thousands(n as u64))
}

/// A size in the largest binary unit under 1,024 of it ("512 bytes", "1.5 KiB", "130 MiB"):
/// three significant digits at most, which is all a person compares.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    if !n.is_finite() || n < 0.0 {
        return "unknown size".to_string();
    }
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} {}", v as u64, UNITS[0])
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A size a person wrote: a number and an optional unit, decimal (B, KB, MB, GB, TB) or binary
/// (KiB, MiB, GiB, TiB), in any case and with or without a space ("2GiB", "1.5 GB", "4096").
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("{text:?} is not a size (a number and a unit: 2GiB, 512MB)"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => (1u64 << 30) as f64,
        "tib" => (1u64 << 40) as f64,
        u => return Err(format!("{text:?}: unknown unit {u:?} (B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)")),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(format!("{text:?} is not a size this computer can have"));
    }
    Ok(bytes as u64)
}

/// A size in GiB with `decimals` decimals ("4.9 GiB"), where sizes are compared against a limit
/// in GiB.
pub fn gib(n: u64, decimals: usize) -> String {
    format!("{:.*} GiB", decimals, n as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1028), "1,028");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn counts_pick_the_noun() {
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(0, "file", "files"), "0 files");
        assert_eq!(count(1_000_000, "shard", "shards"), "1,000,000 shards");
    }

    #[test]
    fn bytes_pick_a_unit() {
        assert_eq!(bytes(512.0), "512 bytes");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(130.0 * 1024.0 * 1024.0), "130 MiB");
        assert_eq!(bytes(-1.0), "unknown size");
        assert_eq!(bytes(f64::NAN), "unknown size");
        assert_eq!(gib(5 << 29, 1), "2.5 GiB");
        assert_eq!(gib(1 << 30, 2), "1.00 GiB");
    }

    #[test]
    fn sizes_parse_in_decimal_and_binary_units() {
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes(" 1.5 gb "), Ok(1_500_000_000));
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("3 TB"), Ok(3_000_000_000_000));
        for bad in ["", "GiB", "2 GiBs", "-1GB", "0", "1e3", "1.2.3GB", "1e30TB"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
