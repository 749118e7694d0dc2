//! The WebSocket to the desk: the shared origin [`Link`] with callbacks that turn socket
//! events into state inputs. It holds no state of its own.

use super::{Runtime, now_ms};
use crate::state::Input;
use porchlight_protocol::DeskFrame;
use porchlight_protocol::console::CONSOLE_SOCKET_PATH;
use porchlight_web::link::Link;

/// Opens a socket whose events are dispatched to `runtime`.
pub fn open(runtime: Runtime) -> Result<Link, String> {
    Link::open(
        CONSOLE_SOCKET_PATH,
        move || runtime.dispatch(Input::LinkOpened { now_ms: now_ms() }),
        move |text| match DeskFrame::decode(&text) {
            Ok(frame) => runtime.dispatch(Input::Frame {
                frame,
                now_ms: now_ms(),
            }),
            Err(err) => leptos::logging::warn!("ignored a bad frame from the desk: {err}"),
        },
        move || runtime.dispatch(Input::LinkClosed),
    )
}
