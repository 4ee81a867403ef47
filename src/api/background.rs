//! Upload decoding (PNG inflate, DICOM, NIfTI) on threads that run only on cores nothing
//! else wants, so a large upload takes the cores only when calls that answer a waiting
//! clinician (Predict, Explain) leave them idle. `cargo bench --bench load` measures it
//! (README).
//!
//! A rayon pool of one thread per core, each put under Linux's `SCHED_IDLE` policy by the
//! pool's start handler (the policy applies to the calling thread only): the scheduler runs
//! such a thread only when no normal thread is runnable, and a waking normal thread preempts
//! it at once. `nice` 10, tried first, still left the decoders a share of each core, and
//! Predict's p99 beside four 64 MB uploads tripled (2.5 → 7.5 ms). Where `SCHED_IDLE` is
//! refused, the thread falls back to `nice` 10; elsewhere than Linux it runs at normal
//! priority. Under a load that keeps both cores busy, uploads wait: that is the point. The
//! decoding, the hashing of the image and the writing of its blob run here, holding no
//! lock (`explainme_store::BlobStore::stage`); the row commit that follows keeps normal
//! priority, since it holds the writer lock that label edits wait for.

use std::panic::AssertUnwindSafe;

use tonic::Status;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Background {
    pool: rayon::ThreadPool,
}

/// The `nice` value of the decoding threads where `SCHED_IDLE` is refused.
const NICE: i32 = 10;

impl Background {
    pub(crate) fn start() -> std::io::Result<Background> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(std::thread::available_parallelism().map_or(1, usize::from))
            .thread_name(|i| format!("explainme-decode-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Background { pool })
    }

    /// Runs `work` on a decoding thread and waits for it without blocking the async workers.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Status> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        // Caught here, so a panicking decoder answers this call instead of aborting the
        // process (rayon's default for a panic in a spawned job).
        self.pool.spawn(move || {
            let _ = answer.send(std::panic::catch_unwind(AssertUnwindSafe(work)));
        });
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
