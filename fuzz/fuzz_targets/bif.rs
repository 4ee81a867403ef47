//! The BIF reader under a small memory budget: text either reads as a network or is refused;
//! a network that reads is written back by `write_bif` into text that reads again to the same
//! variables.
#![no_main]

use explainme_bayes::{read_bif, read_bif_within, write_bif};
use explainme_budget::MemoryBudget;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(net) = read_bif_within(text, &MemoryBudget::new(16 << 20)) else {
        return;
    };
    let written = write_bif(&net);
    let again = read_bif(&written).expect("what write_bif writes reads back");
    assert_eq!(again.variables().count(), net.variables().count());
});
