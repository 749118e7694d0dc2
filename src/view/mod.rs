//! The view: thin components that render the [`Widget`] state and dispatch inputs through
//! the [`Runtime`] in context. The site configuration is in context too, as a
//! `&'static SiteConfig`: it is loaded once and lives as long as the page, so the views
//! borrow its words ([`texts`]) instead of copying them.
//!
//! - [`app`]: the root — fetches the site configuration, applies the theme, sizes the frame.
//! - [`launcher`]: the round button that opens the chat.
//! - [`panel`]: the chat panel: header, the conversation or the history, focus on phase change.
//! - [`transcript`]: the message list (`role="log"`), and how one event reads.
//! - [`choices`]: the bot's quick replies.
//! - [`typing`]: "Ann is typing…".
//! - [`status`]: where the chat stands (queue position, wait clock) and link trouble.
//! - [`fields`]: the pre-chat form's fields with inline errors, shared by two forms.
//! - [`prechat`]: the pre-chat form that asks for a person.
//! - [`leave_message`]: the form for a message when nobody could take the chat.
//! - [`rating`]: the stars-and-comment form after the chat.
//! - [`actions`]: "Talk to a person", "End chat" with its confirmation, "Start a new
//!   conversation".
//! - [`history`]: previous conversations, read-only.
//! - [`composer`]: the labelled textbox and Send button.
//!
//! Every word shown comes from the site configuration's texts.

pub mod actions;
pub mod app;
pub mod choices;
pub mod composer;
pub mod fields;
pub mod history;
pub mod launcher;
pub mod leave_message;
pub mod panel;
pub mod prechat;
pub mod rating;
pub mod status;
pub mod theme;
pub mod transcript;
pub mod typing;

use crate::machine::{Phase, Widget};
use crate::runtime::Runtime;
use leptos::mount::{UnmountHandle, mount_to};
use leptos::prelude::*;
use porchlight_protocol::{SiteConfig, Texts};
use std::time::Duration;
use wasm_bindgen::JsCast;

/// Shows the view `part` makes inside the element `host` while `when()` holds: built afresh
/// each time it appears or what `when` read changes, dropped (and its effects with it)
/// when it goes. Mounted by hand, as
/// a root with the runtime and configuration in its context, rather than returned from a
/// reactive closure: a part that only comes and goes never needs tachys's rebuild code,
/// which for a whole form would only weigh on the bundle.
pub fn mount_while<V: IntoView + 'static>(
    host: NodeRef<leptos::html::Div>,
    when: impl Fn() -> bool + Send + Sync + 'static,
    part: fn() -> V,
) {
    let runtime = expect_context::<Runtime>();
    let config = config();
    let mounted = StoredValue::new_local(None::<UnmountHandle<V::State>>);
    Effect::new(move |_| {
        let (show, host) = (when(), host.get());
        match host {
            Some(host) if show => {
                mounted.set_value(None); // what `when` read changed: built afresh
                let handle = mount_to(host.unchecked_into(), move || {
                    provide_context(runtime);
                    provide_context(config);
                    part()
                });
                mounted.set_value(Some(handle));
            }
            _ if !show => mounted.set_value(None),
            _ => {}
        }
    });
}

/// The site configuration in context.
pub fn config() -> &'static SiteConfig {
    expect_context::<&'static SiteConfig>()
}

/// The site's texts, from the configuration in context.
pub fn texts() -> &'static Texts {
    &config().texts
}

/// `text` with its ASCII digits written as the site's language writes them
/// ([`Texts::digits`], e.g. Arabic-Indic): for numbers and times only, never for what
/// people wrote.
pub fn localized_digits(texts: &Texts, text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => texts.digits.chars().nth(d as usize).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// The conversation's phase, recomputed only when the machine's phase changes.
pub fn use_phase(runtime: Runtime) -> Memo<Phase> {
    Memo::new(move |_| runtime.widget.with(Widget::phase))
}

fn element(id: &str) -> Option<web_sys::HtmlElement> {
    document().get_element_by_id(id)?.dyn_into().ok()
}

/// Moves keyboard focus to the element with `id` once the current render has landed.
pub fn focus_soon(id: impl Into<String>) {
    let id = id.into();
    set_timeout(
        move || {
            if let Some(element) = element(&id) {
                let _ = element.focus();
            }
        },
        Duration::ZERO,
    );
}

/// Like [`focus_soon`], but only if the visitor is in the widget and the element they were
/// on has just gone or been hidden (focus is on the body, or on an element no longer
/// rendered), so focus is never stolen.
pub fn focus_if_lost(id: impl Into<String>) {
    let id = id.into();
    set_timeout(
        move || {
            let doc = document();
            let gone = |active: web_sys::Element| {
                active.tag_name().eq_ignore_ascii_case("body")
                    || active
                        .dyn_into::<web_sys::HtmlElement>()
                        .is_ok_and(|a| a.offset_parent().is_none())
            };
            let lost = doc.has_focus().unwrap_or(false) && doc.active_element().is_none_or(gone);
            if let (true, Some(element)) = (lost, element(&id)) {
                let _ = element.focus();
            }
        },
        Duration::ZERO,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_the_languages_digits_and_nothing_else_changes() {
        let mut texts = Texts::blank();
        assert_eq!(localized_digits(&texts, "1:05 (3/5)"), "1:05 (3/5)");
        texts.digits = "٠١٢٣٤٥٦٧٨٩".into();
        assert_eq!(localized_digits(&texts, "1:05 (3/5)"), "١:٠٥ (٣/٥)");
        assert_eq!(localized_digits(&texts, "12"), "١٢");
    }
}
