//! The server under test, as a child process: started on a free loopback port with
//! the given flags, its address read from the line it announces on stdout, its memory
//! read from `/proc/PID/status`, killed at the end (or when dropped).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the server may take to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server process, killed on drop.
pub struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `binary --addr 127.0.0.1:0 ARGS…`, its stderr into `log`, and waits for it to
    /// announce where it listens.
    pub fn start(binary: &Path, args: &[String], log: &Path) -> Result<Server, String> {
        let log_file = File::create(log)
            .map_err(|e| format!("cannot create the server log {}: {e}", log.display()))?;
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the server's stdout is not a pipe".into());
        };
        // The reader keeps draining stdout after the announcement, so the server never
        // writes to a closed pipe.
        let (found, announced) = mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = announced_addr(&line) {
                    if let Some(found) = found.take() {
                        let _ = found.send(Ok(addr));
                    }
                } else if found.is_some() {
                    seen.push(line);
                }
            }
            if let Some(found) = found.take() {
                let _ = found.send(Err(seen.join("\n")));
            }
        });
        match announced.recv_timeout(START_TIMEOUT) {
            Ok(Ok(addr)) => Ok(Server { child, addr }),
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                let said = match outcome {
                    Ok(Err(said)) => format!("it printed {said:?}"),
                    _ => format!("no address within {} s", START_TIMEOUT.as_secs()),
                };
                Err(format!(
                    "{} did not start ({said}; see {})",
                    binary.display(),
                    log.display()
                ))
            }
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident memory, in KiB.
    pub fn rss_kib(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.pid());
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        parse_vm_rss(&text).ok_or_else(|| format!("no VmRSS in {path}"))
    }

    /// Its soft limit on open files.
    pub fn open_files_limit(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/limits", self.pid());
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        crate::fds::parse_proc_limits(&text).ok_or_else(|| format!("no open-file limit in {path}"))
    }

    /// How it ended, if it has.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long memory may take to settle once every socket is open.
const SETTLE_LIMIT: Duration = Duration::from_secs(15);

/// Memory once it stops moving: two readings (`read`, measured in KiB by `kib`) half a
/// second apart within 256 KiB of each other, or the last reading after [`SETTLE_LIMIT`];
/// `None` when a reading fails.
pub async fn settled_rss<T>(read: impl Fn() -> Option<T>, kib: impl Fn(&T) -> u64) -> Option<T> {
    let deadline = tokio::time::Instant::now() + SETTLE_LIMIT;
    let mut last = read()?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = read()?;
        if kib(&now).abs_diff(kib(&last)) < 256 || tokio::time::Instant::now() >= deadline {
            return Some(now);
        }
        last = now;
    }
}

/// The address in the server's first line, `Porchlight demo: http://ADDR/`.
pub fn announced_addr(line: &str) -> Option<SocketAddr> {
    line.trim()
        .strip_prefix("Porchlight demo: http://")?
        .strip_suffix('/')?
        .parse()
        .ok()
}

/// The resident set size in KiB from the text of `/proc/PID/status`.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line.trim_start_matches("VmRSS:").split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_announced_address() {
        assert_eq!(
            announced_addr("Porchlight demo: http://127.0.0.1:40123/\n"),
            "127.0.0.1:40123".parse().ok()
        );
        assert_eq!(
            announced_addr("Agent console: http://127.0.0.1:1/console/#token=x"),
            None
        );
        assert_eq!(announced_addr("error: cannot listen"), None);
    }

    #[test]
    fn reads_vm_rss() {
        let status =
            "Name:\tporchlight-server\nVmPeak:\t  900000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12_345));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: lots kB\n"), None);
    }
}
