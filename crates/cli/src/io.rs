//! Reading inputs and writing outputs. Outputs are written to a temporary file beside the
//! target and renamed into place, so an interrupted run never leaves a half-written file:
//! a failed write removes its temporary file, and so does Ctrl-C ([`on_interrupt`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use labelcast_core::table::{read_table, ReadOptions, Table};
use labelcast_engine::model::SharedBytes;

use crate::error::{CliError, CliResult};

pub fn read_bytes(path: &Path) -> CliResult<Vec<u8>> {
    fs::read(path).map_err(|source| CliError::Io { path: path.to_path_buf(), source })
}

/// A model file mapped into memory rather than read: a 5 GB GGUF costs page cache that the
/// system can drop, not 5 GB of the process's own memory, and a GPU uploads its tensors
/// straight from the mapping. The file must not change while labelcast runs (as for
/// llama.cpp, which maps models the same way).
pub fn map_bytes(path: &Path) -> CliResult<SharedBytes> {
    let io = |source| CliError::Io { path: path.to_path_buf(), source };
    let file = fs::File::open(path).map_err(io)?;
    // SAFETY: the mapping is read-only and kept alive by the SharedBytes that owns it; what
    // the file's contents are is checked by the GGUF reader like any other bytes. Another
    // process truncating the file while it is mapped is outside what labelcast defends.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    Ok(SharedBytes::new(map))
}

/// Reads a CSV/JSONL table; errors name the file as the user typed it.
pub fn read_table_file(path: &Path, opts: &ReadOptions) -> CliResult<Table> {
    progress(&format!("reading {}", path.display()));
    let bytes = read_bytes(path)?;
    Ok(read_table(&path.display().to_string(), &bytes, opts)?)
}

/// Whether an output path asks for JSON Lines rather than CSV.
pub fn wants_jsonl(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
        Some("jsonl" | "json" | "ndjson")
    )
}

/// Writes the table as CSV or JSONL (chosen by the extension of `path`).
pub fn write_table(path: &Path, table: &Table) -> CliResult<()> {
    let text = if wants_jsonl(path) { table.to_jsonl() } else { table.to_csv() };
    write_atomic(path, text.as_bytes())?;
    progress(&format!("wrote {} rows to {}", table.rows.len(), path.display()));
    Ok(())
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let io_err = |source| CliError::Io { path: path.to_path_buf(), source };
    let tmp = temp_path(path);
    // Registered before the file exists, so an interrupt at any point finds it.
    partial_files().push(tmp.clone());
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        test_pause();
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    partial_files().retain(|p| p != &tmp);
    result.map_err(io_err)
}

/// Temporary output files that may exist right now.
static PARTIAL_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn partial_files() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic elsewhere while holding the lock leaves the list itself intact.
    PARTIAL_FILES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary output file being written; returns those that existed. The lock
/// is held to the end, so a write that has not registered yet waits, and one that has
/// finished its rename finds its temporary file gone (harmless: the output is complete).
pub fn remove_partial_files() -> Vec<PathBuf> {
    let mut files = partial_files();
    let removed = files.iter().filter(|p| fs::remove_file(p).is_ok()).cloned().collect();
    files.clear();
    removed
}

/// Exit status after Ctrl-C, as shells report a process killed by SIGINT (128 + 2).
pub const INTERRUPTED: i32 = 130;

/// Installs the Ctrl-C (SIGINT; on Windows, Ctrl-C and Ctrl-Break) handler: remove any
/// half-written output, say so on stderr, exit with status 130. The handler runs on its own
/// thread, so the main thread may be anywhere, mid-write included.
pub fn on_interrupt() {
    let installed = ctrlc::set_handler(|| {
        let removed = remove_partial_files();
        let note = match removed.len() {
            0 => String::new(),
            _ => {
                let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
                format!("; removed the unfinished {}", names.join(", "))
            }
        };
        eprintln!("labelcast: interrupted{note}");
        std::process::exit(INTERRUPTED);
    });
    if let Err(e) = installed {
        // Not fatal: without the handler Ctrl-C still stops the run, only a temporary file
        // may be left behind.
        progress(&format!("cannot handle Ctrl-C ({e}); an interrupted write may leave a .partial file"));
    }
}

/// For the interrupt test only: `LABELCAST_TEST_WRITE_PAUSE_MS` holds a written temporary
/// file that long before its rename, so a signal can arrive mid-write deterministically.
fn test_pause() {
    let ms = std::env::var("LABELCAST_TEST_WRITE_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(ms) = ms {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Progress and status lines go to stderr so stdout stays machine-readable.
pub fn progress(msg: &str) {
    eprintln!("labelcast: {msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_removes_registered_partial_files_only() {
        let dir = std::env::temp_dir().join(format!("labelcast-io-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let out = dir.join("scores.csv");
        let partial = temp_path(&out);
        assert_eq!(
            partial.file_name().unwrap().to_str().unwrap(),
            format!(".scores.csv.partial-{}", std::process::id())
        );
        let other = dir.join("keep.csv");
        fs::write(&partial, "half").unwrap();
        fs::write(&other, "done").unwrap();
        partial_files().push(partial.clone());
        // A registered file that was never created (interrupted before File::create).
        partial_files().push(dir.join(".never.partial-1"));
        assert_eq!(remove_partial_files(), vec![partial.clone()]);
        assert!(!partial.exists() && other.exists());
        assert!(partial_files().is_empty());
        assert!(remove_partial_files().is_empty());

        // A finished write leaves the output and nothing registered.
        write_atomic(&out, b"a,b\n").unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"a,b\n");
        assert!(!partial.exists() && partial_files().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
