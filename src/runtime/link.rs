//! The WebSocket to the chat server: the shared origin [`Link`] with callbacks that turn
//! socket events into machine inputs. It holds no delivery state of its own (that lives in
//! the machine).

use super::{Error, Runtime, now_ms};
use crate::machine::Input;
use porchlight_protocol::lean;
use porchlight_web::link::Link;

/// The chat socket's path on the origin the widget was served from.
const SOCKET_PATH: &str = "/api/v1/ws";

/// Opens a socket whose events are dispatched to `runtime`.
pub fn open(runtime: Runtime) -> Result<Link, Error> {
    Link::open(
        SOCKET_PATH,
        move || runtime.dispatch(Input::LinkOpened),
        move |text| match lean::decode_server_frame(&text) {
            Ok(frame) => runtime.dispatch(Input::Frame {
                frame,
                now_ms: now_ms(),
            }),
            Err(err) => leptos::logging::warn!("ignored a bad frame from the server: {err}"),
        },
        move || runtime.dispatch(Input::LinkClosed),
    )
    .map_err(Error::Socket)
}
