//! The relay's clock. Everything that needs the time takes a [`Clock`], so tests can move it.

use std::sync::Arc;

use consent_core::time::Timestamp;

/// The relay's clock; tests replace it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as i64);
        Timestamp::from_unix_millis(millis)
    })
}
