//! Finding and loading the ONNX Runtime shared library, once per process.
//!
//! ort is built with `load-dynamic`, so nothing links against ONNX Runtime; the library is
//! opened at first use. Resolution order (DESIGN.md): the `ORT_DYLIB_PATH` environment
//! variable, then the project-local cache that `build.rs` fills from the official
//! `onnxruntime==1.31.1` wheel, then an [`Error::RuntimeMissing`] that says how to provide
//! it. Nothing here downloads anything.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use explainme_budget::{MemoryBudget, OverBudget};
use ort::AsPointer;
use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};

use crate::{Error, Result};

/// Where `build.rs` puts the library taken from the wheel (it may not exist).
const CACHED_LIBRARY: &str = env!("EXPLAINME_ORT_DYLIB");

/// The loaded runtime, or why it could not be loaded; computed once per process because ONNX
/// Runtime cannot be loaded twice.
static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The process's ONNX Runtime: its environment, the library file, and the memory cap of the
/// CPU arena that every session allocates from.
pub(crate) struct Runtime {
    pub(crate) environment: Environment,
    path: PathBuf,
    pub(crate) budget: MemoryBudget,
}

/// Loads ONNX Runtime (first call only) with the default [`MemoryBudget`] and returns the path
/// of the library in use.
///
/// Sessions call this themselves; call it early to fail fast, e.g. when a server starts.
/// A failure is remembered: later calls return the same [`Error::RuntimeMissing`].
pub fn init_runtime() -> Result<&'static Path> {
    init_runtime_within(&MemoryBudget::default())
}

/// Loads ONNX Runtime (first call only) with `budget` as the cap on everything ONNX Runtime
/// allocates for tensors at once, across all sessions of the process: a graph that asks for
/// more (an `Expand` to 60000², a huge batch) fails with [`Error::OverBudget`] instead of
/// taking the machine's memory. Later calls keep the first call's cap.
pub fn init_runtime_within(budget: &MemoryBudget) -> Result<&'static Path> {
    runtime_within(budget).map(|r| r.path.as_path())
}

pub(crate) fn runtime() -> Result<&'static Runtime> {
    runtime_within(&MemoryBudget::default())
}

fn runtime_within(budget: &MemoryBudget) -> Result<&'static Runtime> {
    RUNTIME
        .get_or_init(|| load(*budget))
        .as_ref()
        .map_err(|message| Error::RuntimeMissing(message.clone()))
}

/// The arena's cap when ONNX Runtime refused a tensor for lack of it (its messages: "Available
/// memory of A is smaller than requested bytes of N", "Failed to allocate memory for requested
/// buffer of size N"), as [`OverBudget`]; `None` for every other failure.
pub(crate) fn arena_refusal(context: &str, message: &str) -> Option<OverBudget> {
    if !(message.contains("BFCArena") || message.contains("Failed to allocate memory")) {
        return None;
    }
    let budget = RUNTIME.get()?.as_ref().ok()?.budget;
    let what = format!("a tensor ONNX Runtime allocates while {context}");
    let requested = ["requested bytes of ", "buffer of size "]
        .iter()
        .find_map(|marker| message.split(marker).nth(1))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse::<u64>().ok());
    Some(match requested.map(|bytes| budget.check(&what, bytes)) {
        Some(Err(over)) => over,
        // A request under the cap that did not fit beside what is already allocated.
        _ => OverBudget::reported(what, &budget),
    })
}

fn load(budget: MemoryBudget) -> std::result::Result<Runtime, String> {
    let path = locate()?;
    let builder = ort::init_from(&path).map_err(|e| {
        format!(
            "cannot load ONNX Runtime from {}: {e}; {}",
            path.display(),
            how_to_provide()
        )
    })?;
    let environment = builder
        .with_name("explainme")
        .with_logger(Arc::new(log_to_tracing))
        .build()
        .map_err(|e| {
            format!(
                "ONNX Runtime from {} loaded but failed to start: {e}",
                path.display()
            )
        })?;
    register_capped_arena(&environment, budget).map_err(|e| {
        format!(
            "ONNX Runtime from {} cannot cap its memory at {budget}: {e}",
            path.display()
        )
    })?;
    Ok(Runtime {
        environment,
        path,
        budget,
    })
}

/// ONNX Runtime's own log lines, as one-line `tracing` events (target `onnxruntime`) instead
/// of its default: colourised, multi-line text on stderr that would break the CLI's
/// one-line errors and the server's structured logs.
fn log_to_tracing(level: LogLevel, category: &str, _id: &str, location: &str, message: &str) {
    let message = message.replace(['\n', '\r'], " ");
    match level {
        LogLevel::Fatal | LogLevel::Error => {
            tracing::error!(target: "onnxruntime", category, location, "{message}")
        }
        LogLevel::Warning => {
            tracing::warn!(target: "onnxruntime", category, location, "{message}")
        }
        // ONNX Runtime's "info" is chatty (every arena extension): debug level here.
        LogLevel::Info => tracing::debug!(target: "onnxruntime", category, location, "{message}"),
        LogLevel::Verbose => {
            tracing::trace!(target: "onnxruntime", category, location, "{message}")
        }
    }
}

/// Registers a CPU arena capped at `budget` bytes with the environment; sessions opt in with
/// `session.use_env_allocators` (see `pool::session`). The arena grows by what each
/// request needs (`arena_extend_strategy` 1, "same as requested") rather than doubling, so
/// the cap is not reached by rounding. ort has no safe wrapper for this, hence the C API.
fn register_capped_arena(environment: &Environment, budget: MemoryBudget) -> ort::Result<()> {
    let info = MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Arena,
        MemoryType::Default,
    )?;
    let max_mem = usize::try_from(budget.limit()).unwrap_or(usize::MAX);
    let keys = [c"max_mem".as_ptr(), c"arena_extend_strategy".as_ptr()];
    let values = [max_mem, 1];
    let api = ort::api();
    let mut config: *mut ort::sys::OrtArenaCfg = std::ptr::null_mut();
    // SAFETY: `keys` and `values` hold `keys.len()` valid entries that outlive the call, and
    // `config` is an out-pointer ONNX Runtime fills on success.
    unsafe {
        ort::Error::result_from_status((api.CreateArenaCfgV2)(
            keys.as_ptr(),
            values.as_ptr(),
            keys.len(),
            &mut config,
        ))?;
    }
    // SAFETY: the environment and memory info are live for the call; ONNX Runtime copies the
    // arena configuration, which is released right after, whatever the outcome.
    let registered = unsafe {
        ort::Error::result_from_status((api.CreateAndRegisterAllocator)(
            environment.ptr().cast_mut(),
            info.ptr(),
            config,
        ))
    };
    // SAFETY: `config` came from CreateArenaCfgV2 above and is released once.
    unsafe { (api.ReleaseArenaCfg)(config) };
    registered
}

fn locate() -> std::result::Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "ORT_DYLIB_PATH points to {}, which is not a file; {}",
                path.display(),
                how_to_provide()
            ))
        };
    }
    let cached = PathBuf::from(CACHED_LIBRARY);
    if cached.is_file() {
        return Ok(cached);
    }
    Err(format!(
        "ONNX Runtime library not found (ORT_DYLIB_PATH is unset and {} does not exist); {}",
        cached.display(),
        how_to_provide()
    ))
}

fn how_to_provide() -> String {
    format!(
        "provide ONNX Runtime 1.31: run `python3 -m pip download --no-deps --only-binary=:all: onnxruntime==1.31.1`, \
         take onnxruntime/capi/libonnxruntime.so.1.31.1 out of the wheel (a zip file) and either set \
         ORT_DYLIB_PATH=/path/to/libonnxruntime.so.1.31.1 or copy it to {CACHED_LIBRARY} \
         (a build with access to PyPI fills that cache automatically)"
    )
}
