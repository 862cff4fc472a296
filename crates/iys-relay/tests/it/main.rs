//! The relay over real HTTP, against a real SQLite file and a real Postgres server.
//!
//! Postgres tests are ignored unless asked for: `cargo xtask test` starts a private Postgres
//! server, sets `IYS_TEST_POSTGRES_URL`, and runs them with `--include-ignored`.

#![allow(
    clippy::unwrap_used,
    reason = "a test that meets an unexpected error should fail loudly"
)]
#![allow(unreachable_pub, reason = "test modules share helpers")]

mod contract;
mod drills;
mod flood;
mod forgery;
mod forwarding;
mod import;
mod notices;
mod outage;
mod process;
mod push;
mod refusals;
mod storage;
mod support;
mod texts;
