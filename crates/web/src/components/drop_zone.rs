//! The drop target. It is a real <button>, so it is focusable and Enter/Space open the file
//! picker without any key handling of our own; drag and drop lands on the same element.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::icons;
use crate::file_read::ACCEPT;
use crate::format;

#[derive(Properties, PartialEq)]
pub struct DropZoneProps {
    pub on_file: Callback<web_sys::File>,
    pub on_example: Callback<()>,
    pub busy: bool,
}

#[function_component(DropZone)]
pub fn drop_zone(p: &DropZoneProps) -> Html {
    let input = use_node_ref();
    let hover = use_state(|| false);

    let open_picker = {
        let input = input.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(el) = input.cast::<HtmlInputElement>() {
                el.click();
            }
        })
    };
    let on_change = {
        let on_file = p.on_file.clone();
        Callback::from(move |e: Event| {
            let Some(el) = e.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            if let Some(f) = el.files().and_then(|fs| fs.get(0)) {
                on_file.emit(f);
            }
            // Cleared so that choosing the same file again (after fixing it) fires `change`.
            el.set_value("");
        })
    };
    let on_dragenter = {
        let hover = hover.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            hover.set(true);
        })
    };
    let on_dragover = {
        let hover = hover.clone();
        Callback::from(move |e: DragEvent| {
            // Without preventing the default the browser refuses the drop.
            e.prevent_default();
            e.stop_propagation();
            if !*hover {
                hover.set(true);
            }
        })
    };
    let on_dragleave = {
        let hover = hover.clone();
        Callback::from(move |_: DragEvent| hover.set(false))
    };
    let on_drop = {
        let (hover, on_file) = (hover.clone(), p.on_file.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            // The page also accepts drops; stop here so the file is not loaded twice.
            e.stop_propagation();
            hover.set(false);
            if let Some(f) = e
                .data_transfer()
                .and_then(|dt| dt.files())
                .and_then(|fs| fs.get(0))
            {
                on_file.emit(f);
            }
        })
    };
    let on_example = {
        let cb = p.on_example.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };

    let class = classes!(
        "drop-zone",
        (*hover).then_some("is-over"),
        p.busy.then_some("is-busy")
    );
    let limit = format::bytes(crate::file_read::MAX_FILE_BYTES);
    html! {
        <div class="drop-area">
            <button
                id="drop-zone"
                type="button"
                {class}
                aria-describedby="drop-hint"
                onclick={open_picker}
                ondragenter={on_dragenter}
                ondragover={on_dragover}
                ondragleave={on_dragleave}
                ondrop={on_drop}
            >
                {icons::upload()}
                <span class="drop-title">{"Drop a CSV or JSONL file here"}</span>
                <span class="drop-sub">{"or press to choose one"}</span>
            </button>
            <label for="file-input" class="visually-hidden">{"Choose a data file"}</label>
            <input
                id="file-input"
                class="visually-hidden"
                type="file"
                accept={ACCEPT}
                tabindex="-1"
                ref={input}
                onchange={on_change}
            />
            <p id="drop-hint" class="hint">
                {format!("One prompt per row: CSV, TSV, JSONL or a JSON array, up to {limit}. \
                          Columns are matched by name (prompt, answer, category, id, …); \
                          you can change the match below. ")}
                <button type="button" class="link-button" onclick={on_example} disabled={p.busy}>
                    {"Load the example file"}
                </button>
            </p>
        </div>
    }
}
