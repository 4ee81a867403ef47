//! A plain 8-bit RGB canvas: rectangles, single pixels, text in an 8×8 bitmap font, and PNG
//! encoding. Just enough for pictures made of images and labels.
//!
//! Text uses `font8x8` (the public-domain 8×8 font of the IBM PC BIOS lineage) scaled by an
//! integer: a font file or a rasteriser would be far more than labels of digits and a few
//! words need. Characters outside printable ASCII are drawn as `?`. Everything clips at the
//! canvas edge, so a label that does not fit is cut rather than a panic.
//!
//! Deliberately not here: anti-aliasing, lines at angles, alpha compositing of whole layers.
//! Vector plots (ROC, networks, trees) are SVG text and need none of this.

use std::borrow::Cow;

use crate::{Error, Result};

/// An sRGB colour, 8 bits per channel.
pub type Rgb = [u8; 3];

/// Side of a glyph of the bitmap font at text scale 1, in pixels.
pub const GLYPH: u32 = 8;

/// An RGB image in memory, rows top to bottom.
#[derive(Clone, Debug, PartialEq)]
pub struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with `background`. The caller has checked `width × height × 3`
    /// against its memory budget.
    pub fn new(width: u32, height: u32, background: Rgb) -> Canvas {
        let pixels = width as usize * height as usize;
        Canvas {
            width,
            height,
            rgb: background.repeat(pixels),
        }
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Sets one pixel; pixels outside the canvas are ignored.
    pub fn set(&mut self, x: i64, y: i64, colour: Rgb) {
        if x >= 0 && y >= 0 && x < i64::from(self.width) && y < i64::from(self.height) {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&colour);
        }
    }

    /// Fills the rectangle at (`x`, `y`) of `width` × `height`, clipped to the canvas.
    pub fn fill(&mut self, x: i64, y: i64, width: u32, height: u32, colour: Rgb) {
        for row in y..y + i64::from(height) {
            for col in x..x + i64::from(width) {
                self.set(col, row, colour);
            }
        }
    }

    /// Draws `text` with its top-left corner at (`x`, `y`), each font pixel a `scale` ×
    /// `scale` square; returns the width drawn (`chars × 8 × scale`).
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: u32, colour: Rgb) -> u32 {
        let step = i64::from(GLYPH * scale);
        let mut left = x;
        for c in text.chars() {
            let glyph = glyph(c);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    // font8x8: bit 0 is the leftmost pixel of the row.
                    if bits >> col & 1 == 1 {
                        let (px, py) = (
                            left + col * i64::from(scale),
                            y + row as i64 * i64::from(scale),
                        );
                        self.fill(px, py, scale, scale, colour);
                    }
                }
            }
            left += step;
        }
        text_width(text, scale)
    }

    /// Encodes the canvas as an 8-bit RGB PNG.
    pub fn encode_png(&self) -> Result<Vec<u8>> {
        let failed = |e: png::EncodingError| Error::Png(e.to_string());
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Balanced);
        let mut writer = encoder.write_header().map_err(failed)?;
        writer.write_image_data(&self.rgb).map_err(failed)?;
        writer.finish().map_err(failed)?;
        Ok(out)
    }
}

/// Width of `text` drawn at `scale`, in pixels.
pub fn text_width(text: &str, scale: u32) -> u32 {
    let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    chars.saturating_mul(GLYPH * scale)
}

/// `text` cut so that it is at most `width` pixels wide at `scale`, ending in `…` drawn as
/// `..` when cut.
pub fn fit_text(text: &str, width: u32, scale: u32) -> Cow<'_, str> {
    let room = (width / (GLYPH * scale)) as usize;
    if text.chars().count() <= room {
        Cow::Borrowed(text)
    } else {
        let kept: String = text.chars().take(room.saturating_sub(2)).collect();
        Cow::Owned(format!("{kept}{}", &".."[..room.min(2)]))
    }
}

fn glyph(c: char) -> [u8; 8] {
    let printable = |c: char| (' '..='~').contains(&c);
    let c = if printable(c) { c } else { '?' };
    font8x8::legacy::BASIC_LEGACY[c as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lights_the_font_pixels_and_clips() {
        let mut canvas = Canvas::new(20, 10, [0; 3]);
        let drawn = canvas.text(1, 1, "1", 1, [255; 3]);
        assert_eq!(drawn, 8);
        // font8x8's "1": rows 0x0C,0x0E,0x0C,0x0C,0x0C,0x0C,0x3F,0x00.
        let lit = |x: usize, y: usize| canvas.rgb[(y * 20 + x) * 3] == 255;
        assert!(lit(1 + 2, 1) && lit(1 + 3, 1) && !lit(1 + 1, 1));
        assert!((0..6).all(|col| lit(1 + col, 1 + 6)));
        assert!(!(0..20).any(|x| lit(x, 8)));
        // Off-canvas text is clipped, not a panic.
        canvas.text(15, 5, "é long", 2, [255; 3]);
        canvas.text(-100, -100, "x", 3, [255; 3]);
    }

    #[test]
    fn long_text_is_cut_to_fit() {
        assert_eq!(fit_text("axial z=12", 80, 1), "axial z=12");
        assert_eq!(fit_text("axial z=12", 64, 1), "axial ..");
        assert_eq!(fit_text("axial", 8, 1), ".");
        assert_eq!(fit_text("axial", 0, 1), "");
    }
}
