//! Where goxy's bytes come from: upstream proxies in a GOPROXY-syntax chain,
//! each with a health score and circuit breaker, one outbound HTTP client with
//! per-phase deadlines, validation of every answer, and single-flight so a
//! cold module@version is fetched once however many clients ask.

pub mod chain;
pub mod flight;
pub mod health;
pub mod http;
pub mod proxylist;
pub mod validate;

pub use chain::{
    Chain, DirectOnly, DirectSource, FetchError, Payload, Provenance, StorageFault, Want,
};
pub use flight::Flights;
pub use health::{CircuitState, HealthSnapshot};
pub use http::{HttpClient, HttpConfig, HttpError, Phase, ProxyEnv, Timeouts, Transfer};
pub use proxylist::{Entry, EntryKind, FallThrough};
