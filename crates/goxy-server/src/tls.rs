//! HTTPS: rustls with the ring provider, ALPN `h2` and `http/1.1`, and a
//! certificate that can be replaced without a restart: the files are
//! re-read on SIGHUP and whenever their modification time changes (checked
//! every `tls.reload_interval` seconds). A reload that fails keeps the
//! certificate in use and is logged and counted.

use crate::metrics::Metrics;
use crate::opsconfig::TlsSettings;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Loads a PEM certificate chain and private key into a signing key.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("tls.cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls.cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "tls.cert {}: no PEM certificates in the file",
            cert.display()
        ));
    }
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls.key {}: {e}", key.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| format!("tls.key {}: unsupported private key: {e}", key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        format!(
            "tls.key {}: does not match the certificate in {}: {e}",
            key.display(),
            cert.display()
        )
    })?;
    Ok(certified)
}

/// The certificate currently served; swapped atomically on reload.
#[derive(Debug)]
pub struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    cert: Arc<ReloadingCert>,
    settings: TlsSettings,
}

fn mtimes(settings: &TlsSettings) -> (Option<SystemTime>, Option<SystemTime>) {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(&settings.cert), m(&settings.key))
}

impl Tls {
    pub fn new(settings: &TlsSettings) -> Result<Tls, String> {
        let first = load_certified_key(&settings.cert, &settings.key)?;
        let cert = Arc::new(ReloadingCert {
            current: RwLock::new(Arc::new(first)),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(cert.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            cert,
            settings: settings.clone(),
        })
    }

    /// Re-reads the files now.
    pub fn reload(&self, metrics: &Metrics) -> Result<(), String> {
        match load_certified_key(&self.settings.cert, &self.settings.key) {
            Ok(key) => {
                *self.cert.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
                metrics.tls_reloads_ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(cert = %self.settings.cert.display(), "TLS certificate reloaded");
                Ok(())
            }
            Err(e) => {
                metrics.tls_reloads_failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "TLS certificate reload failed; keeping the previous certificate");
                Err(e)
            }
        }
    }

    /// Reloads on SIGHUP and when the files' modification times change.
    pub async fn watch(self: Arc<Self>, metrics: Arc<Metrics>) {
        let mut seen = mtimes(&self.settings);
        let mut tick = tokio::time::interval(
            self.settings
                .reload_interval
                .max(std::time::Duration::from_millis(100)),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let by_signal = async {
                match hup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let by_signal = std::future::pending::<()>();
            let forced = tokio::select! {
                _ = tick.tick() => false,
                _ = by_signal => true,
            };
            let now = mtimes(&self.settings);
            if forced || now != seen {
                // A cert and key written one after the other may be briefly
                // mismatched; the next change (or tick with changed mtimes) retries.
                if self.reload(&metrics).is_ok() || forced {
                    seen = now;
                }
            }
        }
    }
}
