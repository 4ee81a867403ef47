//! The headless-Chromium render check itself (`tests/browser_support`), on a hand-made page:
//! a good inline PNG and SVG must be measured at their sizes, a broken image must be reported.
//! Needs Debian's chromium (`bash tools/setup.sh`); without it these tests fail, not skip.

mod browser_support;

use std::path::Path;

use browser_support::{render_check, render_check_with};

/// A `width` × `height` RGB PNG, encoded by the `png` crate.
fn png(width: u32, height: u32) -> Vec<u8> {
    let rgb: Vec<u8> = (0..width * height)
        .flat_map(|i| [(i * 40) as u8, 120, 200])
        .collect();
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&rgb).unwrap();
    writer.finish().unwrap();
    out
}

/// Standard base64 with padding, for data: URIs.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_rfc_4648_vectors() {
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, encoded) in cases {
        assert_eq!(base64(plain.as_bytes()), encoded);
    }
}

#[test]
fn good_images_and_svgs_render_and_a_broken_image_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let page = format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Render check &amp; fixture — é</title></head>
<body>
<h1>Fixture</h1>
<img alt="good heatmap" src="data:image/png;base64,{good}">
<svg id="bar-chart" width="100" height="50" xmlns="http://www.w3.org/2000/svg">
  <rect width="100" height="50" fill="steelblue"/>
</svg>
<img alt="broken image" src="data:image/png;base64,bm90IGEgUE5HIGF0IGFsbA==">
</body></html>
"#,
        good = base64(&png(3, 2)),
    );
    std::fs::write(&html, page).unwrap();
    let screenshot = dir.path().join("shots/report.png");

    let report = render_check(&html, &screenshot).unwrap();

    assert_eq!(report.title, "Render check & fixture — é");
    assert_eq!(report.images.len(), 2, "{report:#?}");
    let good = &report.images[0];
    assert_eq!(good.what, "good heatmap");
    assert_eq!((good.width, good.height), (3.0, 2.0), "{report:#?}");
    let broken = &report.images[1];
    assert_eq!(broken.what, "broken image");
    assert_eq!((broken.width, broken.height), (0.0, 0.0), "{report:#?}");
    assert_eq!(report.svgs.len(), 1, "{report:#?}");
    let svg = &report.svgs[0];
    assert_eq!(svg.what, "bar-chart");
    assert_eq!((svg.width, svg.height), (100.0, 50.0), "{report:#?}");

    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].contains("broken image"), "{failures:#?}");

    let shot = std::fs::read(&screenshot).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {} bytes",
        shot.len()
    );
}

#[test]
fn a_missing_chromium_is_an_error_that_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("page.html");
    std::fs::write(&html, "<html><body></body></html>").unwrap();
    let error = render_check_with(
        Path::new("/nonexistent/chromium"),
        &html,
        &dir.path().join("shot.png"),
    )
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("bash tools/setup.sh"),
        "{error:#}"
    );
}
