//! Heatmap overlays checked pixel by pixel: the PNG is decoded with the `png` crate and its
//! pixels compared with what the CT window, the colormap and the layout say they must be.
//! Images are real phantoms (explainme-phantom); maps are planted so every expected colour is
//! known.

use explainme_imaging::{Grid, Image, Mask, Shape, Spacing, Window};
use explainme_phantom::{Dims, Phantom};
use explainme_report::heatmap::{Overlay, View, Zoom};
use explainme_report::{Colormap, Error, MemoryBudget};

const WHITE: [u8; 3] = [255, 255, 255];
const FRAME: [u8; 3] = [128, 128, 128];

/// A decoded RGB picture.
struct Picture {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Picture {
    fn decode(png: &[u8]) -> Picture {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(
            (frame.color_type, frame.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight)
        );
        Picture {
            width: frame.width,
            height: frame.height,
            rgb,
        }
    }

    fn at(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Case 0 of a seeded phantom cohort, as an image and its lesion mask.
fn phantom(dims: Dims, size: usize) -> (Image, Mask) {
    let r = Phantom::params()
        .dims(dims)
        .size(size)
        .seed(3)
        .case(0)
        .unwrap()
        .rendering;
    let shape = Shape::from_slice(&r.shape[3 - dims.count()..]).unwrap();
    let spacing = Spacing::isotropic(r.spacing_mm as f32);
    let image = Image::new(shape, r.image).unwrap().with_spacing(spacing);
    let lesion = Mask::new(shape, r.masks[0].1.clone()).unwrap();
    (image, lesion)
}

/// A cone of height 1 at `peak` falling to 0 at `radius` voxels, exactly 0 beyond.
fn cone(shape: Shape, peak: [usize; 3], radius: f32) -> Grid<f32> {
    Grid::from_fn(shape, |z, y, x| {
        let d2: f32 = [z, y, x]
            .iter()
            .zip(peak)
            .map(|(&a, b)| (a as f32 - b as f32).powi(2))
            .sum();
        (1.0 - d2.sqrt() / radius).max(0.0)
    })
    .unwrap()
}

fn grey(hu: f32) -> [u8; 3] {
    [(255.0 * Window::ABDOMEN.apply(hu)).round() as u8; 3]
}

#[test]
fn a_2d_overlay_is_the_ct_window_off_the_map_and_the_top_colour_at_its_peak() {
    let (image, _) = phantom(Dims::Two, 64);
    let map = cone(image.shape(), [0, 40, 20], 6.0);
    let overlay = Overlay::params()
        .opacity(1.0)
        .threshold(0.0)
        .render(&image, &map, None)
        .unwrap();
    let picture = Picture::decode(&overlay.png);
    assert_eq!(
        (picture.width, picture.height),
        (overlay.width, overlay.height)
    );
    assert_eq!(
        (overlay.zoom, overlay.peak, overlay.peak_value),
        (4, [0, 40, 20], 1.0)
    );
    assert_eq!(overlay.map_range, [0.0, 1.0]);
    let [panel] = &overlay.panels[..] else {
        panic!("one panel in 2D, got {}", overlay.panels.len())
    };
    assert_eq!((panel.view, panel.slice), (View::Plane, 0));
    assert_eq!((panel.rect.width, panel.rect.height), (256, 256));

    let top = Colormap::VIRIDIS.top();
    let (mut unpainted, mut painted) = (0, 0);
    for y in 0..256 {
        for x in 0..256 {
            let (px, py) = (panel.rect.x + x, panel.rect.y + y);
            // Zoom 4: each voxel is a 4×4 block.
            let (vy, vx) = (y as usize / 4, x as usize / 4);
            assert_eq!(panel.voxel_at(px, py), Some([0, vy, vx]));
            let value = *map.get(0, vy, vx).unwrap();
            let hu = *image.get(0, vy, vx).unwrap();
            let want = if value == 0.0 {
                unpainted += 1;
                grey(hu)
            } else {
                painted += 1;
                Colormap::VIRIDIS.rgb(value)
            };
            assert_eq!(
                picture.at(px, py),
                want,
                "pixel ({px}, {py}), voxel ({vy}, {vx})"
            );
        }
    }
    // The cone covers about π·6² voxels of 16 pixels each; everything else is plain CT.
    assert!((100 * 16..120 * 16).contains(&painted), "{painted}");
    assert_eq!(unpainted + painted, 256 * 256);
    let [cx, cy] = panel.peak_px;
    assert_eq!(picture.at(cx, cy), top);
    assert_eq!(panel.voxel_at(cx, cy), Some([0, 40, 20]));
    // Crosshair ticks in line with the peak, outside the panel on all four sides.
    assert_eq!(picture.at(panel.rect.x - 4, cy), WHITE);
    assert_eq!(picture.at(panel.rect.x + 256 + 3, cy), WHITE);
    assert_eq!(picture.at(cx, panel.rect.y - 4), WHITE);
    assert_eq!(picture.at(cx, panel.rect.y + 256 + 3), WHITE);
}

#[test]
fn half_opacity_blends_grey_and_colour_per_channel() {
    let (image, _) = phantom(Dims::Two, 64);
    let map = cone(image.shape(), [0, 32, 32], 10.0);
    let overlay = Overlay::params()
        .threshold(0.0)
        .render(&image, &map, None)
        .unwrap();
    let picture = Picture::decode(&overlay.png);
    let panel = &overlay.panels[0];
    for (vy, vx) in [(32, 32), (30, 35), (36, 28), (5, 5)] {
        let [g, ..] = grey(*image.get(0, vy, vx).unwrap());
        let t = *map.get(0, vy, vx).unwrap();
        let want = if t > 0.0 {
            Colormap::VIRIDIS
                .rgb(t)
                .map(|c| (f32::from(g) * 0.5 + f32::from(c) * 0.5).round() as u8)
        } else {
            [g; 3]
        };
        let (px, py) = (
            panel.rect.x + 4 * vx as u32 + 1,
            panel.rect.y + 4 * vy as u32 + 2,
        );
        assert_eq!(picture.at(px, py), want, "voxel ({vy}, {vx})");
    }
}

#[test]
fn a_zero_map_leaves_the_ct_untouched() {
    let (image, _) = phantom(Dims::Two, 64);
    let map = Grid::filled(image.shape(), 0.0).unwrap();
    let overlay = Overlay::params()
        .opacity(1.0)
        .render(&image, &map, None)
        .unwrap();
    let picture = Picture::decode(&overlay.png);
    let panel = &overlay.panels[0];
    for y in 0..panel.rect.height {
        for x in 0..panel.rect.width {
            let [z, vy, vx] = panel.voxel_at(panel.rect.x + x, panel.rect.y + y).unwrap();
            let hu = *image.get(z, vy, vx).unwrap();
            assert_eq!(picture.at(panel.rect.x + x, panel.rect.y + y), grey(hu));
        }
    }
    let labels: Vec<&str> = overlay
        .colour_bar
        .labels
        .iter()
        .map(|l| l.0.as_str())
        .collect();
    assert_eq!(labels, ["0", "0", "0"]);
}

#[test]
fn the_colour_bar_runs_through_the_colormap_with_its_range_labelled() {
    let (image, _) = phantom(Dims::Two, 64);
    // A map from −0.25 to 0.75: the bar is labelled with the map's own ends.
    let map = cone(image.shape(), [0, 20, 44], 9.0).map(|v| v - 0.25);
    for (colormap, threshold) in [(Colormap::VIRIDIS, 0.0), (Colormap::INFERNO, 0.3)] {
        let overlay = Overlay::params()
            .colormap(colormap)
            .threshold(threshold)
            .render(&image, &map, None)
            .unwrap();
        let picture = Picture::decode(&overlay.png);
        let bar = &overlay.colour_bar;
        assert_eq!((bar.low, bar.high), (-0.25, 0.75));
        let labels: Vec<(&str, f32)> = bar.labels.iter().map(|(t, v)| (t.as_str(), *v)).collect();
        assert_eq!(labels, [("0.75", 0.75), ("0.25", 0.25), ("-0.25", -0.25)]);
        // As tall as the panel, right of it, and every row the colormap at its t (grey where
        // the panels paint nothing).
        assert_eq!(bar.rect.height, overlay.panels[0].rect.height);
        assert!(bar.rect.x > overlay.panels[0].rect.x + overlay.panels[0].rect.width);
        let last = bar.rect.height - 1;
        let column = bar.rect.x + bar.rect.width / 2;
        for row in 0..bar.rect.height {
            let t = 1.0 - row as f32 / last as f32;
            let want = if t > threshold {
                colormap.rgb(t)
            } else {
                FRAME
            };
            assert_eq!(
                picture.at(column, bar.rect.y + row),
                want,
                "{colormap} row {row}"
            );
        }
        assert_eq!(picture.at(column, bar.rect.y), colormap.top());
        // The labels are drawn: white glyph pixels right of the bar at its top, middle and
        // bottom.
        let label_x = bar.rect.x + bar.rect.width + 8;
        for row in [0, last / 2, last] {
            let y = bar.rect.y + row;
            let lit = (y - 8..y + 8)
                .flat_map(|y| (label_x..picture.width).map(move |x| (x, y)))
                .filter(|&(x, y)| picture.at(x, y) == WHITE)
                .count();
            assert!(
                lit > 20,
                "{colormap}: label at bar row {row} has {lit} lit pixels"
            );
        }
    }
}

#[test]
fn the_lesion_contour_is_drawn_inside_the_lesion_boundary() {
    let (image, lesion) = phantom(Dims::Two, 64);
    let map = Grid::filled(image.shape(), 0.0).unwrap();
    let magenta = [255, 64, 255];
    let count_contour = |width: u32| {
        let overlay = Overlay::params()
            .contour_width(width)
            .render(&image, &map, Some(&lesion))
            .unwrap();
        let picture = Picture::decode(&overlay.png);
        let panel = &overlay.panels[0];
        let mut on_contour = 0;
        for y in panel.rect.y..panel.rect.y + panel.rect.height {
            for x in panel.rect.x..panel.rect.x + panel.rect.width {
                let [z, vy, vx] = panel.voxel_at(x, y).unwrap();
                let inside = *lesion.get(z, vy, vx).unwrap();
                if picture.at(x, y) == magenta {
                    assert!(inside, "contour pixel ({x}, {y}) outside the lesion");
                    on_contour += 1;
                } else {
                    assert_eq!(picture.at(x, y), grey(*image.get(z, vy, vx).unwrap()));
                }
            }
        }
        on_contour
    };
    let thin = count_contour(1);
    let default = count_contour(2);
    // A band 1 px wide around a lesion of some 100–1000 voxels (16 pixels each): hundreds of
    // pixels, and about twice as many at width 2.
    assert!(lesion.count_inside() > 50, "{}", lesion.count_inside());
    assert!(thin > 100, "{thin}");
    assert!(
        (thin * 3 / 2..thin * 5 / 2).contains(&default),
        "{thin} vs {default}"
    );
    assert_eq!(count_contour(0), 0);
}

#[test]
fn a_map_at_the_model_input_size_is_resized_to_the_image() {
    let (image, _) = phantom(Dims::Two, 64);
    // Peak at voxel (10, 5) of 32×32: after a 2× bilinear resize the first maximal voxel of
    // the four it covers.
    let map = cone(Shape::d2(32, 32), [0, 10, 5], 4.0);
    let overlay = Overlay::params().render(&image, &map, None).unwrap();
    assert_eq!(overlay.peak, [0, 20, 10]);
    assert_eq!(overlay.panels[0].rect.width, 256);
    let [lo, hi] = overlay.map_range;
    assert!(lo == 0.0 && hi > 0.8 && hi < 1.0, "{lo} {hi}");
}

#[test]
fn zoom_is_an_integer_factor_on_the_finest_axis() {
    let (image, _) = phantom(Dims::Two, 64);
    let map = cone(image.shape(), [0, 32, 32], 8.0);
    let cases = [
        (Zoom::AtLeast(256), 4, 256),
        (Zoom::AtLeast(100), 2, 128),
        (Zoom::AtLeast(0), 1, 64),
        (Zoom::Factor(3), 3, 192),
    ];
    for (zoom, factor, side) in cases {
        let overlay = Overlay::params()
            .zoom(zoom)
            .render(&image, &map, None)
            .unwrap();
        let rect = overlay.panels[0].rect;
        assert_eq!(
            (overlay.zoom, rect.width, rect.height),
            (factor, side, side),
            "{zoom:?}"
        );
        let picture = Picture::decode(&overlay.png);
        assert_eq!(
            (picture.width, picture.height),
            (overlay.width, overlay.height)
        );
    }
}

#[test]
fn a_3d_overlay_shows_axial_coronal_and_sagittal_slices_through_the_peak() {
    let (volume, lesion) = phantom(Dims::Three, 48);
    let peak = [10, 30, 17];
    let map = cone(volume.shape(), peak, 5.0);
    let overlay = Overlay::params()
        .opacity(1.0)
        .render(&volume, &map, Some(&lesion))
        .unwrap();
    let picture = Picture::decode(&overlay.png);
    assert_eq!(
        (picture.width, picture.height),
        (overlay.width, overlay.height)
    );
    assert_eq!((overlay.peak, overlay.zoom), (peak, 6));
    let views: Vec<(View, usize)> = overlay.panels.iter().map(|p| (p.view, p.slice)).collect();
    assert_eq!(
        views,
        [(View::Axial, 10), (View::Coronal, 30), (View::Sagittal, 17)]
    );
    for panel in &overlay.panels {
        assert_eq!(
            (panel.rect.width, panel.rect.height),
            (288, 288),
            "{:?}",
            panel.view
        );
        // Each panel's peak pixel shows the peak voxel, in the top colour unless the lesion
        // contour runs there.
        let [x, y] = panel.peak_px;
        assert_eq!(panel.voxel_at(x, y), Some(peak), "{:?}", panel.view);
        if !*lesion.get(peak[0], peak[1], peak[2]).unwrap() {
            assert_eq!(
                picture.at(x, y),
                Colormap::VIRIDIS.top(),
                "{:?}",
                panel.view
            );
        }
        // Every pixel of a panel lies in its slice.
        let axis = panel.view.fixed_axis();
        for (x, y) in [(0, 0), (287, 0), (0, 287), (143, 201)] {
            let voxel = panel.voxel_at(panel.rect.x + x, panel.rect.y + y).unwrap();
            assert_eq!(voxel[axis], panel.slice, "{:?}", panel.view);
        }
        assert_eq!(
            picture.at(panel.rect.x - 4, y),
            WHITE,
            "{:?} tick",
            panel.view
        );
    }
    // Panels side by side, left to right, sharing one colour bar at the right.
    let [a, c, s] = [0, 1, 2].map(|i| overlay.panels[i].rect);
    assert!(a.x + a.width < c.x && c.x + c.width < s.x && a.y == c.y && c.y == s.y);
    assert!(overlay.colour_bar.rect.x > s.x + s.width);
    assert_eq!(overlay.colour_bar.rect.height, 288);
}

#[test]
fn a_3d_panel_keeps_the_voxel_aspect_in_mm() {
    // 16 slices of 3 mm, 32 × 40 rows and columns of 1 mm: 48 mm × 32 mm × 40 mm.
    let ct = Image::filled(Shape::d3(16, 32, 40), 40.0)
        .unwrap()
        .with_spacing(Spacing::new(3.0, 1.0, 1.0));
    let map = cone(ct.shape(), [4, 20, 9], 3.0);
    let overlay = Overlay::params().render(&ct, &map, None).unwrap();
    // The longest side is 48 mm = 48 finest voxels: zoom ⌈256 / 48⌉ = 6, 6 px per mm.
    assert_eq!(overlay.zoom, 6);
    let sizes: Vec<(View, u32, u32)> = overlay
        .panels
        .iter()
        .map(|p| (p.view, p.rect.width, p.rect.height))
        .collect();
    assert_eq!(
        sizes,
        [
            (View::Axial, 40 * 6, 32 * 6),
            (View::Coronal, 40 * 6, 16 * 3 * 6),
            (View::Sagittal, 32 * 6, 16 * 3 * 6),
        ]
    );
    // A slice is 18 px tall in the coronal panel: rows 0..18 show z = 0, row 18 z = 1.
    let coronal = &overlay.panels[1];
    let (x, y) = (coronal.rect.x, coronal.rect.y);
    assert_eq!(coronal.voxel_at(x, y + 17).map(|v| v[0]), Some(0));
    assert_eq!(coronal.voxel_at(x, y + 18).map(|v| v[0]), Some(1));
    assert_eq!(coronal.voxel_at(x + 6, y).map(|v| v[2]), Some(1));
}

#[test]
fn a_one_slice_volume_still_draws_three_panels() {
    let ct = Image::filled(Shape::d3(1, 20, 30), 0.0).unwrap();
    let map = cone(ct.shape(), [0, 5, 25], 4.0);
    let overlay = Overlay::params().render(&ct, &map, None).unwrap();
    // Longest side 30 voxels: zoom ⌈256 / 30⌉ = 9; the single slice is 9 px tall.
    let sizes: Vec<(u32, u32)> = overlay
        .panels
        .iter()
        .map(|p| (p.rect.width, p.rect.height))
        .collect();
    assert_eq!(sizes, [(270, 180), (270, 9), (180, 9)]);
    assert_eq!(overlay.peak, [0, 5, 25]);
    let picture = Picture::decode(&overlay.png);
    assert_eq!(
        (picture.width, picture.height),
        (overlay.width, overlay.height)
    );
}

#[test]
fn the_same_input_draws_the_same_bytes() {
    let (image, lesion) = phantom(Dims::Two, 64);
    let map = cone(image.shape(), [0, 30, 30], 7.0);
    let params = Overlay::params()
        .title("occlusion — malignant")
        .colormap(Colormap::TURBO);
    let one = params.render(&image, &map, Some(&lesion)).unwrap();
    let two = params.render(&image, &map, Some(&lesion)).unwrap();
    assert_eq!(one, two);
}

#[test]
fn bad_input_is_a_typed_error() {
    let (image, lesion) = phantom(Dims::Two, 64);
    let map = cone(image.shape(), [0, 30, 30], 7.0);
    let with = |i: usize, v: f32| {
        let mut m = map.clone();
        m.voxels_mut()[i] = v;
        m
    };
    let map_3d = Grid::filled(Shape::d3(2, 64, 64), 0.0).unwrap();
    let other_mask = Mask::filled(Shape::d2(32, 32), false).unwrap();
    let big = Image::filled(Shape::d2(512, 512), 0.0).unwrap();
    let big_map = Grid::filled(Shape::d2(512, 512), 0.0).unwrap();
    let p = Overlay::params;
    let cases: Vec<(&str, Result<Overlay, Error>, &str)> = vec![
        (
            "3D map, 2D image",
            p().render(&image, &map_3d, None),
            "saliency map has shape [2, 64, 64], which does not fit the image's [64, 64]",
        ),
        (
            "mask on another grid",
            p().render(&image, &map, Some(&other_mask)),
            "lesion mask has shape [32, 32], which does not fit the image's [64, 64]",
        ),
        (
            "NaN in the map",
            p().render(&image, &with(77, f32::NAN), None),
            "saliency map has a non-finite value (NaN) at flat index 77",
        ),
        (
            "∞ in the map",
            p().render(&image, &with(5, f32::INFINITY), None),
            "saliency map has a non-finite value (inf) at flat index 5",
        ),
        (
            "opacity above 1",
            p().opacity(1.5).render(&image, &map, None),
            "invalid opacity: 1.5 is outside [0, 1]",
        ),
        (
            "negative opacity",
            p().opacity(-0.1).render(&image, &map, None),
            "invalid opacity: -0.1 is outside [0, 1]",
        ),
        (
            "NaN opacity",
            p().opacity(f32::NAN).render(&image, &map, None),
            "invalid opacity: NaN is outside [0, 1]",
        ),
        (
            "threshold 1",
            p().threshold(1.0).render(&image, &map, None),
            "invalid threshold: 1 is outside [0, 1)",
        ),
        (
            "empty range",
            p().range(0.5, 0.5).render(&image, &map, None),
            "invalid range: 0.5 to 0.5: needs finite ends, low below high",
        ),
        (
            "zoom 0",
            p().zoom(Zoom::Factor(0)).render(&image, &map, None),
            "invalid zoom: factor 0 is outside 1..=64",
        ),
        (
            "zoom past the side limit",
            p().zoom(Zoom::Factor(64)).render(&big, &big_map, None),
            "invalid zoom: a panel side would be 32768 px, over the 16384 px limit",
        ),
        (
            "text scale 0",
            p().text_scale(0).render(&image, &map, None),
            "invalid text_scale: 0 is outside 1..=8",
        ),
        (
            "contour 20 px",
            p().contour_width(20).render(&image, &map, Some(&lesion)),
            "invalid contour_width: 20 is over 16 px",
        ),
        (
            "tiny budget",
            p().budget(MemoryBudget::new(100_000))
                .render(&image, &map, None),
            "the overlay picture would need",
        ),
        (
            "zero spacing",
            p().render(
                &image.clone().with_spacing(Spacing::new(1.0, 0.0, 2.0)),
                &map,
                None,
            ),
            "invalid spacing: image voxel spacing [1.0, 0.0, 2.0] mm must be finite and positive",
        ),
    ];
    for (what, result, message) in cases {
        match result {
            Ok(_) => panic!("{what}: drew a picture"),
            Err(e) => assert!(e.to_string().starts_with(message), "{what}: {e}"),
        }
    }
    // The variants, for callers that map them (the server: INVALID_ARGUMENT vs
    // RESOURCE_EXHAUSTED).
    assert!(matches!(
        p().render(&image, &map_3d, None),
        Err(Error::ShapeMismatch {
            what: "saliency map",
            ..
        })
    ));
    assert!(matches!(
        p().render(&image, &with(3, f32::NAN), None),
        Err(Error::NonFiniteSaliency { index: 3, .. })
    ));
    assert!(matches!(
        p().opacity(2.0).check(),
        Err(Error::InvalidParameter {
            name: "opacity",
            ..
        })
    ));
    assert!(matches!(
        p().budget(MemoryBudget::new(0)).render(&image, &map, None),
        Err(Error::OverBudget(_))
    ));
    // An empty image cannot be made, so it cannot reach the overlay.
    assert!(Image::new(Shape::d2(0, 64), vec![]).is_err());
    assert!(Grid::<f32>::new(Shape::d3(4, 0, 4), vec![]).is_err());
}
