//! `Tensor`: a GPU buffer with a shape. Row-major, 4-byte elements (f32 or u32), or raw
//! bytes (quantized weights). Clones share the buffer; pooled buffers go back to the pool
//! when the last clone drops.

use std::rc::{Rc, Weak};

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::pool::{Pool, USAGE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    U32,
    /// Raw bytes (quantized blocks); the shape counts bytes.
    Bytes,
}

impl DType {
    pub fn size(self) -> u64 {
        match self {
            DType::F32 | DType::U32 => 4,
            DType::Bytes => 1,
        }
    }
}

struct Buf {
    buffer: wgpu::Buffer,
    class: u64,
    pool: Option<Weak<Pool>>,
}

impl Drop for Buf {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take().and_then(|p| p.upgrade()) {
            pool.give(self.class, self.buffer.clone());
        }
    }
}

#[derive(Clone)]
pub struct Tensor {
    buf: Rc<Buf>,
    shape: Vec<usize>,
    dtype: DType,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?})", self.dtype, self.shape)
    }
}

impl Tensor {
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the data (the buffer may be larger: pool size classes).
    pub fn bytes(&self) -> u64 {
        self.len() as u64 * self.dtype.size()
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buf.buffer
    }

    /// The same data seen with another shape of the same size.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(GpuError::shape("reshape", format!("{:?} into {:?}", self.shape, shape)));
        }
        Ok(Tensor { buf: self.buf.clone(), shape: shape.to_vec(), dtype: self.dtype })
    }

    /// The binding of the data (not the whole pooled buffer), at least 4 bytes.
    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        let size = self.bytes().max(4).next_multiple_of(4);
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buf.buffer,
            offset: 0,
            size: wgpu::BufferSize::new(size),
        })
    }
}

impl Gpu {
    fn check_size(&self, what: &str, bytes: u64) -> Result<()> {
        if bytes > self.max_binding() {
            return Err(GpuError::TooLarge { what: what.to_string(), bytes, limit: self.max_binding() });
        }
        Ok(())
    }

    /// An uninitialized pooled tensor (contents are whatever the buffer held).
    pub fn empty(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let bytes = shape.iter().product::<usize>() as u64 * dtype.size();
        self.check_size("a tensor", bytes)?;
        let (buffer, class) = self.pool.take(bytes.next_multiple_of(4));
        Ok(Tensor {
            buf: Rc::new(Buf { buffer, class, pool: Some(Rc::downgrade(&self.pool)) }),
            shape: shape.to_vec(),
            dtype,
        })
    }

    /// A pooled tensor filled with zeros (recorded: ordered with the ops around it).
    pub fn zeros(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let t = self.empty(shape, dtype)?;
        let size = t.bytes().next_multiple_of(4);
        if size > 0 {
            self.with_encoder(|e| e.clear_buffer(t.buffer(), 0, Some(size)));
        }
        Ok(t)
    }

    /// Uploads f32 data into a pooled tensor.
    pub fn upload_f32(&self, data: &[f32], shape: &[usize]) -> Result<Tensor> {
        self.upload(bytemuck::cast_slice(data), shape, DType::F32)
    }

    pub fn upload_u32(&self, data: &[u32], shape: &[usize]) -> Result<Tensor> {
        self.upload(bytemuck::cast_slice(data), shape, DType::U32)
    }

    fn upload(&self, bytes: &[u8], shape: &[usize], dtype: DType) -> Result<Tensor> {
        self.alive()?;
        let n: usize = shape.iter().product();
        if n as u64 * dtype.size() != bytes.len() as u64 {
            return Err(GpuError::shape("upload", format!("{} bytes for shape {shape:?}", bytes.len())));
        }
        let t = self.empty(shape, dtype)?;
        self.write(&t, bytes);
        Ok(t)
    }

    /// Writes bytes at the start of a tensor. Queue writes happen before the next
    /// submission's commands, so the open encoder is submitted first: the write then lands
    /// after everything recorded before it, as program order suggests.
    pub(crate) fn write(&self, t: &Tensor, bytes: &[u8]) {
        self.write_at(t, 0, bytes)
    }

    /// Writes `bytes` (zero-padded to a whole word) at `offset` (a multiple of 4) of `t`.
    pub(crate) fn write_at(&self, t: &Tensor, offset: u64, bytes: &[u8]) {
        let _ = self.submit();
        let padded;
        let data = if bytes.len() % 4 == 0 {
            bytes
        } else {
            padded = [bytes, &[0u8; 3][..4 - bytes.len() % 4]].concat();
            &padded
        };
        if !data.is_empty() {
            self.queue.write_buffer(t.buffer(), offset, data);
        }
    }

    /// A tensor of its own exact-size buffer (weights: kept for the model's lifetime).
    pub fn upload_static(&self, what: &str, bytes: &[u8], shape: &[usize], dtype: DType) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n as u64 * dtype.size() != bytes.len() as u64 {
            return Err(GpuError::shape("upload", format!("{what}: {} bytes for shape {shape:?}", bytes.len())));
        }
        let t = self.unpooled("static", what, bytes.len() as u64, shape, dtype)?;
        self.write(&t, bytes);
        Ok(t)
    }

    /// A zero-filled tensor of its own exact-size buffer, not pooled: for large data kept
    /// across passes (the gradient store), whose memory should go back to the device when
    /// it drops rather than stay in the pool. wgpu zero-fills new buffers.
    pub fn zeros_static(&self, what: &str, shape: &[usize], dtype: DType) -> Result<Tensor> {
        let bytes = shape.iter().product::<usize>() as u64 * dtype.size();
        self.unpooled(what, what, bytes, shape, dtype)
    }

    /// A buffer of `bytes` (rounded up to whole words) outside the pool, as a tensor.
    fn unpooled(&self, label: &str, what: &str, bytes: u64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        self.alive()?;
        self.check_size(what, bytes)?;
        let size = bytes.max(4).next_multiple_of(4);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: USAGE,
            mapped_at_creation: false,
        });
        Ok(Tensor { buf: Rc::new(Buf { buffer, class: size, pool: None }), shape: shape.to_vec(), dtype })
    }

    /// Records a copy of `bytes` bytes between tensors.
    pub fn copy(&self, src: &Tensor, src_off: u64, dst: &Tensor, dst_off: u64, bytes: u64) -> Result<()> {
        if src_off + bytes > src.bytes() || dst_off + bytes > dst.bytes() || bytes % 4 != 0 {
            return Err(GpuError::shape(
                "copy",
                format!("{bytes} bytes from {src_off} of {src:?} to {dst_off} of {dst:?}"),
            ));
        }
        if bytes > 0 {
            self.with_encoder(|e| e.copy_buffer_to_buffer(src.buffer(), src_off, dst.buffer(), dst_off, bytes));
        }
        Ok(())
    }

    /// Reads a tensor's bytes back (submits everything recorded first).
    pub async fn read_bytes(&self, t: &Tensor) -> Result<Vec<u8>> {
        self.alive()?;
        let size = t.bytes().next_multiple_of(4);
        if size == 0 {
            return Ok(Vec::new());
        }
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.with_encoder(|e| e.copy_buffer_to_buffer(t.buffer(), 0, &staging, 0, size));
        self.submit()?;
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.wait().await;
        rx.await
            .map_err(|_| GpuError::Readback("the mapping was dropped".into()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        self.check()?;
        let out = staging.get_mapped_range(..).map_err(|e| GpuError::Readback(e.to_string()))?.to_vec();
        staging.unmap();
        Ok(out[..t.bytes() as usize].to_vec())
    }

    pub async fn read_f32(&self, t: &Tensor) -> Result<Vec<f32>> {
        if t.dtype() != DType::F32 {
            return Err(GpuError::shape("read_f32", format!("{t:?} is not f32")));
        }
        Ok(bytemuck::pod_collect_to_vec(&self.read_bytes(t).await?))
    }

    pub async fn read_u32(&self, t: &Tensor) -> Result<Vec<u32>> {
        if t.dtype() != DType::U32 {
            return Err(GpuError::shape("read_u32", format!("{t:?} is not u32")));
        }
        Ok(bytemuck::pod_collect_to_vec(&self.read_bytes(t).await?))
    }
}
