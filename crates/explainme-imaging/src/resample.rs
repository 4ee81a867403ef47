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

/// `target` has `from`'s number of axes and a voxel count within bounds.
fn check_target(from: Shape, target: Shape) -> Result<()> {
    if target.dims() != from.dims() {
        return Err(Error::InvalidParameter(format!(
            "cannot resize a {}D grid to the {}D shape {:?}",
            from.dims(),
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
    let mut resizer = Resizer::new(image.shape(), target)?;
    let mut out = vec![0.0; target.checked_count()?];
    resizer.resize_into(image.voxels(), &mut out);
    Ok(Image::new(target, out)?.with_spacing(scaled_spacing(
        image.shape(),
        target,
        image.spacing(),
    )))
}

/// [`resize`] for many grids of one shape, with the taps computed once and the
/// intermediate rows kept: Score-CAM upsamples each of a layer's channels to the input.
/// Separable (along x, then y, then z), with the same arithmetic as
/// `lerp(lerp(lerp(…, wx), …, wy), …, wz)`, so its values are [`resize`]'s bit for bit.
/// [`Resizer::cropped`] resizes to a larger grid and keeps a window of it, moved by
/// [`Resizer::set_offset`]: RISE's randomly shifted masks.
#[derive(Debug, Clone)]
pub struct Resizer {
    from: [usize; 3],
    /// The upsampled extent the taps cover.
    upsampled: [usize; 3],
    /// The window kept, and where it starts in the upsampled grid.
    to: [usize; 3],
    offset: [usize; 3],
    taps: [Vec<(usize, usize, f32)>; 3],
    along_x: Vec<f32>,
    along_y: Vec<f32>,
}

impl Resizer {
    /// A resizer from grids of `from` to grids of `target` (same number of axes).
    pub fn new(from: Shape, target: Shape) -> Result<Resizer> {
        Resizer::cropped(from, target, target)
    }

    /// A resizer from grids of `from` to `upsampled`, keeping the `target` window that
    /// starts at the offset (0 until [`Resizer::set_offset`]); `target` fits in `upsampled`.
    pub fn cropped(from: Shape, upsampled: Shape, target: Shape) -> Result<Resizer> {
        check_target(from, upsampled)?;
        check_target(from, target)?;
        let (from, up, to) = (from.zyx(), upsampled.zyx(), target.zyx());
        if (0..3).any(|a| to[a] > up[a]) {
            return Err(Error::InvalidParameter(format!(
                "a {to:?} window does not fit in the {up:?} grid"
            )));
        }
        Ok(Resizer {
            from,
            upsampled: up,
            to,
            offset: [0; 3],
            taps: [0, 1, 2].map(|a| linear_taps(from[a], up[a])),
            along_x: Vec::new(),
            along_y: Vec::new(),
        })
    }

    /// Moves the kept window to start at `offset` (z, y, x) in the upsampled grid.
    ///
    /// # Panics
    /// If the window would reach past the upsampled grid.
    pub fn set_offset(&mut self, offset: [usize; 3]) {
        assert!(
            (0..3).all(|a| offset[a] + self.to[a] <= self.upsampled[a]),
            "set_offset: {offset:?} moves the window past the grid"
        );
        self.offset = offset;
    }

    /// Writes `values` (a grid of the `from` shape, row-major z, y, x) resized into `out`
    /// (the target's voxel count).
    ///
    /// # Panics
    /// If `values` or `out` has another length than its shape's voxel count.
    pub fn resize_into(&mut self, values: &[f32], out: &mut [f32]) {
        let [sz, sy, sx] = self.from;
        let [tz, ty, tx] = self.to;
        assert_eq!(values.len(), sz * sy * sx, "resize_into: input length");
        assert_eq!(out.len(), tz * ty * tx, "resize_into: output length");
        let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
        let [zs, ys, xs] = [0, 1, 2].map(|a| &self.taps[a][self.offset[a]..][..self.to[a]]);
        // x: [sz][sy][tx]
        self.along_x.clear();
        for row in values.chunks_exact(sx) {
            self.along_x
                .extend(xs.iter().map(|&(a, b, w)| lerp(row[a], row[b], w)));
        }
        // y: [sz][ty][tx]
        self.along_y.clear();
        for plane in self.along_x.chunks_exact(sy * tx) {
            for &(a, b, w) in ys.iter() {
                let (ra, rb) = (&plane[a * tx..(a + 1) * tx], &plane[b * tx..(b + 1) * tx]);
                self.along_y
                    .extend(ra.iter().zip(rb).map(|(&p, &q)| lerp(p, q, w)));
            }
        }
        // z: [tz][ty][tx]; a zero weight takes the first plane as it is (2D, and exact
        // z positions), so a NaN in the other does not spread.
        let plane = ty * tx;
        for (out, &(a, b, w)) in out.chunks_exact_mut(plane).zip(zs.iter()) {
            let pa = &self.along_y[a * plane..(a + 1) * plane];
            if w == 0.0 {
                out.copy_from_slice(pa);
            } else {
                let pb = &self.along_y[b * plane..(b + 1) * plane];
                for ((o, &p), &q) in out.iter_mut().zip(pa).zip(pb) {
                    *o = lerp(p, q, w);
                }
            }
        }
    }
}

/// Resizes any grid (masks in particular) to `target` by taking the nearest voxel.
pub fn resize_nearest<T: Clone>(grid: &Grid<T>, target: Shape) -> Result<Grid<T>> {
    check_target(grid.shape(), target)?;
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
