//! The audit log: one JSON line per request, written by one task behind a
//! bounded channel so request handling never waits on disk.
//!
//! When the channel is full a request waits up to `audit.max_wait_ms` for
//! room (backpressure); only if the writer is still stuck after that is the
//! line dropped, counted in `goxy_audit_dropped_total` and reported by a
//! warning log line every 10 s while drops continue. Nothing is dropped
//! silently.

use crate::metrics::Metrics;
use crate::opsconfig::{AuditSettings, AuditTarget};
use serde::Serialize;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// One request, as logged.
#[derive(Debug, Serialize)]
pub struct AuditRecord<'a> {
    pub time: String,
    pub request_id: &'a str,
    pub client: String,
    pub principal: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub cache: &'a str,
    pub duration_ms: f64,
    pub source: &'a str,
}

pub struct AuditLog {
    tx: mpsc::Sender<String>,
    max_wait: Duration,
    metrics: Arc<Metrics>,
}

impl AuditLog {
    /// Opens the target and starts the writer task; `None` when the audit log is off.
    pub fn start(
        settings: &AuditSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Option<(AuditLog, AuditWriter)>, String> {
        let Some(target) = &settings.target else {
            return Ok(None);
        };
        let out: Box<dyn Write + Send> = match target {
            AuditTarget::Stdout => Box::new(std::io::stdout()),
            AuditTarget::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("audit log {}: {e}", path.display()))?,
            ),
        };
        let (tx, rx) = mpsc::channel(settings.buffer);
        let writer = AuditWriter {
            rx,
            out: std::io::BufWriter::new(out),
            metrics: metrics.clone(),
            stop: Arc::new(tokio::sync::Notify::new()),
        };
        Ok(Some((
            AuditLog {
                tx,
                max_wait: settings.max_wait,
                metrics,
            },
            writer,
        )))
    }

    /// Queues one line; waits for room up to the configured limit.
    pub async fn record(&self, record: &AuditRecord<'_>) {
        let line = match serde_json::to_string(record) {
            Ok(line) => line,
            Err(e) => {
                tracing::warn!(error = %e, "audit record could not be encoded");
                self.metrics.audit_dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let line = match self.tx.try_send(line) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(line)) => line,
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.metrics.audit_dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        match tokio::time::timeout(self.max_wait, self.tx.send(line)).await {
            Ok(Ok(())) => {}
            _ => {
                self.metrics.audit_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The task that owns the output. Run it with [`AuditWriter::run`].
pub struct AuditWriter {
    rx: mpsc::Receiver<String>,
    out: std::io::BufWriter<Box<dyn Write + Send>>,
    metrics: Arc<Metrics>,
    stop: Arc<tokio::sync::Notify>,
}

/// Tells a running [`AuditWriter`] to write what is queued, flush and exit.
#[derive(Clone)]
pub struct AuditStop(Arc<tokio::sync::Notify>);

impl AuditStop {
    pub fn stop(&self) {
        // notify_one keeps the permit if the writer is busy writing.
        self.0.notify_one();
    }
}

impl AuditWriter {
    pub fn stopper(&self) -> AuditStop {
        AuditStop(self.stop.clone())
    }

    /// Writes until every sender is gone, flushing whenever the queue runs
    /// dry, and reports drops every 10 s while they happen.
    pub async fn run(mut self) {
        let mut reported_drops = 0u64;
        let mut report = tokio::time::interval(Duration::from_secs(10));
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = self.stop.clone();
        loop {
            tokio::select! {
                _ = stop.notified() => {
                    // Shutting down: whatever requests queued is written before exit.
                    while let Ok(line) = self.rx.try_recv() {
                        self.write(&line);
                    }
                    break;
                }
                line = self.rx.recv() => {
                    let Some(line) = line else { break };
                    self.write(&line);
                    // Drain what is queued before one flush.
                    while let Ok(line) = self.rx.try_recv() {
                        self.write(&line);
                    }
                    if let Err(e) = tokio::task::block_in_place(|| self.out.flush()) {
                        self.metrics.audit_write_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "audit log flush failed");
                    }
                }
                _ = report.tick() => {
                    let dropped = self.metrics.audit_dropped.load(Ordering::Relaxed);
                    if dropped > reported_drops {
                        tracing::warn!(dropped = dropped - reported_drops, total = dropped,
                            "audit log lines dropped: the writer fell behind for longer than audit.max_wait_ms");
                        reported_drops = dropped;
                    }
                }
            }
        }
        if let Err(e) = tokio::task::block_in_place(|| self.out.flush()) {
            self.metrics
                .audit_write_errors
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "audit log flush failed");
        }
    }

    fn write(&mut self, line: &str) {
        let result = tokio::task::block_in_place(|| {
            self.out.write_all(line.as_bytes())?;
            self.out.write_all(b"\n")
        });
        match result {
            Ok(()) => {
                self.metrics.audit_lines.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.metrics
                    .audit_write_errors
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "audit log write failed");
            }
        }
    }
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-21T05:30:41.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// A request id from the client's `X-Request-ID` if it is short and plain,
/// else a fresh random one.
pub fn request_id(offered: Option<&[u8]>) -> String {
    match offered {
        Some(v) if !v.is_empty() && v.len() <= 128 && v.iter().all(|b| b.is_ascii_graphic()) => {
            String::from_utf8_lossy(v).into_owned()
        }
        _ => format!("{:032x}", rand::random::<u128>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(951_782_400_250)),
            "2000-02-29T00:00:00.250Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_239_041)),
            "2026-11-21T05:30:41.000Z"
        );
    }

    #[test]
    fn request_ids() {
        assert_eq!(request_id(Some(b"abc-123")), "abc-123");
        for bad in [&b""[..], b"has space", b"new\nline", &[0xff][..]] {
            let id = request_id(Some(bad));
            assert_eq!(id.len(), 32, "{bad:?}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(request_id(None), request_id(None));
    }

    fn record(status: u16) -> AuditRecord<'static> {
        AuditRecord {
            time: rfc3339(SystemTime::now()),
            request_id: "r",
            client: "127.0.0.1:1".into(),
            principal: "-",
            method: "GET",
            path: "/x",
            status,
            bytes: 1,
            cache: "hit",
            duration_ms: 0.5,
            source: "cache",
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_writer_costs_at_most_the_wait_and_drops_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::new(&[]));
        let settings = AuditSettings {
            target: Some(AuditTarget::File(dir.path().join("audit.log"))),
            buffer: 2,
            max_wait: Duration::from_millis(50),
        };
        // The writer is never run: the queue fills and stays full.
        let (log, _writer) = AuditLog::start(&settings, metrics.clone())
            .unwrap()
            .unwrap();
        let started = std::time::Instant::now();
        for i in 0..5 {
            log.record(&record(200 + i)).await;
        }
        assert_eq!(metrics.audit_dropped.load(Ordering::Relaxed), 3);
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(150) && elapsed < Duration::from_secs(2),
            "{elapsed:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lines_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let metrics = Arc::new(Metrics::new(&[]));
        let settings = AuditSettings {
            target: Some(AuditTarget::File(path.clone())),
            buffer: 2,
            max_wait: Duration::from_secs(5),
        };
        let (log, writer) = AuditLog::start(&settings, metrics.clone())
            .unwrap()
            .unwrap();
        let task = tokio::spawn(writer.run());
        for i in 0..50u16 {
            let record = AuditRecord {
                time: rfc3339(SystemTime::now()),
                request_id: "r",
                client: "127.0.0.1:1".into(),
                principal: "-",
                method: "GET",
                path: "/x",
                status: 200 + i,
                bytes: 1,
                cache: "hit",
                duration_ms: 0.5,
                source: "cache",
            };
            log.record(&record).await;
        }
        drop(log);
        task.await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let statuses: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["status"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(statuses, (200..250).collect::<Vec<u64>>());
        assert_eq!(metrics.audit_lines.load(Ordering::Relaxed), 50);
        assert_eq!(metrics.audit_dropped.load(Ordering::Relaxed), 0);
    }
}
