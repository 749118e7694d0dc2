//! A lean JSON codec for what the widget exchanges with the server: it decodes
//! [`ServerFrame`]s and the bodies of the widget's HTTP reads (the [`SiteConfig`], the
//! history's [`PastConversation`]s, a transcript's [`EventRecord`]s) and encodes
//! [`ClientFrame`]s. It gives the same values and the same typed [`FrameError`]s as the serde
//! codec in [`wire`](crate::wire), which the server and the console keep using, but it
//! costs the widget's bundle a few kilobytes instead of serde's and serde_json's tens.
//! The types stay defined once; `protocol/tests/lean.rs` holds both codecs to the same
//! answers for every variant and field.
//!
//! Decoding parses the text into a small [`Json`] tree (same grammar, escapes and nesting
//! limit as serde_json), then reads the types from it with serde's rules: a tag may stand
//! anywhere in its object, a field may come once, unknown fields are refused (except beside
//! a [`FieldError`]'s flattened problem), an `Option` may be absent or `null`, a defaulted
//! field may be absent. Two deliberate differences, both on input no server sends: a
//! struct written as a JSON array is refused (serde takes its fields in order), and a number
//! in an ignored field is not checked for being finite.

use crate::config::{Color, Position, SiteConfig, TextDirection, Texts};
use crate::form::{Answers, FieldError, FieldKind, FieldProblem, FormField};
use crate::identity::Identity;
use crate::ids::Seq;
use crate::limits::MAX_FRAME_BYTES;
use crate::theme::ColorScheme;
use crate::wire::{
    Author, AuthorKind, ChatStatus, Choice, ClientFrame, ConversationEvent, ErrorCode, EventRecord,
    FrameError, PastConversation, Replay, ServerFrame,
};

/// Parses a frame from the server, checking its size first.
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { bytes: text.len() });
    }
    decode(text, server_frame)
}

/// Parses the site configuration (`GET /api/v1/sites/{site}/config`).
pub fn decode_site_config(text: &str) -> Result<SiteConfig, FrameError> {
    decode(text, site_config)
}

/// Parses the session's past conversations (`GET /api/v1/sites/{site}/history`).
pub fn decode_history(text: &str) -> Result<Vec<PastConversation>, FrameError> {
    decode(text, |json| json.array_of(past_conversation))
}

/// Parses a conversation's events read over HTTP ([`transcript_path`](crate::transcript_path)).
pub fn decode_events(text: &str) -> Result<Vec<EventRecord>, FrameError> {
    decode(text, |json| json.array_of(event_record))
}

/// A visitor's identity as the host page gives it to `Porchlight('identify', …)`, kept by
/// the widget as its JSON text for `hello` (see [`encode_client_frame_with_identity_text`]),
/// with the name and email it states for the pre-chat form. [`read_identity`] checks the
/// text is an [`Identity`] as serde reads it, without building one: the widget only passes
/// it on (its `custom` map included), and the server decodes and judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityText {
    pub json: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Checks `text` is an [`Identity`] with serde's rules (`user_id`; optional `name`,
/// `email`, `user_hash`, `jwt`, each a string or `null`; `custom`, an object of strings; no
/// other member, none twice) and no longer than a frame. The bounds
/// ([`Identity::check`]) are the server's to check: it refuses the identity with a clear
/// error, so the widget need not carry them.
pub fn read_identity(text: &str) -> Result<IdentityText, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { bytes: text.len() });
    }
    let (name, email) = decode(text, identity_facts)?;
    Ok(IdentityText {
        json: text.to_string(),
        name,
        email,
    })
}

/// An identity's `name` and `email`, after checking its members one by one (each known
/// member a bit of `seen`).
fn identity_facts(json: Json) -> Result<(Option<String>, Option<String>), Malformed> {
    let (mut name, mut email) = (None, None);
    let mut seen = 0u8;
    for (key, value) in json.object()?.0 {
        let bit = match key.as_str() {
            "custom" => 1,
            "user_id" => 2,
            "name" => 4,
            "email" => 8,
            "user_hash" => 16,
            "jwt" => 32,
            _ => return Err("unknown field"),
        };
        if seen & bit != 0 {
            return Err("duplicate field");
        }
        seen |= bit;
        let text = if bit == 1 {
            for (_, value) in value.object()?.0 {
                value.text()?;
            }
            None
        } else if bit != 2 && matches!(value, Json::Null) {
            None
        } else {
            Some(value.text()?)
        };
        match bit {
            4 => name = text,
            8 => email = text,
            _ => {}
        }
    }
    if seen & 2 == 0 {
        return Err("missing field");
    }
    Ok((name, email))
}

/// A frame for the server, `hello` carrying the identity's JSON `text` (from
/// [`read_identity`]) as its last member when given (ignored for other frames); for the
/// same identity, byte for byte what [`encode_client_frame_with_identity`] writes.
pub fn encode_client_frame_with_identity_text(frame: &ClientFrame, text: Option<&str>) -> String {
    let mut out = encode_client_frame(frame);
    if let (ClientFrame::Hello { .. }, Some(text)) = (frame, text) {
        out.pop();
        out.push_str(",\"identity\":");
        out.push_str(text);
        out.push('}');
    }
    out
}

/// A frame for the server as JSON text, byte for byte what serde_json writes.
pub fn encode_client_frame(frame: &ClientFrame) -> String {
    let mut w = Writer(String::new());
    match frame {
        ClientFrame::Hello {
            version,
            site,
            token,
            conversation,
            last_seq,
        } => w
            .tag("hello")
            .number("version", u64::from(*version))
            .text("site", site.as_str())
            .text_if("token", token.as_ref().map(|t| t.as_str()))
            .text_if("conversation", conversation.as_ref().map(|c| c.as_str()))
            .number("last_seq", last_seq.0),
        ClientFrame::SendText { id, text } => w
            .tag("send_text")
            .text("id", id.as_str())
            .text("text", text),
        ClientFrame::Choose { id, choice } => w
            .tag("choose")
            .text("id", id.as_str())
            .text("choice", choice.as_str()),
        ClientFrame::RequestAgent { request, answers } => w
            .tag("request_agent")
            .text("request", request.as_str())
            .answers(answers),
        ClientFrame::Typing { typing } => w.tag("typing").bool("typing", *typing),
        ClientFrame::EndChat {} => w.tag("end_chat"),
        ClientFrame::Rate { stars, comment } => w
            .tag("rate")
            .number("stars", u64::from(*stars))
            .text_if("comment", comment.as_deref()),
        ClientFrame::LeaveMessage {
            request,
            answers,
            text,
        } => w
            .tag("leave_message")
            .text("request", request.as_str())
            .answers(answers)
            .text("text", text),
        ClientFrame::StartNew {} => w.tag("start_new"),
        ClientFrame::Ping {} => w.tag("ping"),
    };
    w.0.push('}');
    w.0
}

/// A frame for the server, `hello` carrying the visitor's `identity` as its last member
/// when given (ignored for other frames); byte for byte what
/// [`ClientFrame::encode_with_identity`] writes. Separate from [`encode_client_frame`] so
/// a widget that never identifies does not carry the identity's writer.
pub fn encode_client_frame_with_identity(
    frame: &ClientFrame,
    identity: Option<&Identity>,
) -> String {
    let mut text = encode_client_frame(frame);
    if let (ClientFrame::Hello { .. }, Some(_)) = (frame, identity) {
        text.pop();
        let mut w = Writer(text);
        w.identity(identity);
        w.0.push('}');
        return w.0;
    }
    text
}

/// Writes one object's members, in the order serde writes them.
struct Writer(String);

impl Writer {
    /// Opens the object with its `type` tag.
    fn tag(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("{\"type\":");
        push_string(&mut self.0, tag);
        self
    }

    fn key(&mut self, key: &str) -> &mut Self {
        self.0.push(',');
        push_string(&mut self.0, key);
        self.0.push(':');
        self
    }

    fn text(&mut self, key: &str, text: &str) -> &mut Self {
        push_string(&mut self.key(key).0, text);
        self
    }

    /// An `Option`: written when `Some`, skipped when `None`, as serde skips it.
    fn text_if(&mut self, key: &str, text: Option<&str>) -> &mut Self {
        match text {
            Some(text) => self.text(key, text),
            None => self,
        }
    }

    fn number(&mut self, key: &str, n: u64) -> &mut Self {
        push_number(&mut self.key(key).0, n);
        self
    }

    fn bool(&mut self, key: &str, b: bool) -> &mut Self {
        self.key(key).0.push_str(if b { "true" } else { "false" });
        self
    }

    /// The pre-chat answers, an object in the map's (sorted) order.
    fn answers(&mut self, answers: &Answers) -> &mut Self {
        let out = &mut self.key("answers").0;
        push_map(
            out,
            answers
                .iter()
                .map(|(name, answer)| (name.as_str(), answer.as_str())),
        );
        self
    }

    /// The visitor's identity, when given, in serde's member order.
    fn identity(&mut self, identity: Option<&Identity>) -> &mut Self {
        let Some(identity) = identity else {
            return self;
        };
        self.key("identity");
        let mut inner = Writer(String::new());
        inner.0.push_str("{\"user_id\":");
        push_string(&mut inner.0, &identity.user_id);
        inner
            .text_if("name", identity.name.as_deref())
            .text_if("email", identity.email.as_deref());
        if !identity.custom.is_empty() {
            let out = &mut inner.key("custom").0;
            push_map(
                out,
                identity
                    .custom
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        inner
            .text_if("user_hash", identity.user_hash.as_deref())
            .text_if("jwt", identity.jwt.as_deref());
        inner.0.push('}');
        self.0.push_str(&inner.0);
        self
    }
}

/// Writes string pairs as a JSON object, in the order given.
fn push_map<'a>(out: &mut String, pairs: impl Iterator<Item = (&'a str, &'a str)>) {
    out.push('{');
    for (i, (key, value)) in pairs.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(out, key);
        out.push(':');
        push_string(out, value);
    }
    out.push('}');
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it.
fn push_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                out.push_str("\\u00");
                let code = u32::from(c);
                out.extend(char::from_digit(code >> 4, 16));
                out.extend(char::from_digit(code & 0xf, 16));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `n` in decimal.
fn push_number(out: &mut String, n: u64) {
    if n >= 10 {
        push_number(out, n / 10);
    }
    out.extend(char::from_digit((n % 10) as u32, 10));
}

/// Why a text is not the expected JSON: a short reason, as the error's text.
type Malformed = &'static str;

/// Parses `text` and reads a value from it with `read`.
fn decode<T>(text: &str, read: impl FnOnce(Json) -> Result<T, Malformed>) -> Result<T, FrameError> {
    Parser { text, at: 0 }
        .document()
        .and_then(read)
        .map_err(|reason| FrameError::Malformed(reason.into()))
}

/// A parsed JSON value. Numbers are kept only as far as the protocol uses them: a
/// non-negative integer that fits `u64`, or some other number.
#[derive(Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// `None` for a number that is negative, fractional, written with an exponent or too
    /// large: valid JSON that no field of the protocol takes.
    Number(Option<u64>),
    Text(String),
    Array(Vec<Json>),
    Object(Object),
}

/// A JSON object's members in their order, duplicates kept (a field may come only once,
/// which [`Object::take`] checks).
#[derive(Debug, PartialEq)]
pub(crate) struct Object(Vec<(String, Json)>);

/// Most arrays and objects nested in one another, as serde_json allows.
const MAX_NESTING: u32 = 127;

/// A recursive-descent JSON parser over the text, as strict as serde_json.
struct Parser<'a> {
    text: &'a str,
    /// The byte offset of the next unread byte.
    at: usize,
}

impl Parser<'_> {
    /// One value and nothing after it but whitespace.
    fn document(&mut self) -> Result<Json, Malformed> {
        let value = self.value(MAX_NESTING)?;
        match self.peek() {
            None => Ok(value),
            Some(_) => Err("trailing characters"),
        }
    }

    /// The next byte after any whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(self.at) {
            self.at += 1;
        }
        bytes.get(self.at).copied()
    }

    /// Consumes `byte` if it comes next, after any whitespace.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// Consumes `word` exactly.
    fn word(&mut self, word: &str) -> Result<(), Malformed> {
        let rest = self.text.as_bytes().get(self.at..).unwrap_or_default();
        if rest.starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(())
        } else {
            Err("expected a value")
        }
    }

    /// A value; `nesting` is how many more arrays or objects may open.
    fn value(&mut self, nesting: u32) -> Result<Json, Malformed> {
        match self.peek() {
            Some(b'{') => {
                let nesting = nesting.checked_sub(1).ok_or("nested too deeply")?;
                self.at += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        if self.peek() != Some(b'"') {
                            return Err("expected a key");
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err("expected ':'");
                        }
                        members.push((key, self.value(nesting)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err("expected ',' or '}'");
                        }
                    }
                }
                Ok(Json::Object(Object(members)))
            }
            Some(b'[') => {
                let nesting = nesting.checked_sub(1).ok_or("nested too deeply")?;
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(nesting)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err("expected ',' or ']'");
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            Some(b'"') => self.string().map(Json::Text),
            Some(b't') => self.word("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.word("false").map(|()| Json::Bool(false)),
            Some(b'n') => self.word("null").map(|()| Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err("expected a value"),
        }
    }

    /// Consumes ASCII digits; returns how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while self
            .text
            .as_bytes()
            .get(self.at)
            .is_some_and(u8::is_ascii_digit)
        {
            self.at += 1;
        }
        self.at - start
    }

    /// Consumes `byte` if it is the very next byte (no whitespace skipped).
    fn next_is(&mut self, byte: u8) -> bool {
        let found = self.text.as_bytes().get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, the parser at its first byte.
    fn number(&mut self) -> Result<Json, Malformed> {
        let negative = self.next_is(b'-');
        let start = self.at;
        let leading_zero = self.next_is(b'0');
        let count = if leading_zero { 1 } else { self.digits() };
        if count == 0 || (leading_zero && self.digits() > 0) {
            return Err("invalid number");
        }
        let integer = self.text.get(start..self.at).unwrap_or_default();
        let mut plain = !negative;
        if self.next_is(b'.') {
            plain = false;
            if self.digits() == 0 {
                return Err("invalid number");
            }
        }
        if self.next_is(b'e') || self.next_is(b'E') {
            plain = false;
            let _sign = self.next_is(b'+') || self.next_is(b'-');
            if self.digits() == 0 {
                return Err("invalid number");
            }
        }
        Ok(Json::Number(
            plain.then(|| integer.parse::<u64>().ok()).flatten(),
        ))
    }

    /// A string, the parser at its opening quote.
    fn string(&mut self) -> Result<String, Malformed> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            let bytes = self.text.as_bytes();
            while bytes
                .get(self.at)
                .is_some_and(|&b| b != b'"' && b != b'\\' && b >= b' ')
            {
                self.at += 1;
            }
            // Quotes and backslashes are ASCII, so `start..at` lies on character boundaries.
            out.push_str(self.text.get(start..self.at).unwrap_or_default());
            let byte = bytes.get(self.at).copied();
            self.at += 1;
            match byte {
                Some(b'"') => return Ok(out),
                Some(b'\\') => out.push(self.escape()?),
                Some(_) => return Err("control character in a string"),
                None => return Err("unterminated string"),
            }
        }
    }

    /// The character an escape stands for, the parser after its backslash.
    fn escape(&mut self) -> Result<char, Malformed> {
        let byte = self.text.as_bytes().get(self.at).copied();
        self.at += 1;
        Ok(match byte {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let first = self.hex4()?;
                let code = match first {
                    0xD800..=0xDBFF => {
                        if !(self.next_is(b'\\') && self.next_is(b'u')) {
                            return Err("lone surrogate in a string");
                        }
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err("lone surrogate in a string");
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    code => code,
                };
                char::from_u32(code).ok_or("lone surrogate in a string")?
            }
            _ => return Err("invalid escape"),
        })
    }

    /// Four hex digits.
    fn hex4(&mut self) -> Result<u32, Malformed> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or("invalid escape")?;
        self.at += 4;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("invalid escape");
        }
        u32::from_str_radix(digits, 16).map_err(|_| "invalid escape")
    }
}

impl Json {
    fn object(self) -> Result<Object, Malformed> {
        match self {
            Json::Object(object) => Ok(object),
            _ => Err("expected an object"),
        }
    }

    fn text(self) -> Result<String, Malformed> {
        match self {
            Json::Text(text) => Ok(text),
            _ => Err("expected a string"),
        }
    }

    fn bool(self) -> Result<bool, Malformed> {
        match self {
            Json::Bool(b) => Ok(b),
            _ => Err("expected true or false"),
        }
    }

    /// An unsigned integer that fits `T`.
    fn int<T: TryFrom<u64>>(self) -> Result<T, Malformed> {
        match self {
            Json::Number(Some(n)) => T::try_from(n).map_err(|_| "number out of range"),
            _ => Err("expected an unsigned integer"),
        }
    }

    /// A checked identifier.
    fn id<T: TryFrom<String>>(self) -> Result<T, Malformed> {
        T::try_from(self.text()?).map_err(|_| "invalid identifier")
    }

    /// An array, each item read with `read`.
    fn array_of<T>(self, read: fn(Json) -> Result<T, Malformed>) -> Result<Vec<T>, Malformed> {
        match self {
            Json::Array(items) => items.into_iter().map(read).collect(),
            _ => Err("expected an array"),
        }
    }
}

impl Object {
    /// Takes the member `key` out, if present; a second one is an error.
    fn take(&mut self, key: &str) -> Result<Option<Json>, Malformed> {
        let Some(at) = self.0.iter().position(|(k, _)| k == key) else {
            return Ok(None);
        };
        let (_, value) = self.0.swap_remove(at);
        if self.0.iter().any(|(k, _)| k == key) {
            return Err("duplicate field");
        }
        Ok(Some(value))
    }

    /// Takes the member `key` out; it must be there.
    fn field(&mut self, key: &str) -> Result<Json, Malformed> {
        self.take(key)?.ok_or("missing field")
    }

    /// Takes the string member `key` out.
    fn text(&mut self, key: &str) -> Result<String, Malformed> {
        self.field(key)?.text()
    }

    /// Takes the `true`/`false` member `key` out.
    fn bool(&mut self, key: &str) -> Result<bool, Malformed> {
        self.field(key)?.bool()
    }

    /// Takes the unsigned integer member `key` out.
    fn u64(&mut self, key: &str) -> Result<u64, Malformed> {
        self.field(key)?.int()
    }

    /// Takes an unsigned integer member `key` out that must fit `T`.
    fn int<T: TryFrom<u64>>(&mut self, key: &str) -> Result<T, Malformed> {
        T::try_from(self.u64(key)?).map_err(|_| "number out of range")
    }

    /// Takes the identifier member `key` out.
    fn id<T: TryFrom<String>>(&mut self, key: &str) -> Result<T, Malformed> {
        T::try_from(self.text(key)?).map_err(|_| "invalid identifier")
    }

    /// Takes an `Option` member out: absent or `null` is `None`.
    fn optional(&mut self, key: &str) -> Result<Option<Json>, Malformed> {
        Ok(self.take(key)?.filter(|value| !matches!(value, Json::Null)))
    }

    /// Takes a member with a default out, read with `read` when present.
    fn or<T>(
        &mut self,
        key: &str,
        default: T,
        read: fn(Json) -> Result<T, Malformed>,
    ) -> Result<T, Malformed> {
        self.take(key)?.map_or(Ok(default), read)
    }

    /// Ends reading a struct that denies unknown fields: nothing may be left.
    fn end(self) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err("unknown field")
        }
    }
}

fn server_frame(json: Json) -> Result<ServerFrame, Malformed> {
    let mut o = json.object()?;
    let frame = match o.text("type")?.as_str() {
        "welcome" => ServerFrame::Welcome {
            version: o.int("version")?,
            token: o.id("token")?,
            conversation: o.id("conversation")?,
            last_seq: Seq(o.u64("last_seq")?),
            replay: match o.text("replay")?.as_str() {
                "socket" => Replay::Socket,
                "http" => Replay::Http,
                "lost" => Replay::Lost,
                _ => return Err("unknown variant"),
            },
        },
        "event" => ServerFrame::Event {
            seq: Seq(o.u64("seq")?),
            at_ms: o.int("at_ms")?,
            event: conversation_event(o.field("event")?)?,
        },
        "ack" => ServerFrame::Ack {
            id: o.id("id")?,
            seq: Seq(o.u64("seq")?),
        },
        "status" => ServerFrame::Status {
            status: chat_status(o.field("status")?)?,
        },
        "typing" => ServerFrame::Typing {
            name: o.text("name")?,
            typing: o.bool("typing")?,
        },
        "form_rejected" => ServerFrame::FormRejected {
            request: o.id("request")?,
            errors: o.field("errors")?.array_of(field_error)?,
        },
        "error" => ServerFrame::Error {
            code: error_code(&o.text("code")?)?,
            message: o.text("message")?,
        },
        "pong" => ServerFrame::Pong {},
        _ => return Err("unknown variant"),
    };
    o.end()?;
    Ok(frame)
}

/// The codes' wire names. A code missing here makes its error frames malformed to the
/// widget; `protocol/tests/lean.rs` checks every code serde knows is here.
fn error_code(name: &str) -> Result<ErrorCode, Malformed> {
    Ok(match name {
        "malformed_frame" => ErrorCode::MalformedFrame,
        "frame_too_large" => ErrorCode::FrameTooLarge,
        "unsupported_version" => ErrorCode::UnsupportedVersion,
        "hello_expected" => ErrorCode::HelloExpected,
        "unknown_site" => ErrorCode::UnknownSite,
        "invalid_text" => ErrorCode::InvalidText,
        "not_now" => ErrorCode::NotNow,
        "unknown_choice" => ErrorCode::UnknownChoice,
        "invalid_rating" => ErrorCode::InvalidRating,
        "rate_limited" => ErrorCode::RateLimited,
        "unavailable" => ErrorCode::Unavailable,
        "too_many_sessions" => ErrorCode::TooManySessions,
        "queue_full" => ErrorCode::QueueFull,
        "conversation_full" => ErrorCode::ConversationFull,
        "too_many_conversations" => ErrorCode::TooManyConversations,
        "identity_refused" => ErrorCode::IdentityRefused,
        "identity_required" => ErrorCode::IdentityRequired,
        _ => return Err("unknown variant"),
    })
}

fn chat_status(json: Json) -> Result<ChatStatus, Malformed> {
    let mut o = json.object()?;
    let status = match o.text("state")?.as_str() {
        "bot" => ChatStatus::Bot {},
        "queued" => ChatStatus::Queued {
            position: o.int("position")?,
            waited_ms: o.int("waited_ms")?,
        },
        "connecting" => ChatStatus::Connecting {
            waited_ms: o.int("waited_ms")?,
        },
        "live" => ChatStatus::Live {
            agent: o.text("agent")?,
        },
        "missed" => ChatStatus::Missed {},
        "message_left" => ChatStatus::MessageLeft {},
        "ended" => ChatStatus::Ended {
            rated: o.bool("rated")?,
        },
        _ => return Err("unknown variant"),
    };
    o.end()?;
    Ok(status)
}

fn conversation_event(json: Json) -> Result<ConversationEvent, Malformed> {
    let mut o = json.object()?;
    let event = match o.text("kind")?.as_str() {
        "message_received" => ConversationEvent::MessageReceived {
            id: o.optional("id")?.map(Json::id).transpose()?,
            author: author(o.field("author")?)?,
            text: o.text("text")?,
            choices: o.or("choices", Vec::new(), |json| json.array_of(choice))?,
        },
        "agent_requested" => ConversationEvent::AgentRequested {},
        "agent_joined" => ConversationEvent::AgentJoined {
            name: o.text("name")?,
        },
        "chat_ended" => ConversationEvent::ChatEnded {
            by: author_kind(o.field("by")?)?,
        },
        "missed" => ConversationEvent::Missed {},
        "message_left" => ConversationEvent::MessageLeft {
            text: o.text("text")?,
        },
        "rated" => ConversationEvent::Rated {
            stars: o.int("stars")?,
            comment: o.optional("comment")?.map(Json::text).transpose()?,
        },
        _ => return Err("unknown variant"),
    };
    o.end()?;
    Ok(event)
}

fn author(json: Json) -> Result<Author, Malformed> {
    let mut o = json.object()?;
    let author = Author {
        kind: author_kind(o.field("kind")?)?,
        name: o.text("name")?,
    };
    o.end()?;
    Ok(author)
}

fn author_kind(json: Json) -> Result<AuthorKind, Malformed> {
    Ok(match json.text()?.as_str() {
        "visitor" => AuthorKind::Visitor,
        "bot" => AuthorKind::Bot,
        "agent" => AuthorKind::Agent,
        _ => return Err("unknown variant"),
    })
}

fn choice(json: Json) -> Result<Choice, Malformed> {
    let mut o = json.object()?;
    let choice = Choice {
        id: o.id("id")?,
        label: o.text("label")?,
    };
    o.end()?;
    Ok(choice)
}

/// A field's error: `field` beside its problem's flattened members; like serde with
/// `flatten`, members neither reads are ignored.
fn field_error(json: Json) -> Result<FieldError, Malformed> {
    let mut o = json.object()?;
    let field = o.id("field")?;
    let problem = match o.text("problem")?.as_str() {
        "required" => FieldProblem::Required,
        "too_long" => FieldProblem::TooLong { max: o.int("max")? },
        "invalid_email" => FieldProblem::InvalidEmail,
        "invalid_phone" => FieldProblem::InvalidPhone,
        "not_an_option" => FieldProblem::NotAnOption,
        "unknown_field" => FieldProblem::UnknownField,
        _ => return Err("unknown variant"),
    };
    Ok(FieldError { field, problem })
}

fn event_record(json: Json) -> Result<EventRecord, Malformed> {
    let mut o = json.object()?;
    let record = EventRecord {
        seq: Seq(o.u64("seq")?),
        at_ms: o.int("at_ms")?,
        event: conversation_event(o.field("event")?)?,
    };
    o.end()?;
    Ok(record)
}

fn past_conversation(json: Json) -> Result<PastConversation, Malformed> {
    let mut o = json.object()?;
    let past = PastConversation {
        conversation: o.id("conversation")?,
        started_ms: o.int("started_ms")?,
        events: o.field("events")?.array_of(event_record)?,
    };
    o.end()?;
    Ok(past)
}

fn site_config(json: Json) -> Result<SiteConfig, Malformed> {
    let mut o = json.object()?;
    let defaults = SiteConfig::new(o.id("site")?);
    let config = SiteConfig {
        brand_color: o.or("brand_color", defaults.brand_color, |json| {
            Color::try_from(json.text()?).map_err(|_| "invalid colour")
        })?,
        position: o.or("position", defaults.position, |json| {
            match json.text()?.as_str() {
                "bottom-right" => Ok(Position::BottomRight),
                "bottom-left" => Ok(Position::BottomLeft),
                _ => Err("unknown variant"),
            }
        })?,
        language: o.or("language", defaults.language, Json::text)?,
        dir: o.or("dir", defaults.dir, |json| match json.text()?.as_str() {
            "ltr" => Ok(TextDirection::Ltr),
            "rtl" => Ok(TextDirection::Rtl),
            _ => Err("unknown variant"),
        })?,
        bot_enabled: o.or("bot_enabled", defaults.bot_enabled, Json::bool)?,
        prechat: o.or("prechat", defaults.prechat, |json| {
            json.array_of(form_field)
        })?,
        texts: o.or("texts", defaults.texts, texts)?,
        identity_required: o.or("identity_required", false, Json::bool)?,
        brand_text_color: o.or("brand_text_color", defaults.brand_text_color, |json| {
            Color::try_from(json.text()?).map_err(|_| "invalid colour")
        })?,
        color_scheme: o.or("color_scheme", defaults.color_scheme, |json| {
            match json.text()?.as_str() {
                "light" => Ok(ColorScheme::Light),
                "dark" => Ok(ColorScheme::Dark),
                "auto" => Ok(ColorScheme::Auto),
                _ => Err("unknown variant"),
            }
        })?,
        z_index: o.or("z_index", defaults.z_index, Json::int)?,
        offset_x: o.or("offset_x", defaults.offset_x, Json::int)?,
        offset_y: o.or("offset_y", defaults.offset_y, Json::int)?,
        launcher_label: o.optional("launcher_label")?.map(Json::text).transpose()?,
        sound: o.or("sound", false, Json::bool)?,
        site: defaults.site,
    };
    o.end()?;
    Ok(config)
}

fn form_field(json: Json) -> Result<FormField, Malformed> {
    let mut o = json.object()?;
    let field = FormField {
        name: o.id("name")?,
        label: o.text("label")?,
        kind: match o.text("kind")?.as_str() {
            "text" => FieldKind::Text,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "textarea" => FieldKind::Textarea,
            "select" => FieldKind::Select,
            "consent" => FieldKind::Consent,
            _ => return Err("unknown variant"),
        },
        required: o.or("required", false, Json::bool)?,
        max_length: o.optional("max_length")?.map(Json::int).transpose()?,
        options: o.or("options", Vec::new(), |json| json.array_of(Json::text))?,
    };
    o.end()?;
    Ok(field)
}

/// The texts: each member replaces its default. A text missing here is refused as an
/// unknown field; `protocol/tests/lean.rs` checks every text serde knows is here.
fn texts(json: Json) -> Result<Texts, Malformed> {
    let mut texts = Texts::default();
    let Texts {
        title,
        subtitle,
        open_label,
        close_label,
        composer_label,
        composer_placeholder,
        send_label,
        talk_to_human,
        prechat_title,
        prechat_submit,
        queued,
        connecting,
        agent_joined,
        end_chat,
        end_chat_confirm,
        chat_ended,
        rating_prompt,
        rating_thanks,
        missed_title,
        leave_message_submit,
        message_left,
        new_conversation,
        previous_conversations,
        cancel,
        back,
        conversation_label,
        you,
        agent_requested,
        agent_typing,
        sending,
        sent,
        not_sent,
        session_lost,
        waited,
        reconnecting,
        loading,
        no_history,
        history_failed,
        rating_comment,
        one_star,
        stars,
        required_field,
        too_long_field,
        invalid_email,
        invalid_phone,
        not_an_option,
        unknown_field,
        unread_one,
        unread_many,
        signed_in_only,
        identity_refused,
        rate_limited,
        unavailable,
        queue_full,
        digits,
    } = &mut texts;
    // A table rather than a match: one lookup loop instead of a comparison per name.
    let mut slots: [(&str, &mut String); 55] = [
        ("title", title),
        ("subtitle", subtitle),
        ("open_label", open_label),
        ("close_label", close_label),
        ("composer_label", composer_label),
        ("composer_placeholder", composer_placeholder),
        ("send_label", send_label),
        ("talk_to_human", talk_to_human),
        ("prechat_title", prechat_title),
        ("prechat_submit", prechat_submit),
        ("queued", queued),
        ("connecting", connecting),
        ("agent_joined", agent_joined),
        ("end_chat", end_chat),
        ("end_chat_confirm", end_chat_confirm),
        ("chat_ended", chat_ended),
        ("rating_prompt", rating_prompt),
        ("rating_thanks", rating_thanks),
        ("missed_title", missed_title),
        ("leave_message_submit", leave_message_submit),
        ("message_left", message_left),
        ("new_conversation", new_conversation),
        ("previous_conversations", previous_conversations),
        ("cancel", cancel),
        ("back", back),
        ("conversation_label", conversation_label),
        ("you", you),
        ("agent_requested", agent_requested),
        ("agent_typing", agent_typing),
        ("sending", sending),
        ("sent", sent),
        ("not_sent", not_sent),
        ("session_lost", session_lost),
        ("waited", waited),
        ("reconnecting", reconnecting),
        ("loading", loading),
        ("no_history", no_history),
        ("history_failed", history_failed),
        ("rating_comment", rating_comment),
        ("one_star", one_star),
        ("stars", stars),
        ("required_field", required_field),
        ("too_long_field", too_long_field),
        ("invalid_email", invalid_email),
        ("invalid_phone", invalid_phone),
        ("not_an_option", not_an_option),
        ("unknown_field", unknown_field),
        ("unread_one", unread_one),
        ("unread_many", unread_many),
        ("signed_in_only", signed_in_only),
        ("identity_refused", identity_refused),
        ("rate_limited", rate_limited),
        ("unavailable", unavailable),
        ("queue_full", queue_full),
        ("digits", digits),
    ];
    let mut o = json.object()?;
    while let Some((key, _)) = o.0.first() {
        let key = key.clone();
        let (_, slot) = slots
            .iter_mut()
            .find(|(name, _)| *name == key)
            .ok_or("unknown field")?;
        **slot = o.text(&key)?;
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Json, Malformed> {
        Parser { text, at: 0 }.document()
    }

    #[test]
    fn json_grammar_is_as_strict_as_serde_json() {
        for good in [
            "0",
            "-0",
            "1.5e-3",
            "18446744073709551615",
            " [ 1 , {\"a\" : null} ] ",
            "\"\\u00e9\\ud83d\\ude00\\/\"",
            "true",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "01",
            "1.",
            "1e",
            "-",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\x\"",
            "\"a\nb\"",
            "nul",
            "1 2",
            "\"abc",
            "[",
            "{\"a\"}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn numbers_are_kept_only_as_unsigned_integers() {
        assert_eq!(parse("42"), Ok(Json::Number(Some(42))));
        assert_eq!(parse("-1"), Ok(Json::Number(None)));
        assert_eq!(parse("-0"), Ok(Json::Number(None)));
        assert_eq!(parse("1.0"), Ok(Json::Number(None)));
        assert_eq!(parse("18446744073709551616"), Ok(Json::Number(None)));
    }

    #[test]
    fn strings_unescape_surrogate_pairs() {
        assert_eq!(
            parse("\"a\\\"\\ud83d\\ude00\""),
            Ok(Json::Text("a\"😀".into()))
        );
    }

    #[test]
    fn nesting_stops_where_serde_json_stops() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&nested(127)).is_ok());
        assert!(parse(&nested(128)).is_err());
        assert!(parse(&"[".repeat(100_000)).is_err());
    }

    #[test]
    fn control_characters_are_escaped_like_serde_json() {
        let mut out = String::new();
        push_string(&mut out, "a\"\\\n\u{1}\u{1f}é/");
        assert_eq!(out, "\"a\\\"\\\\\\n\\u0001\\u001fé/\"");
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 1_700_000_000_000, u64::MAX] {
            let mut out = String::new();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn identities_are_checked_as_serde_reads_them_and_passed_on_as_written() {
        let mut full = Identity::new("u-1");
        full.name = Some("Ada".into());
        full.email = Some("ada@example.com".into());
        full.custom.insert("plan".into(), "pro".into());
        full.custom.insert("team".into(), "x".into());
        full.user_hash = Some("ab".into());
        let mut jwt = Identity::new("u-2");
        jwt.jwt = Some("a.b.c".into());
        let hello = ClientFrame::Hello {
            version: crate::PROTOCOL_VERSION,
            site: crate::SiteId::new("demo").expect("id"),
            token: None,
            conversation: None,
            last_seq: Seq(0),
        };
        for identity in [full, jwt, Identity::new("u-3")] {
            let json = serde_json::to_string(&identity).expect("serializes");
            let read = read_identity(&json).expect("valid");
            assert_eq!(read.name, identity.name);
            assert_eq!(read.email, identity.email);
            let text = encode_client_frame_with_identity_text(&hello, Some(&read.json));
            assert_eq!(text, hello.encode_with_identity(Some(&identity)));
            let (_, decoded) = ClientFrame::decode_with_identity(&text).expect("decodes");
            assert_eq!(decoded, Some(identity));
        }
        let nulls = read_identity(r#"{"user_id":"u","name":null,"email":"e@x.io"}"#).expect("ok");
        assert_eq!((nulls.name, nulls.email.as_deref()), (None, Some("e@x.io")));
        // A member twice is refused here; serde (reading `hello` as a whole first) keeps
        // the last. An identity written as an array is refused too (serde reads its fields in
        // order; no host page writes one).
        for bad in [
            r#"["u"]"#,
            r#"{"user_id":"u","user_id":"v"}"#,
            r#"{"user_id":"u","name":"a","name":"b"}"#,
            r#"{"user_id":"u","custom":{},"custom":{}}"#,
        ] {
            assert!(read_identity(bad).is_err(), "{bad}");
        }
        for bad in [
            r#"{"name":"no user id"}"#,
            r#"{"user_id":null}"#,
            r#"{"user_id":7}"#,
            r#"{"user_id":"u","plan":"pro"}"#,
            r#"{"user_id":"u","custom":{"age":42}}"#,
            r#"{"user_id":"u","custom":[]}"#,
            r#"{"user_id":"u","custom":null}"#,
            "not json",
        ] {
            assert!(read_identity(bad).is_err(), "{bad}");
            assert!(
                ClientFrame::decode_with_identity(&encode_client_frame_with_identity_text(
                    &hello,
                    Some(bad)
                ))
                .is_err(),
                "serde refuses {bad} too"
            );
        }
        let long = format!(
            r#"{{"user_id":"u","jwt":"{}"}}"#,
            "j".repeat(MAX_FRAME_BYTES)
        );
        assert!(read_identity(&long).is_err());
    }

    #[test]
    fn a_field_may_come_once() {
        let mut o = parse(r#"{"a":1,"b":2,"a":3}"#)
            .and_then(Json::object)
            .expect("object");
        assert_eq!(o.take("a"), Err("duplicate field"));
        assert_eq!(o.take("b"), Ok(Some(Json::Number(Some(2)))));
    }
}
