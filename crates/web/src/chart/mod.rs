//! Drawing the page's charts: the forecast chart's geometry and SVG (shared with the HTML
//! report), and the small histograms of the confidence and CoS-Low steps with their component.

pub mod chart_math;
pub mod chart_svg;
pub mod histogram;
pub mod histogram_chart;
