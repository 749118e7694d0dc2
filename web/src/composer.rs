//! The message box's keys, the same in the widget and the console: Enter sends, Shift+Enter
//! starts a new line, and a key that an input method is still composing is left alone.

use web_sys::KeyboardEvent;

/// Whether this keydown in a composer sends the draft. When it does, the newline the
/// browser would type is prevented.
#[inline]
pub fn enter_sends(ev: &KeyboardEvent) -> bool {
    let sends = ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing();
    if sends {
        ev.prevent_default();
    }
    sends
}
