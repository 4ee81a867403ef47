//! Changing the grid: resizing to a model's input size, and cropping or padding a region
//! around a point (typically the lesion centre).
//!
//! **Resizing** uses half-pixel centres (the convention of OpenCV `INTER_LINEAR` and PyTorch
//! `interpolate(align_corners=False)`): output voxel `i` samples the input at
//! `(i + 0.5) · n_in / n_out − 0.5`, clamped to the edge. Images are interpolated bilinearly
//! (2D) or trilinearly (3D); masks and other non-numeric grids take the nearest voxel, so a
//! mask never gains values that were not in it. The spacing is scaled so the field of view
//! stays the same. There is no anti-aliasing prefilter: a strong downsampling of noisy CT
//! should be preceded by a blur if aliasing matters. A NaN voxel spreads to every output
//! voxel that interpolates from it.
//!
//! **Cropping** never fails for being near an edge: voxels outside the source take a fill
//! value (e.g. −1024 HU air, or `false` for masks).

use crate::{Error, Grid, Image, Result, Shape, Spacing};

fn check_target<T>(grid: &Grid<T>, target: Shape) -> Result<()> {
    if target.dims() != grid.dims() {
        return Err(Error::InvalidParameter(format!(
            "cannot resize a {}D grid to the {}D shape {:?}",
            grid.dims(),
            target.dims(),
            target.as_slice()
        )));
    }
    target.checked_count().map(drop)
}

fn scaled_spacing(from: Shape, to: Shape, spacing: Spacing) -> Spacing {
    let scale = |n_in: usize, n_out: usize, mm: f32| mm * n_in as f32 / n_out as f32;
    Spacing::new(
        scale(from.z(), to.z(), spacing.z),
        scale(from.y(), to.y(), spacing.y),
        scale(from.x(), to.x(), spacing.x),
    )
}

/// The shape that covers the same field of view as `grid` with voxels of `spacing`
/// (each extent `round(n · old / new)`, at least 1; z ignored in 2D). Pass it to
/// [`resize`] or [`resize_nearest`] to bring a cohort to a common voxel size; the spacing
/// they set equals `spacing` up to the rounding of the extent.
pub fn shape_at_spacing<T>(grid: &Grid<T>, spacing: Spacing) -> Result<Shape> {
    let old = grid.spacing().zyx();
    let new = spacing.zyx();
    let axes = 3 - grid.dims()..3;
    if axes.clone().any(|a| !(new[a].is_finite() && new[a] > 0.0)) {
        return Err(Error::InvalidParameter(format!(
            "target spacing {new:?} mm must be finite and positive"
        )));
    }
    let zyx = grid.shape().zyx();
    let mut out = [1usize; 3];
    for a in axes {
        let n = (zyx[a] as f64 * f64::from(old[a]) / f64::from(new[a])).round();
        if !(n.is_finite() && n < crate::MAX_VOXELS as f64) {
            return Err(Error::InvalidParameter(format!(
                "{} mm voxels need {n} along one axis",
                new[a]
            )));
        }
        out[a] = (n as usize).max(1);
    }
    let shape = if grid.dims() == 2 {
        Shape::d2(out[1], out[2])
    } else {
        Shape::d3(out[0], out[1], out[2])
    };
    shape.checked_count()?;
    Ok(shape)
}

/// Per output index along one axis: the two input taps and the weight of the second.
fn linear_taps(n_in: usize, n_out: usize) -> Vec<(usize, usize, f32)> {
    let scale = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|i| {
            let src = ((i as f64 + 0.5) * scale - 0.5).clamp(0.0, (n_in - 1) as f64);
            let i0 = src.floor() as usize;
            let i1 = (i0 + 1).min(n_in - 1);
            (i0, i1, (src - i0 as f64) as f32)
        })
        .collect()
}

/// Per output index along one axis: the nearest input index.
fn nearest_taps(n_in: usize, n_out: usize) -> Vec<usize> {
    let scale = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|i| (((i as f64 + 0.5) * scale) as usize).min(n_in - 1))
        .collect()
}

/// Resizes an image to `target` (same number of axes) by bilinear / trilinear
/// interpolation.
pub fn resize(image: &Image, target: Shape) -> Result<Image> {
    check_target(image, target)?;
    let [sz, sy, sx] = image.shape().zyx();
    let [tz, ty, tx] = target.zyx();
    let (zs, ys, xs) = (
        linear_taps(sz, tz),
        linear_taps(sy, ty),
        linear_taps(sx, tx),
    );
    let v = image.voxels();
    let at = |z: usize, y: usize, x: usize| v[(z * sy + y) * sx + x];
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let out = Grid::from_fn(target, |z, y, x| {
        let ((z0, z1, wz), (y0, y1, wy), (x0, x1, wx)) = (zs[z], ys[y], xs[x]);
        let plane = |z: usize| {
            lerp(
                lerp(at(z, y0, x0), at(z, y0, x1), wx),
                lerp(at(z, y1, x0), at(z, y1, x1), wx),
                wy,
            )
        };
        if wz == 0.0 {
            plane(z0)
        } else {
            lerp(plane(z0), plane(z1), wz)
        }
    })?;
    Ok(out.with_spacing(scaled_spacing(image.shape(), target, image.spacing())))
}

/// Resizes any grid (masks in particular) to `target` by taking the nearest voxel.
pub fn resize_nearest<T: Clone>(grid: &Grid<T>, target: Shape) -> Result<Grid<T>> {
    check_target(grid, target)?;
    let [sz, sy, sx] = grid.shape().zyx();
    let [tz, ty, tx] = target.zyx();
    let (zs, ys, xs) = (
        nearest_taps(sz, tz),
        nearest_taps(sy, ty),
        nearest_taps(sx, tx),
    );
    let v = grid.voxels();
    let out = Grid::from_fn(target, |z, y, x| {
        v[(zs[z] * sy + ys[y]) * sx + xs[x]].clone()
    })?;
    Ok(out.with_spacing(scaled_spacing(grid.shape(), target, grid.spacing())))
}

/// The `size` region centred on voxel `centre` (`[z, y, x]`, z ignored in 2D), with voxels
/// outside the source set to `fill`. For an even extent the centre lands at index
/// `extent / 2` of the output. `size` must have as many axes as the grid; the spacing is
/// kept.
pub fn crop_around<T: Clone>(
    grid: &Grid<T>,
    centre: [usize; 3],
    size: Shape,
    fill: T,
) -> Result<Grid<T>> {
    if size.dims() != grid.dims() {
        return Err(Error::InvalidParameter(format!(
            "crop size {:?} does not match a {}D grid",
            size.as_slice(),
            grid.dims()
        )));
    }
    let src = grid.shape().zyx();
    let size_zyx = size.zyx();
    // In 2D the z axis has extent 1 in both grids and the crop starts at slice 0.
    let origin: Vec<i64> = (0..3)
        .map(|a| {
            if a == 0 && grid.dims() == 2 {
                0
            } else {
                centre[a] as i64 - (size_zyx[a] / 2) as i64
            }
        })
        .collect();
    let inside = |a: usize, i: usize| {
        let s = origin[a] + i as i64;
        (s >= 0 && (s as u64) < src[a] as u64).then_some(s as usize)
    };
    let out = Grid::from_fn(size, |z, y, x| {
        match (inside(0, z), inside(1, y), inside(2, x)) {
            (Some(sz), Some(sy), Some(sx)) => grid
                .get(sz, sy, sx)
                .cloned()
                .unwrap_or_else(|| fill.clone()),
            _ => fill.clone(),
        }
    })?;
    Ok(out.with_spacing(grid.spacing()))
}
