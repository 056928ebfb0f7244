//! TLS for tokio-postgres over rustls (the aws-lc-rs provider reqwest already uses): no OpenSSL,
//! no libpq. One verifier implements libpq's three checking levels, so `verify-ca` (chain, no host
//! name) is possible, which rustls' stock verifier cannot do.
//!
//! Channel binding (`SCRAM-SHA-256-PLUS`) is not offered: SCRAM-SHA-256 without it is used, as
//! with libpq's default `channel_binding=prefer` when the client has none.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::url::{PgTarget, RootCerts, roots_label};

/// What the verifier checks of the server's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Nothing (`sslmode=require` without `sslrootcert`): encryption against passive listeners.
    Nothing,
    /// The chain leads to a trusted root (`verify-ca`, or `require` with `sslrootcert`).
    Chain,
    /// The chain, and the certificate names the host (`verify-full`).
    ChainAndHost,
}

/// The `MakeTlsConnect` handed to `tokio_postgres::Config::connect`.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Option<Arc<ClientConfig>>,
}

impl MakeRustls {
    /// The connector for `target`; reads `sslrootcert` (or the system roots) when the mode
    /// verifies. The error is an operator message.
    pub(crate) fn new(target: &PgTarget) -> Result<MakeRustls, String> {
        let Some(check) = target.tls_check() else {
            return Ok(MakeRustls { config: None });
        };
        let roots = match check {
            Check::Nothing => RootCertStore::empty(),
            Check::Chain | Check::ChainAndHost => load_roots(target.roots())?,
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = PgVerifier {
            check,
            roots: Arc::new(roots),
            provider: provider.clone(),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(MakeRustls {
            config: Some(Arc::new(config)),
        })
    }
}

fn load_roots(roots: &RootCerts) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        RootCerts::File(path) => {
            let label = roots_label(roots);
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {label}: {e}"))?;
            let certs = CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{label} is not a PEM certificate file: {e}"))?;
            if certs.is_empty() {
                return Err(format!("{label} holds no PEM certificate"));
            }
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| format!("{label} holds a certificate rustls refuses: {e}"))?;
            }
        }
        RootCerts::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Err(format!(
                    "no system root certificates found{why}; give sslrootcert=<PEM file>"
                ));
            }
        }
    }
    Ok(store)
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let config = self.config.clone();
        let name = match &config {
            None => None,
            Some(_) => Some(ServerName::try_from(domain.to_string()).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("TLS server name: {e}"))
            })?),
        };
        Ok(RustlsConnect { config, name })
    }
}

/// One connection attempt's TLS handshake.
pub(crate) struct RustlsConnect {
    config: Option<Arc<ClientConfig>>,
    name: Option<ServerName<'static>>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let (Some(config), Some(name)) = (self.config, self.name) else {
                return Err(io::Error::other("TLS is disabled for this connection"));
            };
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(tls))
        })
    }
}

/// The encrypted stream.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

/// libpq's checking levels over rustls' webpki primitives.
#[derive(Debug)]
struct PgVerifier {
    check: Check,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PgVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.check == Check::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        if self.check == Check::ChainAndHost {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls error inside a failed connection, if TLS failed.
pub(crate) fn find_rustls_error(e: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        // tokio-rustls wraps the rustls error in an io::Error, whose `source` skips it.
        if let Some(r) = err
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// An operator message naming the check that failed, when `e` is a certificate verdict of ours;
/// `None` for other TLS failures (a broken-off handshake, a protocol mismatch).
pub(crate) fn describe_verification_failure(
    e: &rustls::Error,
    target: &PgTarget,
) -> Option<String> {
    let rustls::Error::InvalidCertificate(cert) = e else {
        return None;
    };
    let mode = target.sslmode();
    let roots = roots_label(target.roots());
    Some(match cert {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let names = match cert {
                CertificateError::NotValidForNameContext { presented, .. }
                    if !presented.is_empty() =>
                {
                    format!(" (it names {})", presented.join(", "))
                }
                _ => String::new(),
            };
            format!(
                "TLS host name check failed: the server's certificate is not valid for {:?}{names}; \
                 sslmode={mode} checks the host name, connect by a name the certificate lists",
                target.host()
            )
        }
        CertificateError::UnknownIssuer => format!(
            "TLS certificate chain check failed: the server's certificate is not signed by {roots} \
             (sslmode={mode})"
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
            "TLS certificate chain check failed: the server's certificate has expired (sslmode={mode})"
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
            "TLS certificate chain check failed: the server's certificate is not valid yet \
             (check this host's clock; sslmode={mode})"
        ),
        other => format!(
            "TLS certificate chain check failed against {roots}: {other:?} (sslmode={mode})"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::url::SslMode;
    use super::*;

    fn target(url: &str) -> PgTarget {
        PgTarget::parse(url).unwrap()
    }

    #[test]
    fn the_check_follows_libpq() {
        let t = |url| target(url).tls_check();
        assert_eq!(t("postgres://u@db.example.com/d?sslmode=disable"), None);
        assert_eq!(
            t("postgres://u@db.example.com/d?sslmode=require"),
            Some(Check::Nothing)
        );
        assert_eq!(
            t("postgres://u@db.example.com/d?sslmode=require&sslrootcert=/ca.pem"),
            Some(Check::Chain)
        );
        assert_eq!(
            t("postgres://u@db.example.com/d?sslmode=verify-ca"),
            Some(Check::Chain)
        );
        assert_eq!(
            t("postgres://u@db.example.com/d?sslmode=verify-full"),
            Some(Check::ChainAndHost)
        );
        assert_eq!(t("postgres://u@db.example.com/d").map(|_| ()), Some(()));
        assert_eq!(
            target("postgres://u@db.example.com/d").sslmode(),
            SslMode::Require
        );
    }

    #[test]
    fn a_missing_or_empty_root_file_is_an_operator_message() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.pem");
        let url = format!(
            "postgres://u@db.example.com/d?sslmode=verify-full&sslrootcert={}",
            missing.display()
        );
        let err = MakeRustls::new(&target(&url)).err().unwrap();
        assert!(err.starts_with("cannot read sslrootcert="), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let url = format!(
            "postgres://u@db.example.com/d?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        );
        let err = MakeRustls::new(&target(&url)).err().unwrap();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    #[test]
    fn require_without_roots_reads_no_file() {
        assert!(MakeRustls::new(&target("postgres://u@db.example.com/d?sslmode=require")).is_ok());
    }

    #[test]
    fn verdicts_name_the_check_that_failed() {
        let t = target("postgres://u@127.0.0.1/d?sslmode=verify-full&sslrootcert=/ca.pem");
        let host = describe_verification_failure(
            &rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
            &t,
        )
        .unwrap();
        assert!(host.starts_with("TLS host name check failed"), "{host}");
        assert!(host.contains("\"127.0.0.1\""), "{host}");
        let chain = describe_verification_failure(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &t,
        )
        .unwrap();
        assert!(
            chain.starts_with("TLS certificate chain check failed"),
            "{chain}"
        );
        assert!(chain.contains("sslrootcert=/ca.pem"), "{chain}");
        assert_eq!(
            describe_verification_failure(&rustls::Error::HandshakeNotComplete, &t),
            None
        );
    }
}
