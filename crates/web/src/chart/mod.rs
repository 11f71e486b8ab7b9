//! Drawing the page's charts: the forecast chart's geometry (its SVG, which draws a forecast,
//! is the forecast step's `chart_svg`), and the small histograms of the confidence and CoS-Low
//! steps with their component.

pub mod chart_math;
pub mod histogram;
pub mod histogram_chart;
