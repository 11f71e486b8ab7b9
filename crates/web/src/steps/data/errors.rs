//! Every problem found in the file, each with the line it is on.

use std::rc::Rc;

use yew::prelude::*;

use crate::components::icons;
use crate::format;
use crate::steps::data::problems::{Problem, MAX_SHOWN};

#[derive(Properties, PartialEq)]
pub struct ErrorListProps {
    pub problems: Rc<Vec<Problem>>,
}

/// `#errors` is always in the page (empty when all is well) so assistive technology and
/// tests find one stable list; the heading and frame only show when it has items.
#[function_component(ErrorList)]
pub fn error_list(p: &ErrorListProps) -> Html {
    let n = p.problems.len();
    let heading = match n {
        0 => String::new(),
        1 => "1 problem in the file".to_string(),
        n => format!("{} problems in the file", format::thousands(n as u64)),
    };
    let items = p.problems.iter().take(MAX_SHOWN).map(|pr| {
        let place = pr.place();
        html! {
            <li>
                if !place.is_empty() {
                    <span class="where">{format!("{place}:")}</span>{" "}
                }
                <span class="what">{pr.message.clone()}</span>
            </li>
        }
    });
    html! {
        <div class={classes!("errors-panel", (n == 0).then_some("is-empty"))} role="region" aria-labelledby="errors-heading">
            if n > 0 {
                <h3 id="errors-heading" class="errors-heading">{icons::warning()}{heading}</h3>
            }
            <ul id="errors">{for items}</ul>
            if n > MAX_SHOWN {
                <p class="small">
                    {format!("The first {} are listed; fix those and load the file again to see the rest.",
                             format::thousands(MAX_SHOWN as u64))}
                </p>
            }
        </div>
    }
}
