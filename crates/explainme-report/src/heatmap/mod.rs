//! Heatmap overlays: a saliency map blended over the CT window, as a PNG with a colour bar.
//!
//! A saliency map means nothing to a radiologist until it sits on the anatomy, in the window
//! they read CT in, with a scale that says what the colours are worth. This module draws
//! exactly that picture, for 2D images and for 3D volumes, and returns it as PNG bytes along
//! with the geometry it used (where each panel is, which slice it shows, where the peak is),
//! so a caller can report the figures and a test can check the pixels.
//!
//! * **2D**: one panel, the image.
//! * **3D**: three panels side by side — axial, coronal and sagittal — through the map's
//!   peak (its first maximal voxel in C order), labelled `axial z=…`, `coronal y=…`,
//!   `sagittal x=…`, at one common scale in mm so the voxel spacing's aspect is kept.
//!   Rows of the coronal and sagittal panels are z in storage order (z = 0 at the top):
//!   [`Image`] carries no patient orientation, so none is guessed.
//!
//! **The picture.** Each voxel shows its HU through the [`Window`] as grey
//! (`round(255 · window.apply(hu))`), blended with the colormap colour of its saliency
//! `t = (value − low) / (high − low)` (clamped to `[0, 1]`; `low`, `high` default to the map's
//! minimum and maximum) at the chosen opacity: `round(grey · (1 − opacity) + colour ·
//! opacity)` per channel. Voxels with `t ≤ threshold` are not painted at all, so a map that
//! is zero outside a blob leaves the CT untouched there, and a constant map (it says
//! nothing) paints nothing. The default threshold, 0.1, is there because most maps are not
//! exactly zero anywhere (RISE is positive everywhere, occlusion is noisy around 0): painting
//! their faint tail tints the whole CT with the colormap's dark end and hides the anatomy.
//! The colour bar shows the hidden part in grey. The optional lesion mask is drawn as a
//! contour inside its boundary, at display resolution. Small images are enlarged by an
//! integer factor with nearest-neighbour sampling, so each voxel is a visible square and no
//! value is invented. A vertical colour bar at the right runs from the top colour (`t = 1`,
//! labelled with `high`) to the bottom colour (`low`), with the midpoint labelled too.
//!
//! Deliberately not here: file I/O (the caller writes the bytes), saliency computation, and
//! any smoothing of the map — what is drawn is the map as given, resized bilinearly to the
//! image only when it came at the model's input size.

mod draw;

use explainme_budget::MemoryBudget;
use explainme_imaging::{Grid, Image, Mask, Window};

use crate::colormap::Colormap;
use crate::raster::Rgb;
use crate::{Error, Result};

/// How a saliency map's values sit on its colour bar: the range `[low, high]` (by default the
/// map's finite minimum and maximum) and its peak, the first maximal voxel in C order. The PNG
/// overlay draws with it, and so does anything else that shows the same map beside it (the
/// workbench's viewer), so both put a value on the same colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapScale {
    pub low: f32,
    pub high: f32,
    /// Index (C order) of the first maximal finite value; 0 when none is finite.
    pub peak: usize,
}

impl MapScale {
    /// The range and peak of the finite values of `values`; `[0, 0]` when none is finite (a
    /// map that says nothing, so [`MapScale::position`] paints nothing).
    pub fn of(values: &[f32]) -> MapScale {
        let mut low = f32::INFINITY;
        let (mut high, mut peak) = (f32::NEG_INFINITY, 0);
        for (i, &v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
            low = low.min(v);
            if v > high {
                (high, peak) = (v, i);
            }
        }
        if low > high {
            return MapScale {
                low: 0.0,
                high: 0.0,
                peak: 0,
            };
        }
        MapScale { low, high, peak }
    }

    /// `t = (value − low) / (high − low)`, clamped to `[0, 1]`: where `value` sits on the
    /// colour bar; 0 for a constant map and for a value that is not finite.
    pub fn position(&self, value: f32) -> f32 {
        let span = self.high - self.low;
        if span > 0.0 && value.is_finite() {
            ((value - self.low) / span).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Largest integer enlargement factor.
pub const MAX_ZOOM: u32 = 64;

/// Largest width or height of a picture, in pixels.
pub const MAX_SIDE: u32 = 16_384;

/// Largest text scale (8 × 8 font pixels per glyph pixel).
pub const MAX_TEXT_SCALE: u32 = 8;

/// Largest contour width, in display pixels.
pub const MAX_CONTOUR_WIDTH: u32 = 16;

/// How much to enlarge the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zoom {
    /// The smallest integer factor (at least 1) that makes the longest panel side at least
    /// this many pixels; a 64×64 slice at `AtLeast(256)` is drawn 4× (256 px).
    AtLeast(u32),
    /// Exactly this factor on the finest voxel axis (1..=[`MAX_ZOOM`]).
    Factor(u32),
}

/// Which plane a panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    /// The 2D image itself.
    Plane,
    /// A slice at fixed z: rows y, columns x.
    Axial,
    /// A slice at fixed y: rows z, columns x.
    Coronal,
    /// A slice at fixed x: rows z, columns y.
    Sagittal,
}

impl View {
    /// `plane`, `axial`, `coronal`, `sagittal`.
    pub fn name(self) -> &'static str {
        self.axes().name
    }

    /// The axis held fixed (0 = z, 1 = y, 2 = x; z for [`View::Plane`]).
    pub fn fixed_axis(self) -> usize {
        self.axes().fixed
    }

    fn axes(self) -> &'static ViewAxes {
        VIEW_AXES
            .iter()
            .find(|a| a.view == self)
            .unwrap_or(&VIEW_AXES[0])
    }
}

/// A view's axes in `[z, y, x]` order: the one held fixed, the one down the rows, the one
/// across the columns.
#[derive(Debug)]
struct ViewAxes {
    view: View,
    name: &'static str,
    fixed: usize,
    rows: usize,
    cols: usize,
}

/// Every view, the 2D plane first, then the three 3D views in the order they are drawn.
const VIEW_AXES: [ViewAxes; 4] = [
    ViewAxes {
        view: View::Plane,
        name: "plane",
        fixed: 0,
        rows: 1,
        cols: 2,
    },
    ViewAxes {
        view: View::Axial,
        name: "axial",
        fixed: 0,
        rows: 1,
        cols: 2,
    },
    ViewAxes {
        view: View::Coronal,
        name: "coronal",
        fixed: 1,
        rows: 0,
        cols: 2,
    },
    ViewAxes {
        view: View::Sagittal,
        name: "sagittal",
        fixed: 2,
        rows: 0,
        cols: 1,
    },
];

/// A rectangle on the picture, in pixels from the top-left corner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// Whether the pixel (`x`, `y`) lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x - self.x < self.width && y - self.y < self.height
    }
}

/// One panel of the picture: a plane of the image and where it was drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The plane shown.
    pub view: View,
    /// Index of the slice along [`View::fixed_axis`] (0 for [`View::Plane`]).
    pub slice: usize,
    /// Where the panel is on the picture.
    pub rect: Rect,
    /// The picture pixel `[x, y]` at the centre of the peak voxel's square.
    pub peak_px: [u32; 2],
    /// `[z, y, x]` extents of the image.
    extents: [usize; 3],
}

impl Panel {
    /// The image voxel `[z, y, x]` (z = 0 in 2D) drawn at picture pixel (`x`, `y`), or `None`
    /// outside the panel. The same nearest-neighbour rule the drawing used.
    pub fn voxel_at(&self, x: u32, y: u32) -> Option<[usize; 3]> {
        if !self.rect.contains(x, y) {
            return None;
        }
        let axes = self.view.axes();
        let mut voxel = [0usize; 3];
        voxel[axes.fixed] = self.slice;
        voxel[axes.rows] =
            draw::nearest(y - self.rect.y, self.rect.height, self.extents[axes.rows]);
        voxel[axes.cols] = draw::nearest(x - self.rect.x, self.rect.width, self.extents[axes.cols]);
        Some(voxel)
    }
}

/// The colour bar as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct ColourBar {
    /// The bar itself (without its frame and labels): row 0 has the colour of `high`, the
    /// last row that of `low`.
    pub rect: Rect,
    /// Saliency at the bottom of the bar (`t = 0`).
    pub low: f32,
    /// Saliency at the top of the bar (`t = 1`).
    pub high: f32,
    /// The labels, top to bottom: `(text, value)` for `high`, the midpoint and `low`.
    pub labels: Vec<(String, f32)>,
}

/// A drawn heatmap overlay: the PNG and the figures and geometry behind it.
///
/// `Overlay::params()` is the entry point; see [`OverlayParams`].
#[derive(Clone, Debug, PartialEq)]
pub struct Overlay {
    /// The picture: an 8-bit RGB PNG.
    pub png: Vec<u8>,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// The integer enlargement applied to the finest voxel axis.
    pub zoom: u32,
    /// The map's peak `[z, y, x]` on the image grid (z = 0 in 2D): its first maximal voxel
    /// in C order, after resizing to the image.
    pub peak: [usize; 3],
    /// The map's value there.
    pub peak_value: f32,
    /// The map's minimum and maximum on the image grid.
    pub map_range: [f32; 2],
    /// One panel in 2D; axial, coronal and sagittal in 3D.
    pub panels: Vec<Panel>,
    /// The colour bar.
    pub colour_bar: ColourBar,
}

impl Overlay {
    /// The options, at their defaults (listed at [`OverlayParams`]).
    pub fn params() -> OverlayParams {
        OverlayParams(OverlayValidParams {
            window: Window::ABDOMEN,
            colormap: Colormap::VIRIDIS,
            opacity: 0.5,
            threshold: 0.1,
            range: None,
            zoom: Zoom::AtLeast(256),
            contour_colour: [255, 64, 255],
            contour_width: 2,
            text_scale: 2,
            crosshair: true,
            title: None,
            budget: MemoryBudget::default(),
        })
    }
}

/// Options of a heatmap overlay, checked before drawing.
///
/// | option | default | meaning |
/// |---|---|---|
/// | [`window`](Self::window) | [`Window::ABDOMEN`] (40 / 400 HU) | the CT window shown in grey |
/// | [`colormap`](Self::colormap) | [`Colormap::VIRIDIS`] | colours of the map and the bar |
/// | [`opacity`](Self::opacity) | 0.5 | weight of the colour over the grey, in `[0, 1]` |
/// | [`threshold`](Self::threshold) | 0.1 | voxels with `t ≤ threshold` are left grey, `[0, 1)` |
/// | [`range`](Self::range) | the map's min and max | saliency at the bar's bottom and top |
/// | [`zoom`](Self::zoom) | `Zoom::AtLeast(256)` | integer enlargement |
/// | [`contour_colour`](Self::contour_colour) | magenta `[255, 64, 255]` | lesion contour colour |
/// | [`contour_width`](Self::contour_width) | 2 px | lesion contour width (0 = none) |
/// | [`text_scale`](Self::text_scale) | 2 (16 px glyphs) | label size, 1..=8 |
/// | [`crosshair`](Self::crosshair) | on | ticks at the panel edges pointing at the peak |
/// | [`title`](Self::title) | none | a line of text above the panels |
/// | [`budget`](Self::budget) | 1 GiB | memory for the resized map and the picture |
///
/// Magenta is the default contour colour because none of the registered colormaps, nor
/// CT grey, contains it.
///
/// ```
/// use explainme_imaging::{Grid, Image, Mask, Shape, Window};
/// use explainme_report::heatmap::Overlay;
///
/// // 32×32 soft tissue (40 HU) with a saliency blob at the centre and a lesion mask there.
/// let image = Image::filled(Shape::d2(32, 32), 40.0)?;
/// let map = Grid::from_fn(Shape::d2(32, 32), |_, y, x| {
///     let d2 = (y as f32 - 16.0).powi(2) + (x as f32 - 16.0).powi(2);
///     (-d2 / 20.0).exp()
/// })?;
/// let lesion = Mask::from_fn(Shape::d2(32, 32), |_, y, x| y.abs_diff(16) + x.abs_diff(16) < 6)?;
///
/// let overlay = Overlay::params().window(Window::ABDOMEN).render(&image, &map, Some(&lesion))?;
/// assert!(overlay.png.starts_with(b"\x89PNG"));
/// assert_eq!(overlay.zoom, 8); // 32 px × 8 = 256 px
/// assert_eq!(overlay.peak, [0, 16, 16]);
/// assert_eq!(overlay.colour_bar.labels[0].0, "1");
///
/// // Options are checked before anything is drawn.
/// assert!(Overlay::params().opacity(1.5).render(&image, &map, None).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OverlayParams(OverlayValidParams);

/// [`OverlayParams`] that passed their check: only these draw.
#[derive(Clone, Debug, PartialEq)]
pub struct OverlayValidParams {
    window: Window,
    colormap: Colormap,
    opacity: f32,
    threshold: f32,
    range: Option<[f32; 2]>,
    zoom: Zoom,
    contour_colour: Rgb,
    contour_width: u32,
    text_scale: u32,
    crosshair: bool,
    title: Option<String>,
    budget: MemoryBudget,
}

impl OverlayParams {
    /// The CT window shown in grey (default [`Window::ABDOMEN`]).
    pub fn window(mut self, window: Window) -> Self {
        self.0.window = window;
        self
    }

    /// The colormap of the map and the colour bar (default [`Colormap::VIRIDIS`]).
    pub fn colormap(mut self, colormap: Colormap) -> Self {
        self.0.colormap = colormap;
        self
    }

    /// Weight of the map's colour over the grey, in `[0, 1]` (default 0.5). At 1 a painted
    /// voxel shows its colormap colour exactly.
    pub fn opacity(mut self, opacity: f32) -> Self {
        self.0.opacity = opacity;
        self
    }

    /// Voxels whose normalised saliency `t` is at or below this fraction of the colour range
    /// stay plain grey, in `[0, 1)` (default 0.1, the bottom tenth; 0 leaves only the
    /// minimum unpainted). The colour bar shows that part in grey.
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.0.threshold = threshold;
        self
    }

    /// Saliency at the bottom and top of the colour bar (default: the map's own minimum and
    /// maximum). Fix it to compare several maps on one scale; values outside are clamped.
    pub fn range(mut self, low: f32, high: f32) -> Self {
        self.0.range = Some([low, high]);
        self
    }

    /// Integer enlargement (default `Zoom::AtLeast(256)`).
    pub fn zoom(mut self, zoom: Zoom) -> Self {
        self.0.zoom = zoom;
        self
    }

    /// Colour of the lesion contour (default magenta `[255, 64, 255]`).
    pub fn contour_colour(mut self, colour: [u8; 3]) -> Self {
        self.0.contour_colour = colour;
        self
    }

    /// Width of the lesion contour in picture pixels, 0..=[`MAX_CONTOUR_WIDTH`] (default 2;
    /// 0 draws none).
    pub fn contour_width(mut self, width: u32) -> Self {
        self.0.contour_width = width;
        self
    }

    /// Size of the labels: each pixel of the 8×8 font becomes `scale × scale`,
    /// 1..=[`MAX_TEXT_SCALE`] (default 2).
    pub fn text_scale(mut self, scale: u32) -> Self {
        self.0.text_scale = scale;
        self
    }

    /// Whether to draw ticks at the panel edges in line with the peak (default on). They sit
    /// outside the panels, so no voxel is hidden.
    pub fn crosshair(mut self, on: bool) -> Self {
        self.0.crosshair = on;
        self
    }

    /// A line of text above the panels (default none), cut to the picture's width;
    /// characters outside printable ASCII are drawn as `?`.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.0.title = Some(title.into());
        self
    }

    /// The memory budget for the resized map and the picture (default 1 GiB).
    pub fn budget(mut self, budget: MemoryBudget) -> Self {
        self.0.budget = budget;
        self
    }

    /// Checks every option, returning the checked parameters.
    pub fn check_ref(&self) -> Result<&OverlayValidParams> {
        let p = &self.0;
        let invalid = |name, reason: String| Err(Error::InvalidParameter { name, reason });
        if !(0.0..=1.0).contains(&p.opacity) {
            return invalid("opacity", format!("{} is outside [0, 1]", p.opacity));
        }
        if !(0.0..1.0).contains(&p.threshold) {
            return invalid("threshold", format!("{} is outside [0, 1)", p.threshold));
        }
        if let Some([low, high]) = p.range
            && !(low.is_finite() && high.is_finite() && low < high)
        {
            return invalid(
                "range",
                format!("{low} to {high}: needs finite ends, low below high"),
            );
        }
        match p.zoom {
            Zoom::Factor(f) if !(1..=MAX_ZOOM).contains(&f) => {
                return invalid("zoom", format!("factor {f} is outside 1..={MAX_ZOOM}"));
            }
            Zoom::AtLeast(px) if px > MAX_SIDE => {
                return invalid("zoom", format!("{px} px is over the {MAX_SIDE} px limit"));
            }
            _ => {}
        }
        if !(1..=MAX_TEXT_SCALE).contains(&p.text_scale) {
            return invalid(
                "text_scale",
                format!("{} is outside 1..={MAX_TEXT_SCALE}", p.text_scale),
            );
        }
        if p.contour_width > MAX_CONTOUR_WIDTH {
            return invalid(
                "contour_width",
                format!("{} is over {MAX_CONTOUR_WIDTH} px", p.contour_width),
            );
        }
        Ok(p)
    }

    /// Checks every option and keeps the checked parameters.
    pub fn check(self) -> Result<OverlayValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Checks the options, then draws; see [`OverlayValidParams::render`].
    pub fn render(&self, image: &Image, map: &Grid<f32>, lesion: Option<&Mask>) -> Result<Overlay> {
        self.check_ref()?.render(image, map, lesion)
    }
}

impl OverlayValidParams {
    /// The CT window.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The colormap.
    pub fn colormap(&self) -> Colormap {
        self.colormap
    }

    /// The opacity.
    pub fn opacity(&self) -> f32 {
        self.opacity
    }

    /// The threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Draws `map` over `image` (and `lesion`'s contour, when given).
    ///
    /// `map` has the image's shape, or the same number of axes at another size (a model's
    /// input size), in which case it is resized to the image bilinearly
    /// ([`explainme_imaging::resize`]). `lesion` must have the image's shape.
    ///
    /// Errors: [`Error::ShapeMismatch`] for a map with another number of axes or a mask on
    /// another grid, [`Error::NonFiniteSaliency`] for NaN or ±∞ in the map,
    /// [`Error::InvalidParameter`] for a voxel spacing that is not finite and positive,
    /// [`Error::OverBudget`] when the resized map or the picture would not fit the budget.
    /// (An empty image cannot reach here: [`Grid`] refuses a zero extent.)
    pub fn render(&self, image: &Image, map: &Grid<f32>, lesion: Option<&Mask>) -> Result<Overlay> {
        draw::render(self, image, map, lesion)
    }
}

#[cfg(test)]
mod scale_tests {
    use super::MapScale;

    #[test]
    fn a_map_scale_is_its_finite_range_and_first_peak() {
        let scale = MapScale::of(&[0.0, 4.0, 1.0, 4.0, f32::NAN, f32::INFINITY]);
        assert_eq!(
            scale,
            MapScale {
                low: 0.0,
                high: 4.0,
                peak: 1
            }
        );
        assert_eq!(scale.position(1.0), 0.25);
        assert_eq!(scale.position(9.0), 1.0);
        assert_eq!(scale.position(f32::NAN), 0.0);
        let flat = MapScale::of(&[3.0; 4]);
        assert_eq!(flat.position(3.0), 0.0, "a constant map says nothing");
        assert_eq!(
            MapScale::of(&[f32::NAN]),
            MapScale {
                low: 0.0,
                high: 0.0,
                peak: 0
            }
        );
    }
}
