//! Per-address limits: how many WebSockets one client address holds at once, and how many
//! new sessions it may open a minute (a token bucket on tokio's clock). Anything one
//! address can make the server hold is bounded by them, whatever number of connections it
//! opens. Lifted for load runs from one machine (`--no-client-limits`).
//!
//! The table keeps an address only while it holds a socket or its bucket is refilling, so
//! it is bounded by the addresses active in the last minute.

use crate::config::LimitsConfig;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

/// Beyond this many addresses the table drops those with nothing to remember.
const PRUNE_ABOVE: usize = 4_096;

/// One address's standing.
#[derive(Debug, Clone, Copy)]
struct Client {
    sockets: usize,
    /// New sessions it may still open now.
    tokens: f64,
    refilled: Instant,
}

/// The per-address limits, shared by every connection.
#[derive(Debug)]
pub struct Clients {
    /// `None`: lifted.
    limits: Option<(usize, u32)>,
    table: Mutex<HashMap<IpAddr, Client>>,
}

/// Why an address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientRefusal {
    #[error("this address holds {0} chat sockets open, the most it may; close one first")]
    TooManySockets(usize),
    #[error(
        "this address opened {0} new chat sessions in the last minute, the most it may; try again shortly"
    )]
    TooManySessions(u32),
}

/// One socket counted against its address; the count drops with it.
#[derive(Debug)]
pub struct SocketSlot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut table = self.clients.table();
        if let Some(client) = table.get_mut(&self.ip) {
            client.sockets = client.sockets.saturating_sub(1);
        }
    }
}

impl SocketSlot {
    /// The address this socket came from.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Takes one new session from the address's budget; refused when spent.
    pub fn new_session(&self, now: Instant) -> Result<(), ClientRefusal> {
        self.clients.new_session(self.ip, now)
    }
}

impl Clients {
    /// Limits from `config`, or none at all when `enforced` is false.
    pub fn new(config: &LimitsConfig, enforced: bool) -> Arc<Clients> {
        Arc::new(Clients {
            limits: enforced.then_some((config.sockets_per_address, config.sessions_per_minute)),
            table: Mutex::new(HashMap::new()),
        })
    }

    fn table(&self) -> MutexGuard<'_, HashMap<IpAddr, Client>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new socket from `ip`; refused when the address holds its most.
    pub fn open_socket(
        self: &Arc<Self>,
        ip: IpAddr,
        now: Instant,
    ) -> Result<SocketSlot, ClientRefusal> {
        let slot = || SocketSlot {
            clients: Arc::clone(self),
            ip,
        };
        let Some((max_sockets, per_minute)) = self.limits else {
            return Ok(slot());
        };
        let mut table = self.table();
        if table.len() > PRUNE_ABOVE {
            prune(&mut table, per_minute, now);
        }
        let client = table.entry(ip).or_insert(Client {
            sockets: 0,
            tokens: f64::from(per_minute),
            refilled: now,
        });
        if client.sockets >= max_sockets {
            return Err(ClientRefusal::TooManySockets(max_sockets));
        }
        client.sockets += 1;
        drop(table);
        Ok(slot())
    }

    fn new_session(&self, ip: IpAddr, now: Instant) -> Result<(), ClientRefusal> {
        let Some((_, per_minute)) = self.limits else {
            return Ok(());
        };
        let mut table = self.table();
        let client = table.entry(ip).or_insert(Client {
            sockets: 0,
            tokens: f64::from(per_minute),
            refilled: now,
        });
        refill(client, per_minute, now);
        if client.tokens < 1.0 {
            return Err(ClientRefusal::TooManySessions(per_minute));
        }
        client.tokens -= 1.0;
        Ok(())
    }

    /// How many addresses the table remembers.
    pub fn remembered(&self) -> usize {
        self.table().len()
    }
}

fn refill(client: &mut Client, per_minute: u32, now: Instant) {
    let minutes = now.saturating_duration_since(client.refilled).as_secs_f64() / 60.0;
    let full = f64::from(per_minute);
    client.tokens = (client.tokens + minutes * full).min(full);
    client.refilled = now;
}

/// Forgets addresses holding no socket whose bucket is full again.
fn prune(table: &mut HashMap<IpAddr, Client>, per_minute: u32, now: Instant) {
    table.retain(|_, client| {
        refill(client, per_minute, now);
        client.sockets > 0 || client.tokens < f64::from(per_minute)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(sockets: usize, sessions: u32) -> LimitsConfig {
        LimitsConfig {
            sockets_per_address: sockets,
            sessions_per_minute: sessions,
            ..LimitsConfig::default()
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_holds_at_most_its_sockets_and_gets_one_back_when_one_closes() {
        let clients = Clients::new(&limits(2, 10), true);
        let now = Instant::now();
        let first = clients.open_socket(ip(1), now).expect("first");
        let _second = clients.open_socket(ip(1), now).expect("second");
        assert_eq!(
            clients.open_socket(ip(1), now).err(),
            Some(ClientRefusal::TooManySockets(2))
        );
        assert!(clients.open_socket(ip(2), now).is_ok(), "another address");
        drop(first);
        assert!(clients.open_socket(ip(1), now).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn new_sessions_come_in_a_burst_then_refill_evenly() {
        let clients = Clients::new(&limits(5, 3), true);
        let slot = clients.open_socket(ip(1), Instant::now()).expect("socket");
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(slot.new_session(t0), Ok(()));
        }
        assert_eq!(slot.new_session(t0), Err(ClientRefusal::TooManySessions(3)));
        // Three a minute: one more every 20 s.
        assert!(slot.new_session(t0 + Duration::from_secs(19)).is_err());
        assert_eq!(slot.new_session(t0 + Duration::from_secs(20)), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn lifted_limits_refuse_nothing() {
        let clients = Clients::new(&limits(1, 1), false);
        let now = Instant::now();
        let slots: Vec<_> = (0..100)
            .map(|_| clients.open_socket(ip(1), now).expect("socket"))
            .collect();
        for slot in &slots {
            assert_eq!(slot.new_session(now), Ok(()));
        }
        assert_eq!(clients.remembered(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_forgets_quiet_addresses() {
        let clients = Clients::new(&limits(5, 1), true);
        let t0 = Instant::now();
        for i in 0..=u8::MAX {
            for j in 0..17u8 {
                let address = IpAddr::from([10, j, 0, i]);
                let slot = clients.open_socket(address, t0).expect("socket");
                let _ = slot.new_session(t0);
            }
        }
        assert!(clients.remembered() > PRUNE_ABOVE);
        let later = t0 + Duration::from_secs(61);
        let _slot = clients.open_socket(ip(1), later).expect("socket");
        assert_eq!(clients.remembered(), 1, "only the address holding a socket");
    }
}
