//! Pictures of explanations:
//!
//! - [`heatmap`]: heatmap overlays — a saliency map on the CT window, as a PNG with a
//!   labelled colour bar, and for 3D volumes the axial, coronal and sagittal slices through
//!   the map's peak;
//! - [`drawing`]: SVG drawings to inline in HTML reports — a Bayesian network or surrogate
//!   tree from its Graphviz DOT ([`dot_to_svg`]), the ROC curve ([`roc_svg`], from
//!   [`roc_curve`]) and the reliability diagram ([`calibration_svg`], from
//!   [`calibration_bins`]).
//!
//! - [`document`]: the reports themselves — one self-contained HTML page or CommonMark
//!   document for a cohort's knowledge summary ([`document::cohort_report`]) or for one
//!   case's explanation ([`document::case_report`]).
//!
//! The crate does no I/O: every function returns bytes (or text) and the caller writes them
//! where it wants — a file for the CLI, a gRPC message for the server, an `<img>` in a
//! report. Everything drawn from external data is checked first: mismatched shapes, NaN in a
//! map, options out of range and pictures over the [`MemoryBudget`] are typed [`Error`]s.
//!
//! Third-party pieces: colormaps from `colorous` (d3's tables, so viridis is matplotlib's
//! viridis to the byte), glyphs from `font8x8` (a public-domain 8×8 bitmap font), PNG
//! encoding by `png`, graph layout by `layout-rs` (Graphviz DOT in pure Rust, no `dot`
//! binary) and plots by `plotters` (SVG backend only, no font files).
//!
//! ```
//! use explainme_imaging::{Grid, Image, Shape, Spacing, Window};
//! use explainme_report::heatmap::{Overlay, View};
//!
//! // A 3D volume of 24 slices of 16×16 at 2 × 1 × 1 mm, and a map of the model's input
//! // size (8³) whose peak is at one corner.
//! let ct = Image::filled(Shape::d3(24, 16, 16), 30.0)?.with_spacing(Spacing::new(2.0, 1.0, 1.0));
//! let map = Grid::from_fn(Shape::d3(8, 8, 8), |z, y, x| (z + y + x) as f32)?;
//!
//! let overlay = Overlay::params().window(Window::ABDOMEN).render(&ct, &map, None)?;
//! let views: Vec<View> = overlay.panels.iter().map(|p| p.view).collect();
//! assert_eq!(views, [View::Axial, View::Coronal, View::Sagittal]);
//! // Resized to 24 slices, the top slice's value fills slices 22 and 23: the peak is the
//! // first maximal voxel in C order.
//! assert_eq!(overlay.peak, [22, 15, 15]);
//! // The tallest panel (coronal: 24 slices × 2 mm = 48 mm) reaches 256 px at 6 px per mm,
//! // and a 2 mm slice is drawn twice as tall as a 1 mm row.
//! assert_eq!(overlay.zoom, 6);
//! let coronal = &overlay.panels[1].rect;
//! assert_eq!((coronal.width, coronal.height), (16 * 6, 24 * 2 * 6));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod colormap;
pub mod document;
pub mod drawing;
mod error;
pub mod heatmap;
pub mod number;
mod raster;

pub use colormap::{COLORMAPS, Colormap};
pub use drawing::{
    CalibrationBin, calibration_bins, calibration_svg, dot_to_svg, roc_curve, roc_svg,
};
pub use error::{Error, Result};
pub use explainme_budget::MemoryBudget;
