//! Prometheus metrics, exposed at `/metrics` in the text exposition format.
//!
//! Every series is a fixed array of atomics chosen at start-up, so the hot
//! path is a few relaxed increments with no locks and no allocation. Labels
//! are closed sets (endpoint kind, status, tier, upstream display name,
//! outcome): a module path never becomes a label, so private module names
//! cannot leak through metrics and the series count stays bounded.

use goxy_fetch::{Chain, CircuitState};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a request asked for; the `endpoint` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Home,
    Healthz,
    Readyz,
    Metrics,
    Sumdb,
    List,
    Latest,
    Info,
    Mod,
    Zip,
    /// Paths that are not part of the protocol, and refused methods.
    Invalid,
}

impl Endpoint {
    pub const ALL: [Endpoint; 11] = [
        Endpoint::Home,
        Endpoint::Healthz,
        Endpoint::Readyz,
        Endpoint::Metrics,
        Endpoint::Sumdb,
        Endpoint::List,
        Endpoint::Latest,
        Endpoint::Info,
        Endpoint::Mod,
        Endpoint::Zip,
        Endpoint::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Home => "home",
            Endpoint::Healthz => "healthz",
            Endpoint::Readyz => "readyz",
            Endpoint::Metrics => "metrics",
            Endpoint::Sumdb => "sumdb",
            Endpoint::List => "list",
            Endpoint::Latest => "latest",
            Endpoint::Info => "info",
            Endpoint::Mod => "mod",
            Endpoint::Zip => "zip",
            Endpoint::Invalid => "invalid",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The endpoint of a raw request path (for requests refused before routing).
    pub fn of_path(path: &str) -> Endpoint {
        match crate::route::parse(path) {
            Ok(crate::route::Route::Home) => Endpoint::Home,
            Ok(crate::route::Route::Healthz) => Endpoint::Healthz,
            Ok(crate::route::Route::Readyz) => Endpoint::Readyz,
            Ok(crate::route::Route::Sumdb(_)) => Endpoint::Sumdb,
            Ok(crate::route::Route::Module(m)) => Endpoint::of_op(m.op.kind_name()),
            Err(_) if path == "/metrics" => Endpoint::Metrics,
            Err(_) => Endpoint::Invalid,
        }
    }

    /// The module endpoint for an operation name from [`crate::route::Op::kind_name`].
    pub fn of_op(kind: &str) -> Endpoint {
        match kind {
            "list" => Endpoint::List,
            "latest" => Endpoint::Latest,
            "info" => Endpoint::Info,
            "mod" => Endpoint::Mod,
            "zip" => Endpoint::Zip,
            _ => Endpoint::Invalid,
        }
    }
}

/// Status codes with their own series; anything else is counted as `other`.
const STATUSES: [u16; 16] = [
    200, 304, 400, 401, 403, 404, 405, 410, 414, 429, 431, 500, 502, 503, 504, 0,
];

fn status_index(status: u16) -> usize {
    STATUSES
        .iter()
        .position(|&s| s == status)
        .unwrap_or(STATUSES.len() - 1)
}

/// The kind of cached thing, for cache series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    Info,
    Mod,
    Zip,
    List,
    Latest,
}

impl CacheKind {
    const ALL: [CacheKind; 5] = [
        CacheKind::Info,
        CacheKind::Mod,
        CacheKind::Zip,
        CacheKind::List,
        CacheKind::Latest,
    ];

    fn as_str(self) -> &'static str {
        match self {
            CacheKind::Info => "info",
            CacheKind::Mod => "mod",
            CacheKind::Zip => "zip",
            CacheKind::List => "list",
            CacheKind::Latest => "latest",
        }
    }

    pub fn of_artifact(kind: goxy_store::ArtifactKind) -> CacheKind {
        match kind {
            goxy_store::ArtifactKind::Info => CacheKind::Info,
            goxy_store::ArtifactKind::Mod => CacheKind::Mod,
            goxy_store::ArtifactKind::Zip => CacheKind::Zip,
        }
    }
}

/// Where a lookup was answered: the in-memory tier, the disk tier, or the
/// metadata tier (`list`, `@latest`, `.info` queries, kept for a TTL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Memory,
    Disk,
    Meta,
}

impl Tier {
    const ALL: [Tier; 3] = [Tier::Memory, Tier::Disk, Tier::Meta];

    fn as_str(self) -> &'static str {
        match self {
            Tier::Memory => "memory",
            Tier::Disk => "disk",
            Tier::Meta => "meta",
        }
    }
}

/// The final cache outcome of a served response (the `X-Goxy-Cache` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Miss,
    Stale,
}

const OUTCOMES: [Outcome; 3] = [Outcome::Hit, Outcome::Miss, Outcome::Stale];

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Stale => "stale",
        }
    }
}

/// Upper bounds (seconds) of the upstream fetch latency histogram.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative; summed when rendered), plus +Inf at the end.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(bucket) = self.buckets.get(i) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Per-upstream fetch latency, split by whether the fetch succeeded.
struct UpstreamSeries {
    name: String,
    ok: Histogram,
    failed: Histogram,
}

/// Why a request was refused by policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    RateLimitClient,
    RateLimitModule,
    Unauthenticated,
    BadCredentials,
    NotAllowed,
    /// A case variant or `.git` spelling of a private path, refused.
    PrivateAlias,
}

impl Refusal {
    const ALL: [Refusal; 6] = [
        Refusal::RateLimitClient,
        Refusal::RateLimitModule,
        Refusal::Unauthenticated,
        Refusal::BadCredentials,
        Refusal::NotAllowed,
        Refusal::PrivateAlias,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Refusal::RateLimitClient => "rate_limit_client",
            Refusal::RateLimitModule => "rate_limit_module",
            Refusal::Unauthenticated => "unauthenticated",
            Refusal::BadCredentials => "bad_credentials",
            Refusal::NotAllowed => "not_allowed",
            Refusal::PrivateAlias => "private_alias",
        }
    }
}

/// What a check against the checksum database came to: `rejected` is a
/// hash mismatch, a bad proof or a record the database lacks; `unavailable`
/// means no route to the database answered (nothing was cached either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumOutcome {
    Rejected,
    Verified,
    Unavailable,
}

impl ChecksumOutcome {
    pub const ALL: [ChecksumOutcome; 3] = [
        ChecksumOutcome::Rejected,
        ChecksumOutcome::Verified,
        ChecksumOutcome::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumOutcome::Rejected => "rejected",
            ChecksumOutcome::Verified => "verified",
            ChecksumOutcome::Unavailable => "unavailable",
        }
    }
}

/// The checksum database series, read at scrape time.
pub fn render_sumdb(out: &mut String, statuses: &[crate::sumdb::DatabaseStatus]) {
    use std::fmt::Write as _;
    if statuses.is_empty() {
        return;
    }
    header(out, "goxy_sumdb_up", "gauge", "Whether the last exchange with the checksum database succeeded (1) or failed (0); absent before the first.");
    for db in statuses {
        if let Some(up) = db.status.up {
            let _ = writeln!(
                out,
                "goxy_sumdb_up{{database=\"{}\"}} {}",
                escape_label(&db.name),
                u8::from(up)
            );
        }
    }
    header(
        out,
        "goxy_sumdb_route",
        "gauge",
        "How the checksum database is reached: through an upstream proxy or at its own URL.",
    );
    for db in statuses {
        if let Some(route) = &db.status.route {
            let via = if route.starts_with("upstream ") {
                "proxy"
            } else {
                "direct"
            };
            let _ = writeln!(
                out,
                "goxy_sumdb_route{{database=\"{}\",via=\"{via}\"}} 1",
                escape_label(&db.name)
            );
        }
    }
}

/// All of goxy's counters.
pub struct Metrics {
    requests: [[AtomicU64; STATUSES.len()]; Endpoint::ALL.len()],
    bytes: [AtomicU64; Endpoint::ALL.len()],
    lookups: [[[AtomicU64; 2]; CacheKind::ALL.len()]; Tier::ALL.len()],
    responses: [[AtomicU64; OUTCOMES.len()]; CacheKind::ALL.len()],
    flight_waits: [AtomicU64; CacheKind::ALL.len()],
    checksum: [AtomicU64; ChecksumOutcome::ALL.len()],
    refusals: [AtomicU64; Refusal::ALL.len()],
    /// Local storage failures: [io, no_space].
    storage_failures: [AtomicU64; 2],
    upstreams: Vec<UpstreamSeries>,
    /// Fetches whose failure named no configured upstream (e.g. `direct`).
    other_upstream: UpstreamSeries,
    pub connections_open: AtomicU64,
    pub connections_rejected: AtomicU64,
    pub connections_timed_out: AtomicU64,
    pub connections_idle_closed: AtomicU64,
    pub tls_handshake_failures: AtomicU64,
    pub tls_reloads_ok: AtomicU64,
    pub tls_reloads_failed: AtomicU64,
    pub audit_lines: AtomicU64,
    pub audit_dropped: AtomicU64,
    pub audit_write_errors: AtomicU64,
}

fn zeroed<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

impl Metrics {
    /// Series for each upstream by its display name (never carries credentials).
    pub fn new(upstream_names: &[String]) -> Metrics {
        let series = |name: &str| UpstreamSeries {
            name: name.to_string(),
            ok: Histogram::default(),
            failed: Histogram::default(),
        };
        Metrics {
            requests: std::array::from_fn(|_| zeroed()),
            bytes: zeroed(),
            lookups: std::array::from_fn(|_| std::array::from_fn(|_| zeroed())),
            responses: std::array::from_fn(|_| zeroed()),
            flight_waits: zeroed(),
            checksum: zeroed(),
            refusals: zeroed(),
            storage_failures: zeroed(),
            upstreams: upstream_names.iter().map(|n| series(n)).collect(),
            other_upstream: series("other"),
            connections_open: AtomicU64::new(0),
            connections_rejected: AtomicU64::new(0),
            connections_timed_out: AtomicU64::new(0),
            connections_idle_closed: AtomicU64::new(0),
            tls_handshake_failures: AtomicU64::new(0),
            tls_reloads_ok: AtomicU64::new(0),
            tls_reloads_failed: AtomicU64::new(0),
            audit_lines: AtomicU64::new(0),
            audit_dropped: AtomicU64::new(0),
            audit_write_errors: AtomicU64::new(0),
        }
    }

    pub fn for_chain(chain: &Chain) -> Metrics {
        let names: Vec<String> = chain.upstreams().iter().map(|u| u.name.clone()).collect();
        Metrics::new(&names)
    }

    pub fn request(&self, endpoint: Endpoint, status: u16, body_bytes: u64) {
        let e = endpoint.index();
        if let Some(row) = self.requests.get(e) {
            if let Some(c) = row.get(status_index(status)) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(c) = self.bytes.get(e) {
            c.fetch_add(body_bytes, Ordering::Relaxed);
        }
    }

    pub fn lookup(&self, tier: Tier, kind: CacheKind, hit: bool) {
        if let Some(c) = self
            .lookups
            .get(tier as usize)
            .and_then(|t| t.get(kind as usize))
            .and_then(|k| k.get(usize::from(hit)))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn response(&self, kind: CacheKind, outcome: Outcome) {
        if let Some(c) = self
            .responses
            .get(kind as usize)
            .and_then(|k| k.get(outcome as usize))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn flight_wait(&self, kind: CacheKind) {
        if let Some(c) = self.flight_waits.get(kind as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn checksum(&self, outcome: ChecksumOutcome) {
        if let Some(c) = self.checksum.get(outcome as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A fill that failed on our own storage (never an upstream's fault).
    pub fn storage_failure(&self, no_space: bool) {
        if let Some(c) = self.storage_failures.get(usize::from(no_space)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn refused(&self, why: Refusal) {
        if let Some(c) = self.refusals.get(why as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One upstream fetch, attributed to the source named in the chain's
    /// provenance or error (an upstream display name).
    pub fn upstream_fetch(&self, source: &str, ok: bool, elapsed: Duration) {
        let series = self
            .upstreams
            .iter()
            .find(|u| u.name == source)
            .unwrap_or(&self.other_upstream);
        if ok { &series.ok } else { &series.failed }.observe(elapsed);
    }

    /// Total served responses with this outcome (all kinds), for the home page.
    /// Module requests (list, @latest, .info, .mod, .zip) answered with a
    /// server-side failure (5xx, or a status without its own series).
    pub fn failed_module_answers(&self) -> u64 {
        let module = [
            Endpoint::List,
            Endpoint::Latest,
            Endpoint::Info,
            Endpoint::Mod,
            Endpoint::Zip,
        ];
        module
            .iter()
            .filter_map(|e| self.requests.get(*e as usize))
            .flat_map(|row| {
                row.iter()
                    .zip(STATUSES)
                    .filter(|(_, status)| *status >= 500 || *status == 0)
                    .map(|(c, _)| c.load(Ordering::Relaxed))
            })
            .sum()
    }

    pub fn responses_with(&self, outcome: Outcome) -> u64 {
        self.responses
            .iter()
            .filter_map(|k| k.get(outcome as usize))
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The text exposition (format 0.0.4), with upstream health read now.
    pub fn render(&self, chain: &Chain) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);

        header(
            &mut out,
            "goxy_requests_total",
            "counter",
            "HTTP requests answered, by endpoint kind and status code.",
        );
        for endpoint in Endpoint::ALL {
            for (i, status) in STATUSES.iter().enumerate() {
                let value = self
                    .requests
                    .get(endpoint.index())
                    .and_then(|r| r.get(i))
                    .map(load)
                    .unwrap_or(0);
                let status = if *status == 0 {
                    "other".to_string()
                } else {
                    status.to_string()
                };
                let _ = writeln!(
                    out,
                    "goxy_requests_total{{endpoint=\"{}\",status=\"{status}\"}} {value}",
                    endpoint.as_str()
                );
            }
        }
        header(
            &mut out,
            "goxy_response_bytes_total",
            "counter",
            "Response body bytes sent, by endpoint kind.",
        );
        for endpoint in Endpoint::ALL {
            let value = self.bytes.get(endpoint.index()).map(load).unwrap_or(0);
            let _ = writeln!(
                out,
                "goxy_response_bytes_total{{endpoint=\"{}\"}} {value}",
                endpoint.as_str()
            );
        }
        header(
            &mut out,
            "goxy_cache_lookups_total",
            "counter",
            "Cache tier lookups by tier (memory, disk, meta), kind and result (hit, miss).",
        );
        for tier in Tier::ALL {
            for kind in CacheKind::ALL {
                for (hit, result) in [(0usize, "miss"), (1, "hit")] {
                    let value = self
                        .lookups
                        .get(tier as usize)
                        .and_then(|t| t.get(kind as usize))
                        .and_then(|k| k.get(hit))
                        .map(load)
                        .unwrap_or(0);
                    let _ = writeln!(
                        out,
                        "goxy_cache_lookups_total{{tier=\"{}\",kind=\"{}\",result=\"{result}\"}} {value}",
                        tier.as_str(),
                        kind.as_str()
                    );
                }
            }
        }
        header(
            &mut out,
            "goxy_cache_responses_total",
            "counter",
            "Module responses served, by kind and cache outcome (hit, miss, stale); the hit ratio is hit over all.",
        );
        for kind in CacheKind::ALL {
            for outcome in OUTCOMES {
                let value = self
                    .responses
                    .get(kind as usize)
                    .and_then(|k| k.get(outcome as usize))
                    .map(load)
                    .unwrap_or(0);
                let _ = writeln!(
                    out,
                    "goxy_cache_responses_total{{kind=\"{}\",outcome=\"{}\"}} {value}",
                    kind.as_str(),
                    outcome.as_str()
                );
            }
        }
        header(
            &mut out,
            "goxy_singleflight_waits_total",
            "counter",
            "Requests that waited for another request's fetch of the same thing.",
        );
        for kind in CacheKind::ALL {
            let value = self.flight_waits.get(kind as usize).map(load).unwrap_or(0);
            let _ = writeln!(
                out,
                "goxy_singleflight_waits_total{{kind=\"{}\"}} {value}",
                kind.as_str()
            );
        }
        header(
            &mut out,
            "goxy_checksum_verifications_total",
            "counter",
            "Checksum-database verifications before commit, by outcome.",
        );
        for (i, outcome) in ChecksumOutcome::ALL.iter().enumerate() {
            let outcome = outcome.as_str();
            let value = self.checksum.get(i).map(load).unwrap_or(0);
            let _ = writeln!(
                out,
                "goxy_checksum_verifications_total{{outcome=\"{outcome}\"}} {value}"
            );
        }
        header(
            &mut out,
            "goxy_refused_total",
            "counter",
            "Requests refused by policy (rate limits, authentication, module scope).",
        );
        for why in Refusal::ALL {
            let value = self.refusals.get(why as usize).map(load).unwrap_or(0);
            let _ = writeln!(
                out,
                "goxy_refused_total{{reason=\"{}\"}} {value}",
                why.as_str()
            );
        }

        header(
            &mut out,
            "goxy_upstream_fetch_duration_seconds",
            "histogram",
            "Time to fetch and validate from an upstream, by upstream and result.",
        );
        for series in self
            .upstreams
            .iter()
            .chain(std::iter::once(&self.other_upstream))
        {
            let name = escape_label(&series.name);
            for (result, histogram) in [("ok", &series.ok), ("error", &series.failed)] {
                let mut cumulative = 0u64;
                for (i, bucket) in histogram.buckets.iter().enumerate() {
                    cumulative += load(bucket);
                    let le = LATENCY_BUCKETS
                        .get(i)
                        .map(|b| b.to_string())
                        .unwrap_or_else(|| "+Inf".into());
                    let _ = writeln!(
                        out,
                        "goxy_upstream_fetch_duration_seconds_bucket{{upstream=\"{name}\",result=\"{result}\",le=\"{le}\"}} {cumulative}"
                    );
                }
                let labels = format!("upstream=\"{name}\",result=\"{result}\"");
                let _ = writeln!(
                    out,
                    "goxy_upstream_fetch_duration_seconds_sum{{{labels}}} {}",
                    load(&histogram.sum_micros) as f64 / 1e6
                );
                let _ = writeln!(
                    out,
                    "goxy_upstream_fetch_duration_seconds_count{{{labels}}} {}",
                    load(&histogram.count)
                );
            }
        }
        header(
            &mut out,
            "goxy_upstream_up",
            "gauge",
            "1 when the upstream's circuit is not open (it is being asked).",
        );
        for u in chain.upstreams() {
            let h = u.health();
            let _ = writeln!(
                out,
                "goxy_upstream_up{{upstream=\"{}\"}} {}",
                escape_label(&u.name),
                u8::from(h.state != CircuitState::Open)
            );
        }
        header(
            &mut out,
            "goxy_upstream_circuit_state",
            "gauge",
            "The upstream's circuit breaker state (1 for the current state).",
        );
        for u in chain.upstreams() {
            let h = u.health();
            for state in [
                CircuitState::Closed,
                CircuitState::HalfOpen,
                CircuitState::Open,
            ] {
                let _ = writeln!(
                    out,
                    "goxy_upstream_circuit_state{{upstream=\"{}\",state=\"{}\"}} {}",
                    escape_label(&u.name),
                    state.as_str(),
                    u8::from(h.state == state)
                );
            }
        }
        header(
            &mut out,
            "goxy_upstream_health_score",
            "gauge",
            "Health score from recent error rate and latency: 1 healthy, 0 failing.",
        );
        for u in chain.upstreams() {
            let _ = writeln!(
                out,
                "goxy_upstream_health_score{{upstream=\"{}\"}} {}",
                escape_label(&u.name),
                u.health().score
            );
        }

        header(
            &mut out,
            "goxy_storage_failures_total",
            "counter",
            "Fills that failed on local storage (no_space: disk full or quota; io: any other error).",
        );
        for (kind, value) in [
            ("io", &self.storage_failures[0]),
            ("no_space", &self.storage_failures[1]),
        ] {
            let _ = writeln!(
                out,
                "goxy_storage_failures_total{{kind=\"{kind}\"}} {}",
                load(value)
            );
        }

        let gauges: [(&str, &str, &str, &AtomicU64); 10] = [
            ("goxy_connections_open", "gauge", "Client connections currently open.", &self.connections_open),
            ("goxy_connections_rejected_total", "counter", "Connections closed at once because max_connections were open.", &self.connections_rejected),
            ("goxy_connections_timed_out_total", "counter", "Connections closed because the TLS handshake or the first request bytes did not arrive in time.", &self.connections_timed_out),
            ("goxy_connections_idle_closed_total", "counter", "Connections closed after idle_timeout with no request in flight (before the first request: header_read_timeout).", &self.connections_idle_closed),
            ("goxy_tls_handshake_failures_total", "counter", "TLS handshakes that failed.", &self.tls_handshake_failures),
            ("goxy_tls_reloads_total", "counter", "Certificate reloads that succeeded.", &self.tls_reloads_ok),
            ("goxy_tls_reload_failures_total", "counter", "Certificate reloads that failed (the previous certificate stays in use).", &self.tls_reloads_failed),
            ("goxy_audit_lines_total", "counter", "Audit log lines written.", &self.audit_lines),
            ("goxy_audit_dropped_total", "counter", "Audit log lines dropped because the writer fell behind for longer than the wait limit.", &self.audit_dropped),
            ("goxy_audit_write_errors_total", "counter", "Audit log writes that failed.", &self.audit_write_errors),
        ];
        for (name, kind, help, value) in gauges {
            header(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {}", load(value));
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(text: &str, series: &str) -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn counters_land_in_their_series() {
        let http = goxy_fetch::HttpClient::new(goxy_fetch::HttpConfig {
            timeouts: goxy_fetch::Timeouts::default(),
            proxy: goxy_fetch::ProxyEnv::default(),
            extra_ca_file: None,
        })
        .unwrap();
        let chain = Chain::new(
            goxy_fetch::proxylist::parse("https://user:pw@proxy.example").unwrap(),
            http,
            None,
        );
        let m = Metrics::for_chain(&chain);
        let name = chain.upstreams()[0].name.clone();
        assert!(!name.contains("pw"), "{name}");
        m.request(Endpoint::Zip, 200, 1000);
        m.request(Endpoint::Zip, 200, 24);
        m.request(Endpoint::Mod, 599, 0);
        m.lookup(Tier::Memory, CacheKind::Zip, false);
        m.lookup(Tier::Disk, CacheKind::Zip, true);
        m.response(CacheKind::Zip, Outcome::Hit);
        m.upstream_fetch(&name, true, Duration::from_millis(30));
        m.upstream_fetch(&name, true, Duration::from_secs(100));
        m.upstream_fetch("direct", false, Duration::from_millis(1));
        let text = m.render(&chain);
        assert!(!text.contains("pw@"));
        assert_eq!(
            value_of(
                &text,
                "goxy_requests_total{endpoint=\"zip\",status=\"200\"}"
            ),
            Some(2)
        );
        assert_eq!(
            value_of(
                &text,
                "goxy_requests_total{endpoint=\"mod\",status=\"other\"}"
            ),
            Some(1)
        );
        assert_eq!(
            value_of(&text, "goxy_response_bytes_total{endpoint=\"zip\"}"),
            Some(1024)
        );
        assert_eq!(
            value_of(
                &text,
                "goxy_cache_lookups_total{tier=\"memory\",kind=\"zip\",result=\"miss\"}"
            ),
            Some(1)
        );
        assert_eq!(
            value_of(
                &text,
                "goxy_cache_lookups_total{tier=\"disk\",kind=\"zip\",result=\"hit\"}"
            ),
            Some(1)
        );
        assert_eq!(
            value_of(
                &text,
                "goxy_cache_responses_total{kind=\"zip\",outcome=\"hit\"}"
            ),
            Some(1)
        );
        let up = format!("upstream=\"{name}\",result=\"ok\"");
        assert_eq!(
            value_of(
                &text,
                &format!("goxy_upstream_fetch_duration_seconds_bucket{{{up},le=\"0.025\"}}")
            ),
            Some(0)
        );
        assert_eq!(
            value_of(
                &text,
                &format!("goxy_upstream_fetch_duration_seconds_bucket{{{up},le=\"0.05\"}}")
            ),
            Some(1)
        );
        assert_eq!(
            value_of(
                &text,
                &format!("goxy_upstream_fetch_duration_seconds_bucket{{{up},le=\"+Inf\"}}")
            ),
            Some(2)
        );
        assert_eq!(
            value_of(
                &text,
                &format!("goxy_upstream_fetch_duration_seconds_count{{{up}}}")
            ),
            Some(2)
        );
        assert_eq!(
            value_of(
                &text,
                "goxy_upstream_fetch_duration_seconds_count{upstream=\"other\",result=\"error\"}"
            ),
            Some(1)
        );
        assert_eq!(
            value_of(&text, &format!("goxy_upstream_up{{upstream=\"{name}\"}}")),
            Some(1)
        );
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
