//! The first rows of the table as read, with the detected role of each column.

use labelcast_core::table::Role;
use yew::prelude::*;

use crate::app::SharedTable;
use crate::data_model::{preview_cell, PREVIEW_ROWS};
use crate::format;

#[derive(Properties, PartialEq)]
pub struct PreviewProps {
    pub table: SharedTable,
    /// Changes when the table's roles change in place.
    pub rev: u64,
}

#[function_component(Preview)]
pub fn preview(p: &PreviewProps) -> Html {
    let t = p.table.0.borrow();
    let shown = t.rows.len().min(PREVIEW_ROWS);
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
    let body = t.rows.iter().take(PREVIEW_ROWS).map(|row| {
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
    let caption = if shown < t.rows.len() {
        format!("First {} of {} rows", format::thousands(shown as u64), format::thousands(t.rows.len() as u64))
    } else {
        format!("All {}", format::count(t.rows.len(), "row", "rows"))
    };
    html! {
        <div id="preview" class="preview">
            <div class="preview-head">
                <h3>{"Preview"}</h3>
                <p class="muted small">{caption}{" · the first column is the line in the file"}</p>
            </div>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Preview of the file's rows">
                <table class="data-table">
                    <thead><tr><th scope="col" class="line-no">{"Line"}</th>{for head}</tr></thead>
                    <tbody>{for body}</tbody>
                </table>
            </div>
        </div>
    }
}
