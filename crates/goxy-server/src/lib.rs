//! goxy's HTTP server: GOPROXY protocol routing, caching tiers, policy.
