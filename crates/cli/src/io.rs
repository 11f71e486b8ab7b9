//! Reading inputs and writing outputs. Outputs are written to a temporary file beside the
//! target and renamed into place, so an interrupted run never leaves a half-written file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use labelcast_core::table::{read_table, ReadOptions, Table};

use crate::error::{CliError, CliResult};

pub fn read_bytes(path: &Path) -> CliResult<Vec<u8>> {
    fs::read(path).map_err(|source| CliError::Io { path: path.to_path_buf(), source })
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
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Progress and status lines go to stderr so stdout stays machine-readable.
pub fn progress(msg: &str) {
    eprintln!("labelcast: {msg}");
}
