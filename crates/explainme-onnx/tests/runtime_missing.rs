//! Without a usable ONNX Runtime library the crate fails with a typed error that says how
//! to provide one. A test binary of its own: the runtime is resolved once per process.

use explainme_onnx::{Error, Session, builder};

#[test]
fn a_missing_library_is_a_typed_error_with_instructions() {
    // SAFETY: this binary has a single test, so no other thread reads the environment.
    unsafe { std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1") };

    let message = match explainme_onnx::init_runtime() {
        Err(Error::RuntimeMissing(message)) => message,
        other => panic!("{other:?}"),
    };
    assert!(
        message.contains("ORT_DYLIB_PATH points to /nonexistent/libonnxruntime.so.1.31.1"),
        "{message}"
    );
    assert!(
        message.contains("pip download --no-deps --only-binary=:all: onnxruntime==1.31.1"),
        "{message}"
    );

    // parsing and validation need no runtime; a session reports the same error
    let (model, card) = builder::seeded_cnn(1).unwrap();
    card.validate(&model).unwrap();
    assert!(matches!(
        Session::new(&model, &card, &[]),
        Err(Error::RuntimeMissing(_))
    ));
}
