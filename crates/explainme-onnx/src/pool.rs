//! A pool of ONNX Runtime sessions of one graph, so concurrent runs do not queue behind one
//! another.
//!
//! An `ort` session runs one call at a time (`run` takes `&mut self`). With one session per
//! [`Session`](crate::Session), two Predict calls on the same model waited for each other
//! while the other core idled. A pool holds up to one session per core, each running on the
//! calling thread only (one intra-op thread, no spinning worker threads), so the cores are
//! shared by concurrent runs instead of each run spinning threads on every core. Sessions
//! beyond the first are built only when runs overlap, from the graph kept for that purpose.

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::{Error, Result};

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Runners {
    /// The serialised graph more sessions are built from.
    graph: Vec<u8>,
    idle: Mutex<Idle>,
    returned: Condvar,
    limit: usize,
}

#[derive(Debug)]
struct Idle {
    sessions: Vec<ort::session::Session>,
    /// Sessions in existence, idle or leased.
    built: usize,
}

/// A session taken from the pool; it goes back when dropped.
pub(crate) struct Lease<'a> {
    pool: &'a Runners,
    session: Option<ort::session::Session>,
}

impl Runners {
    /// A pool of up to [`size`] sessions of `graph`; the first one is built now, so a graph
    /// ONNX Runtime refuses is refused here.
    pub(crate) fn new(graph: Vec<u8>) -> Result<Runners> {
        let first = session(&graph)?;
        Ok(Runners {
            graph,
            idle: Mutex::new(Idle {
                sessions: vec![first],
                built: 1,
            }),
            returned: Condvar::new(),
            limit: size(),
        })
    }

    /// How many runs may go on at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// An idle session, a new one if every session is busy and the pool is not full, or the
    /// first one returned.
    pub(crate) fn lease(&self) -> Result<Lease<'_>> {
        let mut idle = self.lock()?;
        loop {
            if let Some(session) = idle.sessions.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                });
            }
            if idle.built < self.limit {
                idle.built += 1;
                drop(idle);
                // Built outside the lock: other runs return and lease meanwhile.
                return match session(&self.graph) {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        session: Some(session),
                    }),
                    Err(error) => {
                        self.lock()?.built -= 1;
                        Err(error)
                    }
                };
            }
            idle = self.returned.wait(idle).map_err(|_| poisoned())?;
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Idle>> {
        self.idle.lock().map_err(|_| poisoned())
    }
}

impl std::ops::Deref for Lease<'_> {
    type Target = ort::session::Session;

    fn deref(&self) -> &ort::session::Session {
        // Only `Drop` takes the session out.
        self.session.as_ref().expect("a lease holds its session")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut ort::session::Session {
        self.session.as_mut().expect("a lease holds its session")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        // A poisoned pool (a panic while its small lock was held) loses this session.
        if let Ok(mut idle) = self.pool.idle.lock() {
            idle.sessions.push(session);
            self.pool.returned.notify_one();
        }
    }
}

/// Sessions per pool: one per core the process may use.
fn size() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn poisoned() -> Error {
    Error::Runtime {
        context: "running the model",
        message: "an earlier run panicked while holding the session pool".into(),
    }
}

/// One ONNX Runtime session of `bytes` on the shared environment and its capped arena,
/// running on the calling thread (see the module docs).
pub(crate) fn session(bytes: &[u8]) -> Result<ort::session::Session> {
    let runtime = crate::runtime::runtime()?;
    ort::session::Session::builder(&runtime.environment)
        .map_err(Error::runtime("configuring a session"))?
        .with_env_allocators()
        .map_err(Error::runtime("configuring a session"))?
        .with_intra_threads(1)
        .map_err(Error::runtime("configuring a session"))?
        .with_intra_op_spinning(false)
        .map_err(Error::runtime("configuring a session"))?
        .commit_from_memory(bytes)
        .map_err(Error::runtime("loading the model"))
}
