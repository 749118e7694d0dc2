//! What can go wrong in the runtime's I/O, typed: the machine and the view decide what the
//! visitor sees, and the console gets the details.

use porchlight_protocol::FrameError;
use std::fmt;

/// An HTTP read or the socket failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The browser could not reach `url` (offline, refused, no window).
    Unreachable { url: String },
    /// `url` answered with an HTTP error status.
    Status { url: String, code: u16 },
    /// `url`'s body is not what the protocol says.
    Decode { url: String, error: FrameError },
    /// The browser would not open the chat socket.
    Socket(String),
    /// The server refused access without a verified identity (HTTP 403
    /// `identity_required`).
    IdentityRequired,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unreachable { url } => write!(f, "cannot reach {url}"),
            Error::Status { url, code } => write!(f, "{url} answered {code}"),
            Error::Decode { url, error } => write!(f, "{url}: {error}"),
            Error::Socket(why) => write!(f, "cannot open the chat link: {why}"),
            Error::IdentityRequired => f.write_str("this site takes signed-in visitors only"),
        }
    }
}
