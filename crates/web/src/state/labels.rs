//! The labels: typed one by one, exported for annotating elsewhere, imported back, or filled
//! from a file of labeled rows. What a file gave (or why not) is shown beside its button.

use std::rc::Rc;

use crate::browser::download::{derived_name, download};
use crate::browser::file_read;
use crate::format;
use crate::state::session::{table_of, Session};
use crate::steps::annotate::annotate_model as annotate;
use crate::steps::annotate::label_error::LabelError;
use crate::steps::annotate::label_fill;
use crate::steps::data::data_state::DataState;

impl Session {
    pub fn set_label(&self, row: usize, text: String) {
        let mut next = (**self.labels).clone();
        next.insert(row, text);
        self.labels.set(Rc::new(next));
    }

    pub fn export_labels(&self, data: &DataState, rows: &[usize]) {
        let Some(t) = table_of(data) else { return };
        let t = t.0.borrow();
        let result = annotate::labeled_table(&t, rows, &self.labels, Some(self.instruction.as_str()))
            .and_then(|out| Ok(download(&derived_name(&t.file, "to-label", "csv"), &out.to_csv(), "text/csv")?));
        if let Err(e) = result {
            self.import_message.set(Some((false, e.to_string())));
        }
    }

    pub fn import_labels(&self, data: &DataState, rows: Rc<Vec<usize>>, file: web_sys::File) {
        let Some(t) = table_of(data) else { return };
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let result = match file_read::read_file(&file, |_| {}).await {
                Ok(bytes) => annotate::import_labels(&t.0.borrow(), &rows, &name, &bytes),
                Err(source) => Err(LabelError::Read { file: name.clone(), source }),
            };
            match result {
                Ok((found, notes)) => {
                    let mut next = (**s.labels).clone();
                    let n = found.len();
                    next.extend(found);
                    s.labels.set(Rc::new(next));
                    let msg =
                        format!("Imported {} from {name}. {}", format::count(n, "label", "labels"), notes.join(" "));
                    s.import_message.set(Some((true, msg)));
                }
                Err(e) => s.import_message.set(Some((false, e.to_string()))),
            }
        });
    }

    /// Labels from a file of already-labeled rows for every pool row it matches; rows that
    /// have a label keep it (see `label_fill`).
    pub fn fill_labels(&self, data: &DataState, file: web_sys::File) {
        let Some(t) = table_of(data) else { return };
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let name = file.name();
            let result = match file_read::read_file(&file, |_| {}).await {
                Ok(bytes) => label_fill::fill_labels(&t.0.borrow(), &s.labels, &name, &bytes)
                    .map(|f| (f.message(&name), f.labels)),
                Err(source) => Err(LabelError::Read { file: name.clone(), source }),
            };
            match result {
                Ok((message, found)) => {
                    let mut next = (**s.labels).clone();
                    next.extend(found);
                    s.labels.set(Rc::new(next));
                    s.fill_message.set(Some((true, message)));
                }
                Err(e) => s.fill_message.set(Some((false, e.to_string()))),
            }
        });
    }
}
