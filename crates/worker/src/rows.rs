//! The worker's side of a CoS-Low run split between the page's workers (`Share`): posting
//! this worker's kept rows as its packs finish, and keeping the rows the others computed as
//! the page passes them on, for the engine's `coslow_keep`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::Float32Array;
use labelcast_engine::coslow::{Exchange, KeptRow};
use labelcast_engine::EngineError;
use labelcast_protocol::Reply;

/// How often a worker waiting for the others' rows looks for them (and for a Cancel).
const WAIT_MS: i32 = 10;

struct Received {
    job: u32,
    index: usize,
    loss: f64,
    /// Still a JS array, outside the wasm memory, until the run takes it.
    row: Float32Array,
}

thread_local! {
    static ROWS: RefCell<VecDeque<Received>> = const { RefCell::new(VecDeque::new()) };
    /// Every run up to this job has had all its rows sent.
    static SENT: Cell<u32> = const { Cell::new(0) };
    /// Every keeping run up to this job has ended: rows for it that come late are dropped.
    static ENDED: Cell<u32> = const { Cell::new(0) };
}

/// A row the page passed on (`Request::GradRow`).
pub fn received(job: u32, index: usize, loss: f64, row: Float32Array) {
    if job > ENDED.with(Cell::get) {
        ROWS.with(|r| r.borrow_mut().push_back(Received { job, index, loss, row }));
    }
}

/// No more rows will come for `job` (`Request::GradsSent`).
pub fn all_sent(job: u32) {
    SENT.with(|s| s.set(s.get().max(job)));
}

/// The keeping run `job` has ended (done, failed or cancelled): its rows still queued go.
pub fn ended(job: u32) {
    ENDED.with(|e| e.set(e.get().max(job)));
    ROWS.with(|r| r.borrow_mut().retain(|x| x.job > job));
}

/// Posts each row of a `Share::Send` run to the page.
pub struct Poster {
    pub job: u32,
}

impl Exchange for Poster {
    async fn send(&mut self, row: KeptRow) -> labelcast_engine::Result<()> {
        let values = Float32Array::from(&row.values[..]);
        crate::runtime::post_with_row(&Reply::GradRow { job: self.job, index: row.index, loss: row.loss }, &values);
        Ok(())
    }

    async fn receive(&mut self, _wait: bool) -> labelcast_engine::Result<Option<KeptRow>> {
        Ok(None)
    }
}

/// Hands a `Share::Keep` run the rows the page passed on, one at a time (each is copied into
/// the wasm memory only when taken).
pub struct Taker {
    pub job: u32,
}

impl Taker {
    /// This run's next row. Older runs' rows are of no use to anyone and go; a newer run's
    /// stay for it (a cancelled run may still be looking while the next one's rows come).
    fn next(&self) -> Option<KeptRow> {
        ROWS.with(|r| {
            let mut rows = r.borrow_mut();
            rows.retain(|x| x.job >= self.job);
            let i = rows.iter().position(|x| x.job == self.job)?;
            let x = rows.remove(i)?;
            Some(KeptRow { index: x.index, loss: x.loss, values: x.row.to_vec() })
        })
    }
}

impl Exchange for Taker {
    async fn send(&mut self, _row: KeptRow) -> labelcast_engine::Result<()> {
        Err(EngineError::Invalid("the worker that keeps the rows sends none".into()))
    }

    async fn receive(&mut self, wait: bool) -> labelcast_engine::Result<Option<KeptRow>> {
        loop {
            if let Some(row) = self.next() {
                return Ok(Some(row));
            }
            if !wait || SENT.with(Cell::get) >= self.job {
                return Ok(None);
            }
            if crate::runtime::cancelled(self.job) {
                return Err(EngineError::Cancelled);
            }
            crate::runtime::sleep(WAIT_MS).await;
        }
    }
}
