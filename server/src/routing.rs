//! Routing chat requests to agents, as pure state: inputs with the current time in,
//! [`Routed`] outcomes out. Timers are data — each waiting request carries its deadline —
//! and [`Router::next_deadline`] tells the driver when to call [`Router::expire`], so the
//! rules are tested with plain instants and the driver with tokio's paused clock.
//!
//! - Broadcasting: a request waits in one queue; any online agent with a free slot may
//!   accept it within the queue time, else it is missed.
//! - Time-based: a request is assigned to the online agent with the lowest load (live plus
//!   assigned chats) under their concurrent-chat limit; that agent must accept within the
//!   acceptance time, else it goes to the next agent not yet tried; when nobody is left it
//!   is missed. When every online agent is full it waits in the queue (queue time) for a
//!   slot.
//! - With no agent online at all, a request is missed at once.
//! - Only a live (accepted) chat can be closed by an agent, and only by its own agent.

use porchlight_protocol::{AgentId, ConversationId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

pub use porchlight_protocol::console::{DeadlineKind, RoutingMode};

/// The routing timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// How long a request may wait in the queue.
    pub queue_time: Duration,
    /// How long an assigned agent has to accept (time-based routing).
    pub acceptance_time: Duration,
}

/// An agent as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub online: bool,
    /// The concurrent-chat limit: live plus assigned chats.
    pub max_chats: usize,
}

/// What routing decided; the server turns each into conversation events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// The request waits in the queue at this 1-based position (sent again when it moves).
    Queued {
        conversation: ConversationId,
        position: usize,
    },
    /// Time-based: the request now waits for this agent to accept.
    Assigned {
        conversation: ConversationId,
        agent: AgentId,
    },
    /// The agent accepted: the chat is live.
    Accepted {
        conversation: ConversationId,
        agent: AgentId,
    },
    /// Nobody took the request in time, or nobody was online.
    Missed { conversation: ConversationId },
    /// The chat ended; `agent` is who closed it, `None` when the visitor left.
    Closed {
        conversation: ConversationId,
        agent: Option<AgentId>,
    },
}

/// Why routing refused an operation. Maps onto the control API's 404 and 409.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no agent {0}")]
    UnknownAgent(AgentId),
    #[error("conversation {0} is not waiting for an agent or in a live chat")]
    UnknownConversation(ConversationId),
    #[error("{0}")]
    NotAllowed(String),
    /// Another agent accepted the request first.
    #[error("{0} already accepted this request")]
    Taken(AgentId),
}

#[derive(Debug, Clone)]
struct Waiting {
    conversation: ConversationId,
    since: Instant,
    deadline: Instant,
    tried: Vec<AgentId>,
}

#[derive(Debug, Clone)]
struct Assignment {
    conversation: ConversationId,
    agent: AgentId,
    since: Instant,
    deadline: Instant,
    tried: Vec<AgentId>,
}

/// A read-only view of routing, for the control API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutingSnapshot {
    pub mode: RoutingMode,
    pub agents: Vec<AgentView>,
    pub queue: Vec<QueueEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentView {
    pub id: AgentId,
    pub name: String,
    pub online: bool,
    pub max_chats: usize,
    /// Requests assigned to this agent, waiting for acceptance.
    pub engaged: Vec<ConversationId>,
    /// Accepted chats.
    pub live: Vec<ConversationId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEntry {
    pub conversation: ConversationId,
    pub position: usize,
    pub waited_ms: u64,
}

/// The routing state.
#[derive(Debug, Clone)]
pub struct Router {
    mode: RoutingMode,
    timers: Timers,
    agents: BTreeMap<AgentId, Agent>,
    queue: VecDeque<Waiting>,
    assigned: Vec<Assignment>,
    live: BTreeMap<ConversationId, AgentId>,
}

impl Router {
    pub fn new(mode: RoutingMode, timers: Timers, agents: impl IntoIterator<Item = Agent>) -> Self {
        Router {
            mode,
            timers,
            agents: agents.into_iter().map(|a| (a.id.clone(), a)).collect(),
            queue: VecDeque::new(),
            assigned: Vec::new(),
            live: BTreeMap::new(),
        }
    }

    pub fn mode(&self) -> RoutingMode {
        self.mode
    }

    /// How many requests wait in the queue.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// The agent's display name.
    pub fn agent_name(&self, agent: &AgentId) -> Option<&str> {
        self.agents.get(agent).map(|a| a.name.as_str())
    }

    /// Every agent, by id.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// The agent a time-based request is offered to, waiting for them to start it.
    pub fn assignee(&self, conversation: &ConversationId) -> Option<&AgentId> {
        self.assigned
            .iter()
            .find(|a| &a.conversation == conversation)
            .map(|a| &a.agent)
    }

    /// When the wait of `conversation` runs out: its acceptance time when offered to an
    /// agent, else its queue time.
    pub fn deadline(&self, conversation: &ConversationId) -> Option<(DeadlineKind, Instant)> {
        if let Some(a) = self
            .assigned
            .iter()
            .find(|a| &a.conversation == conversation)
        {
            return Some((DeadlineKind::Acceptance, a.deadline));
        }
        self.queue
            .iter()
            .find(|w| &w.conversation == conversation)
            .map(|w| (DeadlineKind::Queue, w.deadline))
    }

    /// Where `conversation` waits: its 1-based queue position (`None` when offered to an
    /// agent) and since when.
    pub fn waiting(&self, conversation: &ConversationId) -> Option<(Option<usize>, Instant)> {
        if let Some(a) = self
            .assigned
            .iter()
            .find(|a| &a.conversation == conversation)
        {
            return Some((None, a.since));
        }
        self.queue
            .iter()
            .position(|w| &w.conversation == conversation)
            .map(|i| (Some(i + 1), self.queue[i].since))
    }

    /// Live plus assigned chats of `agent`.
    pub fn load(&self, agent: &AgentId) -> usize {
        self.live.values().filter(|a| *a == agent).count()
            + self.assigned.iter().filter(|a| &a.agent == agent).count()
    }

    fn has_free_slot(&self, agent: &Agent) -> bool {
        agent.online && self.load(&agent.id) < agent.max_chats
    }

    /// The online agent with a free slot and the lowest load, not in `tried`.
    fn pick(&self, tried: &[AgentId]) -> Option<AgentId> {
        self.agents
            .values()
            .filter(|a| self.has_free_slot(a) && !tried.contains(&a.id))
            .min_by_key(|a| (self.load(&a.id), a.id.clone()))
            .map(|a| a.id.clone())
    }

    fn is_routed(&self, conversation: &ConversationId) -> bool {
        self.queue.iter().any(|w| &w.conversation == conversation)
            || self
                .assigned
                .iter()
                .any(|a| &a.conversation == conversation)
            || self.live.contains_key(conversation)
    }

    /// A live chat read back from storage: `agent` has it, and it counts toward their
    /// limit. Only for a router that has routed nothing yet. An agent the configuration no
    /// longer has is refused, so the caller can ask for another.
    pub fn restore_live(
        &mut self,
        conversation: ConversationId,
        agent: AgentId,
    ) -> Result<(), RouteError> {
        self.agent(&agent)?;
        self.live.insert(conversation, agent);
        Ok(())
    }

    /// A visitor asks for a human.
    pub fn request(
        &mut self,
        conversation: ConversationId,
        now: Instant,
    ) -> Result<Vec<Routed>, RouteError> {
        if self.is_routed(&conversation) {
            return Err(RouteError::NotAllowed(format!(
                "conversation {conversation} has already asked for an agent"
            )));
        }
        if !self.agents.values().any(|a| a.online) {
            return Ok(vec![Routed::Missed { conversation }]);
        }
        let waiting = Waiting {
            conversation,
            since: now,
            deadline: now + self.timers.queue_time,
            tried: Vec::new(),
        };
        match self.mode {
            RoutingMode::Broadcast => Ok(vec![self.enqueue(waiting)]),
            RoutingMode::TimeBased => Ok(self.assign_or_enqueue(waiting, now)),
        }
    }

    fn enqueue(&mut self, waiting: Waiting) -> Routed {
        let conversation = waiting.conversation.clone();
        self.queue.push_back(waiting);
        Routed::Queued {
            conversation,
            position: self.queue.len(),
        }
    }

    fn assign_or_enqueue(&mut self, waiting: Waiting, now: Instant) -> Vec<Routed> {
        match self.pick(&waiting.tried) {
            Some(agent) => {
                let conversation = waiting.conversation.clone();
                let mut tried = waiting.tried;
                tried.push(agent.clone());
                self.assigned.push(Assignment {
                    conversation: conversation.clone(),
                    agent: agent.clone(),
                    since: waiting.since,
                    deadline: now + self.timers.acceptance_time,
                    tried,
                });
                vec![Routed::Assigned {
                    conversation,
                    agent,
                }]
            }
            None if self.untried_online(&waiting.tried) => vec![self.enqueue(waiting)],
            None => vec![Routed::Missed {
                conversation: waiting.conversation,
            }],
        }
    }

    /// Whether some online agent has not yet been tried (they may free a slot later).
    fn untried_online(&self, tried: &[AgentId]) -> bool {
        self.agents
            .values()
            .any(|a| a.online && !tried.contains(&a.id))
    }

    /// Removes queue entry `index` and reports the new positions of those behind it.
    fn leave_queue(&mut self, index: usize) -> (Option<Waiting>, Vec<Routed>) {
        let removed = self.queue.remove(index);
        let moved = self
            .queue
            .iter()
            .enumerate()
            .skip(index)
            .map(|(i, w)| Routed::Queued {
                conversation: w.conversation.clone(),
                position: i + 1,
            })
            .collect();
        (removed, moved)
    }

    /// Time-based: hands waiting requests to agents with free slots, oldest first.
    fn drain_queue(&mut self, now: Instant) -> Vec<Routed> {
        let mut out = Vec::new();
        if self.mode != RoutingMode::TimeBased {
            return out;
        }
        while let Some(index) = self
            .queue
            .iter()
            .position(|w| self.pick(&w.tried).is_some())
        {
            let (waiting, moved) = self.leave_queue(index);
            if let Some(waiting) = waiting {
                out.extend(self.assign_or_enqueue(waiting, now));
            }
            out.extend(moved);
        }
        out
    }

    fn agent(&self, agent: &AgentId) -> Result<&Agent, RouteError> {
        self.agents
            .get(agent)
            .ok_or_else(|| RouteError::UnknownAgent(agent.clone()))
    }

    /// An agent accepts a request.
    pub fn accept(
        &mut self,
        agent_id: &AgentId,
        conversation: &ConversationId,
    ) -> Result<Vec<Routed>, RouteError> {
        let agent = self.agent(agent_id)?;
        if !agent.online {
            return Err(RouteError::NotAllowed(format!(
                "agent {agent_id} is offline"
            )));
        }
        if let Some(owner) = self.live.get(conversation) {
            return Err(RouteError::Taken(owner.clone()));
        }
        let accepted = Routed::Accepted {
            conversation: conversation.clone(),
            agent: agent_id.clone(),
        };
        if let Some(index) = self
            .assigned
            .iter()
            .position(|a| &a.conversation == conversation)
        {
            if &self.assigned[index].agent != agent_id {
                return Err(RouteError::NotAllowed(format!(
                    "conversation {conversation} is assigned to another agent"
                )));
            }
            self.assigned.remove(index);
            self.live.insert(conversation.clone(), agent_id.clone());
            return Ok(vec![accepted]);
        }
        let Some(index) = self
            .queue
            .iter()
            .position(|w| &w.conversation == conversation)
        else {
            return Err(RouteError::UnknownConversation(conversation.clone()));
        };
        if self.mode == RoutingMode::TimeBased {
            return Err(RouteError::NotAllowed(format!(
                "conversation {conversation} is waiting for a free agent, not assigned to {agent_id}"
            )));
        }
        if !self.has_free_slot(agent) {
            return Err(RouteError::NotAllowed(format!(
                "agent {agent_id} is at their concurrent-chat limit"
            )));
        }
        let (_, moved) = self.leave_queue(index);
        self.live.insert(conversation.clone(), agent_id.clone());
        let mut out = vec![accepted];
        out.extend(moved);
        Ok(out)
    }

    /// An agent closes a live chat of theirs.
    pub fn close(
        &mut self,
        agent_id: &AgentId,
        conversation: &ConversationId,
        now: Instant,
    ) -> Result<Vec<Routed>, RouteError> {
        self.agent(agent_id)?;
        match self.live.get(conversation) {
            Some(owner) if owner == agent_id => {}
            Some(_) => {
                return Err(RouteError::NotAllowed(format!(
                    "conversation {conversation} belongs to another agent"
                )));
            }
            None if self.is_routed(conversation) => {
                return Err(RouteError::NotAllowed(format!(
                    "conversation {conversation} has not been accepted yet"
                )));
            }
            None => return Err(RouteError::UnknownConversation(conversation.clone())),
        }
        self.live.remove(conversation);
        let mut out = vec![Routed::Closed {
            conversation: conversation.clone(),
            agent: Some(agent_id.clone()),
        }];
        out.extend(self.drain_queue(now));
        Ok(out)
    }

    /// The visitor ends the chat or withdraws the request, wherever it is.
    pub fn visitor_left(&mut self, conversation: &ConversationId, now: Instant) -> Vec<Routed> {
        let mut out = Vec::new();
        if let Some(index) = self
            .queue
            .iter()
            .position(|w| &w.conversation == conversation)
        {
            let (_, moved) = self.leave_queue(index);
            out.push(Routed::Closed {
                conversation: conversation.clone(),
                agent: None,
            });
            out.extend(moved);
        } else if let Some(index) = self
            .assigned
            .iter()
            .position(|a| &a.conversation == conversation)
        {
            self.assigned.remove(index);
            out.push(Routed::Closed {
                conversation: conversation.clone(),
                agent: None,
            });
        } else if self.live.remove(conversation).is_some() {
            out.push(Routed::Closed {
                conversation: conversation.clone(),
                agent: None,
            });
        }
        out.extend(self.drain_queue(now));
        out
    }

    /// An agent goes online or offline. Requests assigned to an agent going offline move on
    /// at once; an agent coming online takes waiting requests (time-based).
    pub fn set_online(
        &mut self,
        agent_id: &AgentId,
        online: bool,
        now: Instant,
    ) -> Result<Vec<Routed>, RouteError> {
        self.agent(agent_id)?;
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.online = online;
        }
        let mut out = Vec::new();
        if !online {
            let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.assigned)
                .into_iter()
                .partition(|a| &a.agent == agent_id);
            self.assigned = kept;
            for assignment in gone {
                out.extend(self.reassign(assignment, now));
            }
        }
        out.extend(self.drain_queue(now));
        Ok(out)
    }

    fn reassign(&mut self, assignment: Assignment, now: Instant) -> Vec<Routed> {
        let waiting = Waiting {
            conversation: assignment.conversation,
            since: assignment.since,
            deadline: now + self.timers.queue_time,
            tried: assignment.tried,
        };
        match self.pick(&waiting.tried) {
            Some(_) => self.assign_or_enqueue(waiting, now),
            None => vec![Routed::Missed {
                conversation: waiting.conversation,
            }],
        }
    }

    /// The earliest pending deadline, when the driver must call [`Router::expire`].
    pub fn next_deadline(&self) -> Option<Instant> {
        let queue = self.queue.iter().map(|w| w.deadline);
        let assigned = self.assigned.iter().map(|a| a.deadline);
        queue.chain(assigned).min()
    }

    /// Applies every timer due at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<Routed> {
        let mut out = Vec::new();
        let (due, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.assigned)
            .into_iter()
            .partition(|a| a.deadline <= now);
        self.assigned = kept;
        for assignment in due {
            out.extend(self.reassign(assignment, now));
        }
        while let Some(index) = self.queue.iter().position(|w| w.deadline <= now) {
            let (waiting, moved) = self.leave_queue(index);
            if let Some(waiting) = waiting {
                out.push(Routed::Missed {
                    conversation: waiting.conversation,
                });
            }
            out.extend(moved);
        }
        out.extend(self.drain_queue(now));
        out
    }

    /// What the control API shows.
    pub fn snapshot(&self, now: Instant) -> RoutingSnapshot {
        RoutingSnapshot {
            mode: self.mode,
            agents: self
                .agents
                .values()
                .map(|a| AgentView {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    online: a.online,
                    max_chats: a.max_chats,
                    engaged: self
                        .assigned
                        .iter()
                        .filter(|x| x.agent == a.id)
                        .map(|x| x.conversation.clone())
                        .collect(),
                    live: self
                        .live
                        .iter()
                        .filter(|(_, owner)| **owner == a.id)
                        .map(|(c, _)| c.clone())
                        .collect(),
                })
                .collect(),
            queue: self
                .queue
                .iter()
                .enumerate()
                .map(|(i, w)| QueueEntry {
                    conversation: w.conversation.clone(),
                    position: i + 1,
                    waited_ms: now.saturating_duration_since(w.since).as_millis() as u64,
                })
                .collect(),
        }
    }

    /// Conversations currently live, with their agent.
    pub fn live(&self) -> impl Iterator<Item = (&ConversationId, &AgentId)> {
        self.live.iter()
    }

    /// Every online agent's id, for simulated agents deciding whom to act as.
    pub fn online_agents(&self) -> BTreeSet<AgentId> {
        self.agents
            .values()
            .filter(|a| a.online)
            .map(|a| a.id.clone())
            .collect()
    }
}

/// What of the routing state changes, as processes sharing one database keep it in
/// common: who is online, the queue, the offers and the live chats, with every instant as
/// wall-clock milliseconds so another process can read it back on its own clock. The
/// configuration's parts (mode, timers, agents' names and limits) stay each process's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedRouting {
    pub online: BTreeSet<AgentId>,
    pub queue: Vec<SharedWait>,
    pub live: BTreeMap<ConversationId, AgentId>,
}

impl SharedRouting {
    /// Whether `other` differs from this one in more than how its times read: the wall
    /// clock read twice may differ by a millisecond, which is no change.
    pub fn same_shape(&self, other: &SharedRouting) -> bool {
        let shape = |s: &SharedRouting| {
            s.queue
                .iter()
                .map(|w| (w.conversation.clone(), w.agent.clone(), w.tried.clone()))
                .collect::<Vec<_>>()
        };
        self.online == other.online && self.live == other.live && shape(self) == shape(other)
    }
}

/// A request waiting in the queue, or offered to `agent` (time-based routing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedWait {
    pub conversation: ConversationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    pub since_ms: u64,
    pub deadline_ms: u64,
    pub tried: Vec<AgentId>,
}

/// `at` as wall-clock milliseconds, given that `now` is `now_ms`.
fn to_wall(at: Instant, now: Instant, now_ms: u64) -> u64 {
    if at >= now {
        now_ms.saturating_add(at.duration_since(now).as_millis() as u64)
    } else {
        now_ms.saturating_sub(now.duration_since(at).as_millis() as u64)
    }
}

/// Wall-clock `ms` on tokio's clock, given that `now` is `now_ms`.
fn from_wall(ms: u64, now: Instant, now_ms: u64) -> Instant {
    if ms >= now_ms {
        now + Duration::from_millis(ms - now_ms)
    } else {
        now.checked_sub(Duration::from_millis(now_ms - ms))
            .unwrap_or(now)
    }
}

impl Router {
    /// The state other processes need, at `now` (wall clock `now_ms`).
    pub fn shared(&self, now: Instant, now_ms: u64) -> SharedRouting {
        let wall = |at| to_wall(at, now, now_ms);
        SharedRouting {
            online: self.online_agents(),
            queue: self
                .queue
                .iter()
                .map(|w| SharedWait {
                    conversation: w.conversation.clone(),
                    agent: None,
                    since_ms: wall(w.since),
                    deadline_ms: wall(w.deadline),
                    tried: w.tried.clone(),
                })
                .chain(self.assigned.iter().map(|a| SharedWait {
                    conversation: a.conversation.clone(),
                    agent: Some(a.agent.clone()),
                    since_ms: wall(a.since),
                    deadline_ms: wall(a.deadline),
                    tried: a.tried.clone(),
                }))
                .collect(),
            live: self.live.clone(),
        }
    }

    /// Takes on `shared` as another process left it, at `now` (wall clock `now_ms`).
    /// Agents this process's configuration does not know are left out.
    pub fn take_shared(&mut self, shared: SharedRouting, now: Instant, now_ms: u64) {
        let at = |ms| from_wall(ms, now, now_ms);
        for agent in self.agents.values_mut() {
            agent.online = shared.online.contains(&agent.id);
        }
        self.queue.clear();
        self.assigned.clear();
        for wait in shared.queue {
            match wait.agent {
                Some(agent) if self.agents.contains_key(&agent) => self.assigned.push(Assignment {
                    conversation: wait.conversation,
                    agent,
                    since: at(wait.since_ms),
                    deadline: at(wait.deadline_ms),
                    tried: wait.tried,
                }),
                Some(_) => {}
                None => self.queue.push_back(Waiting {
                    conversation: wait.conversation,
                    since: at(wait.since_ms),
                    deadline: at(wait.deadline_ms),
                    tried: wait.tried,
                }),
            }
        }
        self.live = shared
            .live
            .into_iter()
            .filter(|(_, agent)| self.agents.contains_key(agent))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: Duration = Duration::from_secs(60);
    const ACCEPT: Duration = Duration::from_secs(10);

    fn conv(s: &str) -> ConversationId {
        ConversationId::new(s).expect("id")
    }
    fn agent_id(s: &str) -> AgentId {
        AgentId::new(s).expect("id")
    }
    fn agent(id: &str, online: bool, max_chats: usize) -> Agent {
        Agent {
            id: agent_id(id),
            name: id.to_uppercase(),
            online,
            max_chats,
        }
    }
    fn router(mode: RoutingMode, agents: Vec<Agent>) -> Router {
        Router::new(
            mode,
            Timers {
                queue_time: QUEUE,
                acceptance_time: ACCEPT,
            },
            agents,
        )
    }
    fn queued(c: &str, position: usize) -> Routed {
        Routed::Queued {
            conversation: conv(c),
            position,
        }
    }
    fn assigned(c: &str, a: &str) -> Routed {
        Routed::Assigned {
            conversation: conv(c),
            agent: agent_id(a),
        }
    }
    fn missed(c: &str) -> Routed {
        Routed::Missed {
            conversation: conv(c),
        }
    }
    fn not_allowed<T: std::fmt::Debug>(result: Result<T, RouteError>) -> bool {
        matches!(result, Err(RouteError::NotAllowed(_)))
    }

    #[test]
    fn with_nobody_online_a_request_is_missed_at_once() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", false, 2)]);
        assert_eq!(r.request(conv("c1"), t0), Ok(vec![missed("c1")]));
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn broadcast_requests_queue_in_order_and_any_agent_may_accept() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::Broadcast,
            vec![agent("ann", true, 2), agent("bob", true, 2)],
        );
        assert_eq!(r.request(conv("c1"), t0), Ok(vec![queued("c1", 1)]));
        assert_eq!(r.request(conv("c2"), t0), Ok(vec![queued("c2", 2)]));
        assert_eq!(
            r.accept(&agent_id("bob"), &conv("c1")),
            Ok(vec![
                Routed::Accepted {
                    conversation: conv("c1"),
                    agent: agent_id("bob")
                },
                queued("c2", 1)
            ])
        );
    }

    #[test]
    fn a_restored_live_chat_belongs_to_its_agent_and_fills_a_slot() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", true, 1)]);
        r.restore_live(conv("c1"), agent_id("ann"))
            .expect("ann is configured");
        assert_eq!(
            r.live().collect::<Vec<_>>(),
            vec![(&conv("c1"), &agent_id("ann"))]
        );
        assert!(not_allowed(r.request(conv("c1"), t0)));
        r.request(conv("c2"), t0).expect("request");
        assert!(not_allowed(r.accept(&agent_id("ann"), &conv("c2"))));
        assert_eq!(
            r.close(&agent_id("ann"), &conv("c1"), t0),
            Ok(vec![Routed::Closed {
                conversation: conv("c1"),
                agent: Some(agent_id("ann"))
            }])
        );
    }

    #[test]
    fn a_live_chat_of_an_agent_no_longer_configured_is_not_restored() {
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", true, 1)]);
        assert_eq!(
            r.restore_live(conv("c1"), agent_id("zed")),
            Err(RouteError::UnknownAgent(agent_id("zed")))
        );
        assert_eq!(r.live().count(), 0);
    }

    #[test]
    fn a_request_cannot_be_made_twice() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", true, 2)]);
        r.request(conv("c1"), t0).expect("first");
        assert!(not_allowed(r.request(conv("c1"), t0)));
    }

    #[test]
    fn queued_request_is_missed_when_queue_time_expires() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", true, 2)]);
        r.request(conv("c1"), t0).expect("request");
        r.request(conv("c2"), t0 + Duration::from_secs(5))
            .expect("request");
        assert_eq!(r.next_deadline(), Some(t0 + QUEUE));
        assert_eq!(r.expire(t0 + QUEUE - Duration::from_millis(1)), vec![]);
        assert_eq!(r.expire(t0 + QUEUE), vec![missed("c1"), queued("c2", 1)]);
        assert_eq!(
            r.accept(&agent_id("ann"), &conv("c1")),
            Err(RouteError::UnknownConversation(conv("c1")))
        );
    }

    #[test]
    fn an_agent_at_the_concurrency_limit_cannot_accept() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", true, 1)]);
        r.request(conv("c1"), t0).expect("request");
        r.request(conv("c2"), t0).expect("request");
        r.accept(&agent_id("ann"), &conv("c1")).expect("accept");
        assert!(not_allowed(r.accept(&agent_id("ann"), &conv("c2"))));
    }

    #[test]
    fn a_taken_chat_cannot_be_accepted_again() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::Broadcast,
            vec![agent("ann", true, 2), agent("bob", true, 2)],
        );
        r.request(conv("c1"), t0).expect("request");
        r.accept(&agent_id("ann"), &conv("c1")).expect("accept");
        assert_eq!(
            r.accept(&agent_id("bob"), &conv("c1")),
            Err(RouteError::Taken(agent_id("ann")))
        );
    }

    #[test]
    fn unknown_agents_and_conversations_are_reported_as_such() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", true, 2)]);
        assert_eq!(
            r.accept(&agent_id("zed"), &conv("c1")),
            Err(RouteError::UnknownAgent(agent_id("zed")))
        );
        assert_eq!(
            r.accept(&agent_id("ann"), &conv("c9")),
            Err(RouteError::UnknownConversation(conv("c9")))
        );
        assert_eq!(
            r.close(&agent_id("ann"), &conv("c9"), t0),
            Err(RouteError::UnknownConversation(conv("c9")))
        );
    }

    #[test]
    fn time_based_assigns_to_the_least_loaded_agent() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::TimeBased,
            vec![agent("ann", true, 3), agent("bob", true, 3)],
        );
        assert_eq!(r.request(conv("c1"), t0), Ok(vec![assigned("c1", "ann")]));
        assert_eq!(r.request(conv("c2"), t0), Ok(vec![assigned("c2", "bob")]));
        r.accept(&agent_id("bob"), &conv("c2")).expect("accept");
        r.accept(&agent_id("ann"), &conv("c1")).expect("accept");
        r.close(&agent_id("ann"), &conv("c1"), t0).expect("close");
        assert_eq!(r.request(conv("c3"), t0), Ok(vec![assigned("c3", "ann")]));
    }

    #[test]
    fn only_the_assigned_agent_may_accept_in_time_based_mode() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::TimeBased,
            vec![agent("ann", true, 1), agent("bob", true, 1)],
        );
        r.request(conv("c1"), t0).expect("request");
        assert!(not_allowed(r.accept(&agent_id("bob"), &conv("c1"))));
        assert!(r.accept(&agent_id("ann"), &conv("c1")).is_ok());
    }

    #[test]
    fn acceptance_expiry_reassigns_then_misses_when_nobody_is_left() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::TimeBased,
            vec![agent("ann", true, 1), agent("bob", true, 1)],
        );
        r.request(conv("c1"), t0).expect("request");
        assert_eq!(r.next_deadline(), Some(t0 + ACCEPT));
        assert_eq!(r.expire(t0 + ACCEPT), vec![assigned("c1", "bob")]);
        assert!(not_allowed(r.accept(&agent_id("ann"), &conv("c1"))));
        assert_eq!(r.expire(t0 + ACCEPT * 2), vec![missed("c1")]);
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn time_based_requests_wait_for_a_slot_when_everyone_is_full() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::TimeBased, vec![agent("ann", true, 1)]);
        r.request(conv("c1"), t0).expect("request");
        r.accept(&agent_id("ann"), &conv("c1")).expect("accept");
        assert_eq!(r.request(conv("c2"), t0), Ok(vec![queued("c2", 1)]));
        assert_eq!(
            r.close(&agent_id("ann"), &conv("c1"), t0 + Duration::from_secs(1)),
            Ok(vec![
                Routed::Closed {
                    conversation: conv("c1"),
                    agent: Some(agent_id("ann"))
                },
                assigned("c2", "ann"),
            ])
        );
    }

    #[test]
    fn a_waiting_time_based_request_is_missed_when_queue_time_expires() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::TimeBased, vec![agent("ann", true, 1)]);
        r.request(conv("c1"), t0).expect("request");
        r.accept(&agent_id("ann"), &conv("c1")).expect("accept");
        r.request(conv("c2"), t0).expect("request");
        assert_eq!(r.expire(t0 + QUEUE), vec![missed("c2")]);
    }

    #[test]
    fn only_an_accepted_chat_can_be_closed_and_only_by_its_agent() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::Broadcast,
            vec![agent("ann", true, 2), agent("bob", true, 2)],
        );
        r.request(conv("c1"), t0).expect("request");
        assert!(not_allowed(r.close(&agent_id("ann"), &conv("c1"), t0)));
        r.accept(&agent_id("ann"), &conv("c1")).expect("accept");
        assert!(not_allowed(r.close(&agent_id("bob"), &conv("c1"), t0)));
        assert!(r.close(&agent_id("ann"), &conv("c1"), t0).is_ok());
        assert_eq!(
            r.close(&agent_id("ann"), &conv("c1"), t0),
            Err(RouteError::UnknownConversation(conv("c1")))
        );
    }

    #[test]
    fn an_agent_going_offline_hands_their_assignments_on() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::TimeBased,
            vec![agent("ann", true, 1), agent("bob", true, 1)],
        );
        r.request(conv("c1"), t0).expect("request");
        assert_eq!(
            r.set_online(&agent_id("ann"), false, t0),
            Ok(vec![assigned("c1", "bob")])
        );
        assert!(not_allowed(r.accept(&agent_id("ann"), &conv("c1"))));
    }

    #[test]
    fn an_agent_coming_online_takes_waiting_requests_in_time_based_mode() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::TimeBased,
            vec![agent("ann", true, 1), agent("bob", false, 1)],
        );
        r.request(conv("c1"), t0).expect("request");
        r.accept(&agent_id("ann"), &conv("c1")).expect("accept");
        r.request(conv("c2"), t0).expect("request");
        assert_eq!(
            r.set_online(&agent_id("bob"), true, t0),
            Ok(vec![assigned("c2", "bob")])
        );
    }

    #[test]
    fn the_visitor_leaving_frees_the_slot_and_moves_the_queue() {
        let t0 = Instant::now();
        let mut r = router(RoutingMode::Broadcast, vec![agent("ann", true, 1)]);
        r.request(conv("c1"), t0).expect("request");
        r.request(conv("c2"), t0).expect("request");
        assert_eq!(
            r.visitor_left(&conv("c1"), t0),
            vec![
                Routed::Closed {
                    conversation: conv("c1"),
                    agent: None
                },
                queued("c2", 1)
            ]
        );
    }

    #[test]
    fn the_snapshot_shows_queue_engaged_and_live() {
        let t0 = Instant::now();
        let mut r = router(
            RoutingMode::TimeBased,
            vec![agent("ann", true, 1), agent("bob", true, 1)],
        );
        r.request(conv("c1"), t0).expect("request");
        r.request(conv("c2"), t0).expect("request");
        r.accept(&agent_id("bob"), &conv("c2")).expect("accept");
        r.request(conv("c3"), t0).expect("request");
        let snap = r.snapshot(t0 + Duration::from_secs(3));
        assert_eq!(snap.agents[0].engaged, vec![conv("c1")]);
        assert_eq!(snap.agents[1].live, vec![conv("c2")]);
        assert_eq!(snap.queue[0].conversation, conv("c3"));
        assert_eq!(snap.queue[0].waited_ms, 3_000);
    }

    #[test]
    fn the_shared_state_carries_the_queue_offers_and_live_chats_to_another_router() {
        let t0 = Instant::now();
        let agents = || vec![agent("a1", false, 2), agent("b2", false, 1)];
        let mut one = router(RoutingMode::TimeBased, agents());
        one.set_online(&agent_id("a1"), true, t0).expect("agent");
        one.request(conv("c1"), t0).expect("request");
        one.accept(&agent_id("a1"), &conv("c1")).expect("accept");
        one.request(conv("c2"), t0).expect("request");
        let shared = one.shared(t0, 1_000_000);
        let json = serde_json::to_string(&shared).expect("json");
        let back: SharedRouting = serde_json::from_str(&json).expect("read back");
        assert_eq!(back, shared);

        // Another process, whose tokio clock reads differently for the same wall clock.
        let t1 = t0 + Duration::from_secs(5);
        let mut two = router(RoutingMode::TimeBased, agents());
        two.take_shared(back, t1, 1_000_000);
        assert_eq!(two.snapshot(t1), one.snapshot(t0));
        assert_eq!(two.assignee(&conv("c2")), Some(&agent_id("a1")));
        assert_eq!(
            two.next_deadline(),
            Some(t1 + ACCEPT),
            "the deadline is the same moment on the wall clock"
        );
        assert_eq!(two.expire(t1 + ACCEPT), vec![missed("c2")]);
    }
}
