//! The WebSocket to the chat server. It turns socket events into machine inputs; it holds
//! no delivery state of its own (that lives in the machine).

use super::Runtime;
use crate::machine::Input;
use porchlight_protocol::ServerFrame;
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

/// The socket address on the origin the widget was served from.
fn socket_url() -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let scheme = match location.protocol().map_err(|_| "no protocol")?.as_str() {
        "https:" => "wss:",
        _ => "ws:",
    };
    let host = location.host().map_err(|_| "no host")?;
    Ok(format!("{scheme}//{host}/api/v1/ws"))
}

impl Link {
    /// Opens a socket whose events are dispatched to `runtime`.
    pub fn open(runtime: Runtime) -> Result<Link, String> {
        let socket = WebSocket::new(&socket_url()?).map_err(|e| format!("{e:?}"))?;
        let on_open = Closure::<dyn FnMut()>::new(move || runtime.dispatch(Input::LinkOpened));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match ServerFrame::decode(&text) {
                Ok(frame) => runtime.dispatch(Input::Frame {
                    frame,
                    now_ms: super::now_ms(),
                }),
                Err(err) => leptos::logging::warn!("ignored a bad frame from the server: {err}"),
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
