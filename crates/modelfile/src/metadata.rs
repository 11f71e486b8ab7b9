//! GGUF metadata: typed values and getters that say which key was missing or mistyped.

use crate::{ModelFileError, Result};
use std::collections::HashMap;

/// One GGUF metadata value (GGUF value types 0..=12).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Array),
    U64(u64),
    I64(i64),
    F64(f64),
}

/// A GGUF array: all elements share one type, so they are stored unboxed (a 49152-entry
/// vocabulary is one `Vec<String>`, not 49152 `Value`s). Arrays may nest.
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<Array>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "u8",
            Value::I8(_) => "i8",
            Value::U16(_) => "u16",
            Value::I16(_) => "i16",
            Value::U32(_) => "u32",
            Value::I32(_) => "i32",
            Value::F32(_) => "f32",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Array(a) => a.type_name(),
            Value::U64(_) => "u64",
            Value::I64(_) => "i64",
            Value::F64(_) => "f64",
        }
    }

    /// Any integer type, widened. Writers disagree on widths (token ids appear as u32 and as
    /// i32), so integer getters accept every width and check the range instead.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I64(v) => v.into(),
            _ => return None,
        })
    }
}

impl Array {
    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::Array(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Array::U8(_) => "array of u8",
            Array::I8(_) => "array of i8",
            Array::U16(_) => "array of u16",
            Array::I16(_) => "array of i16",
            Array::U32(_) => "array of u32",
            Array::I32(_) => "array of i32",
            Array::F32(_) => "array of f32",
            Array::Bool(_) => "array of bool",
            Array::String(_) => "array of string",
            Array::Array(_) => "array of arrays",
            Array::U64(_) => "array of u64",
            Array::I64(_) => "array of i64",
            Array::F64(_) => "array of f64",
        }
    }

    /// Integer elements of any width, widened to i64 (u64 values above i64::MAX give None).
    pub fn to_i64_vec(&self) -> Option<Vec<i64>> {
        fn conv<T: Copy + TryInto<i64>>(v: &[T]) -> Option<Vec<i64>> {
            v.iter().map(|&x| x.try_into().ok()).collect()
        }
        match self {
            Array::U8(v) => conv(v),
            Array::I8(v) => conv(v),
            Array::U16(v) => conv(v),
            Array::I16(v) => conv(v),
            Array::U32(v) => conv(v),
            Array::I32(v) => conv(v),
            Array::U64(v) => conv(v),
            Array::I64(v) => Some(v.clone()),
            Array::Bool(_) | Array::F32(_) | Array::F64(_) | Array::String(_) | Array::Array(_) => None,
        }
    }
}

/// GGUF key/value metadata in file order, with lookups by key.
#[derive(Clone, Default)]
pub struct Metadata {
    file: String,
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

/// Lists keys, not values: a vocabulary of 49152 strings is no use in a panic message.
impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.entries.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Metadata").field("file", &self.file).field("keys", &keys).finish()
    }
}

macro_rules! int_getters {
    ($get:ident, $opt:ident, $t:ty, $what:literal) => {
        #[doc = concat!("The value as ", $what, " (any integer type in range); error if missing.")]
        pub fn $get(&self, key: &str) -> Result<$t> {
            self.$opt(key)?.ok_or_else(|| self.missing(key))
        }

        #[doc = concat!("The value as ", $what, " if present; error if present with another type.")]
        pub fn $opt(&self, key: &str) -> Result<Option<$t>> {
            let Some(v) = self.get(key) else { return Ok(None) };
            match v.as_i128().and_then(|i| <$t>::try_from(i).ok()) {
                Some(x) => Ok(Some(x)),
                None => Err(self.mistyped(key, $what, v)),
            }
        }
    };
}

impl Metadata {
    /// Empty metadata; `file` names the source in error messages. (The GGUF parser fills it;
    /// building one by hand is for tests of code that reads metadata.)
    pub fn new(file: &str) -> Self {
        Self { file: file.to_string(), ..Self::default() }
    }

    /// Adds a pair; false (and no change) if the key is already present.
    pub fn insert(&mut self, key: String, value: Value) -> bool {
        if self.index.contains_key(&key) {
            return false;
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
        true
    }

    /// The file the metadata came from (used in error messages).
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn missing(&self, key: &str) -> ModelFileError {
        ModelFileError::MissingMetadata { file: self.file.clone(), key: key.to_string() }
    }

    fn mistyped(&self, key: &str, expected: &'static str, found: &Value) -> ModelFileError {
        let found = match (found.as_i128(), found) {
            (Some(i), _) => format!("{} {i}", found.type_name()),
            (None, Value::F32(x)) => format!("f32 {x}"),
            (None, Value::F64(x)) => format!("f64 {x}"),
            _ => found.type_name().to_string(),
        };
        self.wrong(key, expected, found)
    }

    fn wrong(&self, key: &str, expected: &'static str, found: String) -> ModelFileError {
        ModelFileError::MetadataType { file: self.file.clone(), key: key.to_string(), expected, found }
    }

    fn required<T>(&self, key: &str, v: Result<Option<T>>) -> Result<T> {
        v?.ok_or_else(|| self.missing(key))
    }

    int_getters!(get_u32, opt_u32, u32, "u32");
    int_getters!(get_i32, opt_i32, i32, "i32");
    int_getters!(get_u64, opt_u64, u64, "u64");
    int_getters!(get_usize, opt_usize, usize, "a non-negative integer");

    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.required(key, self.opt_str(key))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.mistyped(key, "string", v)),
        }
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        self.required(key, self.opt_bool(key))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.mistyped(key, "bool", v)),
        }
    }

    /// A float of either width, or an integer (some writers store 10000 as u32). An f32 is
    /// widened through its shortest decimal form, so 1e-5 stored as f32 reads as 1e-5 (what the
    /// writer meant and what config.json says), not 9.99999974e-6.
    pub fn get_f64(&self, key: &str) -> Result<f64> {
        self.required(key, self.opt_f64(key))
    }

    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::F32(x)) => Ok(Some(x.to_string().parse().unwrap_or(f64::from(*x)))),
            Some(Value::F64(x)) => Ok(Some(*x)),
            Some(v) => match v.as_i128() {
                Some(i) => Ok(Some(i as f64)),
                None => Err(self.mistyped(key, "a number", v)),
            },
        }
    }

    pub fn get_array(&self, key: &str) -> Result<&Array> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(Value::Array(a)) => Ok(a),
            Some(v) => Err(self.mistyped(key, "an array", v)),
        }
    }

    pub fn get_string_array(&self, key: &str) -> Result<&[String]> {
        match self.get_array(key)? {
            Array::String(v) => Ok(v),
            // An empty array's element type carries no meaning.
            a if a.is_empty() => Ok(&[]),
            a => Err(self.wrong(key, "array of string", a.type_name().to_string())),
        }
    }

    pub fn get_i32_array(&self, key: &str) -> Result<&[i32]> {
        match self.get_array(key)? {
            Array::I32(v) => Ok(v),
            a if a.is_empty() => Ok(&[]),
            a => Err(self.wrong(key, "array of i32", a.type_name().to_string())),
        }
    }

    pub fn get_f32_array(&self, key: &str) -> Result<&[f32]> {
        match self.get_array(key)? {
            Array::F32(v) => Ok(v),
            a if a.is_empty() => Ok(&[]),
            a => Err(self.wrong(key, "array of f32", a.type_name().to_string())),
        }
    }

    /// Integer array of any element width, widened.
    pub fn get_int_array(&self, key: &str) -> Result<Vec<i64>> {
        let a = self.get_array(key)?;
        a.to_i64_vec().ok_or_else(|| self.wrong(key, "array of integers", a.type_name().to_string()))
    }
}
