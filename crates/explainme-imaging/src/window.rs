//! HU windowing: the linear map radiologists use to show a range of Hounsfield units, and
//! the usual way CT is normalised to `[0, 1]` before a CNN.
//!
//! `value = clamp((HU − (centre − width/2)) / width, 0, 1)`: the plain linear window (the
//! DICOM VOI LUT formula's ±0.5 corrections for integer display values are deliberately
//! left out; inputs here are continuous). NaN maps to 0, the bottom of the window, so a
//! model never receives NaN from a windowed image.

use crate::{Error, Image, Result};

/// A window centre (level) and width in HU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    centre: f32,
    width: f32,
}

impl Window {
    /// Abdominal soft tissue, centre 40 HU, width 400 HU (−160 to 240 HU): kidney, lesion,
    /// fat and enhancement are all distinguishable.
    pub const ABDOMEN: Window = Window {
        centre: 40.0,
        width: 400.0,
    };

    /// Bone, centre 400 HU, width 1800 HU: keeps calcifications from saturating.
    pub const BONE: Window = Window {
        centre: 400.0,
        width: 1800.0,
    };

    /// A window; errors unless the centre is finite and the width finite and positive.
    pub fn new(centre: f32, width: f32) -> Result<Window> {
        if centre.is_finite() && width.is_finite() && width > 0.0 {
            Ok(Window { centre, width })
        } else {
            Err(Error::InvalidParameter(format!(
                "window centre {centre} / width {width}: needs a finite centre and width > 0"
            )))
        }
    }

    /// Centre (level) in HU.
    pub fn centre(&self) -> f32 {
        self.centre
    }

    /// Width in HU.
    pub fn width(&self) -> f32 {
        self.width
    }

    /// The HU mapped to 0.
    pub fn lower(&self) -> f32 {
        self.centre - self.width / 2.0
    }

    /// The HU mapped to 1.
    pub fn upper(&self) -> f32 {
        self.centre + self.width / 2.0
    }

    /// One HU value mapped to `[0, 1]` (NaN → 0).
    pub fn apply(&self, hu: f32) -> f32 {
        let v = (hu - self.lower()) / self.width;
        if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) }
    }

    /// The whole image mapped to `[0, 1]`, same shape and spacing.
    pub fn apply_to(&self, image: &Image) -> Image {
        image.map(|&hu| self.apply(hu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abdominal_window_maps_its_edges_and_centre() {
        let w = Window::ABDOMEN;
        let cases = [
            (-1000.0, 0.0),
            (-160.0, 0.0),
            (40.0, 0.5),
            (140.0, 0.75),
            (240.0, 1.0),
            (900.0, 1.0),
            (f32::NAN, 0.0),
            (f32::INFINITY, 1.0),
            (f32::NEG_INFINITY, 0.0),
        ];
        for (hu, want) in cases {
            assert_eq!(w.apply(hu), want, "{hu} HU");
        }
        assert_eq!((w.lower(), w.upper()), (-160.0, 240.0));
    }

    #[test]
    fn windows_need_a_positive_finite_width() {
        assert!(Window::new(40.0, 0.0).is_err());
        assert!(Window::new(40.0, -5.0).is_err());
        assert!(Window::new(f32::NAN, 400.0).is_err());
        assert!(Window::new(40.0, f32::INFINITY).is_err());
        assert_eq!(Window::new(40.0, 400.0).unwrap(), Window::ABDOMEN);
    }
}
