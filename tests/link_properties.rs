//! Property tests of the widget's link machine against a model server over a faulty
//! network: random visitor sends, agent messages, and frames dropped, duplicated and
//! reordered in both directions, links cut and reopened, and servers that replay over HTTP
//! when the client is too far behind. Whatever happens, the widget never shows a gap or a
//! duplicate, only ever shows what the server stored, and once the network heals every
//! message the visitor sent is stored exactly once and shown exactly once.
#![cfg(not(target_arch = "wasm32"))]

use porchlight::machine::{Effect, Input, LinkState, Widget};
use porchlight_protocol::{
    Author, AuthorKind, ChatStatus, ClientFrame, ConversationEvent, ConversationId, EventRecord,
    MessageId, Replay, Seq, ServerFrame, SessionToken, SiteId,
};
use proptest::prelude::*;
use std::collections::{HashMap, VecDeque};

/// What can happen next.
#[derive(Debug, Clone)]
enum Op {
    VisitorSends,
    AgentSays,
    DeliverToServer,
    DeliverToClient,
    DropToServer(usize),
    DropToClient(usize),
    DuplicateToClient(usize),
    SwapToClient(usize),
    Cut,
    ReconnectDue,
    AnswerFetch { fail: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::VisitorSends),
        2 => Just(Op::AgentSays),
        6 => Just(Op::DeliverToServer),
        8 => Just(Op::DeliverToClient),
        1 => any::<usize>().prop_map(Op::DropToServer),
        1 => any::<usize>().prop_map(Op::DropToClient),
        1 => any::<usize>().prop_map(Op::DuplicateToClient),
        1 => any::<usize>().prop_map(Op::SwapToClient),
        1 => Just(Op::Cut),
        2 => Just(Op::ReconnectDue),
        2 => any::<bool>().prop_map(|fail| Op::AnswerFetch { fail }),
    ]
}

fn conversation() -> ConversationId {
    ConversationId::new("c1").expect("id")
}

/// The server's side: one session, one conversation, idempotent by message id.
struct ModelServer {
    events: Vec<EventRecord>,
    stored_ids: HashMap<MessageId, Seq>,
    /// The most events replayed on the socket; more are read over HTTP.
    replay_window: usize,
}

impl ModelServer {
    fn append(&mut self, event: ConversationEvent) -> EventRecord {
        let record = EventRecord {
            seq: Seq(self.events.len() as u64 + 1),
            at_ms: 0,
            event,
        };
        self.events.push(record.clone());
        record
    }

    fn event_frame(record: &EventRecord) -> ServerFrame {
        ServerFrame::Event {
            seq: record.seq,
            at_ms: record.at_ms,
            event: record.event.clone(),
        }
    }

    /// Handles one client frame; returns the frames to send back on the same link.
    fn handle(&mut self, frame: ClientFrame) -> Vec<ServerFrame> {
        match frame {
            ClientFrame::Hello { last_seq, .. } => {
                let missed = &self.events[usize::try_from(last_seq.0)
                    .unwrap_or(usize::MAX)
                    .min(self.events.len())..];
                let replay = if missed.len() > self.replay_window {
                    Replay::Http
                } else {
                    Replay::Socket
                };
                let mut out = vec![ServerFrame::Welcome {
                    version: 1,
                    token: SessionToken::new("t1").expect("id"),
                    conversation: conversation(),
                    last_seq: Seq(self.events.len() as u64),
                    replay,
                }];
                if replay == Replay::Socket {
                    out.extend(missed.iter().map(Self::event_frame));
                }
                out.push(ServerFrame::Status {
                    status: ChatStatus::Bot {},
                });
                out
            }
            ClientFrame::SendText { id, text } => {
                if let Some(seq) = self.stored_ids.get(&id) {
                    return vec![ServerFrame::Ack { id, seq: *seq }];
                }
                let record = self.append(ConversationEvent::MessageReceived {
                    id: Some(id.clone()),
                    author: Author {
                        kind: AuthorKind::Visitor,
                        name: "You".into(),
                    },
                    text,
                    choices: Vec::new(),
                });
                self.stored_ids.insert(id.clone(), record.seq);
                vec![
                    ServerFrame::Ack {
                        id,
                        seq: record.seq,
                    },
                    Self::event_frame(&record),
                ]
            }
            _ => Vec::new(),
        }
    }
}

/// The widget, the server and the frames in flight between them on the current link.
struct World {
    widget: Widget,
    server: ModelServer,
    connected: bool,
    to_server: VecDeque<ClientFrame>,
    to_client: VecDeque<ServerFrame>,
    reconnect_scheduled: bool,
    /// Transcript reads asked for and not yet answered.
    fetches: Vec<Seq>,
    /// Every message id the widget took into its outbox.
    sent: Vec<MessageId>,
    next_id: u32,
    cuts: u32,
    /// Frames dropped, duplicated or swapped in flight.
    mangled: u32,
    /// HTTP transcript reads answered (failed ones included).
    reads: u32,
}

impl World {
    fn new(replay_window: usize) -> Self {
        let mut world = World {
            widget: Widget::new(SiteId::new("demo").expect("id"), None),
            server: ModelServer {
                events: Vec::new(),
                stored_ids: HashMap::new(),
                replay_window,
            },
            connected: false,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            reconnect_scheduled: false,
            fetches: Vec::new(),
            sent: Vec::new(),
            next_id: 0,
            cuts: 0,
            mangled: 0,
            reads: 0,
        };
        world.input(Input::Open);
        world
    }

    fn input(&mut self, input: Input) {
        for effect in self.widget.update(input) {
            match effect {
                Effect::Connect => {
                    // A fresh link: nothing of the old one arrives any more.
                    self.to_server.clear();
                    self.to_client.clear();
                    self.connected = true;
                    self.input(Input::LinkOpened);
                }
                Effect::Transmit(frame) => {
                    if self.connected {
                        self.to_server.push_back(frame);
                    }
                }
                Effect::ScheduleReconnect { .. } => self.reconnect_scheduled = true,
                Effect::FetchTranscript { after, .. } => self.fetches.push(after),
                Effect::SaveToken(_)
                | Effect::PanelChanged { .. }
                | Effect::FetchHistory { .. }
                | Effect::Host(_)
                | Effect::Chime
                | Effect::SaveSeen(..) => {}
            }
        }
    }

    fn cut(&mut self) {
        if self.connected {
            self.connected = false;
            self.to_server.clear();
            self.to_client.clear();
            self.cuts += 1;
            self.input(Input::LinkClosed);
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::VisitorSends => {
                self.next_id += 1;
                let id = MessageId::new(format!("m{}", self.next_id)).expect("id");
                let before = self.widget.outbox.len();
                self.input(Input::Send {
                    id: id.clone(),
                    text: format!("visitor {}", self.next_id),
                });
                if self.widget.outbox.len() > before {
                    self.sent.push(id);
                }
            }
            Op::AgentSays => {
                let record = self.server.append(ConversationEvent::MessageReceived {
                    id: None,
                    author: Author {
                        kind: AuthorKind::Agent,
                        name: "Ann".into(),
                    },
                    text: format!("agent {}", self.server.events.len() + 1),
                    choices: Vec::new(),
                });
                if self.connected {
                    self.to_client.push_back(ModelServer::event_frame(&record));
                }
            }
            Op::DeliverToServer => {
                if let Some(frame) = self.to_server.pop_front() {
                    let answers = self.server.handle(frame);
                    self.to_client.extend(answers);
                }
            }
            Op::DeliverToClient => {
                if let Some(frame) = self.to_client.pop_front() {
                    self.input(Input::Frame { frame, now_ms: 0 });
                }
            }
            Op::DropToServer(i) => {
                if !self.to_server.is_empty() {
                    self.to_server.remove(i % self.to_server.len());
                    self.mangled += 1;
                }
            }
            Op::DropToClient(i) => {
                if !self.to_client.is_empty() {
                    self.to_client.remove(i % self.to_client.len());
                    self.mangled += 1;
                }
            }
            Op::DuplicateToClient(i) => {
                if !self.to_client.is_empty() {
                    let frame = self.to_client[i % self.to_client.len()].clone();
                    self.to_client.insert(i % self.to_client.len(), frame);
                    self.mangled += 1;
                }
            }
            Op::SwapToClient(i) => {
                if self.to_client.len() >= 2 {
                    let at = i % (self.to_client.len() - 1);
                    self.to_client.swap(at, at + 1);
                    self.mangled += 1;
                }
            }
            Op::Cut => self.cut(),
            Op::ReconnectDue => {
                if std::mem::take(&mut self.reconnect_scheduled) {
                    self.input(Input::ReconnectDue);
                }
            }
            Op::AnswerFetch { fail } => {
                if self.fetches.is_empty() {
                    return;
                }
                let after = self.fetches.remove(0);
                self.reads += 1;
                let result = if fail {
                    Err(porchlight::runtime::Error::Unreachable {
                        url: "/transcript".into(),
                    })
                } else {
                    Ok(self
                        .server
                        .events
                        .iter()
                        .skip(usize::try_from(after.0).unwrap_or(usize::MAX))
                        .cloned()
                        .collect())
                };
                self.input(Input::TranscriptLoaded {
                    conversation: conversation(),
                    result,
                });
            }
        }
    }

    /// The network heals: one last clean link, and every frame and read delivered.
    fn heal(&mut self) {
        self.cut();
        for _ in 0..1000 {
            if self.widget.link != LinkState::Online && !self.connected {
                self.reconnect_scheduled = false;
                self.input(Input::ReconnectDue);
            }
            let quiet =
                self.to_server.is_empty() && self.to_client.is_empty() && self.fetches.is_empty();
            if quiet && self.widget.link == LinkState::Online {
                return;
            }
            self.apply(Op::DeliverToServer);
            self.apply(Op::DeliverToClient);
            self.apply(Op::AnswerFetch { fail: false });
        }
        panic!("the link did not settle");
    }

    /// What must hold after every step: the widget shows seqs 1..=n exactly once, each the
    /// event the server stored under that seq.
    fn check_shown(&self) -> Result<(), TestCaseError> {
        let w = &self.widget;
        prop_assert_eq!(w.events.len() as u64, w.last_seq.0);
        for (i, shown) in w.events.iter().enumerate() {
            prop_assert_eq!(shown.seq.0, i as u64 + 1, "a gap or a duplicate");
            prop_assert_eq!(
                Some(shown),
                self.server.events.get(i),
                "not what was stored"
            );
        }
        Ok(())
    }
}

fn run(ops: Vec<Op>, replay_window: usize) -> Result<World, TestCaseError> {
    let mut world = World::new(replay_window);
    for op in ops {
        world.apply(op);
        world.check_shown()?;
    }
    world.heal();
    world.check_shown()?;
    let w = &world.widget;
    prop_assert_eq!(w.events.len(), world.server.events.len(), "all shown");
    prop_assert!(w.outbox.is_empty(), "nothing left waiting: {:?}", w.outbox);
    for id in &world.sent {
        let stored = world
            .server
            .events
            .iter()
            .filter(|r| matches!(&r.event, ConversationEvent::MessageReceived { id: Some(i), .. } if i == id))
            .count();
        prop_assert_eq!(stored, 1, "message {} stored once", id);
    }
    Ok(world)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn nothing_lost_nothing_twice_replaying_on_the_socket(ops in prop::collection::vec(op(), 0..200)) {
        run(ops, usize::MAX)?;
    }

    #[test]
    fn nothing_lost_nothing_twice_replaying_over_http(ops in prop::collection::vec(op(), 0..200)) {
        run(ops, 2)?;
    }
}

/// The figures behind the properties, for the record: how much a typical run exercises.
#[test]
fn a_long_faulty_run_delivers_everything() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut totals = (0usize, 0usize, 0u32, 0u32, 0u32);
    for _ in 0..20 {
        let ops = prop::collection::vec(op(), 1000)
            .new_tree(&mut runner)
            .expect("a tree")
            .current();
        let world = run(ops, 3).expect("the properties hold");
        totals.0 += world.sent.len();
        totals.1 += world.server.events.len() - world.sent.len();
        totals.2 += world.cuts;
        totals.3 += world.mangled;
        totals.4 += world.reads;
    }
    println!(
        "20 runs of 1000 steps: {} visitor messages, {} agent messages, {} cuts, {} frames \
         dropped, duplicated or swapped, {} HTTP reads; 0 lost, 0 shown twice",
        totals.0, totals.1, totals.2, totals.3, totals.4
    );
    assert!(totals.0 > 1000 && totals.2 > 100, "{totals:?}");
}
