//! Bounds on a chat template: the template is code that comes with a model file from anywhere,
//! and one that loops without end, recurses deeply or prints gigabytes must fail within a second
//! or two with a message naming the limit, never hang or exhaust memory (issue 13).
//!
//! Three limits hold for every render, and a fourth for compiling:
//! - fuel: minijinja counts the instructions a render executes. Real templates spend 60–120
//!   on a one-turn prompt and 1,000–3,000 on a 42-message conversation (SmolLM2's, measured in
//!   `tests/hostile_templates.rs`; Llama 3.x's and Mistral v0.3's measured the same way, see
//!   docs/hostile-inputs.md), so the budget is ~70× the longest conversation measured and a
//!   nested loop of 100,000 × 100,000 stops after milliseconds;
//! - recursion: macro and include depth;
//! - output: a prompt is the messages plus the template's framing, so the rendered text may be
//!   at most [`OUTPUT_BASE`] plus [`OUTPUT_PER_INPUT`] times the messages' own bytes;
//! - source: a template longer than [`MAX_SOURCE`] is refused before it is compiled.
//!
//! Not bounded: memory a render builds without printing it (`{% set s = s ~ s %}` in a loop
//! doubles a string per step, within the fuel). minijinja caps string repetition at 100 MB per
//! operation but not concatenation; the worker's watchdog and the probe render at load
//! (`ChatTemplate::new`) are what stand between such a template and the user.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Instructions one render may execute.
pub const FUEL: u64 = 200_000;
/// Depth of nested macro calls and includes.
pub const RECURSION: usize = 64;
/// Rendered bytes allowed besides the messages' own.
pub const OUTPUT_BASE: usize = 1 << 20;
/// Times the messages' bytes a render may print (a template may repeat the system message).
pub const OUTPUT_PER_INPUT: usize = 4;
/// Longest template source accepted; the largest known real templates are ~25 KB.
pub const MAX_SOURCE: usize = 1 << 20;

/// The output bound for messages totalling `input` bytes.
pub fn max_output(input: usize) -> usize {
    OUTPUT_BASE.saturating_add(input.saturating_mul(OUTPUT_PER_INPUT))
}

/// A `String` sink that refuses to grow past `limit` bytes and remembers that it refused.
pub(crate) struct BoundedWriter<'a> {
    pub out: Vec<u8>,
    limit: usize,
    exceeded: &'a AtomicBool,
}

impl<'a> BoundedWriter<'a> {
    pub fn new(limit: usize, exceeded: &'a AtomicBool) -> Self {
        BoundedWriter { out: Vec::new(), limit, exceeded }
    }
}

impl io::Write for BoundedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len().saturating_add(buf.len()) > self.limit {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(io::Error::other("the rendered prompt is too long"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A count with thousands separators (200,000).
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in human units, for messages (1 MiB, 4.2 MiB, 512 B).
pub(crate) fn bytes(n: usize) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    if n >= 1 << 20 {
        let v = n as f64 / MIB;
        if v.fract() == 0.0 {
            format!("{v:.0} MiB")
        } else {
            format!("{v:.1} MiB")
        }
    } else if n >= 1 << 10 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn writer_refuses_past_its_limit_and_says_so() {
        let flag = AtomicBool::new(false);
        let mut w = BoundedWriter::new(5, &flag);
        w.write_all(b"abc").unwrap();
        assert!(w.write_all(b"def").is_err());
        assert!(flag.load(Ordering::Relaxed));
        assert_eq!(w.out, b"abc");
    }

    #[test]
    fn limits_read_as_units() {
        assert_eq!(bytes(MAX_SOURCE), "1 MiB");
        assert_eq!(bytes(3 << 19), "1.5 MiB");
        assert_eq!(bytes(2048), "2 KiB");
        assert_eq!(count(FUEL), "200,000");
        assert_eq!(count(999), "999");
        assert_eq!(max_output(10), OUTPUT_BASE + 40);
        assert_eq!(max_output(usize::MAX), usize::MAX);
    }
}
