//! The home page: how to point `go` at this proxy, upstream health and the
//! cache hit rate.

use crate::app::App;
use crate::metrics::Outcome;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The GOPROXY value that reaches this server from where the request came:
/// its Host header (validated: a host and optional port only), else the
/// listen address. `,direct` lets go fetch what goxy has no source for,
/// as its own default does.
pub fn goproxy_line(host: Option<&str>, scheme: &str, listen: &str) -> String {
    let valid = |h: &&str| {
        !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    };
    let host = host.filter(valid).unwrap_or(listen);
    format!("go env -w GOPROXY={scheme}://{host},direct")
}

pub fn page(app: &App, host: Option<&str>) -> Response<Full<Bytes>> {
    let hits = app.metrics.responses_with(Outcome::Hit);
    let misses = app.metrics.responses_with(Outcome::Miss);
    let stale = app.metrics.responses_with(Outcome::Stale);
    // A failed answer is a request the cache did not serve: it counts.
    let failed = app.metrics.failed_module_answers();
    let total = hits + misses + stale + failed;
    let hit_rate = if total == 0 {
        "no requests yet".to_string()
    } else {
        format!("{:.1}%", 100.0 * hits as f64 / total as f64)
    };
    let mut rows = String::new();
    for upstream in app.chain().upstreams() {
        let h = upstream.health();
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.0} ms</td><td>{}/{}</td></tr>\n",
            escape_html(&upstream.name),
            h.state.as_str(),
            h.score,
            h.latency_ewma_ms,
            h.failures,
            h.requests
        ));
    }
    let mut databases = String::new();
    for db in app.sumdb_statuses() {
        let state = match db.status.up {
            None => "not asked yet",
            Some(true) => "up",
            Some(false) => "DOWN",
        };
        databases.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape_html(&db.name),
            state,
            escape_html(db.status.route.as_deref().unwrap_or("not chosen yet")),
            escape_html(db.status.last_error.as_deref().unwrap_or("")),
        ));
    }
    let goproxy = escape_html(&goproxy_line(host, app.scheme(), app.listen()));
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>goxy</title></head><body>\n\
         <h1>goxy — Go module proxy</h1>\n\
         <p>Point the go command at this proxy:</p>\n\
         <pre id=\"goenv\">{goproxy}</pre>\n\
         <h2>Cache</h2><p>Hit rate: <span id=\"hit-rate\">{hit_rate}</span> ({hits} hits, {misses} misses, {stale} stale, {failed} failed)</p>\n\
         <h2>Upstreams</h2><table id=\"upstreams\"><tr><th>upstream</th><th>circuit</th><th>health</th><th>latency</th><th>failures/requests</th></tr>\n{rows}</table>\n\
         <h2>Checksum databases</h2><table id=\"sumdb\"><tr><th>database</th><th>state</th><th>route</th><th>last error</th></tr>\n{databases}</table>\n\
         <p>For machines: <a href=\"/metrics\">/metrics</a> (Prometheus), <a href=\"/healthz\">/healthz</a> (alive), \
         <a href=\"/readyz\">/readyz</a> (storage writable and a source healthy).</p>\n\
         </body></html>\n"
    );
    let mut resp = Response::new(Full::new(Bytes::from(html)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
