//! Live events over WebSocket: one log tail per process ([`hub`]) and one task per connection
//! ([`socket`]).

pub mod hub;
pub mod socket;

pub use hub::LiveHub;
pub use socket::LiveSettings;
