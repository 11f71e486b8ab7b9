//! Histograms for the page's small charts: confidence scores (with the bottom decile marked)
//! and pairwise gradient cosines.

#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: usize,
    /// How many of `count` fall in the marked range (e.g. the bottom decile).
    pub marked: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub bins: Vec<Bin>,
    pub max_count: usize,
    /// Values that were not finite and so are in no bin.
    pub skipped: usize,
}

/// `bins` equal-width bins over [lo, hi]; a value counts as marked when `marked(value_index)`.
/// Values outside [lo, hi] go to the first or last bin.
pub fn histogram(values: &[Option<f64>], lo: f64, hi: f64, bins: usize, marked: impl Fn(usize) -> bool) -> Histogram {
    let n = bins.max(1);
    let width = if hi > lo { (hi - lo) / n as f64 } else { 1.0 };
    let mut out: Vec<Bin> = (0..n)
        .map(|i| Bin { lo: lo + width * i as f64, hi: lo + width * (i + 1) as f64, count: 0, marked: 0 })
        .collect();
    let mut skipped = 0;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(x) if x.is_finite() => {
                let b = (((x - lo) / width).floor().max(0.0) as usize).min(n - 1);
                out[b].count += 1;
                if marked(i) {
                    out[b].marked += 1;
                }
            }
            _ => skipped += 1,
        }
    }
    let max_count = out.iter().map(|b| b.count).max().unwrap_or(0);
    Histogram { bins: out, max_count, skipped }
}

/// Indices of the bottom decile by value (ascending; ties by index), as
/// `labelcast_core::select::low_confidence_decile` ranks them: ceil(n / 10) of the valid values.
pub fn bottom_decile(values: &[Option<f64>]) -> Vec<usize> {
    let mut valid: Vec<(usize, f64)> =
        values.iter().enumerate().filter_map(|(i, v)| v.filter(|x| x.is_finite()).map(|x| (i, x))).collect();
    valid.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let k = valid.len().div_ceil(10);
    valid.into_iter().take(k).map(|(i, _)| i).collect()
}

/// The upper triangle of a square matrix (i < j), e.g. the pairwise cosines.
pub fn upper_triangle(m: &[Vec<f64>]) -> Vec<f64> {
    let mut out = Vec::new();
    for (i, row) in m.iter().enumerate() {
        out.extend(row.iter().skip(i + 1).copied());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fall_in_their_bins_and_marks_are_counted() {
        let v = [Some(0.05), Some(0.15), Some(0.95), Some(1.0), None, Some(f64::NAN), Some(-0.2)];
        let h = histogram(&v, 0.0, 1.0, 10, |i| i == 0 || i == 6);
        assert_eq!(h.bins[0].count, 2, "0.05 and the clamped -0.2");
        assert_eq!(h.bins[0].marked, 2);
        assert_eq!(h.bins[1].count, 1);
        assert_eq!(h.bins[9].count, 2, "0.95 and 1.0 (the top edge)");
        assert_eq!(h.skipped, 2);
        assert_eq!(h.max_count, 2);
    }

    #[test]
    fn degenerate_range_does_not_divide_by_zero() {
        let h = histogram(&[Some(0.5), Some(0.5)], 0.5, 0.5, 4, |_| false);
        assert_eq!(h.bins.iter().map(|b| b.count).sum::<usize>(), 2);
    }

    #[test]
    fn bottom_decile_rounds_up_and_skips_missing() {
        let v: Vec<Option<f64>> = (0..11).map(|i| Some(i as f64)).chain([None]).collect();
        assert_eq!(bottom_decile(&v), vec![0, 1]);
        assert!(bottom_decile(&[]).is_empty());
    }

    #[test]
    fn upper_triangle_of_three() {
        let m = vec![vec![1.0, 0.1, 0.2], vec![0.1, 1.0, 0.3], vec![0.2, 0.3, 1.0]];
        assert_eq!(upper_triangle(&m), vec![0.1, 0.2, 0.3]);
    }
}
