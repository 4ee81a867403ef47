//! Codec throughput, side by side with the Python peers in one run.
//!
//! `cargo bench -p explainme-imaging --bench codecs` encodes and decodes a 512×512 CT slice
//! (PNG, DICOM), a 128³ volume (NIfTI float32, NIfTI int16 gzip, `.npy`), reports the median
//! of repeated runs, then runs `benches/peers_codecs.py` on the same files (Pillow, nibabel,
//! pydicom, numpy) and prints both. Without `python3` and the pinned peers the peer column
//! says so. Timings are printed, never asserted.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use explainme_imaging::codec::nifti;
use explainme_imaging::{Format, Image, Shape, Spacing, decode_image, encode_image};

const REPS: usize = 20;

/// A CT-like image: smooth anatomy plus deterministic noise, integer HU.
fn ct(shape: Shape) -> Image {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let [_, ny, nx] = shape.zyx();
    Image::from_fn(shape, |z, y, x| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (dy, dx) = (y as f32 - ny as f32 / 2.0, x as f32 - nx as f32 / 2.0);
        let body = if dy * dy + dx * dx < (nx as f32 * 0.4).powi(2) {
            40.0
        } else {
            -1000.0
        };
        (body + (z % 7) as f32 + (state % 21) as f32 - 10.0).round()
    })
    .expect("benchmark shapes are valid")
    .with_spacing(Spacing::new(2.5, 0.7, 0.7))
}

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..REPS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPS / 2]
}

struct Case {
    name: &'static str,
    file: &'static str,
    bytes: Vec<u8>,
    encode_ms: f64,
    decode_ms: f64,
}

fn case(
    name: &'static str,
    file: &'static str,
    image: &Image,
    encode: impl Fn(&Image) -> Vec<u8>,
) -> Case {
    let bytes = encode(image);
    let encode_ms = median_ms(|| {
        std::hint::black_box(encode(image));
    });
    let decode_ms = median_ms(|| {
        std::hint::black_box(decode_image(&bytes, None).expect("own output decodes"));
    });
    Case {
        name,
        file,
        bytes,
        encode_ms,
        decode_ms,
    }
}

fn main() {
    let slice = ct(Shape::d2(512, 512));
    let volume = ct(Shape::d3(128, 128, 128));
    let by = |format: Format| move |i: &Image| encode_image(i, format).expect("encodes");
    let cases = [
        case(
            "png 512x512 16-bit",
            "slice_512.png",
            &slice,
            by(Format::Png),
        ),
        case(
            "volume_128_f32.nii",
            "volume_128_f32.nii",
            &volume,
            by(Format::Nifti),
        ),
        case(
            "volume_128_i16.nii.gz",
            "volume_128_i16.nii.gz",
            &volume,
            |i| nifti::encode(i, nifti::Datatype::Int16, true).expect("encodes"),
        ),
        case(
            "dicom 512x512 int16",
            "slice_512.dcm",
            &slice,
            by(Format::Dicom),
        ),
        case(
            "npy 128^3 f32",
            "volume_128_f32.npy",
            &volume,
            by(Format::Npy),
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    for c in &cases {
        std::fs::write(dir.path().join(c.file), &c.bytes).expect("write bench file");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers_codecs.py");
    let run = Command::new("python3")
        .arg(&script)
        .arg(dir.path())
        .arg(REPS.to_string())
        .output();
    let peers: Option<serde_json::Value> = match run {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).ok(),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            println!("peer script failed: {}", err.lines().last().unwrap_or(""));
            None
        }
        Err(e) => {
            println!("python3 not runnable: {e}");
            None
        }
    };
    println!(
        "median of {REPS} runs, in-memory bytes, ms (peers: Pillow / nibabel / pydicom / numpy)"
    );
    println!(
        "{:<24} {:>10} {:>10} {:>12} {:>12}",
        "case", "encode", "decode", "peer encode", "peer decode"
    );
    for c in &cases {
        let peer = |key: &str| {
            peers
                .as_ref()
                .and_then(|p| p[c.name][key].as_f64())
                .map_or("n/a".to_owned(), |v| format!("{v:.2}"))
        };
        println!(
            "{:<24} {:>10.2} {:>10.2} {:>12} {:>12}",
            c.name,
            c.encode_ms,
            c.decode_ms,
            peer("encode_ms"),
            peer("decode_ms")
        );
    }
    if peers.is_none() {
        println!("peers not run: needs python3 with tests/fixtures/peers/requirements-imaging.txt");
    }
}
