//! The simulation: what lets the demo, rehearsals and tests run without real agents,
//! customers or platforms. It acts only through the desk's own operations, as a person or a
//! webhook would, and only where the configuration asks for it (`[simulation] enabled`,
//! which the built-in demo configuration sets and `--demo` turns on): a production
//! configuration starts no simulated actor.
//!
//! - [`agents`]: what simulated agents will do — accept after a delay, answer from their
//!   scripted replies, close an idle chat — as pure plans made under the desk's lock.
//! - [`customers`]: simulated customers' scripts on the social channels, as pure timed
//!   events.
//! - [`runner`]: carries both out on tokio's clock through the desk.
//!
//! The movable wall clock (`POST /mock/clock`) is the simulation's too: it answers only
//! while the simulation is on.

pub mod agents;
pub mod customers;
mod runner;
