//! Health of one upstream: latency and error rate over recent requests, and a
//! circuit breaker that stops sending requests to an upstream that keeps
//! failing, then lets a single probe request through after a cool-down.
//!
//! The breaker never reorders the upstream list: an upstream whose circuit is
//! open fails at once, and the chain applies the same `,`/`|` rule to that
//! failure as to any other, so the semantics stay those of GOPROXY while a
//! dead upstream costs no time-out.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: usize = 20;
const MIN_SAMPLES: usize = 10;
const OPEN_AFTER_CONSECUTIVE: u32 = 5;
const FIRST_COOLDOWN: Duration = Duration::from_secs(5);
const MAX_COOLDOWN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half-open",
        }
    }
}

/// Whether a request may go to the upstream now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// The circuit is half-open and this request is the probe.
    Probe,
    Rejected,
}

#[derive(Debug, Clone)]
pub struct HealthSnapshot {
    pub state: CircuitState,
    /// 1.0 is perfectly healthy, 0.0 is failing everything.
    pub score: f64,
    pub error_rate: f64,
    pub latency_ewma_ms: f64,
    pub requests: u64,
    pub failures: u64,
}

#[derive(Debug)]
struct State {
    outcomes: VecDeque<bool>,
    consecutive_failures: u32,
    latency_ewma_ms: f64,
    open_until: Option<Instant>,
    cooldown: Duration,
    probe_in_flight: bool,
    requests: u64,
    failures: u64,
}

#[derive(Debug)]
pub struct Health {
    state: Mutex<State>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            state: Mutex::new(State {
                outcomes: VecDeque::with_capacity(WINDOW),
                consecutive_failures: 0,
                latency_ewma_ms: 0.0,
                open_until: None,
                cooldown: FIRST_COOLDOWN,
                probe_in_flight: false,
                requests: 0,
                failures: 0,
            }),
        }
    }
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn admit(&self) -> Admission {
        let mut s = self.lock();
        match s.open_until {
            None => Admission::Allowed,
            Some(until) if Instant::now() < until => Admission::Rejected,
            Some(_) if s.probe_in_flight => Admission::Rejected,
            Some(_) => {
                s.probe_in_flight = true;
                Admission::Probe
            }
        }
    }

    /// Records the outcome of a request that was sent.
    pub fn record(&self, ok: bool, latency: Duration) {
        let mut s = self.lock();
        s.requests += 1;
        let ms = latency.as_secs_f64() * 1000.0;
        s.latency_ewma_ms = if s.requests == 1 {
            ms
        } else {
            0.8 * s.latency_ewma_ms + 0.2 * ms
        };
        if s.outcomes.len() == WINDOW {
            s.outcomes.pop_front();
        }
        s.outcomes.push_back(ok);
        s.probe_in_flight = false;
        if ok {
            s.consecutive_failures = 0;
            if s.open_until.is_some() {
                s.open_until = None;
                s.cooldown = FIRST_COOLDOWN;
                s.outcomes.clear();
            }
            return;
        }
        s.failures += 1;
        s.consecutive_failures += 1;
        let recent_failures = s.outcomes.iter().filter(|ok| !**ok).count();
        let rate_trips = s.outcomes.len() >= MIN_SAMPLES && recent_failures * 2 >= s.outcomes.len();
        if s.open_until.is_some() {
            // The probe failed: stay open, longer.
            s.cooldown = (s.cooldown * 2).min(MAX_COOLDOWN);
            s.open_until = Some(Instant::now() + s.cooldown);
        } else if s.consecutive_failures >= OPEN_AFTER_CONSECUTIVE || rate_trips {
            s.open_until = Some(Instant::now() + s.cooldown);
        }
    }

    /// A probe that was admitted but not sent (the request was abandoned).
    pub fn release_probe(&self) {
        self.lock().probe_in_flight = false;
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        let s = self.lock();
        let state = match s.open_until {
            None => CircuitState::Closed,
            Some(until) if Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        };
        let error_rate = if s.outcomes.is_empty() {
            0.0
        } else {
            s.outcomes.iter().filter(|ok| !**ok).count() as f64 / s.outcomes.len() as f64
        };
        // Error rate dominates; latency above a second costs up to a fifth.
        let latency_penalty = (s.latency_ewma_ms / 1000.0).min(1.0) * 0.2;
        let score = match state {
            CircuitState::Open => 0.0,
            _ => ((1.0 - error_rate) * (1.0 - latency_penalty)).clamp(0.0, 1.0),
        };
        HealthSnapshot {
            state,
            score,
            error_rate,
            latency_ewma_ms: s.latency_ewma_ms,
            requests: s.requests,
            failures: s.failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes_back() {
        let h = Health::default();
        for _ in 0..OPEN_AFTER_CONSECUTIVE {
            assert_eq!(h.admit(), Admission::Allowed);
            h.record(false, Duration::from_millis(10));
        }
        assert_eq!(h.admit(), Admission::Rejected);
        assert_eq!(h.snapshot().state, CircuitState::Open);
        assert_eq!(h.snapshot().score, 0.0);
        // Pretend the cool-down passed.
        h.lock().open_until = Some(Instant::now() - Duration::from_millis(1));
        assert_eq!(h.admit(), Admission::Probe);
        assert_eq!(h.admit(), Admission::Rejected, "only one probe at a time");
        h.record(true, Duration::from_millis(10));
        assert_eq!(h.snapshot().state, CircuitState::Closed);
        assert_eq!(h.admit(), Admission::Allowed);
    }

    #[test]
    fn failed_probe_doubles_the_cooldown() {
        let h = Health::default();
        for _ in 0..OPEN_AFTER_CONSECUTIVE {
            h.record(false, Duration::ZERO);
        }
        h.lock().open_until = Some(Instant::now() - Duration::from_millis(1));
        assert_eq!(h.admit(), Admission::Probe);
        h.record(false, Duration::ZERO);
        assert_eq!(h.lock().cooldown, FIRST_COOLDOWN * 2);
        assert_eq!(h.admit(), Admission::Rejected);
    }

    #[test]
    fn error_rate_trips_without_a_streak() {
        let h = Health::default();
        for i in 0..MIN_SAMPLES {
            h.record(i % 2 == 0, Duration::ZERO);
        }
        assert_eq!(h.snapshot().state, CircuitState::Open);
    }

    #[test]
    fn healthy_upstream_scores_high() {
        let h = Health::default();
        for _ in 0..30 {
            h.record(true, Duration::from_millis(20));
        }
        let s = h.snapshot();
        assert!(s.score > 0.99, "{s:?}");
        assert_eq!(s.error_rate, 0.0);
    }
}
