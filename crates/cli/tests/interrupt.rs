//! Ctrl-C with a real SIGINT: the binary removes the output it was writing and exits 130.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("labelcast-interrupt-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn ctrl_c_mid_write_removes_the_partial_file_and_exits_130() {
    let d = dir();
    let data = d.join("rows.csv");
    std::fs::write(&data, "prompt,answer\nq1,a1\nq2,a2\nq3,a3\n").unwrap();
    let out = d.join("ordered.csv");
    // The test hook holds the written temporary file for 60 s before its rename, so the
    // signal arrives while the partial file exists.
    let child = Command::new(env!("CARGO_BIN_EXE_labelcast"))
        .args(["order", "--data", data.to_str().unwrap(), "--strategy", "random", "--out", out.to_str().unwrap()])
        .env("LABELCAST_TEST_WRITE_PAUSE_MS", "60000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let partial = d.join(format!(".ordered.csv.partial-{}", child.id()));
    let start = Instant::now();
    while !partial.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no partial file appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let res = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(start.elapsed() < Duration::from_secs(50), "the signal did not cut the pause short");
    assert_eq!(res.status.code(), Some(130), "stderr: {stderr}");
    assert!(!partial.exists(), "partial file left behind");
    assert!(!out.exists(), "an unfinished output was renamed into place");
    assert!(
        stderr.contains("interrupted; removed the unfinished") && stderr.contains(".ordered.csv.partial-"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}
