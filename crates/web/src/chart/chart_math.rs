//! Geometry of the forecast chart, kept free of Yew and web-sys so it is unit-tested
//! natively: scales, tick positions and SVG path strings.

/// Maps a positive domain onto a pixel range logarithmically. Budgets span 1..5000, and
/// on a linear axis everything below a few hundred examples would be squeezed into a
/// few pixels, which is exactly where small-budget decisions are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogScale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl LogScale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        // A non-positive bound would make ln() undefined; fall back to the smallest
        // positive domain so a bad caller gets a flat chart instead of NaN paths.
        let d0 = if domain.0 > 0.0 { domain.0 } else { f64::MIN_POSITIVE };
        let d1 = if domain.1 > d0 { domain.1 } else { d0 * 10.0 };
        Self { d0, d1, r0: range.0, r1: range.1 }
    }

    /// Values outside the domain are clamped, so a curve that starts at budget 0 or
    /// overshoots the maximum still draws inside the plot area.
    pub fn map(&self, v: f64) -> f64 {
        let v = if v.is_nan() { self.d0 } else { v.clamp(self.d0, self.d1) };
        let t = (v.ln() - self.d0.ln()) / (self.d1.ln() - self.d0.ln());
        self.r0 + t * (self.r1 - self.r0)
    }
}

/// Linear map, clamped to the domain for the same reason as [`LogScale::map`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearScale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl LinearScale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Self {
        let (d0, d1) = domain;
        let d1 = if d1 > d0 { d1 } else { d0 + 1.0 };
        Self { d0, d1, r0: range.0, r1: range.1 }
    }

    pub fn map(&self, v: f64) -> f64 {
        let v = if v.is_nan() { self.d0 } else { v.clamp(self.d0, self.d1) };
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// Size and margins of the chart in SVG user units (the viewBox), so layout and path
/// generation agree on one set of numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    pub const DEFAULT: Frame = Frame { width: 720.0, height: 360.0, left: 56.0, right: 24.0, top: 16.0, bottom: 48.0 };

    /// For phone-width screens: a narrower viewBox is scaled down less, so its 12-unit
    /// labels stay about 11 px tall instead of shrinking to 6 px.
    pub const COMPACT: Frame = Frame { width: 400.0, height: 300.0, left: 42.0, right: 22.0, top: 12.0, bottom: 44.0 };

    /// The frame for a chart about `css_width` pixels wide.
    pub fn for_width(css_width: f64) -> Frame {
        if css_width < 560.0 {
            Frame::COMPACT
        } else {
            Frame::DEFAULT
        }
    }

    pub fn plot_left(&self) -> f64 {
        self.left
    }
    pub fn plot_right(&self) -> f64 {
        self.width - self.right
    }
    pub fn plot_top(&self) -> f64 {
        self.top
    }
    pub fn plot_bottom(&self) -> f64 {
        self.height - self.bottom
    }

    /// x: budget on a log axis from 1 to `max_budget`.
    pub fn x_scale(&self, max_budget: f64) -> LogScale {
        LogScale::new((1.0, max_budget), (self.plot_left(), self.plot_right()))
    }

    /// y: share of attainable performance, 0 at the bottom.
    pub fn y_scale(&self) -> LinearScale {
        LinearScale::new((0.0, 1.0), (self.plot_bottom(), self.plot_top()))
    }
}

/// Budget ticks shown on the x axis: the decades plus the maximum, so the right end of
/// the axis is labeled with the budget the forecast is normalized to.
pub fn budget_ticks(max_budget: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut t = 1.0;
    while t < max_budget * 0.5 {
        ticks.push(t);
        t *= 10.0;
    }
    if max_budget.is_finite() && max_budget >= 1.0 {
        ticks.push(max_budget);
    }
    ticks
}

/// Share ticks on the y axis, in steps of 25 percentage points.
pub const SHARE_TICKS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

fn fmt_coord(v: f64) -> String {
    // One decimal is sub-pixel at any realistic size and keeps the DOM small.
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".to_string() // avoids "-0"
    } else {
        format!("{r}")
    }
}

/// SVG path through `(budget, share)` points. Non-finite points break the line into
/// separate segments rather than producing an invalid path.
pub fn line_path(points: &[(f64, f64)], x: &LogScale, y: &LinearScale) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for &(b, s) in points {
        if !b.is_finite() || !s.is_finite() {
            pen_down = false;
            continue;
        }
        let cmd = if pen_down { 'L' } else { 'M' };
        if !d.is_empty() {
            d.push(' ');
        }
        d.push(cmd);
        d.push_str(&fmt_coord(x.map(b)));
        d.push(',');
        d.push_str(&fmt_coord(y.map(s)));
        pen_down = true;
    }
    d
}

/// Closed SVG path of the area between a lower and an upper share per budget
/// (`(budget, lo, hi)`): along the upper edge left to right, back along the lower edge.
/// Points with a non-finite value are skipped; fewer than two usable points give "".
pub fn band_path(band: &[(f64, f64, f64)], x: &LogScale, y: &LinearScale) -> String {
    let pts: Vec<_> =
        band.iter().copied().filter(|(b, lo, hi)| b.is_finite() && lo.is_finite() && hi.is_finite()).collect();
    if pts.len() < 2 {
        return String::new();
    }
    let mut d = String::new();
    for (i, (b, _, hi)) in pts.iter().enumerate() {
        d.push_str(if i == 0 { "M" } else { " L" });
        d.push_str(&format!("{},{}", fmt_coord(x.map(*b)), fmt_coord(y.map(*hi))));
    }
    for (b, lo, _) in pts.iter().rev() {
        d.push_str(&format!(" L{},{}", fmt_coord(x.map(*b)), fmt_coord(y.map(*lo))));
    }
    d.push_str(" Z");
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn log_scale_maps_ends_and_decades() {
        let s = LogScale::new((1.0, 1000.0), (0.0, 300.0));
        assert!(close(s.map(1.0), 0.0));
        assert!(close(s.map(10.0), 100.0));
        assert!(close(s.map(100.0), 200.0));
        assert!(close(s.map(1000.0), 300.0));
    }

    #[test]
    fn log_scale_clamps_out_of_domain_and_nan() {
        let s = LogScale::new((1.0, 5000.0), (56.0, 696.0));
        assert!(close(s.map(0.0), 56.0));
        assert!(close(s.map(-3.0), 56.0));
        assert!(close(s.map(1e9), 696.0));
        assert!(close(s.map(f64::NAN), 56.0));
        assert!(close(s.map(f64::INFINITY), 696.0));
    }

    #[test]
    fn log_scale_survives_bad_domain() {
        let s = LogScale::new((0.0, 0.0), (0.0, 1.0));
        assert!(s.map(1.0).is_finite());
    }

    #[test]
    fn linear_scale_is_inverted_for_svg_y() {
        let f = Frame::DEFAULT;
        let y = f.y_scale();
        assert!(close(y.map(0.0), f.plot_bottom()));
        assert!(close(y.map(1.0), f.plot_top()));
        assert!(close(y.map(0.5), (f.plot_bottom() + f.plot_top()) / 2.0));
        assert!(close(y.map(2.0), f.plot_top()));
    }

    #[test]
    fn narrow_screens_get_the_compact_frame() {
        assert_eq!(Frame::for_width(360.0), Frame::COMPACT);
        assert_eq!(Frame::for_width(1100.0), Frame::DEFAULT);
        for f in [Frame::DEFAULT, Frame::COMPACT] {
            assert!(f.plot_right() > f.plot_left() + 100.0);
            assert!(f.plot_bottom() > f.plot_top() + 100.0);
        }
    }

    #[test]
    fn ticks_are_decades_plus_maximum() {
        assert_eq!(budget_ticks(5000.0), vec![1.0, 10.0, 100.0, 1000.0, 5000.0]);
        // 1000 would collide with a maximum of 1500, so it is left out.
        assert_eq!(budget_ticks(1500.0), vec![1.0, 10.0, 100.0, 1500.0]);
        assert_eq!(budget_ticks(1000.0), vec![1.0, 10.0, 100.0, 1000.0]);
        assert!(budget_ticks(f64::NAN).is_empty());
    }

    #[test]
    fn line_path_moves_then_lines() {
        let x = LogScale::new((1.0, 100.0), (0.0, 200.0));
        let y = LinearScale::new((0.0, 1.0), (100.0, 0.0));
        let d = line_path(&[(1.0, 0.0), (10.0, 0.5), (100.0, 1.0)], &x, &y);
        assert_eq!(d, "M0,100 L100,50 L200,0");
    }

    #[test]
    fn line_path_breaks_at_non_finite_points() {
        let x = LogScale::new((1.0, 100.0), (0.0, 200.0));
        let y = LinearScale::new((0.0, 1.0), (100.0, 0.0));
        let d = line_path(&[(1.0, 0.0), (10.0, f64::NAN), (100.0, 1.0)], &x, &y);
        assert_eq!(d, "M0,100 M200,0");
        assert_eq!(line_path(&[], &x, &y), "");
    }

    #[test]
    fn band_path_is_closed_and_goes_back_along_lower_edge() {
        let x = LogScale::new((1.0, 100.0), (0.0, 200.0));
        let y = LinearScale::new((0.0, 1.0), (100.0, 0.0));
        let d = band_path(&[(1.0, 0.0, 0.2), (100.0, 0.8, 1.0)], &x, &y);
        assert_eq!(d, "M0,80 L200,0 L200,20 L0,100 Z");
        assert_eq!(band_path(&[(1.0, 0.0, 0.2)], &x, &y), "");
        assert_eq!(band_path(&[(1.0, 0.0, 0.2), (f64::NAN, 0.0, 1.0)], &x, &y), "");
    }

    #[test]
    fn coordinates_have_one_decimal_and_no_negative_zero() {
        assert_eq!(fmt_coord(12.345), "12.3");
        assert_eq!(fmt_coord(-0.01), "0");
        assert_eq!(fmt_coord(3.0), "3");
    }
}
