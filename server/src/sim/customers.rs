//! Simulated customers: the configuration scripts customers per channel (who, what they
//! write first, their follow-ups and the delays), so the demo has requests arriving from
//! every channel by itself. Pure: the script in, timed [`Inbound`] events out; the desk
//! delivers them through the same path as a webhook.

use crate::channels::inbound::{Content, Customer, Inbound};
use crate::config::CustomerScript;
use porchlight_protocol::channels::ChannelKind;
use std::time::Duration;

/// One scripted customer event, `after` the server started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub after: Duration,
    pub inbound: Inbound,
}

/// The events of `script` on a channel of `kind`: the first message `after_secs` after the
/// start, then one follow-up every `every_secs`. On a comment channel every message is a
/// comment on the script's post, in a thread under the first.
pub fn schedule(kind: ChannelKind, script: &CustomerScript, index: usize) -> Vec<Scheduled> {
    let customer = Customer {
        id: script.id.clone(),
        name: Some(script.name.clone()),
    };
    let first = format!("sim-{index}-0");
    script
        .messages
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let message_id = format!("sim-{index}-{i}");
            let content = if kind.is_comments() {
                Content::Comment {
                    post: script.post.clone().unwrap_or_else(|| "post-1".into()),
                    comment: message_id.clone(),
                    parent: (i > 0).then(|| first.clone()),
                    text: text.clone(),
                }
            } else {
                Content::Text(text.clone())
            };
            Scheduled {
                after: Duration::from_secs_f64(script.after_secs + script.every_secs * i as f64),
                inbound: Inbound {
                    customer: customer.clone(),
                    message_id,
                    at_ms: 0,
                    content,
                },
            }
        })
        .collect()
}
