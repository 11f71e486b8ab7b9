//! `Gpu`: one adapter and device, with the pipeline cache, the buffer pool and the command
//! encoder that ops record into.
//!
//! Recording model: every op records its dispatch into the one open encoder; nothing runs
//! until `submit` (or a read-back, which submits first). A forward or backward pass is thus
//! one submission, and the only waits are the read-backs of results.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{GpuError, Result};
use crate::pool::Pool;

/// What the page or CLI shows about the adapter in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    /// "Vulkan", "Metal", "BrowserWebGpu", ...
    pub backend: String,
    pub driver: String,
    /// A CPU rasterizer (lavapipe, SwiftShader): correct but slow.
    pub software: bool,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.name, self.backend)?;
        if !self.driver.is_empty() {
            write!(f, ", {}", self.driver)?;
        }
        if self.software {
            write!(f, ", software")?;
        }
        write!(f, ")")
    }
}

#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Accept a software adapter (lavapipe, SwiftShader). Tests do; `auto` in the CLI
    /// prefers the CPU backend over a software GPU.
    pub allow_software: bool,
}

pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    summary: AdapterSummary,
    limits: wgpu::Limits,
    pipelines: RefCell<HashMap<(&'static str, String), Rc<wgpu::ComputePipeline>>>,
    pub(crate) pool: Rc<Pool>,
    encoder: RefCell<Option<wgpu::CommandEncoder>>,
    /// Errors wgpu reports asynchronously (validation, out of memory, device lost); checked
    /// at every submission so they surface as `GpuError` instead of a panic.
    errors: Arc<Mutex<Vec<GpuError>>>,
    /// Set once the device is lost: from then on ops fail at once with `DeviceLost` rather
    /// than handing wgpu a dead device (whose mapped buffers cannot be created).
    lost: Arc<AtomicBool>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("adapter", &self.summary).finish()
    }
}

/// Flags from the environment (WGPU_VALIDATION=0 etc.) help when debugging a driver.
fn new_instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// One wgpu instance per process natively, shared by every `Gpu` it makes (the op tests make
/// one per test) rather than loading the Vulkan driver again for each: run in one process,
/// NVIDIA's driver stopped offering an adapter after about 30 instances (docs/benchmarks/
/// gpu-h200.md).
#[cfg(not(target_arch = "wasm32"))]
fn instance() -> wgpu::Instance {
    static INSTANCE: std::sync::OnceLock<wgpu::Instance> = std::sync::OnceLock::new();
    INSTANCE.get_or_init(new_instance).clone()
}

/// In a browser the instance is `navigator.gpu`'s, and there is one thread.
#[cfg(target_arch = "wasm32")]
fn instance() -> wgpu::Instance {
    new_instance()
}

impl Gpu {
    /// Opens the best adapter (high-performance preference) with every limit it offers.
    pub async fn new(opts: &GpuOptions) -> Result<Gpu> {
        let adapter = instance()
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            driver: [info.driver.as_str(), info.driver_info.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            software: info.device_type == wgpu::DeviceType::Cpu
                || info.name.to_ascii_lowercase().contains("swiftshader")
                || info.name.to_ascii_lowercase().contains("llvmpipe"),
        };
        if summary.software && !opts.allow_software {
            return Err(GpuError::NoAdapter(format!("only a software adapter was found: {summary}")));
        }
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("labelcast"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoDevice(e.to_string()))?;
        let errors: Arc<Mutex<Vec<GpuError>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let err = match e {
                wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory(e.to_string()),
                wgpu::Error::Validation { description, .. } => GpuError::Validation(description),
                wgpu::Error::Internal { description, .. } => GpuError::Validation(description),
            };
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(err);
        }));
        let sink = errors.clone();
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            flag.store(true, Ordering::SeqCst);
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(GpuError::DeviceLost(format!("{reason:?}: {msg}")));
        });
        let pool = Rc::new(Pool::new(device.clone()));
        Ok(Gpu {
            device,
            queue,
            summary,
            limits,
            pipelines: RefCell::default(),
            pool,
            encoder: RefCell::new(None),
            errors,
            lost,
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// What the buffer pool has allocated and reused so far. It frees nothing, so
    /// `bytes_allocated` is at least the most any pass held at once, plus the size classes'
    /// rounding and buffers of sizes no later pass asked for: what activations cost the GPU.
    pub fn pool_stats(&self) -> crate::PoolStats {
        self.pool.stats()
    }

    /// Largest number of bytes one storage binding may cover.
    pub fn max_binding(&self) -> u64 {
        self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size)
    }

    /// The first error wgpu reported since the last check; a lost device before anything
    /// else, as every later error is only its consequence.
    pub fn check(&self) -> Result<()> {
        let mut errs = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        let lost = errs.iter().position(|e| matches!(e, GpuError::DeviceLost(_)));
        match lost.or(if errs.is_empty() { None } else { Some(0) }) {
            Some(i) => Err(errs.remove(i)),
            None => Ok(()),
        }
    }

    /// Gives the device's memory back now; every later use fails with `DeviceLost`. Also
    /// what a test does to see how callers cope with a driver reset.
    pub fn destroy(&self) {
        self.lost.store(true, Ordering::SeqCst);
        self.device.destroy();
    }

    /// `DeviceLost` once the device is gone (with wgpu's reason when it gave one).
    pub(crate) fn alive(&self) -> Result<()> {
        if !self.lost.load(Ordering::SeqCst) {
            return Ok(());
        }
        let errs = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        Err(errs
            .iter()
            .find_map(|e| match e {
                GpuError::DeviceLost(m) => Some(GpuError::DeviceLost(m.clone())),
                _ => None,
            })
            .unwrap_or_else(|| GpuError::DeviceLost("destroyed".into())))
    }

    /// A cached compute pipeline; `source` builds the WGSL on a miss only. `variant`
    /// distinguishes specializations of one kernel (constants prepended to the source).
    pub(crate) fn pipeline(
        &self,
        name: &'static str,
        variant: &str,
        source: impl FnOnce() -> String,
    ) -> Rc<wgpu::ComputePipeline> {
        let key = (name, variant.to_string());
        if let Some(p) = self.pipelines.borrow().get(&key) {
            return p.clone();
        }
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(source().into()),
        });
        let p = Rc::new(self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(name),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        }));
        self.pipelines.borrow_mut().insert(key, p.clone());
        p
    }

    /// Runs `f` with the open command encoder (opening one if needed).
    pub(crate) fn with_encoder<T>(&self, f: impl FnOnce(&mut wgpu::CommandEncoder) -> T) -> T {
        let mut enc = self.encoder.borrow_mut();
        let enc = enc
            .get_or_insert_with(|| self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None }));
        f(enc)
    }

    /// Submits everything recorded so far.
    pub fn submit(&self) -> Result<()> {
        if let Some(enc) = self.encoder.borrow_mut().take() {
            self.queue.submit([enc.finish()]);
        }
        self.check()
    }

    /// Waits (natively) or yields (in the browser) until the queue is idle.
    pub async fn finish(&self) -> Result<()> {
        self.submit()?;
        let (tx, rx) = futures_channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        self.wait().await;
        rx.await.map_err(|_| GpuError::DeviceLost("the queue was dropped".into()))?;
        self.check()
    }

    /// Native backends run callbacks only when polled; the browser runs them itself.
    pub(crate) async fn wait(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
        }
    }
}
