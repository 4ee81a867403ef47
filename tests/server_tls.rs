//! TLS and mutual TLS on a real server: gRPC through tonic's client, the workbench through
//! a rustls client speaking HTTP/1.1, with certificates made here by rcgen (a CA, the
//! server's for `localhost`, a client's, and a client's from a CA the server does not know).

use std::path::Path;
use std::sync::Arc;

use explainme::pb;
use explainme::pb::explainer_service_client::ExplainerServiceClient;
use explainme::server::{self, ServerConfig};
use explainme::tls::TlsFiles;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A certificate and its key, as PEM.
struct Pem {
    cert: String,
    key: String,
}

/// A CA that signs certificates.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let pem = params.self_signed(&key).unwrap().pem();
        Authority {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    fn sign(&self, names: &[&str]) -> Pem {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, &names[0]);
        Pem {
            cert: params.signed_by(&key, &self.issuer).unwrap().pem(),
            key: key.serialize_pem(),
        }
    }
}

struct Served {
    grpc: String,
    https: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn serve(dir: &Path, server: &Pem, client_ca: Option<&str>) -> Served {
    std::fs::write(dir.join("server.pem"), &server.cert).unwrap();
    std::fs::write(dir.join("server.key"), &server.key).unwrap();
    let client_ca = client_ca.map(|pem| {
        std::fs::write(dir.join("clients.pem"), pem).unwrap();
        dir.join("clients.pem")
    });
    let bound = server::bind(ServerConfig {
        http: Some("127.0.0.1:0".parse().unwrap()),
        tls: Some(TlsFiles {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca,
        }),
        ..ServerConfig::loopback(dir.join("data"))
    })
    .await
    .unwrap();
    let grpc = format!("https://localhost:{}", bound.local_addr().unwrap().port());
    let https = format!(
        "localhost:{}",
        bound.local_http_addr().unwrap().unwrap().port()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(async {
        let _ = stopped.await;
    }));
    Served {
        grpc,
        https,
        stop,
        task,
    }
}

/// ListModels over a TLS channel trusting `ca`, showing `client` when given.
async fn list_models(
    served: &Served,
    ca: &str,
    client: Option<&Pem>,
) -> Result<pb::ListModelsResponse, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(client) = client {
        tls = tls.identity(Identity::from_pem(&client.cert, &client.key));
    }
    let channel = Channel::from_shared(served.grpc.clone())
        .unwrap()
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    ExplainerServiceClient::new(channel)
        .list_models(pb::ListModelsRequest {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| format!("call: {status:?}"))
}

/// `GET /` over HTTPS trusting `ca`: the response head, or why there is none.
async fn workbench_head(served: &Served, ca: &str, client: Option<&Pem>) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(client) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(client.cert.as_bytes()).unwrap()],
                rustls_pki_types::PrivateKeyDer::from_pem_slice(client.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let socket = tokio::net::TcpStream::connect(&served.https).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = connector
        .connect(name, socket)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    match answer.split_once("\r\n\r\n") {
        Some((head, _)) => Ok(head.to_owned()),
        None => Err(format!("no HTTP answer: {answer:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_grpc_and_the_workbench_and_refuses_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("explainme test CA");
    let served = serve(dir.path(), &ca.sign(&["localhost"]), None).await;

    let models = list_models(&served, &ca.pem, None).await.unwrap();
    assert!(models.models.is_empty());
    // A client that does not trust the server's CA gets no answer.
    let stranger = Authority::new("another CA");
    let refused = list_models(&served, &stranger.pem, None).await.unwrap_err();
    eprintln!("an untrusted server: {refused}");
    assert!(refused.contains("connect"), "{refused}");
    // Plain-text HTTP/2 to the TLS port is no gRPC call.
    let plain = Channel::from_shared(served.grpc.replace("https://", "http://"))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain {
        let call = ExplainerServiceClient::new(channel)
            .list_models(pb::ListModelsRequest {})
            .await;
        assert!(call.is_err(), "{call:?}");
    }

    let head = workbench_head(&served, &ca.pem, None).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.lines().any(|line| line.starts_with("set-cookie:")
            && line.contains("HttpOnly")
            && line.contains("; Secure")),
        "the session cookie is Secure over HTTPS: {head}"
    );

    served.stop.send(()).unwrap();
    served.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_lets_in_only_clients_the_ca_signed() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("explainme test CA");
    let clients = Authority::new("ward clients CA");
    let served = serve(dir.path(), &ca.sign(&["localhost"]), Some(&clients.pem)).await;
    let ward = clients.sign(&["ward-pacs"]);
    let rogue = Authority::new("rogue CA").sign(&["ward-pacs"]);

    list_models(&served, &ca.pem, Some(&ward)).await.unwrap();
    for (who, client) in [("no certificate", None), ("a rogue CA's", Some(&rogue))] {
        let refused = list_models(&served, &ca.pem, client).await;
        eprintln!("gRPC with {who}: {refused:?}");
        assert!(refused.is_err(), "{who}: {refused:?}");
        let head = workbench_head(&served, &ca.pem, client).await;
        eprintln!("workbench with {who}: {head:?}");
        assert!(head.is_err(), "{who}: {head:?}");
    }
    let head = workbench_head(&served, &ca.pem, Some(&ward)).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    served.stop.send(()).unwrap();
    served.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn unreadable_or_mismatched_tls_files_stop_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Authority::new("explainme test CA");
    let one = ca.sign(&["localhost"]);
    let other = ca.sign(&["localhost"]);
    std::fs::write(dir.path().join("one.pem"), &one.cert).unwrap();
    std::fs::write(dir.path().join("other.key"), &other.key).unwrap();
    std::fs::write(dir.path().join("not.pem"), "hello").unwrap();
    let start = |cert: &str, key: &str| {
        server::bind(ServerConfig {
            tls: Some(TlsFiles {
                cert: dir.path().join(cert),
                key: dir.path().join(key),
                client_ca: None,
            }),
            ..ServerConfig::loopback(dir.path().join("data"))
        })
    };
    for (cert, key, says) in [
        ("missing.pem", "other.key", "cannot read"),
        ("not.pem", "other.key", "holds no PEM certificate"),
        ("one.pem", "not.pem", "holds no PEM private key"),
        ("one.pem", "other.key", "are not a certificate and its key"),
    ] {
        let error = format!("{:#}", start(cert, key).await.unwrap_err());
        assert!(error.contains(says), "{cert} {key}: {error}");
    }
}
