//! The image and mask decoders (PNG, NIfTI, `.nii.gz`, DICOM, `.npy`) under a small memory
//! budget: the first byte picks the format (or sniffing), the rest is the file. Every input is
//! decoded or refused with an error; nothing panics or allocates past the budget.
#![no_main]

use explainme_budget::MemoryBudget;
use explainme_imaging::{Format, decode_image_within, decode_mask_within};
use libfuzzer_sys::fuzz_target;

const FORMATS: [Option<Format>; 6] = [
    None,
    Some(Format::Png),
    Some(Format::Nifti),
    Some(Format::NiftiGz),
    Some(Format::Dicom),
    Some(Format::Npy),
];

/// Third-party DICOM decoders may panic on hostile bytes; explainme-imaging catches that
/// (`catch_unwind`) and refuses the file. libfuzzer-sys's panic hook aborts before anything
/// unwinds, so the default hook is put back: a caught panic is then the refusal it is in
/// production, while one that escapes the target still aborts the run (libfuzzer-sys aborts
/// on a target that unwinds).
static CAUGHT_PANICS_ARE_REFUSALS: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    CAUGHT_PANICS_ARE_REFUSALS.call_once(|| drop(std::panic::take_hook()));
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    let budget = MemoryBudget::new(64 << 20);
    if let Ok(image) = decode_image_within(file, format, &budget) {
        assert!(image.voxels().iter().all(|v| v.is_finite()));
    }
    let _ = decode_mask_within(file, format, &budget);
});
