//! Finding and loading the ONNX Runtime shared library, once per process.
//!
//! ort is built with `load-dynamic`, so nothing links against ONNX Runtime; the library is
//! opened at first use. Resolution order (DESIGN.md): the `ORT_DYLIB_PATH` environment
//! variable, then the project-local cache that `build.rs` fills from the official
//! `onnxruntime==1.31.1` wheel, then an [`Error::RuntimeMissing`] that says how to provide
//! it. Nothing here downloads anything.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::{Error, Result};

/// Where `build.rs` puts the library taken from the wheel (it may not exist).
const CACHED_LIBRARY: &str = env!("EXPLAINME_ORT_DYLIB");

/// The loaded runtime, or why it could not be loaded; computed once per process because ONNX
/// Runtime cannot be loaded twice.
static RUNTIME: OnceLock<std::result::Result<(Environment, PathBuf), String>> = OnceLock::new();

/// Loads ONNX Runtime (first call only) and returns the path of the library in use.
///
/// Sessions call this themselves; call it early to fail fast, e.g. when a server starts.
/// A failure is remembered: later calls return the same [`Error::RuntimeMissing`].
pub fn init_runtime() -> Result<&'static Path> {
    environment().map(|(_, path)| path.as_path())
}

pub(crate) fn environment() -> Result<&'static (Environment, PathBuf)> {
    RUNTIME
        .get_or_init(load)
        .as_ref()
        .map_err(|message| Error::RuntimeMissing(message.clone()))
}

fn load() -> std::result::Result<(Environment, PathBuf), String> {
    let path = locate()?;
    let builder = ort::init_from(&path).map_err(|e| {
        format!(
            "cannot load ONNX Runtime from {}: {e}; {}",
            path.display(),
            how_to_provide()
        )
    })?;
    let environment = builder.with_name("explainme").build().map_err(|e| {
        format!(
            "ONNX Runtime from {} loaded but failed to start: {e}",
            path.display()
        )
    })?;
    Ok((environment, path))
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
