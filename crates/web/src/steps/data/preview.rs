//! The table as read, with the detected role of each column. Windowed: only the rows in view
//! (and a few around them) are in the DOM, between two spacer rows that keep the scroll
//! height of all of them, so a 100,000-row pool scrolls as smoothly as a 100-row one.

use labelcast_core::table::Role;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::format;
use crate::steps::data::data_model::preview_cell;
use crate::steps::data::data_state::SharedTable;

/// A body row's height in pixels; web/styles.css gives `.preview tbody tr` the same, with
/// cells cut to two lines, so the spacers' heights match the rows they stand for.
pub const ROW_PX: f64 = 60.0;
/// Rows drawn beyond the visible ones, above and below, so a quick scroll shows no gap.
const OVERSCAN: usize = 10;
/// The scroll area's height (`.preview .table-scroll` max-height in web/styles.css).
const VIEW_PX: f64 = 520.0;

/// The rows to draw, [first, last), for a scroll position.
pub fn window(rows: usize, scroll_top: f64) -> (usize, usize) {
    let top = (scroll_top.max(0.0) / ROW_PX) as usize;
    let first = top.saturating_sub(OVERSCAN).min(rows);
    let last = (top + (VIEW_PX / ROW_PX).ceil() as usize + OVERSCAN).min(rows);
    (first, last.max(first))
}

#[derive(Properties, PartialEq)]
pub struct PreviewProps {
    pub table: SharedTable,
    /// Changes when the table's roles change in place.
    pub rev: u64,
}

/// Sets a spacer row's height through the CSSOM: the page's Content-Security-Policy blocks
/// inline `style` attributes, not this.
fn set_height(node: &NodeRef, px: f64) {
    if let Some(el) = node.cast::<web_sys::HtmlElement>() {
        let _ = el.style().set_property("height", &format!("{px}px"));
    }
}

#[function_component(Preview)]
pub fn preview(p: &PreviewProps) -> Html {
    let scroll_top = use_state(|| 0.0);
    let (above, below) = (use_node_ref(), use_node_ref());
    let t = p.table.0.borrow();
    let n = t.rows.len();
    let (first, last) = window(n, *scroll_top);
    {
        let (above, below) = (above.clone(), below.clone());
        use_effect_with((first, last, n), move |&(first, last, n)| {
            set_height(&above, first as f64 * ROW_PX);
            set_height(&below, (n - last) as f64 * ROW_PX);
        });
    }
    // Redraws only when the window moves by a row, not on every pixel scrolled.
    let onscroll = {
        let scroll_top = scroll_top.clone();
        Callback::from(move |e: Event| {
            if let Some(el) = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                let top = el.scroll_top() as f64;
                if window(n, top) != window(n, *scroll_top) {
                    scroll_top.set(top);
                }
            }
        })
    };
    let role_of = |col: usize| Role::ALL.into_iter().find(|&r| t.roles.get(r) == Some(col));

    let head = t.headers.iter().enumerate().map(|(i, h)| {
        let role = role_of(i);
        html! {
            <th scope="col" class={classes!(role.map(|r| format!("role-{}", r.name())))}>
                <span class="col-name">{h.clone()}</span>
                if let Some(r) = role {
                    <span class="role-tag">{r.name()}</span>
                }
            </th>
        }
    });
    let body = t.rows[first..last].iter().map(|row| {
        let cells = (0..t.headers.len()).map(|c| {
            let full = row.fields.get(c).map(String::as_str).unwrap_or("");
            let (text, cut) = preview_cell(full);
            let title = cut.then(|| AttrValue::from(full.to_string()));
            html! { <td {title}><div class="cell">{text}</div></td> }
        });
        html! {
            <tr>
                <th scope="row" class="line-no">{row.line}</th>
                {for cells}
            </tr>
        }
    });
    let caption = format!("All {}", format::count(n, "row", "rows"));
    let cols = (t.headers.len() + 1).to_string();
    html! {
        <div id="preview" class="preview">
            <div class="preview-head">
                <h3>{"Preview"}</h3>
                <p class="muted small">{caption}{" · the first column is the line in the file"}</p>
            </div>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Preview of the file's rows" {onscroll}>
                <table class="data-table">
                    <thead><tr><th scope="col" class="line-no">{"Line"}</th>{for head}</tr></thead>
                    <tbody>
                        if first > 0 {
                            <tr class="spacer" aria-hidden="true" ref={above}><td colspan={cols.clone()}></td></tr>
                        }
                        {for body}
                        if last < n {
                            <tr class="spacer" aria-hidden="true" ref={below}><td colspan={cols}></td></tr>
                        }
                    </tbody>
                </table>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_covers_the_view_and_stays_inside_the_table() {
        assert_eq!(window(0, 0.0), (0, 0));
        assert_eq!(window(5, 0.0), (0, 5));
        let (first, last) = window(100_000, 0.0);
        assert_eq!(first, 0);
        assert!(last as f64 * ROW_PX >= VIEW_PX && last < 40, "{last}");
        let (first, last) = window(100_000, 50_000.0 * ROW_PX);
        assert_eq!((first, last - first), (50_000 - OVERSCAN, 9 + 2 * OVERSCAN));
        assert_eq!(window(100, 1e9), (100, 100));
    }
}
