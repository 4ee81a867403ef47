//! Draws two heatmap overlays on phantom CT and writes them as PNG files: a 2D case with a
//! synthetic saliency blob at the lesion (given at a 32×32 "model input" size, so it is
//! resized), and a 48³ volume with a blob at the lesion, shown through its peak.
//!
//! `cargo run -p explainme-report --example heatmap_overlay -- [OUT_DIR]` (default `/tmp`).

use std::path::{Path, PathBuf};

use explainme_imaging::{Grid, Image, Mask, Shape, Spacing, Window, resize};
use explainme_phantom::{Dims, Phantom};
use explainme_report::Colormap;
use explainme_report::heatmap::Overlay;

/// The phantom's image and lesion mask as imaging grids.
fn case(
    dims: Dims,
    size: usize,
    index: usize,
) -> Result<(Image, Mask), Box<dyn std::error::Error>> {
    let case = Phantom::params()
        .dims(dims)
        .size(size)
        .seed(7)
        .case(index)?;
    let r = case.rendering;
    let shape = match dims {
        Dims::Two => Shape::d2(r.shape[1], r.shape[2]),
        Dims::Three => Shape::d3(r.shape[0], r.shape[1], r.shape[2]),
    };
    let spacing = Spacing::isotropic(r.spacing_mm as f32);
    let image = Image::new(shape, r.image)?.with_spacing(spacing);
    let lesion = Mask::new(shape, r.masks[0].1.clone())?.with_spacing(spacing);
    Ok((image, lesion))
}

/// A Gaussian blob of `sigma` voxels (of `shape`) at `centre` (fractions of each extent).
fn blob(shape: Shape, centre: [f64; 3], sigma: f64) -> Result<Grid<f32>, explainme_imaging::Error> {
    let [nz, ny, nx] = shape.zyx();
    Grid::from_fn(shape, |z, y, x| {
        let d = |i: usize, n: usize, c: f64| i as f64 + 0.5 - c * n as f64;
        let r2 = d(z, nz, centre[0]).powi(2) * f64::from(u8::from(nz > 1))
            + d(y, ny, centre[1]).powi(2)
            + d(x, nx, centre[2]).powi(2);
        (-r2 / (2.0 * sigma * sigma)).exp() as f32
    })
}

/// Writes the picture (the library returns bytes; files are the caller's business).
fn save(out: &Path, name: &str, overlay: &Overlay) -> std::io::Result<()> {
    let path = out.join(name);
    std::fs::write(&path, &overlay.png)?;
    let (w, h, peak) = (overlay.width, overlay.height, overlay.peak);
    println!("{}: {w}×{h}, peak {peak:?}", path.display());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/tmp".into()));

    let (image, lesion) = case(Dims::Two, 64, 0)?;
    let [_, cy, cx] = lesion.centroid().ok_or("empty lesion")?;
    let map = blob(
        Shape::d2(32, 32),
        [0.0, (cy + 0.5) / 64.0, (cx + 0.5) / 64.0],
        3.0,
    )?;
    let overlay = Overlay::params()
        .window(Window::ABDOMEN)
        .title("blob map at 32x32, resized")
        .render(&image, &map, Some(&lesion))?;
    save(&out, "overlay_2d.png", &overlay)?;

    let (volume, lesion) = case(Dims::Three, 48, 0)?;
    let [cz, cy, cx] = lesion.centroid().ok_or("empty lesion")?;
    let centre = [cz, cy, cx].map(|c| (c + 0.5) / 48.0);
    let map = blob(Shape::d3(48, 48, 48), centre, 4.0)?;
    let overlay = Overlay::params()
        .colormap(Colormap::INFERNO)
        .opacity(0.6)
        .title("48^3 phantom, inferno")
        .render(&volume, &map, Some(&lesion))?;
    save(&out, "overlay_3d.png", &overlay)?;

    // The same volume with thick slices (16 of 8 mm): the panels keep the anatomy's aspect,
    // and the map stays at the model's 48³.
    let thick = resize(&volume, Shape::d3(16, 48, 48))?;
    let overlay = Overlay::params()
        .title("16 slices of 8 mm")
        .render(&thick, &map, None)?;
    save(&out, "overlay_3d_thick.png", &overlay)?;
    Ok(())
}
