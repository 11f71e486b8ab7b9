//! Bounds-checked GGUF (v2, v3) parser over the file's bytes, or over a prefix of them.
//!
//! Every length and count in the file is checked against the bytes that remain before anything
//! is allocated for it, so a hostile or truncated file gives `Truncated`/`Corrupt` (naming the
//! file and the item being read) and never a panic or a huge allocation. Tensor data is not
//! read here: each tensor gets the byte range it occupies, checked to lie inside the file.
//! Ranges are u64 because a browser reads files larger than wasm32's address space in slices;
//! parsing a prefix that ends inside the header gives `HeaderPastPrefix`, to read more.

use crate::dtype::ggml_type_info;
use crate::metadata::{Array, Metadata, Value};
use crate::{ModelFileError, Result};
use std::collections::HashSet;
use std::ops::Range;

pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml tensors have at most 4 dimensions.
pub const MAX_DIMS: usize = 4;
/// Arrays of arrays are legal but nothing real nests deeply; the bound keeps a hostile file from
/// overflowing the stack with recursion.
const MAX_ARRAY_DEPTH: usize = 8;
/// Memory the metadata may take once parsed. The largest real tokenizers (Llama 3's 128k tokens
/// and 280k merges, Gemma's 256k tokens) take ~15 MB; without a bound a file of strings or
/// nested arrays could claim ~3× its own size in memory.
pub const MAX_METADATA_BYTES: u128 = 256 << 20;

/// One tensor as the file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufTensorInfo {
    pub name: String,
    /// GGML type id (see [`crate::dtype::ggml_type_info`]); every id here is known.
    pub ggml_type: u32,
    /// Dimensions in GGUF order: innermost (contiguous) first.
    pub dims: Vec<u64>,
    /// Offset relative to the start of the data section, as stored.
    pub offset: u64,
    /// Absolute byte range in the file, checked to lie inside it.
    pub data: Range<u64>,
}

/// The parsed header of a GGUF file (no tensor data is copied).
#[derive(Debug, Clone)]
pub struct GgufFile {
    pub version: u32,
    pub alignment: u64,
    pub metadata: Metadata,
    pub tensors: Vec<GgufTensorInfo>,
    /// Absolute offset of the data section.
    pub data_offset: u64,
}

struct Reader<'a> {
    file: &'a str,
    /// The file's first bytes (all of them, or a prefix).
    buf: &'a [u8],
    /// The whole file's length: counts are checked against it, reads against `buf`.
    file_len: u64,
    pos: usize,
    /// What is being read, for error messages ("metadata key general.name").
    ctx: String,
    /// Memory taken by the metadata parsed so far (estimated from its element types).
    held: u128,
}

impl<'a> Reader<'a> {
    /// Bytes of the file after the read position (not only of the prefix held).
    fn remaining(&self) -> u64 {
        self.file_len.saturating_sub(self.pos as u64)
    }

    fn truncated(&self, what: &str, need: u128) -> ModelFileError {
        ModelFileError::truncated(
            self.file,
            format!(
                "{} of {} at byte {} needs {need} bytes, but the file has {} bytes",
                what, self.ctx, self.pos, self.file_len
            ),
        )
    }

    fn corrupt(&self, why: String) -> ModelFileError {
        ModelFileError::corrupt(self.file, format!("{}: {why}", self.ctx))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n as u64 > self.remaining() {
            return Err(self.truncated(what, n as u128));
        }
        if n > self.buf.len() - self.pos {
            return Err(ModelFileError::HeaderPastPrefix { file: self.file.to_string(), read: self.buf.len() as u64 });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count of items each at least `min_size` bytes long, checked against the bytes left so
    /// that the caller may allocate for it.
    fn count(&mut self, what: &str, min_size: usize) -> Result<usize> {
        let n = self.u64(what)?;
        let need = u128::from(n) * min_size as u128;
        if need > u128::from(self.remaining()) {
            return Err(self.truncated(&format!("{what} {n}"), need));
        }
        Ok(n as usize)
    }

    /// Counts `bytes` more of parsed metadata against [`MAX_METADATA_BYTES`].
    fn hold(&mut self, bytes: u128) -> Result<()> {
        self.held += bytes;
        if self.held > MAX_METADATA_BYTES {
            return Err(self.corrupt(format!(
                "the metadata would take more than {} MiB of memory (real models need ~15 MiB)",
                MAX_METADATA_BYTES >> 20
            )));
        }
        Ok(())
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(&format!("length of {what}"))?;
        if u128::from(len) > u128::from(self.remaining()) {
            return Err(self.truncated(&format!("{what} of {len} bytes"), u128::from(len)));
        }
        self.hold(u128::from(len) + std::mem::size_of::<String>() as u128)?;
        let start = self.pos;
        let bytes = self.take(len as usize, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => Err(self.corrupt(format!("{what} at byte {start} is not UTF-8 ({e})"))),
        }
    }

    fn value(&mut self, ty: u32, depth: usize) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>("u8 value")?[0]),
            1 => Value::I8(i8::from_le_bytes(self.array("i8 value")?)),
            2 => Value::U16(u16::from_le_bytes(self.array("u16 value")?)),
            3 => Value::I16(i16::from_le_bytes(self.array("i16 value")?)),
            4 => Value::U32(self.u32("u32 value")?),
            5 => Value::I32(i32::from_le_bytes(self.array("i32 value")?)),
            6 => Value::F32(f32::from_le_bytes(self.array("f32 value")?)),
            7 => Value::Bool(self.array::<1>("bool value")?[0] != 0),
            8 => Value::String(self.string("string value")?),
            9 => Value::Array(self.array_value(depth)?),
            10 => Value::U64(self.u64("u64 value")?),
            11 => Value::I64(i64::from_le_bytes(self.array("i64 value")?)),
            12 => Value::F64(f64::from_le_bytes(self.array("f64 value")?)),
            _ => return Err(self.corrupt(format!("unknown value type {ty}"))),
        })
    }

    fn array_value(&mut self, depth: usize) -> Result<Array> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.corrupt(format!("arrays nested more than {MAX_ARRAY_DEPTH} deep")));
        }
        let ty = self.u32("array element type")?;
        // Smallest encoding of one element: strings carry an 8-byte length, nested arrays a
        // 4-byte type and an 8-byte count.
        let min_size = match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            8 | 10..=12 => 8,
            9 => 12,
            _ => return Err(self.corrupt(format!("unknown array element type {ty}"))),
        };
        let n = self.count("array length", min_size)?;
        // The elements' own size in memory (strings' bytes are held as they are read).
        let held = match ty {
            8 => 0,
            9 => std::mem::size_of::<Array>(),
            _ => min_size,
        };
        self.hold(n as u128 * held as u128)?;
        macro_rules! fixed {
            ($variant:ident, $t:ty, $size:literal) => {{
                let bytes = self.take(n * $size, "array data")?;
                Array::$variant(
                    bytes.chunks_exact($size).map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or_default())).collect(),
                )
            }};
        }
        Ok(match ty {
            0 => Array::U8(self.take(n, "array data")?.to_vec()),
            1 => fixed!(I8, i8, 1),
            2 => fixed!(U16, u16, 2),
            3 => fixed!(I16, i16, 2),
            4 => fixed!(U32, u32, 4),
            5 => fixed!(I32, i32, 4),
            6 => fixed!(F32, f32, 4),
            7 => Array::Bool(self.take(n, "array data")?.iter().map(|&b| b != 0).collect()),
            8 => {
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    v.push(self.string(&format!("string element {i}"))?);
                }
                Array::String(v)
            }
            9 => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.array_value(depth + 1)?);
                }
                Array::Array(v)
            }
            10 => fixed!(U64, u64, 8),
            11 => fixed!(I64, i64, 8),
            _ => fixed!(F64, f64, 8),
        })
    }
}

impl GgufFile {
    /// Parses the header, metadata and tensor infos of a GGUF file; `file` names it in errors.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self> {
        Self::parse_prefix(file, bytes, bytes.len() as u64)
    }

    /// [`GgufFile::parse`] from the first bytes of a file of `file_len` bytes: tensor ranges are
    /// checked against the whole file. `HeaderPastPrefix` when the header goes on past `prefix`.
    pub fn parse_prefix(file: &str, prefix: &[u8], file_len: u64) -> Result<Self> {
        let file_len = file_len.max(prefix.len() as u64);
        let mut r = Reader { file, buf: prefix, file_len, pos: 0, ctx: "the header".into(), held: 0 };
        if file_len < 4 {
            return Err(r.truncated("magic", 4));
        }
        let magic: [u8; 4] = r.array("magic")?;
        if magic != GGUF_MAGIC {
            return Err(ModelFileError::corrupt(
                file,
                format!("not a GGUF file (magic {}, expected \"GGUF\")", show_magic(&magic)),
            ));
        }
        let version = r.u32("version")?;
        match version {
            2 | 3 => {}
            1 => return Err(r.corrupt("GGUF version 1 is not supported (only 2 and 3)".into())),
            v if (1..=3).contains(&v.swap_bytes()) => {
                return Err(r.corrupt("big-endian GGUF files are not supported".into()));
            }
            v => return Err(r.corrupt(format!("unsupported GGUF version {v} (only 2 and 3)"))),
        }
        // Smallest tensor info: name length 8, n_dims 4, type 4, offset 8.
        let n_tensors = r.count("tensor count", 24)?;
        // Smallest key/value pair: key length 8, type 4, a 1-byte value.
        let n_kv = r.count("metadata pair count", 13)?;

        let mut metadata = Metadata::new(file);
        for i in 0..n_kv {
            r.ctx = format!("metadata pair {} of {n_kv}", i + 1);
            let key = r.string("key")?;
            r.ctx = format!("metadata key {key}");
            let ty = r.u32("value type")?;
            let value = r.value(ty, 0)?;
            if !metadata.insert(key, value) {
                return Err(r.corrupt("key appears twice".into()));
            }
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_i128() {
                Some(a) if a > 0 && (a as u64).is_power_of_two() && a <= 1 << 30 => a as u64,
                _ => {
                    r.ctx = "metadata key general.alignment".into();
                    return Err(r.corrupt(format!("{v:?} is not a power of two")));
                }
            },
        };

        let mut tensors = Vec::with_capacity(n_tensors);
        let mut names = HashSet::with_capacity(n_tensors);
        for i in 0..n_tensors {
            r.ctx = format!("tensor info {} of {n_tensors}", i + 1);
            let name = r.string("tensor name")?;
            r.ctx = format!("tensor {name}");
            let n_dims = r.u32("number of dimensions")? as usize;
            if n_dims > MAX_DIMS {
                return Err(r.corrupt(format!("{n_dims} dimensions (at most {MAX_DIMS})")));
            }
            let mut dims = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                dims.push(r.u64("dimension")?);
            }
            let ggml_type = r.u32("type")?;
            let offset = r.u64("data offset")?;
            if !names.insert(name.clone()) {
                return Err(r.corrupt("tensor name appears twice".into()));
            }
            tensors.push(GgufTensorInfo { name, ggml_type, dims, offset, data: 0..0 });
        }

        let data_offset = (r.pos as u64).checked_next_multiple_of(alignment).unwrap_or(u64::MAX);
        for t in &mut tensors {
            r.ctx = format!("tensor {}", t.name);
            t.data = tensor_range(&r, t, alignment, data_offset)?;
        }
        no_overlaps(file, &tensors)?;
        Ok(GgufFile { version, alignment, metadata, tensors, data_offset })
    }

    pub fn tensor(&self, name: &str) -> Option<&GgufTensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// Checks a tensor's type, dimensions and placement and returns its absolute byte range.
fn tensor_range(r: &Reader<'_>, t: &GgufTensorInfo, alignment: u64, data_offset: u64) -> Result<Range<u64>> {
    let Some((type_name, block, type_size)) = ggml_type_info(t.ggml_type) else {
        return Err(r.corrupt(format!("unknown tensor type id {}", t.ggml_type)));
    };
    let elems = t.dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let elems = match elems {
        Some(n) if n <= i64::MAX as u64 => n,
        _ => return Err(r.corrupt(format!("dimensions {:?} overflow", t.dims))),
    };
    let inner = t.dims.first().copied().unwrap_or(1);
    if inner % block as u64 != 0 {
        return Err(
            r.corrupt(format!("innermost dimension {inner} is not a multiple of the {type_name} block size {block}"))
        );
    }
    if t.offset % alignment != 0 {
        return Err(r.corrupt(format!("data offset {} is not a multiple of the alignment {alignment}", t.offset)));
    }
    let size = u128::from(elems / block as u64) * type_size as u128;
    let start = u128::from(data_offset) + u128::from(t.offset);
    let end = start + size;
    if end > u128::from(r.file_len) {
        return Err(ModelFileError::truncated(
            r.file,
            format!(
                "tensor {} data (bytes {start}..{end}) runs past the end of the file ({} bytes)",
                t.name, r.file_len
            ),
        ));
    }
    Ok(start as u64..end as u64)
}

/// Two tensors sharing bytes is no file a converter writes: refuse it rather than read one
/// tensor's data as another's.
fn no_overlaps(file: &str, tensors: &[GgufTensorInfo]) -> Result<()> {
    let mut by_start: Vec<&GgufTensorInfo> = tensors.iter().filter(|t| !t.data.is_empty()).collect();
    by_start.sort_by_key(|t| t.data.start);
    for w in by_start.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b.data.start < a.data.end {
            return Err(ModelFileError::corrupt(
                file,
                format!(
                    "tensor {} (bytes {}..{}) overlaps tensor {} (bytes {}..{})",
                    b.name, b.data.start, b.data.end, a.name, a.data.start, a.data.end
                ),
            ));
        }
    }
    Ok(())
}

/// The first bytes of a non-GGUF file, readable whether it is text or binary.
fn show_magic(m: &[u8; 4]) -> String {
    let text: String = m.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
    format!("\"{text}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(buf: &[u8]) -> Reader<'_> {
        Reader { file: "m.gguf", buf, file_len: buf.len() as u64, pos: 0, ctx: "metadata key k".into(), held: 0 }
    }

    #[test]
    fn metadata_beyond_its_memory_budget_is_refused() {
        // A 16-byte string fits; the same string when the budget is nearly spent does not.
        let mut b = 16u64.to_le_bytes().to_vec();
        b.extend([b'a'; 16]);
        assert_eq!(reader(&b).string("string value").unwrap().len(), 16);
        let mut r = reader(&b);
        r.held = MAX_METADATA_BYTES - 20;
        let e = r.string("string value").unwrap_err().to_string();
        assert!(e.contains("m.gguf") && e.contains("metadata key k") && e.contains("256 MiB"), "{e}");

        // Nested arrays count at their in-memory size, not their 12 bytes in the file.
        let mut b = 9u32.to_le_bytes().to_vec();
        b.extend(4u64.to_le_bytes());
        for _ in 0..4 {
            b.extend(0u32.to_le_bytes());
            b.extend(0u64.to_le_bytes());
        }
        let mut r = reader(&b);
        r.held = MAX_METADATA_BYTES - 4 * std::mem::size_of::<Array>() as u128 + 1;
        assert!(r.array_value(0).is_err());
        let mut r = reader(&b);
        r.held = MAX_METADATA_BYTES - 4 * std::mem::size_of::<Array>() as u128;
        assert!(r.array_value(0).is_ok());
    }
}
