//! Upload decoding (PNG inflate, DICOM, NIfTI) on threads of lower CPU priority, so a large
//! upload takes the cores only when calls that answer a waiting clinician (Predict, Explain)
//! leave them idle. `cargo bench --bench load` measures it (README).
//!
//! One thread per core, each lowered to `nice` 10 (Linux applies `setpriority` to the
//! calling thread only); elsewhere they run at normal priority. Only the decoding runs here:
//! the store write that follows keeps normal priority, since it holds the writer lock that
//! label edits wait for.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use tonic::Status;

type Job = Box<dyn FnOnce() + Send>;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Background {
    jobs: mpsc::Sender<Job>,
}

/// The `nice` value of the decoding threads: below every other thread of the process.
const NICE: i32 = 10;

impl Background {
    pub(crate) fn start() -> std::io::Result<Background> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..std::thread::available_parallelism().map_or(1, usize::from) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("explainme-decode-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // The service is gone.
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Background { jobs })
    }

    /// Runs `work` on a decoding thread and waits for it without blocking the async workers.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Status> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(std::panic::catch_unwind(AssertUnwindSafe(work)));
        });
        self.jobs
            .send(job)
            .map_err(|_| Status::internal("the decoding threads have stopped"))?;
        match answered.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(Status::internal("decoding panicked")),
            Err(_) => Err(Status::internal("the decoding threads have stopped")),
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority only reads its arguments; on Linux, `who` = 0 with PRIO_PROCESS
    // names the calling thread. A failure leaves the thread at normal priority.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) } != 0 {
        tracing::debug!("cannot lower the decoding thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {
    let _ = NICE;
}
