//! Build script of explainme-onnx.
//!
//! Two jobs, both so that `cargo test` / `cargo run` on a fresh clone need no manual step:
//!
//! 1. compile the vendored `proto/onnx.proto` into prost types, with the `protoc` shipped by
//!    `protoc-bin-vendored` (no system protoc);
//! 2. make sure the ONNX Runtime shared library is in the project-local cache
//!    `<workspace>/.cache/onnxruntime/`, fetching the official `onnxruntime==1.31.1` wheel
//!    from PyPI with pip when it is missing, and tell the crate where it is through
//!    `EXPLAINME_ORT_DYLIB`. A failed fetch is a warning, never a build failure: the crate
//!    then reports at run time exactly how to provide the library.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The ONNX Runtime release that `ort 2.0.0-rc.15` (API 31) is built against.
const ORT_VERSION: &str = "1.31.1";

fn main() {
    compile_onnx_proto();
    provide_onnxruntime();
}

fn compile_onnx_proto() {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let protoc = protoc_bin_vendored::protoc_bin_path()
        .expect("protoc-bin-vendored has no protoc for this host");
    prost_build::Config::new()
        .protoc_executable(protoc)
        .compile_protos(&["proto/onnx.proto"], &["proto"])
        .expect("compiling proto/onnx.proto");
}

fn provide_onnxruntime() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ORT_DYLIB_PATH");
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace_root = manifest_dir
        .ancestors()
        .nth(2)
        .expect("crate lives in <workspace>/crates/explainme-onnx");
    let library = workspace_root
        .join(".cache")
        .join("onnxruntime")
        .join(format!("libonnxruntime.so.{ORT_VERSION}"));
    // Cargo re-runs this script when the cached file changes or disappears.
    println!("cargo:rerun-if-changed={}", library.display());
    println!("cargo:rustc-env=EXPLAINME_ORT_DYLIB={}", library.display());

    // Only the Linux wheels carry `libonnxruntime.so.*`; elsewhere ORT_DYLIB_PATH is the way.
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let platform = match std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "manylinux_2_28_x86_64",
        Ok("aarch64") => "manylinux_2_28_aarch64",
        _ => return,
    };
    if library.is_file() || !linux {
        return;
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(problem) = fetch_onnxruntime(&out_dir.join("onnxruntime-wheel"), platform, &library)
    {
        println!(
            "cargo:warning=could not fetch ONNX Runtime {ORT_VERSION} from PyPI ({problem}); \
             set ORT_DYLIB_PATH to a libonnxruntime.so.{ORT_VERSION} at run time"
        );
    }
}

/// Downloads the wheel with pip into `scratch` and extracts the shared library to `library`
/// (written to a temporary name first and renamed, so concurrent builds never see half a file).
///
/// The wheel is asked for by explicit tags (CPython 3.11, `platform`) so that any local
/// `python3` with pip can fetch it: the shared library inside does not depend on the
/// Python version. Retries and timeout are bounded so that an offline build fails fast.
fn fetch_onnxruntime(scratch: &Path, platform: &str, library: &Path) -> Result<(), String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("creating {}: {e}", scratch.display()))?;
    let cache_dir = library.parent().ok_or("cache path has no parent")?;
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| format!("creating {}: {e}", cache_dir.display()))?;
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
        ])
        .args([
            "--retries",
            "2",
            "--timeout",
            "20",
            "--implementation",
            "cp",
            "--python-version",
            "3.11",
            "--abi",
            "cp311",
        ])
        .args(["--platform", platform, "-d"])
        .arg(scratch)
        .arg(format!("onnxruntime=={ORT_VERSION}")))?;
    let partial = library.with_extension(format!("partial-{}", std::process::id()));
    let extract = format!(
        "import glob, sys, zipfile\n\
         wheels = glob.glob(sys.argv[1] + '/onnxruntime-{ORT_VERSION}-*.whl')\n\
         if not wheels: sys.exit('no onnxruntime wheel in ' + sys.argv[1])\n\
         with zipfile.ZipFile(wheels[0]) as wheel, open(sys.argv[2], 'wb') as out:\n    \
             out.write(wheel.read('onnxruntime/capi/libonnxruntime.so.{ORT_VERSION}'))\n"
    );
    run(Command::new("python3")
        .arg("-c")
        .arg(extract)
        .arg(scratch)
        .arg(&partial))?;
    std::fs::rename(&partial, library)
        .map_err(|e| format!("moving library into {}: {e}", cache_dir.display()))
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last_line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(format!("{command:?} failed: {last_line}"))
}
