//! The service's protobuf → domain conversions (what every RPC does to its request before any
//! work), on any bytes decoded as the request messages that carry images, tensors, schemas
//! and labels.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Third-party DICOM decoders may panic on hostile bytes; explainme-imaging catches that
/// (`catch_unwind`) and refuses the file. libfuzzer-sys's panic hook aborts before anything
/// unwinds, so the default hook is put back: a caught panic is then the refusal it is in
/// production, while one that escapes the target still aborts the run (libfuzzer-sys aborts
/// on a target that unwinds).
static CAUGHT_PANICS_ARE_REFUSALS: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    CAUGHT_PANICS_ARE_REFUSALS.call_once(|| drop(std::panic::take_hook()));
    explainme::fuzzing::proto_conversions(data);
});
