//! Who the visitor is, as the host page says (`Porchlight('identify', …)`): the identity
//! goes with every `hello`, a change reopens the link so the server sees it (the visitor's
//! verified session may take over, which is no lost session), and a refused or required
//! identity stops the link until a new identity or a reset. The pre-chat fields it answers
//! are filled in and skipped.

use super::{Effect, LinkState, Notice, Widget};
use porchlight_protocol::lean::IdentityText;
use porchlight_protocol::{Answers, FormField, form};

impl Widget {
    /// Takes the host page's `identity` (checked to be one; the server judges it).
    pub(super) fn identify(&mut self, identity: IdentityText) -> Vec<Effect> {
        if self.identity.as_ref() == Some(&identity) {
            return Vec::new();
        }
        self.identity = Some(identity);
        self.identified = true;
        if matches!(
            self.notice,
            Some(Notice::IdentityRefused | Notice::SignedInOnly)
        ) {
            self.notice = None;
        }
        match self.link {
            // The next `hello` carries it.
            LinkState::Idle | LinkState::Reconnecting => Vec::new(),
            LinkState::Connecting | LinkState::Online | LinkState::Refused => {
                self.link = LinkState::Connecting;
                vec![Effect::Connect]
            }
        }
    }

    /// Whether the site takes signed-in visitors only and none is known: no link opens.
    pub(super) fn needs_identity(&self) -> bool {
        self.identity_required && self.identity.is_none()
    }

    /// Stops the link after the server refused the identity or wanted one: the socket it
    /// closes is not reopened until the host page identifies the visitor again or resets.
    pub(super) fn refuse(&mut self, notice: Notice) {
        self.link = LinkState::Refused;
        self.notice = Some(notice);
        self.attempts = 0;
    }

    /// `answers` with what the identity already says (name, email) filled in.
    pub fn prefilled(&self, answers: &Answers) -> Answers {
        let identity = self.identity.as_ref();
        form::prefill(
            &self.prechat,
            answers,
            identity.and_then(|i| i.name.as_deref()),
            identity.and_then(|i| i.email.as_deref()),
        )
    }

    /// The pre-chat fields the visitor still has to answer: those the identity does not.
    pub fn open_fields(&self) -> impl Iterator<Item = &FormField> {
        let known = self.prefilled(&Answers::new());
        self.prechat
            .iter()
            .filter(move |f| !known.contains_key(&f.name))
    }
}
