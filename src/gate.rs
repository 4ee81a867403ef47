//! A tower layer that lets a gRPC call through, or answers it with a status before any
//! handler runs: the one shape of the server's own checks (who may call, how many at once).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;

use crate::audit::Audit;

/// A check made on every call.
pub trait Gate: Clone + Send + Sync + 'static {
    /// What a call that passed holds until its handler answered (a concurrency permit).
    type Pass: Send + 'static;

    /// Lets `request` through (it may add to its extensions) or refuses it with a status.
    fn check<B>(&self, request: &mut http::Request<B>) -> Result<Self::Pass, Status>;
}

/// Puts a [`Gate`] in front of every service of the server; what it refuses goes into the
/// audit trail.
#[derive(Debug, Clone)]
pub struct GateLayer<G> {
    gate: G,
    audit: Arc<Audit>,
}

impl<G> GateLayer<G> {
    pub fn new(gate: G, audit: Arc<Audit>) -> GateLayer<G> {
        GateLayer { gate, audit }
    }
}

impl<S, G: Gate> tower::Layer<S> for GateLayer<G> {
    type Service = GateService<S, G>;

    fn layer(&self, inner: S) -> GateService<S, G> {
        GateService {
            inner,
            gate: self.gate.clone(),
            audit: Arc::clone(&self.audit),
        }
    }
}

/// See [`GateLayer`].
#[derive(Debug, Clone)]
pub struct GateService<S, G> {
    inner: S,
    gate: G,
    audit: Arc<Audit>,
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, G, B> tower::Service<http::Request<B>> for GateService<S, G>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    G: Gate,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.gate.check(&mut request) {
            Ok(pass) => {
                let call = self.inner.call(request);
                // Held until the handler answered (a streamed answer's body may outlive it).
                Box::pin(async move {
                    let answer = call.await;
                    drop(pass);
                    answer
                })
            }
            Err(status) => {
                tracing::info!(path = %request.uri().path(), code = ?status.code(), "refused");
                self.audit.refused(&request, &status);
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}
