//! A WebSocket to a path on the origin the page was served from, calling plain callbacks
//! when it opens, for each text frame and when it closes. It knows nothing of what the
//! frames mean and keeps no state: each app decodes its own frames.

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

/// The `ws:` or `wss:` address of `path` on the page's own origin.
#[inline]
fn socket_url(path: &str) -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let scheme = match location.protocol().map_err(|_| "no protocol")?.as_str() {
        "https:" => "wss:",
        _ => "ws:",
    };
    let host = location.host().map_err(|_| "no host")?;
    Ok(format!("{scheme}//{host}{path}"))
}

impl Link {
    /// Opens a socket to `path` on the page's origin. `on_text` gets every text frame;
    /// binary frames are ignored.
    pub fn open(
        path: &str,
        on_open: impl FnMut() + 'static,
        mut on_text: impl FnMut(String) + 'static,
        mut on_close: impl FnMut() + 'static,
    ) -> Result<Link, String> {
        let socket =
            WebSocket::new(&socket_url(path)?).map_err(|_| "the browser refused the socket")?;
        let on_open = Closure::<dyn FnMut()>::new(on_open);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                on_text(text);
            }
        });
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_| on_close());
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
    #[inline]
    pub fn send(&self, text: &str) -> bool {
        self.socket.ready_state() == WebSocket::OPEN && self.socket.send_with_str(text).is_ok()
    }

    /// Closes the socket quietly: a replaced link must not report its own closing. The
    /// callbacks stay alive until the link is dropped, which the caller does on a later turn
    /// of the event loop, since one of them may be running this very call.
    #[inline]
    pub fn detach(&self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}
