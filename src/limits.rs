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
