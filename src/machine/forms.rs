//! The forms: the pre-chat form and the request for an agent, the rating, the
//! leave-a-message form, and their field errors (validated here by the protocol's rules,
//! and as the server refused them).

use super::{Effect, Phase, Widget};
use porchlight_protocol::limits::MAX_MESSAGE_CHARS;
use porchlight_protocol::{Answers, ClientFrame, FieldError, FieldProblem, RequestId, form, text};

/// The best rating.
pub const MAX_STARS: u8 = 5;

/// A request (for an agent, or to leave a message) sent and not yet answered. Kept so a
/// double click sends nothing new and a reconnect resends the same request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub request: RequestId,
    pub frame: ClientFrame,
}

impl Widget {
    pub(super) fn talk_to_human(&mut self, request: RequestId) -> Vec<Effect> {
        if self.phase() != Phase::Bot {
            return Vec::new();
        }
        // Nothing left to ask (no form, or the identity answers it all): ask at once; the
        // server checks the answers again.
        if self.open_fields().next().is_none() {
            let answers = self.prefilled(&Answers::new());
            return self.request_agent(request, answers);
        }
        self.prechat_open = true;
        self.clear_errors();
        Vec::new()
    }

    pub(super) fn submit_prechat(&mut self, request: RequestId, answers: Answers) -> Vec<Effect> {
        if self.phase() != Phase::PreChat || self.agent_request.is_some() {
            return Vec::new();
        }
        match form::validate(&self.prechat, &self.prefilled(&answers)) {
            Ok(cleaned) => {
                self.clear_errors();
                self.request_agent(request, cleaned)
            }
            Err(errors) => {
                self.report(errors, None);
                Vec::new()
            }
        }
    }

    pub(super) fn request_agent(&mut self, request: RequestId, answers: Answers) -> Vec<Effect> {
        if self.agent_request.is_some() {
            return Vec::new();
        }
        self.answers = answers.clone();
        let frame = ClientFrame::RequestAgent {
            request: request.clone(),
            answers,
        };
        self.agent_request = Some(Pending {
            request,
            frame: frame.clone(),
        });
        self.transmit_kept(frame)
    }

    pub(super) fn rate(&mut self, stars: Option<u8>, comment: &str) -> Vec<Effect> {
        if self.phase() != Phase::Rating || self.rating_sent {
            return Vec::new();
        }
        let Some(stars) = stars.filter(|s| (1..=MAX_STARS).contains(s)) else {
            self.report(Vec::new(), Some(FieldProblem::Required));
            return Vec::new();
        };
        let comment = comment.trim();
        if comment.chars().count() > MAX_MESSAGE_CHARS {
            self.report(
                Vec::new(),
                Some(FieldProblem::TooLong {
                    max: MAX_MESSAGE_CHARS,
                }),
            );
            return Vec::new();
        }
        self.clear_errors();
        let effects = self.transmit_if(
            true,
            ClientFrame::Rate {
                stars,
                comment: (!comment.is_empty()).then(|| comment.to_string()),
            },
        );
        self.rating_sent = !effects.is_empty();
        effects
    }

    pub(super) fn leave_message(
        &mut self,
        request: RequestId,
        answers: Answers,
        raw: &str,
    ) -> Vec<Effect> {
        if self.phase() != Phase::Missed || self.leave_request.is_some() {
            return Vec::new();
        }
        let checked = form::validate(&self.prechat, &self.prefilled(&answers));
        let text = text::message_text(raw).map_err(|e| match e {
            text::TextError::Empty => FieldProblem::Required,
            text::TextError::TooLong => FieldProblem::TooLong {
                max: MAX_MESSAGE_CHARS,
            },
        });
        let (answers, text) = match (checked, text) {
            (Ok(answers), Ok(text)) => (answers, text.to_string()),
            (checked, text) => {
                self.report(checked.err().unwrap_or_default(), text.err());
                return Vec::new();
            }
        };
        self.clear_errors();
        self.answers = answers.clone();
        let frame = ClientFrame::LeaveMessage {
            request: request.clone(),
            answers,
            text,
        };
        self.leave_request = Some(Pending {
            request,
            frame: frame.clone(),
        });
        self.transmit_kept(frame)
    }

    pub(super) fn report(&mut self, errors: Vec<FieldError>, problem: Option<FieldProblem>) {
        self.form_errors = errors;
        self.problem = problem;
        self.errors_reported = self.errors_reported.wrapping_add(1);
    }

    pub(super) fn clear_errors(&mut self) {
        self.form_errors.clear();
        self.problem = None;
    }
}
