//! Labeled examples needed per target share, with the band's interval.

use std::rc::Rc;

use labelcast_core::forecast::DEFAULT_TARGETS;
use yew::prelude::*;

use crate::format;
use crate::steps::forecast::forecast_model::{over_pool, Outcome};

#[derive(Properties, PartialEq)]
pub struct BudgetTableProps {
    pub outcome: Option<Rc<Outcome>>,
    /// Rows in the pool: a budget above it is marked.
    #[prop_or_default]
    pub pool_rows: Option<usize>,
}

#[function_component(BudgetTable)]
pub fn budget_table(p: &BudgetTableProps) -> Html {
    let level = p.outcome.as_deref().map(|o| o.level).unwrap_or(0.9);
    let rows: Html = match p.outcome.as_deref() {
        Some(o) => o
            .rows
            .iter()
            .map(|r| {
                // `{}` of f64 is the shortest text that parses back to the same number, so
                // scripts reading data-value get the exact budget the page computed.
                let value = r.budget.to_string();
                let band = r.band.map(|b| format::budget_range(b.lo, b.hi)).unwrap_or_else(|| "—".into());
                let over = over_pool(r.budget, p.pool_rows);
                html! {
                    <tr data-target={r.target.to_string()} class={classes!((r.target == 0.9).then_some("is-key"), over.then_some("over-pool"))}>
                        <th scope="row">{format::percent(r.target)}</th>
                        <td class="budget num" data-value={value}>
                            {format::budget(r.budget)}
                            if over { <span class="over-pool-tag">{" more than your pool"}</span> }
                        </td>
                        <td class="band num">{band}</td>
                    </tr>
                }
            })
            .collect(),
        None => DEFAULT_TARGETS
            .iter()
            .map(|t| {
                html! {
                    <tr data-target={t.to_string()}>
                        <th scope="row">{format::percent(*t)}</th>
                        <td class="budget num">{"—"}</td>
                        <td class="band num">{"—"}</td>
                    </tr>
                }
            })
            .collect(),
    };
    html! {
        <div class="table-scroll">
            <table id="budget-table" class="data-table budget-table">
                <caption>{"Labeled examples needed to reach each target"}</caption>
                <thead>
                    <tr>
                        <th scope="col">{"Target share"}</th>
                        <th scope="col" class="num">{"Labeled examples"}</th>
                        <th scope="col" class="num">{format!("{} band", format::percent(level))}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
