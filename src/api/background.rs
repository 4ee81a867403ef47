//! Upload decoding (PNG inflate, DICOM, NIfTI) on threads that run only on cores nothing
//! else wants, so a large upload takes the cores only when calls that answer a waiting
//! clinician (Predict, Explain) leave them idle. `cargo bench --bench load` measures it
//! (README).
//!
//! One thread per core, each under Linux's `SCHED_IDLE` policy (applied to the calling
//! thread only): the scheduler runs it only when no normal thread is runnable, and a waking
//! normal thread preempts it at once. `nice` 10, tried first, still left the decoders a
//! share of each core, and Predict's p99 beside four 64 MB uploads tripled (2.5 → 7.5 ms).
//! Where `SCHED_IDLE` is refused, the thread falls back to `nice` 10; elsewhere than Linux it
//! runs at normal priority. Under a load that keeps both cores busy, uploads wait: that is
//! the point. Only the decoding runs here: the store write that follows keeps normal
//! priority, since it holds the writer lock that label edits wait for.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use tonic::Status;

type Job = Box<dyn FnOnce() + Send>;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Background {
    jobs: mpsc::Sender<Job>,
}

/// The `nice` value of the decoding threads where `SCHED_IDLE` is refused.
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
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler and setpriority only read their arguments; on Linux, pid /
    // `who` 0 names the calling thread. A failure leaves the thread where it was.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) } == 0 {
        return;
    }
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) } != 0 {
        tracing::debug!("cannot lower the decoding thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {
    let _ = NICE;
}
