//! The WebSocket to the desk. It turns socket events into state inputs; it holds no state
//! of its own.

use super::{Runtime, now_ms};
use crate::state::Input;
use porchlight_protocol::DeskFrame;
use porchlight_protocol::console::CONSOLE_SOCKET_PATH;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// An open (or opening) socket and the callbacks it calls.
pub struct Link {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// The console socket's address on the origin the console was served from.
fn socket_url() -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let scheme = match location.protocol().map_err(|_| "no protocol")?.as_str() {
        "https:" => "wss:",
        _ => "ws:",
    };
    let host = location.host().map_err(|_| "no host")?;
    Ok(format!("{scheme}//{host}{CONSOLE_SOCKET_PATH}"))
}

impl Link {
    /// Opens a socket whose events are dispatched to `runtime`.
    pub fn open(runtime: Runtime) -> Result<Link, String> {
        let socket = WebSocket::new(&socket_url()?).map_err(|e| format!("{e:?}"))?;
        let on_open = Closure::<dyn FnMut()>::new(move || {
            runtime.dispatch(Input::LinkOpened { now_ms: now_ms() })
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match DeskFrame::decode(&text) {
                Ok(frame) => runtime.dispatch(Input::Frame {
                    frame,
                    now_ms: now_ms(),
                }),
                Err(err) => leptos::logging::warn!("ignored a bad frame from the desk: {err}"),
            }
        });
        let on_close =
            Closure::<dyn FnMut(CloseEvent)>::new(move |_| runtime.dispatch(Input::LinkClosed));
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Link {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends `text` if the socket is open; returns whether it was handed to the browser.
    pub fn send(&self, text: &str) -> bool {
        self.socket.ready_state() == WebSocket::OPEN && self.socket.send_with_str(text).is_ok()
    }

    /// Closes the socket quietly: a replaced link must not report its own closing. The
    /// callbacks stay alive until the link is dropped, since one of them may be running.
    pub fn detach(&self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}
