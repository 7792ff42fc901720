//! Where goxy's bytes come from: upstream proxies in a chain, health scoring, single-flight.
