//! Reuse of GPU buffers. Activations of one pass are allocated and dropped in the same
//! pattern on every pass, so after the first pass nothing is allocated at all.
//!
//! Safety of reuse within one encoder: a buffer returns to the pool when its last `Tensor`
//! is dropped, i.e. when no later-recorded op can read its old contents. wgpu executes
//! dispatches in recorded order with barriers between them, so an op recorded after the
//! drop that writes into the reused buffer cannot overtake earlier reads of it.

use std::cell::RefCell;
use std::collections::HashMap;

pub(crate) const USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

pub struct Pool {
    device: wgpu::Device,
    free: RefCell<HashMap<u64, Vec<wgpu::Buffer>>>,
    stats: RefCell<PoolStats>,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub allocated: usize,
    pub reused: usize,
    pub bytes_allocated: u64,
}

/// Sizes are rounded up to a class with at most 1/8 waste, so similar sizes share buffers.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(16);
    let step = (bytes.next_power_of_two() / 8).max(256);
    bytes.div_ceil(step) * step
}

impl Pool {
    pub(crate) fn new(device: wgpu::Device) -> Self {
        Pool { device, free: RefCell::default(), stats: RefCell::default() }
    }

    pub(crate) fn take(&self, bytes: u64) -> (wgpu::Buffer, u64) {
        let class = size_class(bytes);
        if let Some(b) = self.free.borrow_mut().get_mut(&class).and_then(Vec::pop) {
            self.stats.borrow_mut().reused += 1;
            return (b, class);
        }
        let mut s = self.stats.borrow_mut();
        s.allocated += 1;
        s.bytes_allocated += class;
        let b = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pooled"),
            size: class,
            usage: USAGE,
            mapped_at_creation: false,
        });
        (b, class)
    }

    pub(crate) fn give(&self, class: u64, b: wgpu::Buffer) {
        self.free.borrow_mut().entry(class).or_default().push(b);
    }

    pub fn stats(&self) -> PoolStats {
        *self.stats.borrow()
    }

    /// Frees every idle buffer (e.g. after a large pass, before the next model loads).
    pub fn trim(&self) {
        self.free.borrow_mut().clear();
    }
}
