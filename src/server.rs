//! The gRPC server: `explainme.v1.ExplainerService`, `grpc.health.v1.Health`, and server
//! reflection in both `v1` and `v1alpha` (grpcurl 1.8 only speaks v1alpha).
//!
//! [`bind`] opens the data directory and the listening socket first, so a caller (the CLI,
//! or a test on port 0) learns the address before serving; [`BoundServer::serve`] then runs
//! until the shutdown future completes and lets in-flight calls finish.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use explainme_budget::MemoryBudget;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::api::Api;
use crate::auth::{Authorizer, Tokens};
use crate::gate::GateLayer;
use crate::limits::{Busy, DeadlineLayer};
use crate::pb::explainer_service_server::ExplainerServiceServer;
use crate::tls::{Tls, TlsFiles};

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The socket address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The data directory (SQLite database and blobs); created if missing.
    pub data_dir: PathBuf,
    /// Largest message accepted or sent, in bytes; larger ones fail with RESOURCE_EXHAUSTED.
    /// At least [`ServerConfig::MIN_MAX_MESSAGE_BYTES`].
    pub max_message_bytes: usize,
    /// What one request may allocate for external data, and the cap on ONNX Runtime's arena.
    pub memory_budget: MemoryBudget,
    /// Where to serve the clinician workbench (HTML) beside gRPC; `None`: not served.
    pub http: Option<SocketAddr>,
    /// The tokens file (see [`crate::auth`]); `None`: every caller may do everything, which
    /// is only safe on loopback.
    pub auth: Option<PathBuf>,
    /// Whether to serve gRPC server reflection (what `grpcurl list` reads).
    pub reflection: bool,
    /// Calls served at once; more are answered RESOURCE_EXHAUSTED (health checks excepted).
    pub max_concurrent_calls: usize,
    /// Cases one UpsertCases stream may carry; more are RESOURCE_EXHAUSTED (the earlier
    /// ones stay stored, and the answer says how many).
    pub max_cases_per_stream: usize,
    /// Longest a call may run (`--call-timeout`); past it the call is answered
    /// DEADLINE_EXCEEDED. A client's shorter `grpc-timeout` ends it earlier.
    pub call_timeout: std::time::Duration,
    /// Serve gRPC and the workbench over TLS with these files (see [`crate::tls`]); `None`:
    /// plain TCP, which is only safe on loopback.
    pub tls: Option<TlsFiles>,
}

impl ServerConfig {
    /// DESIGN.md's default address: loopback only, so nothing is exposed by accident.
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
    /// 64 MiB: room for an ONNX model of a few million parameters or a batch of CT crops.
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
    /// 64 KiB: below it not even a small PNG case or a model card fits an answer.
    pub const MIN_MAX_MESSAGE_BYTES: usize = 64 * 1024;
    /// 64 calls at once: a ward's tools and a few researchers, on a machine whose cores run
    /// the models; each call may hold up to the memory budget.
    pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 64;
    /// 100,000 cases per stream: a large cohort in one go, not an endless one.
    pub const DEFAULT_MAX_CASES_PER_STREAM: usize = 100_000;
    /// An hour: a long upload or a 64-case Explain of a large model fits, a hung call does
    /// not hold its slot forever.
    pub const DEFAULT_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

    /// HTTP/2 flow control, per stream: how far a client may send ahead of what a call has
    /// read (1 MiB, hyper's default).
    pub const STREAM_WINDOW_BYTES: u32 = 1024 * 1024;
    /// HTTP/2 flow control, per connection: 8 streams' worth. hyper's default equals one
    /// stream's window, so an UpsertCases stream whose handler is busy storing a case holds
    /// the whole connection window with its unread megabyte, and a Predict on the same
    /// connection (one gRPC channel is what most clients open) waits for the upload to read
    /// on: `cargo bench --bench load` measured Predict's p50 over the uploader's connection
    /// at 10.7 ms against 1.8 ms alone. With room for 8 busy streams the other calls'
    /// frames pass; each connection may then hold up to this much unread data in memory.
    pub const CONNECTION_WINDOW_BYTES: u32 = 8 * ServerConfig::STREAM_WINDOW_BYTES;

    /// The defaults on loopback port 0 for `data_dir`: what tests and benchmarks start.
    pub fn loopback(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: data_dir.into(),
            max_message_bytes: ServerConfig::DEFAULT_MAX_MESSAGE_BYTES,
            memory_budget: MemoryBudget::default(),
            http: None,
            auth: None,
            reflection: true,
            max_concurrent_calls: ServerConfig::DEFAULT_MAX_CONCURRENT_CALLS,
            max_cases_per_stream: ServerConfig::DEFAULT_MAX_CASES_PER_STREAM,
            call_timeout: ServerConfig::DEFAULT_CALL_TIMEOUT,
            tls: None,
        }
    }
}

/// A server with its data directory open and its socket bound, not yet serving.
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    /// The workbench's socket, when asked for.
    http: Option<TcpListener>,
    /// Whether ONNX Runtime loaded: without it no model runs, and health says so.
    runtime_ready: bool,
    tokens: Option<Tokens>,
    reflection: bool,
    max_concurrent_calls: usize,
    call_timeout: std::time::Duration,
    tls: Option<Tls>,
    api: Api,
    max_message_bytes: usize,
}

/// Opens the data directory (applying migrations) and binds the listening socket.
pub async fn bind(config: ServerConfig) -> anyhow::Result<BoundServer> {
    if config.max_message_bytes < ServerConfig::MIN_MAX_MESSAGE_BYTES {
        anyhow::bail!(
            "--max-message-bytes {} is below the minimum of {} bytes",
            config.max_message_bytes,
            ServerConfig::MIN_MAX_MESSAGE_BYTES
        );
    }
    // Started before serving, so its memory cap is the configured budget (and a missing
    // library is logged at start-up, not at the first Predict).
    let tokens = config.auth.as_deref().map(Tokens::load).transpose()?;
    if tokens.is_none() && !config.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %config.listen,
            "serving beyond loopback without --auth: anyone who reaches this port may register, delete and read everything"
        );
    }
    let tls = config.tls.as_ref().map(Tls::load).transpose()?;
    if tls.is_none() && !config.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %config.listen,
            "serving beyond loopback without TLS: tokens, images and labels cross the network in clear"
        );
    }
    let runtime = explainme_onnx::init_runtime_within(&config.memory_budget);
    if let Err(error) = &runtime {
        tracing::warn!(error = ?error.to_string(), "ONNX Runtime is not available");
    }
    anyhow::ensure!(
        config.max_concurrent_calls > 0 && config.max_cases_per_stream > 0,
        "--max-concurrent-calls and --max-cases-per-stream must be at least 1"
    );
    let api = Api::open(
        &config.data_dir,
        config.max_message_bytes,
        config.memory_budget,
        config.max_cases_per_stream,
    )
    .with_context(|| format!("cannot open data directory {}", config.data_dir.display()))?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let http = match config.http {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for the workbench"))?,
        ),
        None => None,
    };
    Ok(BoundServer {
        listener,
        http,
        runtime_ready: runtime.is_ok(),
        tokens,
        reflection: config.reflection,
        max_concurrent_calls: config.max_concurrent_calls,
        call_timeout: config.call_timeout,
        tls,
        api,
        max_message_bytes: config.max_message_bytes,
    })
}

/// Binds and serves until `shutdown` completes.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    bind(config).await?.serve(shutdown).await
}

impl BoundServer {
    /// The address actually bound (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The workbench's address, when it is served.
    pub fn local_http_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        Ok(self
            .http
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()?)
    }

    /// Serves until `shutdown` completes, then stops accepting and lets running calls end.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = self.local_addr()?;
        // One shutdown for both servers: the workbench stops with gRPC.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workbench = match self.http {
            Some(listener) => {
                let http_address = listener.local_addr()?;
                tracing::info!(%http_address, "serving the workbench");
                let mut stopped = stopped.clone();
                Some(tokio::spawn(crate::web::serve(
                    listener,
                    self.api.clone(),
                    self.tokens.clone(),
                    self.tls.as_ref().map(Tls::workbench),
                    async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    },
                )))
            }
            None => None,
        };
        drop(stopped);
        let audit = self.api.audit();
        let explainer = ExplainerServiceServer::new(self.api)
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(self.max_message_bytes);
        let (health, health_service) = tonic_health::server::health_reporter();
        // Without ONNX Runtime, schemas and cases still work but no model does: a load
        // balancer should not send work here, so health says NOT_SERVING.
        if self.runtime_ready {
            health.set_serving::<ExplainerServiceServer<Api>>().await;
        } else {
            health
                .set_not_serving::<ExplainerServiceServer<Api>>()
                .await;
        }
        // While running calls drain, health checks already say NOT_SERVING, so load
        // balancers stop sending new work.
        let shutdown = async move {
            shutdown.await;
            let _ = stop.send(true);
            health
                .set_not_serving::<ExplainerServiceServer<Api>>()
                .await;
        };
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let (reflection_v1, reflection_v1alpha) = if self.reflection {
            (
                Some(reflection().build_v1()?),
                Some(reflection().build_v1alpha()?),
            )
        } else {
            (None, None)
        };
        let authenticated = self.tokens.is_some();

        // Small answers must not wait for a delayed ACK (Nagle): tonic sets TCP_NODELAY only
        // on sockets it binds itself, so it is set here on every accepted connection.
        let incoming = TcpIncoming::from(self.listener).with_nodelay(Some(true));
        tracing::info!(
            %address,
            max_message_bytes = self.max_message_bytes,
            authenticated,
            tls = self.tls.is_some(),
            mutual_tls = self.tls.as_ref().is_some_and(Tls::mutual),
            reflection = self.reflection,
            "serving"
        );
        let mut builder = tonic::transport::Server::builder()
            .initial_stream_window_size(ServerConfig::STREAM_WINDOW_BYTES)
            .initial_connection_window_size(ServerConfig::CONNECTION_WINDOW_BYTES);
        if let Some(tls) = &self.tls {
            builder = builder
                .tls_config(tls.grpc())
                .context("cannot configure TLS")?;
        }
        builder
            // Every log line of a call carries the RPC it belongs to.
            .trace_fn(|request| tracing::info_span!("rpc", path = %request.uri().path()))
            .layer(tower::util::MapResponseLayer::new(
                oversize_is_resource_exhausted,
            ))
            .layer(GateLayer::new(
                Busy::new(self.max_concurrent_calls),
                std::sync::Arc::clone(&audit),
            ))
            .layer(DeadlineLayer {
                limit: self.call_timeout,
            })
            .layer(tower::util::option_layer(
                self.tokens
                    .map(|tokens| GateLayer::new(Authorizer::new(tokens), audit)),
            ))
            .add_service(health_service)
            .add_optional_service(reflection_v1)
            .add_optional_service(reflection_v1alpha)
            .add_service(explainer)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
            .context("server failed")?;
        if let Some(workbench) = workbench {
            workbench
                .await
                .context("the workbench stopped abnormally")?
                .context("workbench failed")?;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// tonic answers a request over the size limit with OUT_OF_RANGE; gRPC's status-code guide
/// and DESIGN.md say RESOURCE_EXHAUSTED, which is what clients retry-check for. tonic
/// attaches the `Status` to the error response, so it can be recognised without parsing
/// headers.
fn oversize_is_resource_exhausted(
    response: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    match response.extensions().get::<tonic::Status>() {
        Some(status)
            if status.code() == tonic::Code::OutOfRange
                && status.message().contains("message length too large") =>
        {
            tonic::Status::resource_exhausted(status.message().to_owned()).into_http()
        }
        _ => response,
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM: the two ways a server is asked to stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
