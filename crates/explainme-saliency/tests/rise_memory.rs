//! RISE with 8,000 masks on a 48³ volume keeps the process's peak resident memory under
//! 1 GB: masks are generated and consumed batch by batch. Its own test binary, so the peak
//! (`VmHWM` in `/proc/self/status`) is this test's alone.

mod common;

use explainme_saliency::{Saliency, Subject};

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn rise_with_8000_masks_on_48_cubed_stays_under_1_gb() {
    let image = common::fat_phantom(65).image;
    let (model, card) = common::detector_for(&image, None);
    let subject = Subject::new(&model, &card, Default::default()).unwrap();
    let heatmap = Saliency::params()
        .method("rise")
        .masks(8000)
        .seed(3)
        .explain(&subject, &image)
        .unwrap();
    assert_eq!(heatmap.forward_passes, 8001);
    assert!(heatmap.map.voxels().iter().all(|v| v.is_finite()));
    let peak = peak_rss_bytes();
    eprintln!(
        "peak RSS {:.1} MiB, batch {} cases, {:.1} s",
        peak as f64 / (1 << 20) as f64,
        subject.batch_size(),
        heatmap.seconds
    );
    assert!(peak < 1_000_000_000, "peak RSS {peak} bytes");
}
