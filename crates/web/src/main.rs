//! Entry point of the browser app (built by Trunk for wasm32-unknown-unknown).

#[cfg(target_arch = "wasm32")]
fn main() {
    use yew::Renderer;
    // The same wasm runs in the parse worker (web/parse-worker.js), which has no window and
    // only calls `parse_worker_message`.
    let Some(window) = web_sys::window() else { return };
    let root = window.document().and_then(|d| d.get_element_by_id("app"));
    match root {
        Some(root) => {
            // Replaces the "Loading…" message index.html shows until the wasm has started.
            root.set_text_content(None);
            Renderer::<labelcast_web::app::App>::with_root(root).render();
        }
        None => {
            Renderer::<labelcast_web::app::App>::new().render();
        }
    }
}

/// The app only runs in a browser; a native build exists so `cargo test` can run the pure
/// modules' tests.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "labelcast-web runs in the browser: build it with `trunk build` and serve dist/ \
         (scripts/serve.sh)."
    );
}
