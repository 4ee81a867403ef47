//! How many calls the server takes on at once: beyond `--max-concurrent-calls`, a call is
//! answered `RESOURCE_EXHAUSTED` at once (clients retry with backoff) instead of queueing
//! behind the others until every deadline has passed. Health checks are never refused, so a
//! busy server is not taken for a dead one.

use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::Semaphore;
use tonic::Status;

use crate::auth::BoxFuture;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct BusyLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl BusyLayer {
    pub fn new(limit: usize) -> BusyLayer {
        BusyLayer {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> tower::Layer<S> for BusyLayer {
    type Service = BusyService<S>;

    fn layer(&self, inner: S) -> BusyService<S> {
        BusyService {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`BusyLayer`].
#[derive(Debug, Clone)]
pub struct BusyService<S> {
    inner: S,
    layer: BusyLayer,
}

impl<S, B> tower::Service<http::Request<B>> for BusyService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path().starts_with("/grpc.health.") {
            return Box::pin(self.inner.call(request));
        }
        match Arc::clone(&self.layer.permits).try_acquire_owned() {
            Ok(permit) => {
                let call = self.inner.call(request);
                // Held until the handler answered (a streamed answer's body may outlive it).
                Box::pin(async move {
                    let answer = call.await;
                    drop(permit);
                    answer
                })
            }
            Err(_) => {
                let status = Status::resource_exhausted(format!(
                    "the server is running {} calls, its limit (--max-concurrent-calls); retry \
                     with backoff",
                    self.layer.limit
                ));
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}
