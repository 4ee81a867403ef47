//! Windowing, resizing, cropping and mask helpers, checked against hand-computed values.

mod common;

use common::{ct_image, disc_mask};
use explainme_imaging::{
    Error, Image, Mask, Resizer, Shape, Spacing, Window, crop_around, resize, resize_nearest,
    shape_at_spacing,
};

#[test]
fn bilinear_uses_half_pixel_centres() {
    // [0, 1] → 4 samples at input positions −0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
    let row = Image::new(Shape::d2(1, 2), vec![0.0, 1.0]).unwrap();
    let up = resize(&row, Shape::d2(1, 4)).unwrap();
    assert_eq!(up.voxels(), &[0.0, 0.25, 0.75, 1.0]);
    // 4 → 2 averages neighbouring pairs (positions 0.5 and 2.5).
    let four = Image::new(Shape::d2(1, 4), vec![0.0, 10.0, 20.0, 30.0]).unwrap();
    assert_eq!(
        resize(&four, Shape::d2(1, 2)).unwrap().voxels(),
        &[5.0, 25.0]
    );
}

#[test]
fn bilinear_2d_matches_hand_computed_values() {
    // 2×2 → 3×3: output centres map to input positions 1/6·… : (i + 0.5)·2/3 − 0.5
    // = −1/6 (clamped to 0), 0.5, 7/6 (clamped to 1).
    let img = Image::new(Shape::d2(2, 2), vec![0.0, 100.0, 200.0, 300.0]).unwrap();
    let out = resize(&img, Shape::d2(3, 3)).unwrap();
    let want = [0.0, 50.0, 100.0, 100.0, 150.0, 200.0, 200.0, 250.0, 300.0];
    for (got, want) in out.voxels().iter().zip(want) {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
}

#[test]
fn trilinear_reproduces_a_linear_field_inside_and_keeps_constants() {
    let field = |z: f32, y: f32, x: f32| 3.0 * z - 2.0 * y + 0.5 * x + 7.0;
    let img = Image::from_fn(Shape::d3(8, 8, 8), |z, y, x| {
        field(z as f32, y as f32, x as f32)
    })
    .unwrap();
    // Upsampling by 2: output i samples input (i + 0.5)/2 − 0.5; away from the clamped
    // border the interpolation of a linear field is exact.
    let out = resize(&img, Shape::d3(16, 16, 16)).unwrap();
    let src = |i: usize| (i as f32 + 0.5) / 2.0 - 0.5;
    for z in 1..15 {
        for y in 1..15 {
            for x in 1..15 {
                let got = *out.get(z, y, x).unwrap();
                let want = field(src(z), src(y), src(x));
                assert!((got - want).abs() < 1e-4, "({z},{y},{x}): {got} vs {want}");
            }
        }
    }
    let flat = Image::filled(Shape::d3(5, 7, 3), -57.0).unwrap();
    let resized = resize(&flat, Shape::d3(4, 9, 11)).unwrap();
    assert!(resized.voxels().iter().all(|&v| v == -57.0));
}

/// The trilinear formula voxel by voxel, half-pixel centres: what the separable `Resizer`
/// must equal bit for bit.
fn nested_trilinear(image: &Image, target: Shape) -> Vec<f32> {
    let taps = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f32)> {
        (0..n_out)
            .map(|i| {
                let src = ((i as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5)
                    .clamp(0.0, (n_in - 1) as f64);
                let i0 = src.floor() as usize;
                (i0, (i0 + 1).min(n_in - 1), (src - i0 as f64) as f32)
            })
            .collect()
    };
    let [sz, sy, sx] = image.shape().zyx();
    let [tz, ty, tx] = target.zyx();
    let (zs, ys, xs) = (taps(sz, tz), taps(sy, ty), taps(sx, tx));
    let v = image.voxels();
    let at = |z: usize, y: usize, x: usize| v[(z * sy + y) * sx + x];
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let mut out = Vec::new();
    for &(z0, z1, wz) in &zs {
        for &(y0, y1, wy) in &ys {
            for &(x0, x1, wx) in &xs {
                let plane = |z| {
                    lerp(
                        lerp(at(z, y0, x0), at(z, y0, x1), wx),
                        lerp(at(z, y1, x0), at(z, y1, x1), wx),
                        wy,
                    )
                };
                out.push(if wz == 0.0 {
                    plane(z0)
                } else {
                    lerp(plane(z0), plane(z1), wz)
                });
            }
        }
    }
    out
}

#[test]
fn the_separable_resizer_equals_the_trilinear_formula_bit_for_bit() {
    for (from, to) in [
        (Shape::d3(3, 5, 4), Shape::d3(7, 6, 9)),
        (Shape::d3(6, 4, 8), Shape::d3(2, 9, 3)),
        (Shape::d2(8, 8), Shape::d2(64, 64)),
        (Shape::d2(5, 7), Shape::d2(3, 2)),
    ] {
        let image = ct_image(from, 4);
        let expected = nested_trilinear(&image, to);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(resize(&image, to).unwrap().voxels()), bits(&expected));
        // Reused across grids: the same values each time.
        let mut resizer = Resizer::new(from, to).unwrap();
        let mut out = vec![0.0; expected.len()];
        for _ in 0..2 {
            resizer.resize_into(image.voxels(), &mut out);
            assert_eq!(bits(&out), bits(&expected), "{from:?} -> {to:?}");
        }
    }
}

#[test]
fn a_cropped_resizer_keeps_its_window_of_the_whole_resize() {
    let image = ct_image(Shape::d2(4, 4), 2);
    let whole = resize(&image, Shape::d2(20, 20)).unwrap();
    let mut window = Resizer::cropped(image.shape(), Shape::d2(20, 20), Shape::d2(16, 16)).unwrap();
    let mut out = vec![0.0; 16 * 16];
    for offset in [[0, 0, 0], [0, 3, 1], [0, 4, 4]] {
        window.set_offset(offset);
        window.resize_into(image.voxels(), &mut out);
        for (y, row) in out.chunks_exact(16).enumerate() {
            let start = (y + offset[1]) * 20 + offset[2];
            assert_eq!(row, &whole.voxels()[start..start + 16], "offset {offset:?}");
        }
    }
    assert!(matches!(
        Resizer::cropped(image.shape(), Shape::d2(8, 8), Shape::d2(9, 8)),
        Err(Error::InvalidParameter(_))
    ));
}

#[test]
fn resize_to_the_same_shape_is_the_identity_and_scales_spacing() {
    let img = ct_image(Shape::d3(4, 6, 5), 9);
    assert_eq!(resize(&img, img.shape()).unwrap(), img);
    let half = resize(&img, Shape::d3(2, 3, 10)).unwrap();
    let s = img.spacing();
    assert_eq!(
        half.spacing(),
        Spacing::new(s.z * 2.0, s.y * 2.0, s.x * 0.5)
    );
    assert!(matches!(
        resize(&img, Shape::d2(3, 3)),
        Err(Error::InvalidParameter(_))
    ));
    assert!(resize(&img, Shape::d3(0, 3, 3)).is_err());
}

#[test]
fn nearest_resizing_keeps_masks_binary_and_preserves_area_on_integer_scales() {
    let mask = disc_mask(Shape::d2(20, 20));
    let up = resize_nearest(&mask, Shape::d2(40, 40)).unwrap();
    assert_eq!(up.count_inside(), 4 * mask.count_inside());
    let back = resize_nearest(&up, Shape::d2(20, 20)).unwrap();
    assert_eq!(back.voxels(), mask.voxels());
    // Values of a label grid never get blended.
    let labels = Image::new(Shape::d2(1, 3), vec![1.0, 5.0, 9.0]).unwrap();
    let out = resize_nearest(&labels, Shape::d2(1, 7)).unwrap();
    assert_eq!(out.voxels(), &[1.0, 1.0, 5.0, 5.0, 5.0, 9.0, 9.0]);
}

#[test]
fn crop_around_centres_and_pads_with_fill() {
    let img = Image::from_fn(Shape::d2(5, 5), |_, y, x| (10 * y + x) as f32).unwrap();
    let c = crop_around(&img, [0, 2, 2], Shape::d2(3, 3), -1024.0).unwrap();
    assert_eq!(
        c.voxels(),
        &[11.0, 12.0, 13.0, 21.0, 22.0, 23.0, 31.0, 32.0, 33.0]
    );
    // At the corner, the missing rows/columns are air.
    let corner = crop_around(&img, [0, 0, 0], Shape::d2(2, 2), -1024.0).unwrap();
    assert_eq!(corner.voxels(), &[-1024.0, -1024.0, -1024.0, 0.0]);
    // Larger than the image: padded all around.
    let big = crop_around(&img, [0, 2, 2], Shape::d2(7, 7), -1024.0).unwrap();
    assert_eq!(big.get(0, 3, 3), Some(&22.0));
    assert_eq!(big.get(0, 0, 0), Some(&-1024.0));
    assert_eq!(big.voxels().iter().filter(|&&v| v >= 0.0).count(), 25);
    // 3D and masks.
    let vol = Image::from_fn(Shape::d3(4, 4, 4), |z, y, x| (100 * z + 10 * y + x) as f32).unwrap();
    // Centre slice 0 with 2 slices: the slice before the volume is fill.
    let c3 = crop_around(&vol, [0, 1, 3], Shape::d3(2, 2, 2), -1.0).unwrap();
    assert_eq!(c3.voxels(), &[-1.0, -1.0, -1.0, -1.0, 2.0, 3.0, 12.0, 13.0]);
    let m = crop_around(
        &disc_mask(Shape::d2(9, 9)),
        [0, 4, 4],
        Shape::d2(3, 3),
        false,
    )
    .unwrap();
    assert_eq!(m.count_inside(), 9);
    assert!(crop_around(&vol, [0, 0, 0], Shape::d2(2, 2), 0.0).is_err());
}

#[test]
fn threshold_iou_and_centroid() {
    let img = Image::new(
        Shape::d2(2, 3),
        vec![-100.0, -20.0, 40.0, 250.0, f32::NAN, -80.0],
    )
    .unwrap();
    let fat = Mask::from_threshold(&img, -190.0..=-30.0);
    assert_eq!(fat.voxels(), &[true, false, false, false, false, true]);
    let dense = Mask::from_threshold(&img, 130.0..=f32::INFINITY);
    assert_eq!(dense.count_inside(), 1);
    assert_eq!(fat.iou(&dense).unwrap(), 0.0);
    assert_eq!(fat.iou(&fat).unwrap(), 1.0);
    let soft = Mask::from_threshold(&img, -120.0..=50.0);
    // fat = {0, 5}, soft = {0, 1, 2, 5}: IoU = 2 / 4.
    assert_eq!(fat.iou(&soft).unwrap(), 0.5);
    let empty = Mask::filled(Shape::d2(2, 3), false).unwrap();
    assert_eq!(empty.iou(&empty).unwrap(), 1.0);
    assert!(matches!(
        fat.iou(&Mask::filled(Shape::d2(3, 2), false).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(fat.centroid(), Some([0.0, 0.5, 1.0]));
    assert_eq!(empty.centroid(), None);
}

#[test]
fn windowing_an_image_keeps_its_grid() {
    let img = ct_image(Shape::d3(2, 3, 4), 5);
    let w = Window::ABDOMEN.apply_to(&img);
    assert_eq!((w.shape(), w.spacing()), (img.shape(), img.spacing()));
    for (&hu, &v) in img.voxels().iter().zip(w.voxels()) {
        assert!((0.0..=1.0).contains(&v));
        assert_eq!(v, ((hu + 160.0) / 400.0).clamp(0.0, 1.0));
    }
}

#[test]
fn shape_at_spacing_keeps_the_field_of_view() {
    // 20 × 0.75 mm = 15 mm → 10 voxels of 1.5 mm; 5 slices × 2.5 mm → 12.5 / 1.0 → 13 (rounded).
    let img = Image::filled(Shape::d3(5, 20, 30), 0.0)
        .unwrap()
        .with_spacing(Spacing::new(2.5, 0.75, 0.5));
    let shape = shape_at_spacing(&img, Spacing::new(1.0, 1.5, 1.5)).unwrap();
    assert_eq!(shape, Shape::d3(13, 10, 10));
    let iso = resize(&img, shape).unwrap();
    assert_eq!(iso.spacing(), Spacing::new(12.5 / 13.0, 1.5, 1.5));
    // 2D ignores z, even a nonsensical one.
    let slice = disc_mask(Shape::d2(8, 8)).with_spacing(Spacing::new(0.0, 0.5, 0.5));
    assert_eq!(
        shape_at_spacing(&slice, Spacing::new(f32::NAN, 1.0, 2.0)).unwrap(),
        Shape::d2(4, 2)
    );
    assert!(shape_at_spacing(&img, Spacing::new(0.0, 1.0, 1.0)).is_err());
    assert!(shape_at_spacing(&img, Spacing::new(1.0, 1e-9, 1.0)).is_err());
}
