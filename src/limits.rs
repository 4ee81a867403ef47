//! How many calls the server takes on at once: beyond `--max-concurrent-calls`, a call is
//! answered `RESOURCE_EXHAUSTED` at once (clients retry with backoff) instead of queueing
//! behind the others until every deadline has passed. Health checks are never refused, so a
//! busy server is not taken for a dead one.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::gate::Gate;

/// See the module docs; a [`Gate`] of the server.
#[derive(Debug, Clone)]
pub struct Busy {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl Busy {
    pub fn new(limit: usize) -> Busy {
        Busy {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl Gate for Busy {
    /// The call's slot; health checks take none.
    type Pass = Option<OwnedSemaphorePermit>;

    fn check<B>(&self, request: &mut http::Request<B>) -> Result<Self::Pass, Status> {
        if request.uri().path().starts_with("/grpc.health.") {
            return Ok(None);
        }
        Arc::clone(&self.permits)
            .try_acquire_owned()
            .map(Some)
            .map_err(|_| {
                Status::resource_exhausted(format!(
                    "the server is running {} calls, its limit (--max-concurrent-calls); retry \
                     with backoff",
                    self.limit
                ))
            })
    }
}

/// How long a call may run: `--call-timeout`. A call past it is answered
/// `DEADLINE_EXCEEDED` and its handler dropped, which frees its slot under
/// `--max-concurrent-calls`; work already handed to the blocking pool finishes there and its
/// result is discarded. A client's own deadline (the `grpc-timeout` header) is enforced by
/// tonic in front of every layer: it drops the handler the same way and answers `CANCELLED`
/// "Timeout expired", by which time the client has reported `DEADLINE_EXCEEDED` itself.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    pub limit: std::time::Duration,
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            limit: self.limit,
        }
    }
}

/// See [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    limit: std::time::Duration,
}

impl<S, B> tower::Service<http::Request<B>> for Deadline<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = crate::gate::BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let limit = self.limit;
        let call = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, call).await {
                Ok(answer) => answer,
                Err(_) => Ok(Status::deadline_exceeded(format!(
                    "the call ran longer than {}, the server's --call-timeout",
                    humantime::format_duration(limit)
                ))
                .into_http()),
            }
        })
    }
}
