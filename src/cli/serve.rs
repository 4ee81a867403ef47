//! `explainme serve`: run the gRPC server (and, with `--http`, the clinician workbench)
//! until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use explainme_budget::MemoryBudget;

use crate::server::{self, ServerConfig};
use crate::tls::TlsFiles;

/// Serve the explainme.v1 gRPC API (with health checks and reflection) until SIGTERM or
/// Ctrl-C. Logs go to stderr; set RUST_LOG (e.g. `RUST_LOG=debug`) to change the level.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port (the log says which).
    #[arg(long, default_value = ServerConfig::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Data directory for the SQLite database and the stored models and images; created if
    /// missing.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Largest gRPC message accepted or sent, in bytes; larger ones fail with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = ServerConfig::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Also serve the clinician workbench (HTML pages) on this address, e.g.
    /// `127.0.0.1:8080`; port 0 picks a free port (the log says which).
    #[arg(long, value_name = "ADDRESS")]
    pub http: Option<SocketAddr>,
    /// Require a bearer token on every RPC and a sign-in on the workbench: the JSON file of
    /// token hashes, names and roles that `explainme token add` writes. Without it anyone who
    /// reaches the ports may do anything, so serve on loopback only.
    #[arg(long, value_name = "FILE")]
    pub auth: Option<PathBuf>,
    /// Do not serve gRPC server reflection (grpcurl then needs the proto files).
    #[arg(long)]
    pub no_reflection: bool,
    /// Calls served at once; more are answered RESOURCE_EXHAUSTED at once (health checks are
    /// always answered).
    #[arg(long, default_value_t = ServerConfig::DEFAULT_MAX_CONCURRENT_CALLS)]
    pub max_concurrent_calls: usize,
    /// Cases one UpsertCases stream may carry; beyond, RESOURCE_EXHAUSTED (earlier ones
    /// stay stored).
    #[arg(long, default_value_t = ServerConfig::DEFAULT_MAX_CASES_PER_STREAM)]
    pub max_cases_per_stream: usize,
    /// Longest a call may run (e.g. `90s`, `10m`, `1h`), client-streamed uploads included;
    /// a client's shorter deadline (`grpc-timeout`) wins. Past it: DEADLINE_EXCEEDED.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub call_timeout: std::time::Duration,
    /// Serve gRPC and the workbench over TLS with this PEM certificate chain (leaf first);
    /// needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: accept only clients (gRPC and browsers) showing a certificate signed by a
    /// CA in this PEM file; needs --tls-cert. Tokens (--auth) still name the caller.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

/// Starts logging and a multi-threaded runtime, then serves; `memory_budget` bounds what one
/// request may allocate (`explainme --memory-budget 2GiB serve …`).
pub fn run(args: Args, memory_budget: MemoryBudget) -> anyhow::Result<()> {
    let Args {
        listen,
        data_dir,
        max_message_bytes,
        http,
        auth,
        no_reflection,
        max_concurrent_calls,
        max_cases_per_stream,
        call_timeout,
        tls_cert,
        tls_key,
        tls_client_ca,
    } = args;
    let tls = tls_cert.zip(tls_key).map(|(cert, key)| TlsFiles {
        cert,
        key,
        client_ca: tls_client_ca,
    });
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(server::serve(
        ServerConfig {
            listen,
            data_dir,
            max_message_bytes,
            memory_budget,
            http,
            auth,
            reflection: !no_reflection,
            max_concurrent_calls,
            max_cases_per_stream,
            call_timeout,
            tls,
        },
        server::shutdown_signal(),
    ))
}
