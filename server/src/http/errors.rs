//! The one error shape of every JSON answer: `{"error": CODE, "message": "…"}` with its
//! HTTP status, and how each desk refusal maps onto it (404 unknown, 409 not allowed now,
//! 400 malformed, 429 full, 503 unavailable).

use crate::desk::DeskError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use porchlight_protocol::channels::PlatformError;
use serde::Serialize;

/// A JSON error body: a stable code for programs and a sentence for people.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    /// The platform's own error, when a social channel's platform would refuse the send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformError>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            message: message.into(),
            platform: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

impl From<DeskError> for ApiError {
    fn from(err: DeskError) -> Self {
        if let DeskError::Platform(platform) = err {
            let status = StatusCode::from_u16(platform.status).unwrap_or(StatusCode::BAD_REQUEST);
            return ApiError {
                status,
                error: "platform_refused",
                message: format!("the platform would refuse this: {}", platform.message),
                platform: Some(platform),
            };
        }
        let (status, code) = match &err {
            DeskError::UnknownAgent(_) => (StatusCode::NOT_FOUND, "unknown_agent"),
            DeskError::UnknownConversation(_) => (StatusCode::NOT_FOUND, "unknown_conversation"),
            DeskError::UnknownChannel(_) => (StatusCode::NOT_FOUND, "unknown_channel"),
            DeskError::NotAllowed(_) | DeskError::Taken(_) => (StatusCode::CONFLICT, "not_allowed"),
            DeskError::InvalidText(_) => (StatusCode::BAD_REQUEST, "invalid_text"),
            DeskError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            DeskError::QueueFull(_) => (StatusCode::TOO_MANY_REQUESTS, "queue_full"),
            DeskError::ConversationFull(_) => (StatusCode::CONFLICT, "conversation_full"),
            DeskError::TooManyConversations(_) => (StatusCode::CONFLICT, "too_many_conversations"),
            DeskError::InvalidRating
            | DeskError::Form(_)
            | DeskError::UnknownChoice(_)
            | DeskError::Platform(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        ApiError::new(status, code, err.to_string())
    }
}
