//! One select per column role. Changing one re-applies all roles with `Table::set_roles`.

use labelcast_core::table::Role;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::steps::data::data_state::SharedTable;
use crate::steps::data::roles_model::{column_of, label, purpose};

#[derive(Properties, PartialEq)]
pub struct RolesProps {
    pub table: SharedTable,
    pub rev: u64,
    pub on_change: Callback<(Role, String)>,
    pub error: Option<String>,
}

#[function_component(RolesForm)]
pub fn roles_form(p: &RolesProps) -> Html {
    let t = p.table.0.borrow();
    let fields = Role::ALL.into_iter().map(|role| {
        let id = format!("role-{}", role.name());
        let help = format!("{id}-help");
        let current = column_of(&t.roles, role);
        let on_change = {
            let cb = p.on_change.clone();
            Callback::from(move |e: Event| {
                if let Some(sel) = e.target_dyn_into::<HtmlSelectElement>() {
                    cb.emit((role, sel.value()));
                }
            })
        };
        let options = t.headers.iter().enumerate().map(|(i, h)| {
            html! { <option value={h.clone()} selected={current == Some(i)}>{h.clone()}</option> }
        });
        html! {
            <div class="field">
                <label for={id.clone()}>{label(role)}</label>
                <select autocomplete="off" id={id} aria-describedby={help.clone()} onchange={on_change}>
                    <option value="" selected={current.is_none()}>{"— none —"}</option>
                    {for options}
                </select>
                <p id={help} class="help">{purpose(role)}</p>
            </div>
        }
    });
    html! {
        <fieldset class="roles">
            <legend>{"Column roles"}</legend>
            <div class="roles-grid">{for fields}</div>
            if let Some(e) = &p.error {
                <p class="error-text" role="alert">{e.clone()}</p>
            }
        </fieldset>
    }
}
