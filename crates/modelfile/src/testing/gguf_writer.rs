//! A GGUF writer for tests and synthetic models: any metadata, tensors from bytes, laid out
//! at the file's alignment; small files in memory, large ones streamed to a writer.

use crate::dtype::TensorType;
use crate::metadata::{Array, Value};
use crate::Result;

use super::encode;

struct WriterTensor {
    name: String,
    ggml_type: u32,
    gguf_dims: Vec<u64>,
    data: Vec<u8>,
}

/// Builds a GGUF file in memory. Tensors are laid out in insertion order at the alignment
/// given by `general.alignment` (default 32).
pub struct GgufWriter {
    pub version: u32,
    kvs: Vec<(String, Value)>,
    tensors: Vec<WriterTensor>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self { version: 3, kvs: Vec::new(), tensors: Vec::new() }
    }
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn kv(&mut self, key: &str, value: Value) -> &mut Self {
        self.kvs.push((key.to_string(), value));
        self
    }

    /// A tensor from raw bytes, dims in GGUF order (innermost first); nothing is checked, so
    /// tests can write inconsistent files on purpose.
    pub fn raw_tensor(&mut self, name: &str, ggml_type: u32, gguf_dims: &[u64], data: Vec<u8>) -> &mut Self {
        self.tensors.push(WriterTensor { name: name.to_string(), ggml_type, gguf_dims: gguf_dims.to_vec(), data });
        self
    }

    /// A tensor from f32 values in Hugging Face layout, encoded (quantized) as `ty`.
    pub fn tensor(&mut self, name: &str, ty: TensorType, dims: &[usize], values: &[f32]) -> Result<&mut Self> {
        let data = encode(ty, dims, values)?;
        let gguf_dims: Vec<u64> = dims.iter().rev().map(|&d| d as u64).collect();
        Ok(self.raw_tensor(name, ty.ggml_id(), &gguf_dims, data))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let infos = self.tensors.iter().map(|t| (t.name.as_str(), t.ggml_type, t.gguf_dims.as_slice(), t.data.len()));
        let (mut out, offsets) = self.header(infos);
        let data_start = out.len();
        for (t, off) in self.tensors.iter().zip(offsets) {
            out.resize(data_start + off, 0);
            out.extend(&t.data);
        }
        out
    }

    /// The file with the tensors written so far and then `lazy`, whose bytes `fill(i, buffer)`
    /// writes into a zeroed buffer of the tensor's size while the file is being written: a
    /// model of real size (gigabytes) never has to be held in memory.
    pub fn write_streaming(
        &self,
        lazy: &[LazyTensor],
        out: &mut impl std::io::Write,
        mut fill: impl FnMut(usize, &mut [u8]),
    ) -> std::io::Result<u64> {
        let own = self.tensors.iter().map(|t| (t.name.as_str(), t.ggml_type, t.gguf_dims.as_slice(), t.data.len()));
        let more = lazy.iter().map(|t| (t.name.as_str(), t.ggml_type, t.gguf_dims.as_slice(), t.len));
        let (header, offsets) = self.header(own.chain(more));
        out.write_all(&header)?;
        let mut at = 0usize;
        let mut buffer = Vec::new();
        for (i, off) in offsets.into_iter().enumerate() {
            out.write_all(&vec![0u8; off - at])?;
            let data = match self.tensors.get(i) {
                Some(t) => &t.data,
                None => {
                    let t = &lazy[i - self.tensors.len()];
                    buffer.clear();
                    buffer.resize(t.len, 0);
                    fill(i - self.tensors.len(), &mut buffer);
                    &buffer
                }
            };
            out.write_all(data)?;
            at = off + data.len();
        }
        Ok((header.len() + at) as u64)
    }

    fn alignment(&self) -> usize {
        self.kvs
            .iter()
            .find(|(k, _)| k == "general.alignment")
            .and_then(|(_, v)| v.as_i128())
            // An invalid alignment (a test of the reader) is written, but the layout uses 32.
            .filter(|&a| a > 0 && a <= 1 << 16 && (a as u64).is_power_of_two())
            .map_or(32, |a| a as usize)
    }

    /// The metadata and tensor table, padded to the start of the data, and each tensor's
    /// offset from that start, for tensors given as (name, type, GGUF dims, byte length).
    fn header<'a>(&self, tensors: impl Iterator<Item = (&'a str, u32, &'a [u64], usize)>) -> (Vec<u8>, Vec<usize>) {
        let alignment = self.alignment();
        let tensors: Vec<_> = tensors.collect();
        let mut out = b"GGUF".to_vec();
        out.extend(self.version.to_le_bytes());
        out.extend((tensors.len() as u64).to_le_bytes());
        out.extend((self.kvs.len() as u64).to_le_bytes());
        for (k, v) in &self.kvs {
            write_str(&mut out, k);
            out.extend(value_type(v).to_le_bytes());
            write_value(&mut out, v);
        }
        let mut offset = 0usize;
        let mut offsets = Vec::new();
        for (name, ggml_type, dims, len) in tensors {
            write_str(&mut out, name);
            out.extend((dims.len() as u32).to_le_bytes());
            for d in dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(ggml_type.to_le_bytes());
            out.extend((offset as u64).to_le_bytes());
            offsets.push(offset);
            offset = (offset + len).next_multiple_of(alignment);
        }
        let data_start = out.len().next_multiple_of(alignment);
        out.resize(data_start, 0);
        (out, offsets)
    }
}

/// A tensor of [`GgufWriter::write_streaming`]: its bytes are made while the file is written.
pub struct LazyTensor {
    pub name: String,
    pub ggml_type: u32,
    /// GGUF order (innermost first).
    pub gguf_dims: Vec<u64>,
    pub len: usize,
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn value_type(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.extend(x.to_le_bytes()),
        Value::U16(x) => out.extend(x.to_le_bytes()),
        Value::I16(x) => out.extend(x.to_le_bytes()),
        Value::U32(x) => out.extend(x.to_le_bytes()),
        Value::I32(x) => out.extend(x.to_le_bytes()),
        Value::F32(x) => out.extend(x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => write_str(out, s),
        Value::Array(a) => write_array(out, a),
        Value::U64(x) => out.extend(x.to_le_bytes()),
        Value::I64(x) => out.extend(x.to_le_bytes()),
        Value::F64(x) => out.extend(x.to_le_bytes()),
    }
}

fn write_array(out: &mut Vec<u8>, a: &Array) {
    macro_rules! items {
        ($ty:literal, $v:expr, $f:expr) => {{
            out.extend(($ty as u32).to_le_bytes());
            out.extend(($v.len() as u64).to_le_bytes());
            for x in $v {
                $f(&mut *out, x);
            }
        }};
    }
    match a {
        Array::U8(v) => items!(0, v, |o: &mut Vec<u8>, x: &u8| o.push(*x)),
        Array::I8(v) => items!(1, v, |o: &mut Vec<u8>, x: &i8| o.extend(x.to_le_bytes())),
        Array::U16(v) => items!(2, v, |o: &mut Vec<u8>, x: &u16| o.extend(x.to_le_bytes())),
        Array::I16(v) => items!(3, v, |o: &mut Vec<u8>, x: &i16| o.extend(x.to_le_bytes())),
        Array::U32(v) => items!(4, v, |o: &mut Vec<u8>, x: &u32| o.extend(x.to_le_bytes())),
        Array::I32(v) => items!(5, v, |o: &mut Vec<u8>, x: &i32| o.extend(x.to_le_bytes())),
        Array::F32(v) => items!(6, v, |o: &mut Vec<u8>, x: &f32| o.extend(x.to_le_bytes())),
        Array::Bool(v) => items!(7, v, |o: &mut Vec<u8>, x: &bool| o.push(u8::from(*x))),
        Array::String(v) => items!(8, v, |o: &mut Vec<u8>, x: &String| write_str(o, x)),
        Array::Array(v) => items!(9, v, write_array),
        Array::U64(v) => items!(10, v, |o: &mut Vec<u8>, x: &u64| o.extend(x.to_le_bytes())),
        Array::I64(v) => items!(11, v, |o: &mut Vec<u8>, x: &i64| o.extend(x.to_le_bytes())),
        Array::F64(v) => items!(12, v, |o: &mut Vec<u8>, x: &f64| o.extend(x.to_le_bytes())),
    }
}
