//! Layout and painting of an overlay: geometry first (so its size is checked against the
//! budget before anything is allocated), then panels, contour, ticks, bar and labels.

use explainme_imaging::{Grid, Image, Mask, resize};

use super::{
    ColourBar, MAX_SIDE, MAX_ZOOM, MapScale, Overlay, OverlayValidParams, Panel, Rect, VIEW_AXES,
    ViewAxes, Zoom,
};
use crate::number;
use crate::raster::{Canvas, GLYPH, Rgb, fit_text, text_width};
use crate::{Error, Result};

const BACKGROUND: Rgb = [0, 0, 0];
const INK: Rgb = [255, 255, 255];
const FRAME: Rgb = [128, 128, 128];
/// Length of a crosshair tick, and the clearance between a tick and its panel.
const TICK: u32 = 6;
const TICK_CLEARANCE: u32 = 2;

/// The input index drawn at output pixel `i` of `px` when `n` voxels span `px` pixels:
/// `floor((i + 0.5) · n / px)`, the half-pixel-centre rule of `explainme_imaging`'s nearest
/// resize. When `px` is a multiple of `n` each voxel becomes an exact block.
pub(super) fn nearest(i: u32, px: u32, n: usize) -> usize {
    let v = (2 * u64::from(i) + 1) * n as u64 / (2 * u64::from(px));
    (v as usize).min(n.saturating_sub(1))
}

/// The pixel at the centre of voxel `v`'s block.
fn centre_pixel(v: usize, px: u32, n: usize) -> u32 {
    let c = (2 * v as u64 + 1) * u64::from(px) / (2 * n as u64);
    (c as u32).min(px.saturating_sub(1))
}

fn unflatten(index: usize, [_, ny, nx]: [usize; 3]) -> [usize; 3] {
    [index / (ny * nx), index / nx % ny, index % nx]
}

fn mismatch(what: &'static str, image: &Image, other: &[usize]) -> Error {
    Error::ShapeMismatch {
        what,
        image: image.shape().as_slice().to_vec(),
        other: other.to_vec(),
    }
}

fn too_large(name: &'static str, what: &str, px: u64) -> Error {
    Error::InvalidParameter {
        name,
        reason: format!("{what} would be {px} px, over the {MAX_SIDE} px limit"),
    }
}

pub(super) fn render(
    p: &OverlayValidParams,
    image: &Image,
    map: &Grid<f32>,
    lesion: Option<&Mask>,
) -> Result<Overlay> {
    let shape = image.shape();
    if map.dims() != image.dims() {
        return Err(mismatch("saliency map", image, map.shape().as_slice()));
    }
    if let Some(mask) = lesion
        && mask.shape() != shape
    {
        return Err(mismatch("lesion mask", image, mask.shape().as_slice()));
    }
    if let Some((index, &value)) = map
        .voxels()
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite())
    {
        return Err(Error::NonFiniteSaliency { index, value });
    }
    let resized;
    let map = if map.shape() == shape {
        map
    } else {
        let count = image.voxels().len() as u64;
        p.budget.check_elements(
            format_args!("the saliency map resized to {:?}", shape.as_slice()),
            &[count],
            4,
        )?;
        resized = resize(map, shape)?;
        &resized
    };
    let MapScale {
        low: min,
        high: max,
        peak: argmax,
    } = MapScale::of(map.voxels());
    let extents = shape.zyx();
    let peak = unflatten(argmax, extents);
    let [low, high] = p.range.unwrap_or([min, max]);
    let colour_scale = MapScale {
        low,
        high,
        peak: argmax,
    };
    let views: &[ViewAxes] = if image.dims() == 2 {
        &VIEW_AXES[..1]
    } else {
        &VIEW_AXES[1..]
    };

    // Geometry: one scale in mm for every panel, the finest axis enlarged `zoom` times.
    let spacing = image.spacing().zyx();
    let used = 3 - image.dims()..3;
    if used
        .clone()
        .any(|a| !(spacing[a].is_finite() && spacing[a] > 0.0))
    {
        return Err(Error::InvalidParameter {
            name: "spacing",
            reason: format!("image voxel spacing {spacing:?} mm must be finite and positive"),
        });
    }
    let finest = used
        .map(|a| f64::from(spacing[a]))
        .fold(f64::INFINITY, f64::min);
    let units = |axis: usize| extents[axis] as f64 * f64::from(spacing[axis]) / finest;
    let zoom = match p.zoom {
        Zoom::Factor(f) => f,
        Zoom::AtLeast(px) => {
            let longest = views
                .iter()
                .map(|v| units(v.rows).max(units(v.cols)))
                .fold(1.0, f64::max);
            (f64::from(px) / longest)
                .ceil()
                .clamp(1.0, f64::from(MAX_ZOOM)) as u32
        }
    };
    let side = |axis: usize| -> Result<u32> {
        let px = (units(axis) * f64::from(zoom)).round().max(1.0);
        if px > f64::from(MAX_SIDE) {
            return Err(too_large("zoom", "a panel side", px as u64));
        }
        Ok(px as u32)
    };
    let sizes = views
        .iter()
        .map(|v| Ok((side(v.cols)?, side(v.rows)?)))
        .collect::<Result<Vec<_>>>()?;

    let scale = p.text_scale;
    let glyph = GLYPH * scale;
    let margin = 12.max(glyph / 2 + 2);
    let gap = 2 * margin;
    let mut top = margin;
    let title_y = top;
    if p.title.is_some() {
        // Room for the colour bar's top label, centred on the bar's top row.
        top += glyph + glyph / 2 + margin / 2;
    }
    let label_y = top;
    if views.len() > 1 {
        top += glyph + TICK + 2 * TICK_CLEARANCE;
    }
    let mut x = u64::from(margin);
    let mut rects = Vec::with_capacity(views.len());
    for &(width, height) in &sizes {
        rects.push((x, width, height));
        x += u64::from(width) + u64::from(gap);
    }
    let panels_height = sizes.iter().map(|s| s.1).max().unwrap_or(1);
    let bar_height = panels_height.max(3 * glyph);
    let bar_width = (3 * glyph / 2).max(12);
    let bar_x = x;
    let mid = low + (high - low) / 2.0;
    let labels: Vec<(String, f32)> = [high, mid, low]
        .into_iter()
        .map(|v| (number::short(v), v))
        .collect();
    let labels_x = bar_x + u64::from(bar_width) + 8;
    let labels_width = labels
        .iter()
        .map(|(t, _)| text_width(t, scale))
        .max()
        .unwrap_or(0);
    let width = labels_x + u64::from(labels_width) + u64::from(margin);
    let height = u64::from(top) + u64::from(bar_height) + u64::from(margin);
    if width > u64::from(MAX_SIDE) || height > u64::from(MAX_SIDE) {
        return Err(too_large("zoom", "the picture", width.max(height)));
    }
    // The pixels, and about as much again for the PNG being written.
    p.budget
        .check_elements("the overlay picture", &[width, height, 3], 2)?;
    let (width, height) = (width as u32, height as u32);
    let mut canvas = Canvas::new(width, height, BACKGROUND);

    let mut panels = Vec::with_capacity(views.len());
    for (axes, &(x, w, h)) in views.iter().zip(&rects) {
        let rect = Rect {
            x: x as u32,
            y: top,
            width: w,
            height: h,
        };
        let slice = peak[axes.fixed];
        let peak_px = [
            rect.x + centre_pixel(peak[axes.cols], w, extents[axes.cols]),
            rect.y + centre_pixel(peak[axes.rows], h, extents[axes.rows]),
        ];
        let panel = Panel {
            view: axes.view,
            slice,
            rect,
            peak_px,
            extents,
        };
        paint_panel(&mut canvas, p, &panel, image, map, lesion, colour_scale);
        if p.crosshair {
            ticks(&mut canvas, &panel);
        }
        if views.len() > 1 {
            let axis = ['z', 'y', 'x'][axes.fixed];
            let text = format!("{} {axis}={slice}", axes.name);
            let room = w + gap - TICK;
            canvas.text(
                rect.x.into(),
                label_y.into(),
                &fit_text(&text, room, scale),
                scale,
                INK,
            );
        }
        panels.push(panel);
    }
    if let Some(title) = &p.title {
        let room = width - 2 * margin;
        canvas.text(
            margin.into(),
            title_y.into(),
            &fit_text(title, room, scale),
            scale,
            INK,
        );
    }

    let bar = Rect {
        x: bar_x as u32,
        y: top,
        width: bar_width,
        height: bar_height,
    };
    paint_colour_bar(&mut canvas, p, bar, &labels, labels_x as u32, scale);

    Ok(Overlay {
        png: canvas.encode_png()?,
        width,
        height,
        zoom,
        peak,
        peak_value: max,
        map_range: [min, max],
        panels,
        colour_bar: ColourBar {
            rect: bar,
            low,
            high,
            labels,
        },
    })
}

/// The panel's pixels: grey CT, the map blended on top, the lesion contour.
fn paint_panel(
    canvas: &mut Canvas,
    p: &OverlayValidParams,
    panel: &Panel,
    image: &Image,
    map: &Grid<f32>,
    lesion: Option<&Mask>,
    colour_scale: MapScale,
) {
    let Rect {
        x: left,
        y: top,
        width,
        height,
    } = panel.rect;
    let [_, ny, nx] = panel.extents;
    let (hu, saliency) = (image.voxels(), map.voxels());
    let alpha = p.opacity;
    let mut inside = lesion.map(|_| vec![false; width as usize * height as usize]);
    for row in 0..height {
        for col in 0..width {
            // Inside the rectangle by construction.
            let Some([z, y, x]) = panel.voxel_at(left + col, top + row) else {
                continue;
            };
            let i = (z * ny + y) * nx + x;
            let grey = (255.0 * p.window.apply(hu[i])).round() as u8;
            let t = colour_scale.position(saliency[i]);
            let colour = if t > p.threshold {
                let c = p.colormap.rgb(t);
                let mix =
                    |c: u8| (f32::from(grey) * (1.0 - alpha) + f32::from(c) * alpha).round() as u8;
                [mix(c[0]), mix(c[1]), mix(c[2])]
            } else {
                [grey; 3]
            };
            canvas.set((left + col).into(), (top + row).into(), colour);
            if let (Some(inside), Some(mask)) = (inside.as_mut(), lesion) {
                inside[(row * width + col) as usize] = mask.voxels()[i];
            }
        }
    }
    if let Some(inside) = inside
        && p.contour_width > 0
    {
        let kept = erode(
            &inside,
            width as usize,
            height as usize,
            p.contour_width as usize,
        );
        for (k, (&a, &b)) in inside.iter().zip(&kept).enumerate() {
            if a && !b {
                let (row, col) = (k as u32 / width, k as u32 % width);
                canvas.set((left + col).into(), (top + row).into(), p.contour_colour);
            }
        }
    }
}

/// Pixels whose every neighbour within Chebyshev distance `radius` is set (outside the
/// panel counts as unset), by a row pass and a column pass.
fn erode(set: &[bool], width: usize, height: usize, radius: usize) -> Vec<bool> {
    let pass = |src: &[bool], len: usize, count: usize, at: &dyn Fn(usize, usize) -> usize| {
        let mut out = vec![false; src.len()];
        for line in 0..count {
            for k in 0..len {
                let (lo, hi) = (k.checked_sub(radius), k + radius);
                out[at(line, k)] =
                    lo.is_some() && hi < len && (k - radius..=hi).all(|j| src[at(line, j)]);
            }
        }
        out
    };
    let rows = pass(set, width, height, &|r, c| r * width + c);
    pass(&rows, height, width, &|c, r| r * width + c)
}

/// Short ticks outside the panel's four edges, in line with the peak.
fn ticks(canvas: &mut Canvas, panel: &Panel) {
    let Rect {
        x,
        y,
        width,
        height,
    } = panel.rect;
    let [px, py] = panel.peak_px.map(i64::from);
    let (x, y) = (i64::from(x), i64::from(y));
    let (right, bottom) = (x + i64::from(width), y + i64::from(height));
    let (near, far) = (i64::from(TICK_CLEARANCE), i64::from(TICK_CLEARANCE + TICK));
    // Two pixels thick, on either side of the centre pixel (the block's centre for even
    // blocks).
    for d in near..far {
        for w in [-1, 0] {
            canvas.set(x - 1 - d, py + w, INK);
            canvas.set(right + d, py + w, INK);
            canvas.set(px + w, y - 1 - d, INK);
            canvas.set(px + w, bottom + d, INK);
        }
    }
}

/// The bar (top = `t` 1, bottom = `t` 0) in a grey frame, with ticks and labels at the top,
/// middle and bottom.
fn paint_colour_bar(
    canvas: &mut Canvas,
    p: &OverlayValidParams,
    bar: Rect,
    labels: &[(String, f32)],
    labels_x: u32,
    scale: u32,
) {
    let (x, y) = (i64::from(bar.x), i64::from(bar.y));
    canvas.fill(x - 1, y - 1, bar.width + 2, bar.height + 2, FRAME);
    let last = bar.height.saturating_sub(1).max(1);
    for row in 0..bar.height {
        let t = 1.0 - row as f32 / last as f32;
        // What the panels show: no colour at or below the threshold.
        let colour = if t > p.threshold {
            p.colormap.rgb(t)
        } else {
            FRAME
        };
        canvas.fill(x, y + i64::from(row), bar.width, 1, colour);
    }
    let rows = [0, last / 2, bar.height.saturating_sub(1)];
    let glyph = i64::from(GLYPH * scale);
    for ((text, _), row) in labels.iter().zip(rows) {
        let centre = y + i64::from(row);
        canvas.fill(x + i64::from(bar.width) + 1, centre, 4, 1, INK);
        let text_y = (centre - glyph / 2)
            .min(i64::from(canvas.height()) - glyph)
            .max(0);
        canvas.text(labels_x.into(), text_y, text, scale, INK);
    }
}
