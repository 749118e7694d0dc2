//! Simulated agents: agents with an `accept_delay_secs` in the config accept requests they
//! may take after that delay and answer the visitor from their scripted replies, "typing"
//! for `reply_delay_secs` first. Agents without it act only through the control API.
//!
//! The desk decides *what* a simulated agent will do ([`Plan`]s, made under its lock);
//! [`run`] carries the plans out later on tokio's clock, through the same desk operations
//! the control API uses.

use crate::config::MockConfig;
use crate::desk::{Desk, DeskError};
use crate::routing::Router;
use porchlight_protocol::{AgentId, ConversationId};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Something a simulated agent will do after a delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Accept {
        agent: AgentId,
        conversation: ConversationId,
        delay: Duration,
    },
    Reply {
        agent: AgentId,
        conversation: ConversationId,
        delay: Duration,
    },
}

/// The simulated agent will accept the request (time-based routing assigned it to them,
/// or broadcasting offers it to everyone); `None` for an agent driven by hand.
pub fn accept_plan(
    config: &MockConfig,
    agent: &AgentId,
    conversation: &ConversationId,
) -> Option<Plan> {
    let delay = config.agent(agent)?.accept_delay()?;
    Some(Plan::Accept {
        agent: agent.clone(),
        conversation: conversation.clone(),
        delay,
    })
}

/// The simulated agent will say their next scripted line (on joining, and after each
/// visitor message); `None` for an agent driven by hand or without a script.
pub fn reply_plan(
    config: &MockConfig,
    agent: &AgentId,
    conversation: &ConversationId,
) -> Option<Plan> {
    let agent_config = config.agent(agent)?;
    agent_config.accept_delay()?; // only simulated agents reply by themselves
    if agent_config.replies.is_empty() {
        return None;
    }
    Some(Plan::Reply {
        agent: agent.clone(),
        conversation: conversation.clone(),
        delay: agent_config.reply_delay(),
    })
}

/// Broadcasting: every online simulated agent will try to take the new request.
pub fn on_queued(config: &MockConfig, router: &Router, conversation: &ConversationId) -> Vec<Plan> {
    router
        .online_agents()
        .iter()
        .filter_map(|agent| accept_plan(config, agent, conversation))
        .collect()
}

/// Carries the plans out, each in its own task on tokio's clock.
pub fn run(desk: &Arc<Desk>, plans: Vec<Plan>) {
    for plan in plans {
        let desk = Arc::clone(desk);
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
            }
        });
    }
}

async fn accept(desk: &Arc<Desk>, agent: &AgentId, conversation: &ConversationId, delay: Duration) {
    loop {
        tokio::time::sleep(delay).await;
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

async fn reply(desk: &Arc<Desk>, agent: &AgentId, conversation: &ConversationId, delay: Duration) {
    if desk.agent_typing(agent, conversation, true).is_err() {
        return;
    }
    tokio::time::sleep(delay).await;
    if let Some(line) = desk.next_scripted_reply(agent, conversation) {
        let _ = desk.agent_message(agent, conversation, &line);
    } else {
        let _ = desk.agent_typing(agent, conversation, false);
    }
}
