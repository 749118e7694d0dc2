//! The server as a child process, for tests that must kill it outright: start the binary
//! on a free port, read the two lines it announces on stdout (the demo and the agent
//! console with its admin token), SIGKILL it. The lines' format is defined here once, for
//! `main` to print and the tests to read.

use porchlight_protocol::AdminToken;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The two lines the server prints on stdout once it listens: the demo page, and the
/// agent console with the admin secret in its fragment (never sent to the server).
pub fn announcement(addr: SocketAddr, token: &AdminToken) -> String {
    format!("Porchlight demo: http://{addr}/\nAgent console: http://{addr}/console/#token={token}")
}

/// The admin token in the console line of an [`announcement`].
pub fn announced_token(line: &str) -> Option<AdminToken> {
    let (_, token) = line.trim().split_once("/console/#token=")?;
    AdminToken::new(token).ok()
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
    token: AdminToken,
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
        let (mut line, mut console) = (String::new(), String::new());
        if let Some(stdout) = child.stdout.take() {
            let mut stdout = BufReader::new(stdout);
            let _ = stdout.read_line(&mut line);
            let _ = stdout.read_line(&mut console);
        }
        match (announced_addr(&line), announced_token(&console)) {
            (Some(addr), Some(token)) => Ok(ServerProcess { child, addr, token }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the server said {line:?} {console:?}"))
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The admin secret it announced.
    pub fn token(&self) -> &AdminToken {
        &self.token
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
    fn the_announced_address_and_token_read_back() {
        let addr: SocketAddr = "127.0.0.1:4242".parse().expect("addr");
        let token = AdminToken::new("abc123").expect("token");
        let text = announcement(addr, &token);
        let mut lines = text.lines();
        assert_eq!(lines.next().and_then(announced_addr), Some(addr));
        assert_eq!(lines.next().and_then(announced_token), Some(token));
        assert_eq!(announced_addr("error: cannot listen"), None);
    }
}
