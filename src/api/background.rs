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
//!
//! Receiving an upload is put there too: a stream's messages are read (tonic gathering the
//! HTTP/2 frames of a 2 MB image into one buffer and prost decoding it) by a task of a
//! small tokio runtime whose workers are idle-priority threads, not by the server's async
//! workers that Predict shares. Since a message is read only when the handler asks for the
//! next, an upload starved of CPU also stops opening its flow-control window, and the
//! sender waits. Beside 64 MB uploads from another process (the load bench's 16 window
//! pairs) this took Predict's p99 from 2.85 ms above its p99 alone to about 1 ms above it
//! (README); what is left follows the disk writes, not the CPU (README).

use std::panic::AssertUnwindSafe;

use tonic::{Status, Streaming};

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Background {
    pool: rayon::ThreadPool,
    /// `Option` only so that `Drop` can shut it down without blocking the async worker
    /// the server drops it on (a runtime dropped there panics).
    receiving: Option<tokio::runtime::Runtime>,
}

/// The `nice` value of the decoding threads where `SCHED_IDLE` is refused.
const NICE: i32 = 10;

impl Background {
    pub(crate) fn start() -> std::io::Result<Background> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("explainme-decode-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map_err(std::io::Error::other)?;
        let receiving = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .thread_name("explainme-receive")
            .on_thread_start(lower_priority)
            .build()?;
        Ok(Background {
            pool,
            receiving: Some(receiving),
        })
    }

    /// Reads the next message of an upload stream on an idle-priority thread (module docs);
    /// the stream comes back with it.
    pub(crate) async fn next_message<T: Send + 'static>(
        &self,
        mut stream: Streaming<T>,
    ) -> Result<(Streaming<T>, Result<Option<T>, Status>), Status> {
        let Some(runtime) = &self.receiving else {
            return Err(Status::internal("the receiving threads have stopped"));
        };
        runtime
            .spawn(async move {
                let message = stream.message().await;
                (stream, message)
            })
            .await
            .map_err(|_| Status::internal("receiving an upload panicked"))
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

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.receiving.take() {
            runtime.shutdown_background();
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
