//! Carries out simulated agents' plans ([`super::agents`] decides them, purely) and
//! simulated customers' scripts ([`super::customers`]): each in its own task on
//! tokio's clock, through the same desk operations the console, the control API and the
//! webhooks use.

use super::agents::Plan;
use super::customers;
use crate::desk::{Desk, DeskError};
use porchlight_protocol::{AgentId, ConversationId};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

impl Desk {
    /// Starts every simulated customer's script; each event arrives as a webhook would.
    pub(crate) fn start_customers(self: &Arc<Self>) {
        if !self.config.simulation.enabled {
            return;
        }
        for (index, script) in self.config.customers.iter().enumerate() {
            let Some(kind) = self.config.channel_kind(&script.channel) else {
                continue;
            };
            let channel = script.channel.clone();
            let weak = Arc::downgrade(self);
            let events = customers::schedule(kind, script, index);
            tokio::spawn(async move {
                let started = Instant::now();
                for event in events {
                    tokio::time::sleep_until(started + event.after).await;
                    let Some(desk) = weak.upgrade() else { return };
                    if let Err(err) = desk.customer_wrote(&channel, event.inbound, Instant::now()) {
                        tracing::warn!("a simulated customer on {channel} could not write: {err}");
                    }
                }
            });
        }
    }

    /// Carries out each plan in its own task, holding the desk only while acting: a desk
    /// nobody else holds is dropped (and its database closed) even with plans pending.
    pub(crate) fn run(self: &Arc<Self>, plans: Vec<Plan>) {
        if !self.config.simulation.enabled {
            return;
        }
        for plan in plans {
            let desk = Arc::downgrade(self);
            tokio::spawn(async move {
                match plan {
                    Plan::Accept {
                        agent,
                        conversation,
                        delay,
                    } => accept(&desk, &agent, &conversation, delay).await,
                    Plan::Reply {
                        agent,
                        conversation,
                        delay,
                    } => reply(&desk, &agent, &conversation, delay).await,
                    Plan::CloseIfIdle {
                        agent,
                        conversation,
                        after,
                        activity,
                    } => {
                        tokio::time::sleep(after).await;
                        if let Some(desk) = desk.upgrade() {
                            desk.close_if_idle(&agent, &conversation, activity, Instant::now());
                        }
                    }
                }
            });
        }
    }
}

async fn accept(
    desk: &Weak<Desk>,
    agent: &AgentId,
    conversation: &ConversationId,
    delay: Duration,
) {
    loop {
        tokio::time::sleep(delay).await;
        let Some(desk) = desk.upgrade() else { return };
        match desk.accept(agent, conversation, Instant::now()) {
            // Broadcasting: at the concurrency limit now, maybe not later.
            Err(DeskError::NotAllowed(_))
                if delay > Duration::ZERO && desk.is_queued(conversation) =>
            {
                continue;
            }
            // Taken by someone else, reassigned, missed or withdrawn: nothing to do.
            _ => return,
        }
    }
}

async fn reply(desk: &Weak<Desk>, agent: &AgentId, conversation: &ConversationId, delay: Duration) {
    let typing = desk
        .upgrade()
        .is_some_and(|desk| desk.agent_typing(agent, conversation, true).is_ok());
    if !typing {
        return;
    }
    tokio::time::sleep(delay).await;
    let Some(desk) = desk.upgrade() else { return };
    if let Some(line) = desk.next_scripted_reply(agent, conversation) {
        let _ = desk.agent_message(agent, conversation, None, &line);
    } else {
        let _ = desk.agent_typing(agent, conversation, false);
    }
}
