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

pub fn page(app: &App) -> Response<Full<Bytes>> {
    let hits = app.metrics.responses_with(Outcome::Hit);
    let misses = app.metrics.responses_with(Outcome::Miss);
    let stale = app.metrics.responses_with(Outcome::Stale);
    let total = hits + misses + stale;
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
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>goxy</title></head><body>\n\
         <h1>goxy — Go module proxy</h1>\n\
         <p>Point the go command at this proxy (replace the host with the address you reach this page at):</p>\n\
         <pre id=\"goenv\">go env -w GOPROXY=<span class=\"origin\">http://this-host</span>,direct</pre>\n\
         <script>for (const e of document.querySelectorAll('.origin')) e.textContent = location.origin;</script>\n\
         <h2>Cache</h2><p>Hit rate: <span id=\"hit-rate\">{hit_rate}</span> ({hits} hits, {misses} misses, {stale} stale)</p>\n\
         <h2>Upstreams</h2><table id=\"upstreams\"><tr><th>upstream</th><th>circuit</th><th>health</th><th>latency</th><th>failures/requests</th></tr>\n{rows}</table>\n\
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
