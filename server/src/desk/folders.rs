//! What agent consoles see: the desk as folder rows ([`ConversationSummary`]), agents'
//! presence and load, a conversation in full, and history search. Pure reads of the
//! world; the console socket sends them.

use crate::config::ServerConfig;
use crate::desk::World;
use crate::store::sql::RowConversation;
use crate::store::{Conversation, Phase, StoredEvent};
use porchlight_protocol::channels::{ChannelKind, story_media_live};
use porchlight_protocol::console::{
    AgentStatus, ChannelInfo, ConversationSummary, Deadline, Stage, StoryView, WEB_CHANNEL,
    answer_lines,
};
use porchlight_protocol::{
    AgentId, AuthorKind, ChannelId, ConversationEvent, ConversationId, DeskFrame, FieldKind,
    KnownIdentity, PROTOCOL_VERSION, Seq,
};
use tokio::time::Instant;

/// The most closed conversations a snapshot carries; older ones are found by search.
pub const HISTORY_IN_SNAPSHOT: usize = 200;

/// The most conversations a search answers with.
pub const SEARCH_RESULTS: usize = 200;

/// How many characters of the visitor's first message a row shows.
const PREVIEW_CHARS: usize = 80;

/// The mock's wall-clock milliseconds of a tokio instant, `wall` being the mock's time at
/// `now`.
fn wall_ms(at: Instant, now: Instant, wall: u64) -> u64 {
    if at >= now {
        wall.saturating_add(at.duration_since(now).as_millis() as u64)
    } else {
        wall.saturating_sub(now.duration_since(at).as_millis() as u64)
    }
}

fn stage(phase: &Phase) -> Stage {
    match phase {
        Phase::Bot => Stage::Bot,
        Phase::Queued { .. } => Stage::Queued,
        Phase::Connecting { .. } => Stage::Connecting,
        Phase::Live { .. } => Stage::Live,
        Phase::Missed => Stage::Missed,
        Phase::MessageLeft => Stage::MessageLeft,
        Phase::Ended { .. } => Stage::Ended,
    }
}

/// The answer to the pre-chat field of `kind` (the first such field), or to the field
/// called `name`.
fn answer_of(
    config: &ServerConfig,
    conv: &Conversation,
    name: &str,
    kind: FieldKind,
) -> Option<String> {
    let fields = &config.site.prechat;
    fields
        .iter()
        .find(|f| f.name.as_str() == name)
        .or_else(|| fields.iter().find(|f| f.kind == kind))
        .and_then(|f| conv.answers.get(&f.name))
        .filter(|v| !v.is_empty())
        .cloned()
}

/// The first words of the visitor's first message, or of the message they left.
fn preview(conv: &Conversation) -> String {
    let first = conv.events.iter().find_map(|e| match &e.event {
        ConversationEvent::MessageReceived { author, text, .. }
            if author.kind == AuthorKind::Visitor =>
        {
            Some(text.as_str())
        }
        ConversationEvent::MessageLeft { text } => Some(text.as_str()),
        _ => None,
    });
    let text = first.unwrap_or_default();
    let mut preview: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        preview.push('…');
    }
    preview
}

/// One conversation as a folder row shows it.
pub fn summary(
    world: &World,
    config: &ServerConfig,
    id: &ConversationId,
    now: Instant,
) -> Option<ConversationSummary> {
    let conv = world.store.conversation(id)?;
    Some(summary_of(
        world,
        config,
        id,
        conv,
        world.store.identity(&conv.token),
        now,
    ))
}

/// The row of `conv`, held in memory or read from the database, whose visitor said they
/// are `identity`.
pub fn summary_of(
    world: &World,
    config: &ServerConfig,
    id: &ConversationId,
    conv: &Conversation,
    identity: Option<&KnownIdentity>,
    now: Instant,
) -> ConversationSummary {
    let agent = match &conv.phase {
        Phase::Live { agent, .. } => Some(agent.clone()),
        Phase::Connecting { .. } => world.router.assignee(id).cloned(),
        _ => conv.handled_by.clone(),
    };
    let position = match &conv.phase {
        Phase::Queued { position, .. } => u32::try_from(*position).ok(),
        _ => None,
    };
    // Before any pre-chat answer, the row names the visitor as their identity does.
    let deadline = world.router.deadline(id).map(|(kind, at)| Deadline {
        kind,
        at_ms: wall_ms(at, now, world.store.now_ms()),
    });
    ConversationSummary {
        id: id.clone(),
        channel: conv.channel.clone(),
        stage: stage(&conv.phase),
        name: answer_of(config, conv, "name", FieldKind::Text)
            .or_else(|| {
                conv.channel_state
                    .as_ref()
                    .and_then(|s| s.customer_name.clone())
            })
            .or_else(|| identity.and_then(|i| i.name.clone())),
        email: answer_of(config, conv, "email", FieldKind::Email)
            .or_else(|| identity.and_then(|i| i.email.clone())),
        preview: preview(conv),
        agent,
        position,
        deadline,
        rating: conv.rating.clone(),
        started_ms: conv.events.first().map_or(0, |e| e.at_ms),
        updated_ms: conv.events.last().map_or(0, |e| e.at_ms),
        last_seq: conv.events.last().map_or(Seq(0), |e| e.seq),
        facts: conv.channel_state.as_ref().map(|s| s.facts.clone()),
        story: conv
            .channel_state
            .as_ref()
            .and_then(|s| s.story.as_ref())
            .map(|story| StoryView {
                mention: story.mention,
                url: story_media_live(story.posted_ms, world.store.now_ms())
                    .then(|| story.url.clone()),
            }),
    }
}

/// Every agent's presence and load.
pub fn agent_statuses(world: &World, config: &ServerConfig) -> Vec<AgentStatus> {
    world
        .router
        .agents()
        .map(|a| AgentStatus {
            id: a.id.clone(),
            name: a.name.clone(),
            online: a.online,
            load: u32::try_from(world.router.load(&a.id)).unwrap_or(u32::MAX),
            max_chats: u32::try_from(a.max_chats).unwrap_or(u32::MAX),
            simulated: config
                .agent(&a.id)
                .is_some_and(|c| c.accept_delay().is_some()),
        })
        .collect()
}

/// The channels conversations come from.
pub fn channels(config: &ServerConfig) -> Vec<ChannelInfo> {
    let web = ChannelInfo {
        id: ChannelId::new(WEB_CHANNEL).expect("web is a valid channel id"),
        kind: ChannelKind::Web,
        name: format!("Website chat ({})", config.site.site),
        templates: Vec::new(),
    };
    std::iter::once(web)
        .chain(config.channels.iter().map(|c| ChannelInfo {
            id: c.id.clone(),
            kind: c.kind,
            name: c.name.clone(),
            templates: c.templates.iter().map(|t| t.name.clone()).collect(),
        }))
        .collect()
}

/// The snapshot a console starts from: every waiting, engaged and live conversation, and
/// the newest closed ones.
pub fn welcome(
    world: &World,
    config: &ServerConfig,
    agent: Option<&AgentId>,
    stored_closed: &[RowConversation],
    now: Instant,
) -> DeskFrame {
    let mut open = Vec::new();
    let mut closed = Vec::new();
    for (id, conv) in world.store.all() {
        match stage(&conv.phase).folder() {
            None => {}
            Some(porchlight_protocol::console::Folder::History) => closed.push(id),
            Some(_) => open.push(id),
        }
    }
    let mut conversations: Vec<ConversationSummary> = open
        .iter()
        .filter_map(|id| summary(world, config, id, now))
        .collect();
    conversations.extend(closed_rows(
        world,
        config,
        closed.into_iter().rev(),
        stored_closed,
        HISTORY_IN_SNAPSHOT,
        now,
    ));
    DeskFrame::Welcome {
        version: PROTOCOL_VERSION,
        now_ms: world.store.now_ms(),
        clock_offset_ms: world.store.clock_offset_ms(),
        agent: agent.cloned(),
        routing: world.router.mode(),
        agents: agent_statuses(world, config),
        channels: channels(config),
        conversations,
    }
}

/// A conversation in full: pre-chat answers and every event.
pub fn detail(world: &World, config: &ServerConfig, id: &ConversationId) -> Option<DeskFrame> {
    let conv = world.store.conversation(id)?;
    Some(detail_of(
        config,
        id,
        conv,
        world.store.identity(&conv.token).cloned(),
    ))
}

/// `conv` in full, held in memory or read from the database.
pub fn detail_of(
    config: &ServerConfig,
    id: &ConversationId,
    conv: &Conversation,
    identity: Option<KnownIdentity>,
) -> DeskFrame {
    DeskFrame::Detail {
        conversation: id.clone(),
        answers: answer_lines(&config.site.prechat, &conv.answers),
        events: conv.events.iter().map(StoredEvent::to_record).collect(),
        visitor_typing: conv.visitor_typing,
        identity,
    }
}

/// Rows of closed conversations, newest first, at most `limit`: those held in memory
/// (`held`, newest first) and those read from the database (`stored`, newest first), each
/// once.
pub fn closed_rows<'a>(
    world: &World,
    config: &ServerConfig,
    held: impl Iterator<Item = &'a ConversationId>,
    stored: &[RowConversation],
    limit: usize,
    now: Instant,
) -> Vec<ConversationSummary> {
    let mut rows: Vec<ConversationSummary> = held
        .filter_map(|id| summary(world, config, id, now))
        .collect();
    let seen: std::collections::HashSet<ConversationId> =
        rows.iter().map(|r| r.id.clone()).collect();
    rows.extend(stored.iter().filter(|r| !seen.contains(&r.id)).map(|r| {
        summary_of(
            world,
            config,
            &r.id,
            &r.conversation,
            r.identity.as_ref(),
            now,
        )
    }));
    rows.sort_by_key(|row| std::cmp::Reverse(row.started_ms));
    rows.truncate(limit);
    rows
}

/// Closed conversations (history) whose visitor name, email, pre-chat answers or
/// messages contain `query` (case-insensitive), newest first.
pub fn search(world: &World, query: &str) -> Vec<ConversationId> {
    let needle = query.trim().to_lowercase();
    let matches = |conv: &Conversation| {
        needle.is_empty()
            || conv
                .answers
                .values()
                .any(|v| v.to_lowercase().contains(&needle))
            || conv.events.iter().any(|e| match &e.event {
                ConversationEvent::MessageReceived { text, .. }
                | ConversationEvent::MessageLeft { text } => text.to_lowercase().contains(&needle),
                _ => false,
            })
    };
    let all: Vec<_> = world.store.all().collect();
    all.into_iter()
        .rev()
        .filter(|(_, c)| {
            stage(&c.phase).folder() == Some(porchlight_protocol::console::Folder::History)
        })
        .filter(|(_, c)| matches(c))
        .take(SEARCH_RESULTS)
        .map(|(id, _)| id.clone())
        .collect()
}
