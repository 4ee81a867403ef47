//! Perceptual colormaps for maps drawn over CT, registered in one table.
//!
//! The colours come from `colorous` (d3-scale-chromatic's tables), so viridis here is the
//! viridis of matplotlib and d3 to the byte, not a look-alike. The table holds only maps that
//! suit an overlay on greyscale: sequential, monotone in lightness (turbo almost so) and
//! without a grey stretch that would read as tissue. A new colormap is one entry in
//! [`COLORMAPS`]; names are looked up there ([`Colormap::by_name`], `FromStr`) so a CLI flag
//! needs no match arm.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// A named continuous colormap from `t = 0` (the low end of the colour bar) to `t = 1`.
#[derive(Clone, Copy)]
pub struct Colormap {
    name: &'static str,
    gradient: colorous::Gradient,
}

impl Colormap {
    /// Dark purple → teal → yellow. Perceptually uniform, readable by the colour-blind, and
    /// no colour in it is grey, so the overlay never reads as tissue: the default.
    pub const VIRIDIS: Colormap = Colormap::new("viridis", colorous::VIRIDIS);
    /// Black → red → pale yellow. Perceptually uniform; its dark low end resembles dark CT,
    /// so prefer it with a `threshold` that hides the low values.
    pub const INFERNO: Colormap = Colormap::new("inferno", colorous::INFERNO);
    /// Black → magenta → pale yellow; like inferno.
    pub const MAGMA: Colormap = Colormap::new("magma", colorous::MAGMA);
    /// Blue → magenta → yellow; perceptually uniform, no black end.
    pub const PLASMA: Colormap = Colormap::new("plasma", colorous::PLASMA);
    /// Blue → yellow; viridis optimised for colour-vision deficiency.
    pub const CIVIDIS: Colormap = Colormap::new("cividis", colorous::CIVIDIS);
    /// Google's improved jet: the rainbow Grad-CAM users expect, nearly uniform in
    /// lightness steps but not monotone in lightness; use when peers' pictures must match.
    pub const TURBO: Colormap = Colormap::new("turbo", colorous::TURBO);

    const fn new(name: &'static str, gradient: colorous::Gradient) -> Colormap {
        Colormap { name, gradient }
    }

    /// The registered name (`viridis`, …).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The colour at `t`, clamped to `[0, 1]` (NaN gives the low end).
    pub fn rgb(&self, t: f32) -> [u8; 3] {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        self.gradient.eval_continuous(f64::from(t)).into_array()
    }

    /// The colour of the top of the colour bar (`t = 1`): what the hottest voxel shows.
    pub fn top(&self) -> [u8; 3] {
        self.rgb(1.0)
    }

    /// The registered colormap called `name` (ASCII case-insensitive).
    pub fn by_name(name: &str) -> Result<Colormap> {
        COLORMAPS
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name.trim()))
            .copied()
            .ok_or_else(|| Error::UnknownColormap {
                name: name.to_owned(),
                known: COLORMAPS
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Every colormap, default first. One entry per colormap: the name lookup reads this table.
pub const COLORMAPS: &[Colormap] = &[
    Colormap::VIRIDIS,
    Colormap::INFERNO,
    Colormap::MAGMA,
    Colormap::PLASMA,
    Colormap::CIVIDIS,
    Colormap::TURBO,
];

/// [`Colormap::VIRIDIS`].
impl Default for Colormap {
    fn default() -> Colormap {
        Colormap::VIRIDIS
    }
}

/// Colormaps are equal when their names are: the table holds one gradient per name.
impl PartialEq for Colormap {
    fn eq(&self, other: &Colormap) -> bool {
        self.name == other.name
    }
}

impl Eq for Colormap {}

impl fmt::Debug for Colormap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Colormap({})", self.name)
    }
}

impl fmt::Display for Colormap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl FromStr for Colormap {
    type Err = Error;

    fn from_str(name: &str) -> Result<Colormap> {
        Colormap::by_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_the_published_colours() {
        // matplotlib's _cm_listed tables, first and last entries, as 8-bit sRGB.
        let cases = [
            ("viridis", [0x44, 0x01, 0x54], [0xfd, 0xe7, 0x25]),
            ("inferno", [0x00, 0x00, 0x04], [0xfc, 0xff, 0xa4]),
            ("magma", [0x00, 0x00, 0x04], [0xfc, 0xfd, 0xbf]),
        ];
        for (name, low, high) in cases {
            let map: Colormap = name.parse().unwrap();
            assert_eq!((map.rgb(0.0), map.top()), (low, high), "{name}");
            assert_eq!(map.rgb(f32::NAN), low, "{name}");
            assert_eq!(map.rgb(7.0), high, "{name}");
        }
    }

    #[test]
    fn names_are_looked_up_in_the_table() {
        for map in COLORMAPS {
            assert_eq!(Colormap::by_name(map.name()).unwrap(), *map);
        }
        assert_eq!("Turbo".parse::<Colormap>().unwrap(), Colormap::TURBO);
        let err = "jet".parse::<Colormap>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown colormap `jet`; known: viridis, inferno, magma, plasma, cividis, turbo"
        );
        assert_eq!(Colormap::default(), Colormap::VIRIDIS);
    }
}
