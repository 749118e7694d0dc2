//! The server as a child process, for tests that must kill it outright: start the binary
//! on a free port, read the one line it announces on stdout, SIGKILL it. The line's format
//! is defined here once, for `main` to print and the tests to read.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The one line the server prints on stdout once it listens.
pub fn announcement(addr: SocketAddr) -> String {
    format!("Porchlight demo: http://{addr}/")
}

/// The address in an [`announcement`] line.
pub fn announced_addr(line: &str) -> Option<SocketAddr> {
    line.trim()
        .strip_prefix("Porchlight demo: http://")?
        .strip_suffix('/')?
        .parse()
        .ok()
}

/// A running server process, killed on drop.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts `binary` on 127.0.0.1, port 0, with `args`, and waits for its announcement.
    pub fn start<S: AsRef<OsStr>>(
        binary: &Path,
        args: impl IntoIterator<Item = S>,
    ) -> Result<ServerProcess, String> {
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        match announced_addr(&line) {
            Some(addr) => Ok(ServerProcess { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the server said {line:?}"))
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SIGKILL: no shutdown, nothing flushed on the way out.
    pub fn kill_9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announced_address_reads_back() {
        let addr: SocketAddr = "127.0.0.1:4242".parse().expect("addr");
        assert_eq!(
            announced_addr(&format!("{}\n", announcement(addr))),
            Some(addr)
        );
        assert_eq!(announced_addr("error: cannot listen"), None);
    }
}
