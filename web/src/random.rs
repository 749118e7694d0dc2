//! Randomness from the browser's crypto: client-made ids and backoff jitter.

/// 128 random bits as 32 hex digits, for client-made message and request ids.
#[inline]
pub fn hex_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !filled {
        // No crypto (very old browser): ids need only be unique, not secret.
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (js_sys::Math::random() * 256.0) as u8 ^ (i as u8);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random number in `[0, 1)`.
#[inline]
pub fn unit() -> f64 {
    js_sys::Math::random()
}
