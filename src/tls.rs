//! TLS for both servers (`serve --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]`):
//! gRPC through tonic's rustls support, the workbench through tokio-rustls with the same
//! certificate. With a client CA, both require a client certificate it signed (mutual TLS);
//! tokens still say who the caller is and what their role allows.
//!
//! The files are read and parsed at start, so a wrong path or a key that is not PEM stops
//! the server with the file's name instead of failing at the first handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

/// Where the PEM files are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first.
    pub cert: PathBuf,
    /// The server certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates that sign the client certificates to accept; `None`: no client
    /// certificate is asked for.
    pub client_ca: Option<PathBuf>,
}

/// The certificates and key, read and checked.
#[derive(Debug, Clone)]
pub struct Tls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    client_ca_pem: Option<Vec<u8>>,
    /// The workbench's rustls configuration, built from the same files.
    workbench: Arc<rustls::ServerConfig>,
}

impl Tls {
    /// Reads the files and builds both servers' configurations.
    pub fn load(files: &TlsFiles) -> anyhow::Result<Tls> {
        let read = |path: &Path| {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
        };
        let cert_pem = read(&files.cert)?;
        let key_pem = read(&files.key)?;
        let client_ca_pem = files.client_ca.as_deref().map(read).transpose()?;

        let chain = certificates(&cert_pem, &files.cert)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .with_context(|| format!("{} holds no PEM private key", files.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .context("configuring TLS")?;
        let builder = match (&client_ca_pem, &files.client_ca) {
            (Some(pem), Some(path)) => {
                let mut roots = rustls::RootCertStore::empty();
                for ca in certificates(pem, path)? {
                    roots
                        .add(ca)
                        .with_context(|| format!("{}: not a CA certificate", path.display()))?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .with_context(|| format!("{}: cannot verify clients with it", path.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut workbench = builder.with_single_cert(chain, key).with_context(|| {
            format!(
                "{} and {} are not a certificate and its key",
                files.cert.display(),
                files.key.display()
            )
        })?;
        workbench.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            cert_pem,
            key_pem,
            client_ca_pem,
            workbench: Arc::new(workbench),
        })
    }

    /// Whether clients must show a certificate.
    pub fn mutual(&self) -> bool {
        self.client_ca_pem.is_some()
    }

    /// tonic's configuration for the gRPC server.
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        let config = tonic::transport::ServerTlsConfig::new().identity(
            tonic::transport::Identity::from_pem(&self.cert_pem, &self.key_pem),
        );
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(tonic::transport::Certificate::from_pem(ca)),
            None => config,
        }
    }

    /// The acceptor the workbench wraps each accepted socket in.
    pub fn workbench(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.workbench))
    }
}

/// Every certificate in a PEM file; at least one.
fn certificates(pem: &[u8], path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not PEM", path.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no PEM certificate",
        path.display()
    );
    Ok(chain)
}
