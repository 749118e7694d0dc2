//! The folders as views of the summaries the console holds — nothing is stored per folder:
//!
//! - *Queue*: stage queued, oldest first.
//! - *Engaged*: stage connecting; an agent sees those offered to them, an admin all.
//! - *My chats*: stage live with the signed-in agent; an admin sees every live chat.
//! - *History*: ended, missed and left messages, newest first; while a search is typed, only
//!   what the desk found.
//!
//! The channel and post filters apply to the queue and history, the agent filter (admins)
//! to the engaged, live and history folders. Tab counts ignore the filters. Also here: what one
//! row shows ([`Row`]) and the countdown against the server's clock ([`remaining_ms`]).

use super::{Console, Who, words};
use porchlight_protocol::channels::{ChannelKind, window_ends};
use porchlight_protocol::console::{ConversationSummary, Deadline, Folder, Rating, Stage};
use porchlight_protocol::{AgentId, ConversationId};

/// Every folder, in tab order.
pub const FOLDERS: [Folder; 4] = [
    Folder::Queue,
    Folder::Engaged,
    Folder::Live,
    Folder::History,
];

/// The folder's name in `data-folder` and element ids.
pub fn slug(folder: Folder) -> &'static str {
    match folder {
        Folder::Queue => "queue",
        Folder::Engaged => "engaged",
        Folder::Live => "live",
        Folder::History => "history",
    }
}

/// Whether the channel and post filters apply to `folder`.
pub fn filters_channel(folder: Folder) -> bool {
    matches!(folder, Folder::Queue | Folder::History)
}

/// Whether the agent filter (admins only) applies to `folder`.
pub fn filters_agent(folder: Folder) -> bool {
    matches!(folder, Folder::Engaged | Folder::Live | Folder::History)
}

/// The button a row offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// "Accept", on a queued request, for an online agent.
    Accept,
    /// "Start chat", on an engaged request offered to the signed-in agent.
    Start,
}

/// What one folder row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: ConversationId,
    /// The visitor's name, or email, or "Visitor".
    pub name: String,
    pub email: Option<String>,
    pub preview: String,
    /// The channel's name as the desk calls it.
    pub channel: String,
    /// The channel's platform.
    pub kind: ChannelKind,
    /// The row shows its reply window ([`Console::window_line`]): a waiting or live
    /// conversation on a channel with a window.
    pub window: bool,
    /// The agent's name, where it tells something: an admin's engaged and live rows, and
    /// history.
    pub agent: Option<String>,
    /// Queue and engaged rows: what runs out, and when (server time).
    pub deadline: Option<Deadline>,
    /// History rows: "ended", "missed" or "message left".
    pub status: Option<&'static str>,
    pub rating: Option<Rating>,
    pub action: Option<Action>,
}

/// Milliseconds left until server time `at_ms`, at local time `local_now_ms`, given the
/// server-minus-local clock offset. Zero once passed.
pub fn remaining_ms(at_ms: u64, local_now_ms: u64, offset_ms: i64) -> u64 {
    let server_now = i128::from(local_now_ms) + i128::from(offset_ms);
    (i128::from(at_ms) - server_now).clamp(0, i128::from(u64::MAX)) as u64
}

impl Console {
    /// Whether `summary` shows in `folder` for whoever is signed in, before filters.
    pub fn shows_in(&self, summary: &ConversationSummary, folder: Folder) -> bool {
        summary.folder_for(self.who.agent()) == Some(folder)
    }

    /// How many conversations `folder` holds, before filters and search.
    pub fn count(&self, folder: Folder) -> usize {
        self.conversations
            .values()
            .filter(|s| self.shows_in(s, folder))
            .count()
    }

    fn passes_filters(&self, summary: &ConversationSummary, folder: Folder) -> bool {
        let channel_ok = !filters_channel(folder)
            || (self
                .channel_filter
                .as_ref()
                .is_none_or(|c| &summary.channel == c)
                && self.passes_post_filter(summary));
        let agent_ok = self.who != Who::Admin
            || !filters_agent(folder)
            || self
                .agent_filter
                .as_ref()
                .is_none_or(|a| summary.agent.as_ref() == Some(a));
        channel_ok && agent_ok
    }

    /// The ids of `folder`'s rows, filtered and in order.
    pub fn folder_ids(&self, folder: Folder) -> Vec<ConversationId> {
        let searching = folder == Folder::History && !self.search.trim().is_empty();
        let found = self.found.as_ref().filter(|_| searching);
        let mut rows: Vec<&ConversationSummary> = self
            .conversations
            .values()
            .filter(|s| self.shows_in(s, folder) && self.passes_filters(s, folder))
            .filter(|s| found.is_none_or(|f| f.conversations.contains(&s.id)))
            .collect();
        match folder {
            Folder::Queue | Folder::Engaged => rows.sort_by_key(|s| (s.started_ms, s.id.clone())),
            Folder::Live => rows.sort_by_key(|s| (s.updated_ms, s.id.clone())),
            Folder::History => rows.sort_by(|a, b| {
                b.updated_ms
                    .cmp(&a.updated_ms)
                    .then_with(|| b.id.cmp(&a.id))
            }),
        }
        rows.into_iter().map(|s| s.id.clone()).collect()
    }

    /// An agent's name (their id when the desk did not say).
    pub fn agent_name(&self, id: &AgentId) -> String {
        self.agents
            .iter()
            .find(|a| &a.id == id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    }

    /// A channel's name (its id when the desk did not say).
    pub fn channel_name(&self, summary: &ConversationSummary) -> String {
        self.channels
            .iter()
            .find(|c| c.id == summary.channel)
            .map_or_else(|| summary.channel.to_string(), |c| c.name.clone())
    }

    /// What the row of `id` shows in `folder`, if it is there.
    pub fn row(&self, id: &ConversationId, folder: Folder) -> Option<Row> {
        let s = self.conversations.get(id)?;
        if !self.shows_in(s, folder) {
            return None;
        }
        let admin = self.who == Who::Admin;
        let agent = match folder {
            Folder::Engaged | Folder::Live if admin => s.agent.as_ref(),
            Folder::History => s.agent.as_ref(),
            _ => None,
        };
        let online = self.me().is_some_and(|me| me.online);
        let action = match (folder, &self.who) {
            (Folder::Queue, Who::Agent(_)) if online => Some(Action::Accept),
            (Folder::Engaged, Who::Agent(me)) if s.agent.as_ref() == Some(me) => {
                Some(Action::Start)
            }
            _ => None,
        };
        let kind = self.kind_of(s);
        let window = folder != Folder::History
            && s.facts
                .as_ref()
                .is_some_and(|f| window_ends(kind, f).is_some());
        Some(Row {
            id: s.id.clone(),
            name: words::visitor_name(s),
            email: s.email.clone().filter(|e| !e.trim().is_empty()),
            preview: s.preview.clone(),
            channel: self.channel_name(s),
            kind,
            window,
            agent: agent.map(|a| self.agent_name(a)),
            deadline: s
                .deadline
                .filter(|_| matches!(s.stage, Stage::Queued | Stage::Connecting)),
            status: (folder == Folder::History).then(|| words::history_status(s.stage)),
            rating: s.rating.clone(),
            action,
        })
    }

    /// Milliseconds left until server time `at_ms` at local time `local_now_ms`.
    pub fn remaining_ms(&self, at_ms: u64, local_now_ms: u64) -> u64 {
        remaining_ms(at_ms, local_now_ms, self.clock_offset_ms)
    }
}
