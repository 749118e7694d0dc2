//! Limits both sides enforce. The widget uses them to stop bad input early; the server
//! enforces them again because it cannot trust the widget.

/// Longest visitor, agent or bot message, in characters (Unicode scalar values).
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// Largest WebSocket frame either side accepts, in bytes. A message of
/// [`MAX_MESSAGE_CHARS`] four-byte characters plus its JSON envelope fits.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Longest client-made identifier (message id, session token), in bytes.
pub const MAX_ID_BYTES: usize = 64;

/// Longest display name of an author, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// Longest answer to a one-line pre-chat field, in characters, unless the field says less.
pub const MAX_FIELD_CHARS: usize = 200;

/// Longest answer to a multi-line (textarea) pre-chat field, in characters.
pub const MAX_TEXTAREA_CHARS: usize = 2_000;

/// Most fields a pre-chat form may have.
pub const MAX_FORM_FIELDS: usize = 20;

/// Frames a connection may send per second, sustained (a token bucket refills at this rate).
pub const FRAMES_PER_SECOND: f64 = 5.0;

/// Frames a connection may send in a burst before the rate applies.
pub const FRAME_BURST: u32 = 20;

/// Refused frames (malformed, oversized, over the rate) a connection may send before the
/// server closes it with code 1008 (policy violation).
pub const MAX_REFUSED_FRAMES: u32 = 50;

/// Longest user id a site may give a visitor's identity, in bytes.
pub const MAX_USER_ID_BYTES: usize = 128;

/// Most custom attributes an identity may carry.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 20;

/// Longest name of a custom identity attribute, in bytes.
pub const MAX_CUSTOM_KEY_BYTES: usize = 40;

/// Longest identity proof (`user_hash` or `jwt`), in bytes.
pub const MAX_PROOF_BYTES: usize = 2_048;
