//! The drop target. It is a real <button>, so it is focusable and Enter/Space open the file
//! picker without any key handling of our own; drag and drop lands on the same element.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::browser::file_read::ACCEPT;
use crate::components::icons;
use crate::format;

#[derive(Properties, PartialEq)]
pub struct DropZoneProps {
    #[prop_or_default]
    pub on_file: Callback<web_sys::File>,
    /// Takes every file picked or dropped (a model's files go together); `on_file` is then
    /// not called.
    #[prop_or_default]
    pub on_files: Option<Callback<Vec<web_sys::File>>>,
    /// The file input's `accept`; the pool's formats when None.
    #[prop_or_default]
    pub accept: Option<AttrValue>,
    /// The file input's id, when not `{id}-input`.
    #[prop_or_default]
    pub input_id: Option<AttrValue>,
    /// Offers the bundled example (the pool's zone); None for other files.
    #[prop_or_default]
    pub on_example: Option<Callback<()>>,
    pub busy: bool,
    /// The zone's id; its file input is `{id}-input` unless it is the pool's zone.
    #[prop_or(AttrValue::Static("drop-zone"))]
    pub id: AttrValue,
    #[prop_or(AttrValue::Static("Drop a CSV or JSONL file here"))]
    pub title: AttrValue,
    /// What the zone takes, under it; the pool's description when None.
    #[prop_or_default]
    pub hint: Option<AttrValue>,
    /// A smaller zone, for a file that is optional.
    #[prop_or_default]
    pub compact: bool,
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
    // Every file to `on_files` when it is set, else the first to `on_file`.
    let emit = {
        let (on_file, on_files) = (p.on_file.clone(), p.on_files.clone());
        move |files: Option<web_sys::FileList>| match &on_files {
            Some(cb) => {
                let all = crate::browser::file_read::list(files);
                if !all.is_empty() {
                    cb.emit(all);
                }
            }
            None => {
                if let Some(f) = files.and_then(|fs| fs.get(0)) {
                    on_file.emit(f);
                }
            }
        }
    };
    let on_change = {
        let emit = emit.clone();
        Callback::from(move |e: Event| {
            let Some(el) = e.target_dyn_into::<HtmlInputElement>() else {
                return;
            };
            emit(el.files());
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
        let hover = hover.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            // The page also accepts drops; stop here so the file is not loaded twice.
            e.stop_propagation();
            hover.set(false);
            emit(e.data_transfer().and_then(|dt| dt.files()));
        })
    };
    let example = p.on_example.clone().map(|cb| {
        let onclick = Callback::from(move |_: MouseEvent| cb.emit(()));
        html! {
            <button type="button" class="link-button" {onclick} disabled={p.busy}>
                {"Load the example file"}
            </button>
        }
    });
    // The pool's zone keeps the ids the page has always had (tests and links use them).
    let pool_zone = p.id.as_str() == "drop-zone";
    let input_id = match &p.input_id {
        Some(id) => id.to_string(),
        None if pool_zone => "file-input".to_string(),
        None => format!("{}-input", p.id),
    };
    let multiple = p.on_files.is_some();
    let hint_id = if pool_zone { "drop-hint".to_string() } else { format!("{}-hint", p.id) };

    let class = classes!(
        "drop-zone",
        (*hover).then_some("is-over"),
        p.busy.then_some("is-busy"),
        p.compact.then_some("is-compact")
    );
    let limit = format::bytes(crate::browser::file_read::MAX_FILE_BYTES);
    html! {
        <div class="drop-area">
            <button
                id={p.id.clone()}
                type="button"
                {class}
                aria-describedby={hint_id.clone()}
                onclick={open_picker}
                ondragenter={on_dragenter}
                ondragover={on_dragover}
                ondragleave={on_dragleave}
                ondrop={on_drop}
            >
                if !p.compact { {icons::upload()} }
                <span class="drop-title">{p.title.clone()}</span>
                <span class="drop-sub">{if multiple { "or press to choose them" } else { "or press to choose one" }}</span>
            </button>
            <label for={input_id.clone()} class="visually-hidden">{p.title.clone()}</label>
            <input autocomplete="off"
                id={input_id}
                class="visually-hidden"
                type="file"
                accept={p.accept.clone().unwrap_or(AttrValue::Static(ACCEPT))}
                {multiple}
                tabindex="-1"
                ref={input}
                onchange={on_change}
            />
            <p id={hint_id} class="hint">
                {p.hint.clone().map(|h| h.to_string()).unwrap_or_else(|| format!(
                    "One prompt per row: CSV, TSV, JSONL or a JSON array, up to {limit}. \
                     Columns are matched by name (prompt, answer, category, id, …); \
                     you can change the match below. "))}
                {example.unwrap_or_default()}
            </p>
        </div>
    }
}
