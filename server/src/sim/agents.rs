//! Simulated agents: agents with an `accept_delay_secs` in the config accept requests they
//! may take after that delay, answer the visitor from their scripted replies ("typing" for
//! `reply_delay_secs` first), and close a chat the visitor has left idle for
//! `idle_close_secs` with their closing line. Agents without it act only through the
//! console or the control API.
//!
//! This module is pure: it decides *what* a simulated agent will do ([`Plan`]s, made under
//! the desk's lock); the desk's runner carries them out later on tokio's clock.

use crate::config::ServerConfig;
use porchlight_protocol::{AgentId, ConversationId};
use std::collections::BTreeSet;
use std::time::Duration;

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
    /// Close the chat `after` this long unless the visitor writes again (their activity
    /// count is no longer `activity`).
    CloseIfIdle {
        agent: AgentId,
        conversation: ConversationId,
        after: Duration,
        activity: u64,
    },
}

/// The simulated agent will accept the request (time-based routing assigned it to them,
/// or broadcasting offers it to everyone); `None` for an agent driven by hand.
pub fn accept_plan(
    config: &ServerConfig,
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
    config: &ServerConfig,
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

/// The simulated agent will close the chat if the visitor stays silent; `None` for an
/// agent driven by hand.
pub fn idle_plan(
    config: &ServerConfig,
    agent: &AgentId,
    conversation: &ConversationId,
    activity: u64,
) -> Option<Plan> {
    let agent_config = config.agent(agent)?;
    agent_config.accept_delay()?;
    Some(Plan::CloseIfIdle {
        agent: agent.clone(),
        conversation: conversation.clone(),
        after: agent_config.idle_close()?,
        activity,
    })
}

/// Broadcasting: every online simulated agent will try to take the new request.
pub fn on_queued(
    config: &ServerConfig,
    online: &BTreeSet<AgentId>,
    conversation: &ConversationId,
) -> Vec<Plan> {
    online
        .iter()
        .filter_map(|agent| accept_plan(config, agent, conversation))
        .collect()
}
