//! Rendering: true findings → a CT patch in Hounsfield units, plus one mask per concept.
//!
//! The patch is centred on the lesion, as a radiologist's crop would be, and covers a fixed
//! field of view of [`FIELD_OF_VIEW_MM`] whatever its size, so a 64-pixel patch has 2 mm
//! pixels and a lesion of 0.5–10 cm spans 2.5–50 pixels. The scene is built in millimetres
//! (corticomedullary phase):
//!
//! * perirenal fat (−105 to −80 HU) with faint texture;
//! * the kidney, an ellipse (ellipsoid in 3D) with an enhancing cortex (~145–205 HU, scaled
//!   by a per-case contrast factor of 0.8–1.2), medullary pyramids (~60–90 HU) with columns
//!   of Bertin between them, and renal-sinus fat at the hilum;
//! * the lesion on the lateral contour, exophytic (centre outside the renal contour) or not,
//!   with a wobbly boundary (low-order for a well-defined margin, high-order plus a soft
//!   interface 3–6 mm wide for an infiltrative one) and, by priority: enhancing solid tissue with
//!   homogeneous or heterogeneous texture, cystic fluid (0–20 HU) with wall, septa and
//!   nodules, macroscopic fat (−100 to −55 HU), central necrosis (8–30 HU), a stellate
//!   central scar, and calcification specks (350–900 HU);
//! * then a Gaussian blur (partial volume, σ 0.5–0.85 pixel) and white Gaussian noise
//!   (σ 10–22 HU), rounded to whole HU.
//!
//! Masks come from the scene before blur, restricted to the lesion (membership ≥ ½), and
//! then to voxels whose *noise-free, blurred* value shows the component: ≤ −10 HU for fat,
//! ≥ +100 HU for calcification, and for fluid, necrosis and scar nearer the component's own
//! value than the enhancing tissue's. So a mask never claims a voxel the image does not show;
//! a planted component hidden by partial volume (a slit of fluid between thick septa, a scar
//! in a barely enhancing tumour) gets no mask file.

use serde::Serialize;

use crate::clinical::{Bosniak, Cystic, Enhancement, Subtype, Truth};
use crate::random::Random;

/// Field of view of every patch, in mm (64 pixels → 2 mm spacing, 48 voxels → 2.67 mm).
pub const FIELD_OF_VIEW_MM: f64 = 128.0;

/// Fat shows at or below this value (DESIGN.md: macroscopic fat ≤ −10 HU).
pub const FAT_MAX_HU: f32 = -10.0;
/// Calcification shows at or above this value.
pub const CALCIFICATION_MIN_HU: f32 = 100.0;

/// A concept with its own mask file, `masks/<case_id>/<name>.png`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Concept {
    Lesion,
    MacroscopicFat,
    Necrosis,
    Calcification,
    CentralScar,
    Cystic,
    Exophytic,
}

impl Concept {
    pub const ALL: [Concept; 7] = [
        Concept::Lesion,
        Concept::MacroscopicFat,
        Concept::Necrosis,
        Concept::Calcification,
        Concept::CentralScar,
        Concept::Cystic,
        Concept::Exophytic,
    ];

    /// The mask's file stem; equal to the schema feature it shows, so concept probes can pair
    /// masks with clinician labels by name.
    pub fn name(self) -> &'static str {
        match self {
            Concept::Lesion => "lesion",
            Concept::MacroscopicFat => "macroscopic_fat",
            Concept::Necrosis => "necrosis",
            Concept::Calcification => "calcification",
            Concept::CentralScar => "central_scar",
            Concept::Cystic => "cystic",
            Concept::Exophytic => "exophytic",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The generating parameters of one case, written to `ground_truth.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderParams {
    pub spacing_mm: f64,
    pub lesion_centre_mm: [f64; 3],
    pub lesion_radius_mm: f64,
    /// Unit vector from the kidney towards the lesion (the lateral contour).
    pub outward: [f64; 3],
    /// Lesion centre minus renal contour along `outward`, mm (positive: outside).
    pub centre_to_contour_mm: f64,
    /// Semi-axes of the kidney along `outward`, across it in-plane, and along z.
    pub kidney_semi_axes_mm: [f64; 3],
    pub cortex_thickness_mm: f64,
    pub contrast_factor: f64,
    pub cortex_hu: f64,
    pub medulla_hu: f64,
    pub perirenal_fat_hu: f64,
    /// Mean HU of the enhancing solid part.
    pub lesion_hu: f64,
    pub texture_sd_hu: f64,
    /// Width of the soft lesion/kidney interface, mm.
    pub margin_width_mm: f64,
    pub boundary_wobble: Vec<f64>,
    pub fat_fraction: f64,
    pub fat_hu: f64,
    pub fluid_hu: f64,
    pub cyst_wall_mm: f64,
    pub septa: usize,
    pub septum_thickness_mm: f64,
    pub nodules: usize,
    pub necrosis_fraction: f64,
    pub necrosis_hu: f64,
    pub scar_hu: f64,
    pub scar_spokes: usize,
    pub calcification_specks: Vec<[f64; 3]>,
    pub calcification_hu: f64,
    pub blur_sigma_px: f64,
    pub noise_sd_hu: f64,
}

/// A rendered case: noisy and noise-free images (C order, x fastest) and its masks.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendering {
    /// `[z, y, x]`; z = 1 for 2D patches.
    pub shape: [usize; 3],
    pub spacing_mm: f64,
    /// What the scanner shows: blurred, noisy, rounded to whole HU.
    pub image: Vec<f32>,
    /// The blurred scene before noise.
    pub noise_free: Vec<f32>,
    /// The lesion mask first, then every other concept whose mask is not empty.
    pub masks: Vec<(Concept, Vec<bool>)>,
    pub params: RenderParams,
}

type Vec3 = [f64; 3];

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn add_scaled(a: Vec3, b: Vec3, s: f64) -> Vec3 {
    [a[0] + b[0] * s, a[1] + b[1] * s, a[2] + b[2] * s]
}

fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

/// A star-shaped boundary: radius × (1 + Σ amplitude·sin(frequency·(u·direction) + phase)).
struct Wobble {
    terms: Vec<(Vec3, f64, f64, f64)>,
}

impl Wobble {
    fn draw(
        rng: &mut Random,
        planar: bool,
        count: usize,
        freq: (f64, f64),
        amp: (f64, f64),
    ) -> Wobble {
        let terms = (0..count)
            .map(|_| {
                (
                    rng.direction(planar),
                    rng.range(freq.0, freq.1),
                    rng.range(amp.0, amp.1),
                    rng.range(0.0, std::f64::consts::TAU),
                )
            })
            .collect();
        Wobble { terms }
    }

    /// The largest factor any direction can reach.
    fn max_factor(&self) -> f64 {
        1.0 + self.terms.iter().map(|t| t.2).sum::<f64>()
    }

    fn factor(&self, u: Vec3) -> f64 {
        1.0 + self
            .terms
            .iter()
            .map(|&(d, f, a, phase)| a * (f * dot(u, d) + phase).sin())
            .sum::<f64>()
    }

    fn amplitudes(&self) -> Vec<f64> {
        self.terms.iter().map(|t| t.2).collect()
    }
}

/// A ball with a wobbly boundary.
struct Blob {
    centre: Vec3,
    radius: f64,
    wobble: Wobble,
}

impl Blob {
    /// Distance from the centre relative to the (wobbly) radius: < 1 inside.
    fn relative(&self, p: Vec3) -> f64 {
        let d = sub(p, self.centre);
        let r = norm(d);
        if r < 1e-9 {
            return 0.0;
        }
        let u = [d[0] / r, d[1] / r, d[2] / r];
        r / (self.radius * self.wobble.factor(u)).max(1e-6)
    }
}

/// Voxel grid of the patch: `n` per axis in-plane, `nz` slices, centred on the origin.
#[derive(Debug, Clone, Copy)]
struct Grid {
    n: usize,
    nz: usize,
    spacing: f64,
}

impl Grid {
    fn len(&self) -> usize {
        self.n * self.n * self.nz
    }

    fn coordinate(&self, i: usize, n: usize) -> f64 {
        (i as f64 + 0.5 - n as f64 / 2.0) * self.spacing
    }

    /// Position in mm of voxel `index` (C order, x fastest); z = 0 for a 2D patch.
    fn position(&self, index: usize) -> Vec3 {
        let x = index % self.n;
        let y = (index / self.n) % self.n;
        let z = index / (self.n * self.n);
        let pz = if self.nz == 1 {
            0.0
        } else {
            self.coordinate(z, self.nz)
        };
        [self.coordinate(x, self.n), self.coordinate(y, self.n), pz]
    }

    /// The voxel centre nearest to `p` (so a speck always covers at least one voxel).
    fn snap(&self, p: Vec3) -> Vec3 {
        let snap1 = |v: f64, n: usize| {
            let i = (v / self.spacing + n as f64 / 2.0 - 0.5)
                .round()
                .clamp(0.0, n as f64 - 1.0);
            self.coordinate(i as usize, n)
        };
        let z = if self.nz == 1 {
            0.0
        } else {
            snap1(p[2], self.nz)
        };
        [snap1(p[0], self.n), snap1(p[1], self.n), z]
    }

    /// White noise smoothed by a Gaussian of `sigma_mm`, rescaled to unit standard deviation.
    /// The noise is uniform: smoothing makes the field Gaussian anyway (central limit), and
    /// uniform draws are several times cheaper than Gaussian ones.
    fn smooth_field(&self, rng: &mut Random, sigma_mm: f64) -> Vec<f32> {
        let mut field: Vec<f32> = (0..self.len())
            .map(|_| rng.uniform() as f32 - 0.5)
            .collect();
        self.blur(&mut field, sigma_mm / self.spacing);
        let mean = field.iter().map(|&v| v as f64).sum::<f64>() / field.len() as f64;
        let var = field
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / field.len() as f64;
        let scale = if var > 0.0 { 1.0 / var.sqrt() } else { 1.0 };
        for v in &mut field {
            *v = ((*v as f64 - mean) * scale) as f32;
        }
        field
    }

    /// Separable Gaussian blur with clamped edges, along x, y and (3D) z.
    fn blur(&self, data: &mut [f32], sigma_px: f64) {
        if sigma_px <= 0.0 {
            return;
        }
        let radius = (3.0 * sigma_px).ceil() as isize;
        let kernel: Vec<f32> = (-radius..=radius)
            .map(|k| (-(k * k) as f64 / (2.0 * sigma_px * sigma_px)).exp() as f32)
            .collect();
        let total: f32 = kernel.iter().sum();
        let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
        let n = self.n;
        let strides = [(1, n), (n, n), (n * n, self.nz)];
        let mut line = Vec::new();
        for (axis, &(stride, len)) in strides.iter().enumerate() {
            if len == 1 || (axis == 2 && self.nz == 1) {
                continue;
            }
            for start in 0..data.len() {
                // Visit each line once, from its first voxel.
                if (start / stride) % len != 0 {
                    continue;
                }
                line.clear();
                line.extend((0..len).map(|i| data[start + i * stride]));
                for i in 0..len {
                    let mut acc = 0.0f32;
                    for (k, w) in kernel.iter().enumerate() {
                        let j = (i as isize + k as isize - radius).clamp(0, len as isize - 1);
                        acc += w * line[j as usize];
                    }
                    data[start + i * stride] = acc;
                }
            }
        }
    }
}

/// Renders one case. `size` voxels per in-plane axis; `depth` = 1 (2D) or `size` (3D).
pub(crate) fn render(truth: &Truth, size: usize, depth: usize, rng: &mut Random) -> Rendering {
    let grid = Grid {
        n: size,
        nz: depth,
        spacing: FIELD_OF_VIEW_MM / size as f64,
    };
    let planar = depth == 1;
    let f = &truth.findings;
    let dims_exponent = if planar { 0.5 } else { 1.0 / 3.0 };

    // Geometry: lesion near the patch centre, kidney on one side of it.
    let radius = f.size_cm * 5.0;
    let jitter = |rng: &mut Random| rng.range(-4.0, 4.0);
    let centre = [
        jitter(rng),
        jitter(rng),
        if planar { 0.0 } else { jitter(rng) },
    ];
    let outward = rng.direction(true);
    let across = [-outward[1], outward[0], 0.0];
    let axial = [0.0, 0.0, 1.0];
    let semi = [
        rng.range(28.0, 36.0),
        rng.range(20.0, 26.0),
        rng.range(45.0, 55.0),
    ];
    let to_contour = if f.exophytic {
        radius * rng.range(0.0, 0.6)
    } else {
        (-radius * rng.range(0.45, 1.0)).max(-0.85 * semi[0])
    };
    let kidney_centre = add_scaled(centre, outward, -(semi[0] + to_contour));
    let cortex_thickness = rng.range(5.0, 8.0);
    let pyramids = rng.int(5, 8) as f64;
    let pyramid_phase = rng.range(0.0, std::f64::consts::TAU);

    // Contrast: one factor scales every enhancement above the 35 HU unenhanced baseline.
    let contrast = rng.range(0.8, 1.2);
    let enhance = |hu: f64| 35.0 + contrast * (hu - 35.0);
    let cortex_hu = enhance(rng.range(145.0, 205.0));
    let medulla_hu = enhance(rng.range(60.0, 90.0));
    let perirenal_fat_hu = rng.range(-105.0, -80.0);
    let lesion_hu = enhance(match f.enhancement {
        Enhancement::Hypo => rng.range(30.0, 62.0),
        Enhancement::Moderate => rng.range(62.0, 98.0),
        Enhancement::Avid => rng.range(98.0, 185.0),
    });
    let texture_sd = if f.heterogeneous {
        rng.range(20.0, 38.0)
    } else {
        rng.range(3.0, 8.0)
    };

    // Boundary: a few low-order lobes; an infiltrative margin adds many small ones and a
    // soft interface.
    let mut boundary = Wobble::draw(rng, planar, 3, (1.0, 3.0), (0.02, 0.06));
    let margin_width = if f.infiltrative {
        boundary
            .terms
            .extend(Wobble::draw(rng, planar, 6, (4.0, 9.0), (0.025, 0.06)).terms);
        rng.range(3.0, 6.0)
    } else {
        0.6
    };

    // Components, each drawn whether or not it is used so one finding's presence does not
    // shift the random stream of the others.
    let scales = [
        rng.range(2.0, 3.5),
        rng.range(3.0, 5.0),
        rng.range(2.5, 4.5),
    ];
    let texture = grid.smooth_field(rng, scales[0]);
    let patches = grid.smooth_field(rng, scales[1]);
    let fat_field = grid.smooth_field(rng, scales[2]);
    let background = grid.smooth_field(rng, 4.0);
    let fat_fraction = match truth.subtype {
        Subtype::FatRichAml => rng.range(0.25, 0.75),
        _ => rng.range(0.12, 0.25),
    };
    let fat_hu = rng.range(-100.0, -55.0);
    let fluid_hu = rng.range(0.0, 20.0);
    let thick_wall = matches!(truth.bosniak, Some(Bosniak::III | Bosniak::IV) | None);
    let cyst_wall = if thick_wall {
        rng.range(2.5, 4.5)
    } else {
        rng.range(1.0, 2.0)
    };
    let (septa_range, septum_thickness) = match truth.bosniak {
        Some(Bosniak::II) => ((0, 2), rng.range(1.0, 1.5)),
        Some(Bosniak::IIF) => ((2, 4), rng.range(1.0, 1.8)),
        Some(Bosniak::III) => ((2, 4), rng.range(2.5, 4.0)),
        Some(Bosniak::IV) => ((1, 3), rng.range(2.5, 4.0)),
        None => ((1, 3), rng.range(2.0, 3.5)),
    };
    let septa_count = rng.int(septa_range.0, septa_range.1);
    let septa: Vec<(Vec3, Vec3)> = (0..septa_count)
        .map(|_| {
            let offset = rng.direction(planar);
            let point = add_scaled(centre, offset, radius * rng.range(0.0, 0.4));
            (point, rng.direction(planar))
        })
        .collect();
    let nodule_count = match (truth.bosniak, f.cystic) {
        (Some(Bosniak::IV), _) => rng.int(1, 2),
        (Some(Bosniak::III), _) => rng.int(0, 1),
        (None, Cystic::Predominant) => 1,
        _ => 0,
    };
    let nodules: Vec<Blob> = (0..nodule_count)
        .map(|_| {
            let d = rng.direction(planar);
            Blob {
                centre: add_scaled(centre, d, radius * 0.75),
                radius: radius * rng.range(0.18, 0.3),
                wobble: Wobble::draw(rng, planar, 2, (1.0, 3.0), (0.05, 0.12)),
            }
        })
        .collect();
    let partial_fluid = {
        let d = rng.direction(planar);
        let fraction = rng.range(0.2, 0.45);
        Blob {
            centre: add_scaled(centre, d, radius * 0.35),
            radius: radius * fraction.powf(dims_exponent),
            wobble: Wobble::draw(rng, planar, 3, (1.0, 4.0), (0.04, 0.1)),
        }
    };
    let necrosis_fraction = rng.range(0.15, 0.4);
    let necrosis = {
        let d = rng.direction(planar);
        Blob {
            centre: add_scaled(centre, d, radius * rng.range(0.0, 0.15)),
            radius: radius * necrosis_fraction.powf(dims_exponent),
            wobble: Wobble::draw(rng, planar, 5, (2.0, 6.0), (0.05, 0.12)),
        }
    };
    let necrosis_hu = rng.range(8.0, 30.0);
    let scar_hu = enhance(rng.range(35.0, 55.0));
    let scar_spokes: Vec<Vec3> = (0..rng.int(4, 7)).map(|_| rng.direction(planar)).collect();
    let scar_width = (radius * 0.06).max(2.0);
    let specks: Vec<Vec3> = (0..rng.int(1, 4))
        .map(|_| {
            let d = rng.direction(planar);
            grid.snap(add_scaled(centre, d, radius * rng.range(0.2, 0.85)))
        })
        .collect();
    let speck_radius = rng.range(1.2, 2.2).max(1.05 * grid.spacing);
    let calcification_hu = rng.range(350.0, 900.0);
    let blur_sigma = rng.range(0.5, 0.85);
    let noise_sd = rng.range(10.0, 22.0);

    // (membership weight, distance from the centre, boundary radius in that direction)
    let reach = radius * boundary.max_factor() + margin_width;
    let membership = |p: Vec3| -> (f64, f64, f64) {
        let d = sub(p, centre);
        let r = norm(d);
        if r > reach {
            return (0.0, r, radius);
        }
        let u = if r < 1e-9 {
            outward
        } else {
            [d[0] / r, d[1] / r, d[2] / r]
        };
        let boundary_radius = radius * boundary.factor(u);
        let w = ((boundary_radius - r) / margin_width + 0.5).clamp(0.0, 1.0);
        (w, r, boundary_radius)
    };

    // Fat occupies the top `fat_fraction` of the fat field inside the lesion.
    let fat_threshold = {
        let mut inside: Vec<f32> = (0..grid.len())
            .filter(|&i| membership(grid.position(i)).0 >= 0.5)
            .map(|i| fat_field[i])
            .collect();
        inside.sort_by(f32::total_cmp);
        let k = ((1.0 - fat_fraction) * inside.len() as f64) as usize;
        inside
            .get(k.min(inside.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f32::INFINITY)
    };

    let mut scene = vec![0f32; grid.len()];
    let mut regions = vec![0u8; grid.len()];
    for (i, (value, region)) in scene.iter_mut().zip(&mut regions).enumerate() {
        let p = grid.position(i);
        // Background: kidney or perirenal fat.
        let k = sub(p, kidney_centre);
        let (ku, ka, kz) = (dot(k, outward), dot(k, across), dot(k, axial));
        let q = ((ku / semi[0]).powi(2) + (ka / semi[1]).powi(2) + (kz / semi[2]).powi(2)).sqrt();
        let in_kidney = q < 1.0;
        let fat_bg = perirenal_fat_hu + 7.0 * background[i] as f64;
        let bg = if in_kidney {
            let depth = (1.0 - q) * semi[1];
            let hilum = ku < -0.5 * semi[0] && ka.abs() < 0.3 * semi[1];
            let sinus = q < 0.35 && ku < 0.1 * semi[0];
            if hilum || sinus {
                fat_bg
            } else if depth < cortex_thickness {
                cortex_hu
            } else {
                let angle = ka.atan2(ku);
                if (pyramids * angle + pyramid_phase).cos() < 0.3 {
                    medulla_hu
                } else {
                    cortex_hu
                }
            }
        } else {
            fat_bg
        };
        let (w, r, boundary_radius) = membership(p);
        let mut hu = bg;
        if w > 0.0 {
            let mut component = 0u8;
            let mut lesion = lesion_hu + texture_sd * texture[i] as f64;
            if f.heterogeneous && patches[i] > 0.8 {
                lesion -= 0.45 * (lesion_hu - 20.0).max(0.0);
            }
            let fluid = match f.cystic {
                Cystic::None => false,
                Cystic::Partial => partial_fluid.relative(p) < 1.0 && r < 0.9 * boundary_radius,
                Cystic::Predominant => r < boundary_radius - cyst_wall,
            };
            if fluid {
                let on_septum = f.cystic == Cystic::Predominant
                    && septa.iter().any(|&(point, normal)| {
                        dot(sub(p, point), normal).abs() < septum_thickness / 2.0
                    });
                let on_nodule = nodules.iter().any(|b| b.relative(p) < 1.0);
                if on_septum || on_nodule {
                    lesion = lesion_hu + 0.3 * texture_sd * texture[i] as f64;
                } else {
                    lesion = fluid_hu + 3.0 * texture[i] as f64;
                    component = Concept::Cystic.bit();
                }
            }
            if f.macroscopic_fat && fat_field[i] >= fat_threshold {
                lesion = fat_hu + 6.0 * texture[i] as f64;
                component = Concept::MacroscopicFat.bit();
            }
            if f.necrosis && necrosis.relative(p) < 1.0 {
                lesion = necrosis_hu + 4.0 * texture[i] as f64;
                component = Concept::Necrosis.bit();
            }
            if f.central_scar {
                let d = sub(p, centre);
                let on_spoke = scar_spokes.iter().any(|&s| {
                    let along = dot(d, s);
                    let off = norm(add_scaled(d, s, -along));
                    (0.0..0.7 * radius).contains(&along) && off < scar_width / 2.0
                });
                if norm(d) < (0.12 * radius).max(1.5) || on_spoke {
                    lesion = scar_hu + 3.0 * texture[i] as f64;
                    component = Concept::CentralScar.bit();
                }
            }
            if f.calcification && specks.iter().any(|&s| norm(sub(p, s)) <= speck_radius) {
                lesion = calcification_hu;
                component = Concept::Calcification.bit();
            }
            hu = w * lesion + (1.0 - w) * bg;
            if w >= 0.5 {
                *region = Concept::Lesion.bit() | component;
                if !in_kidney {
                    *region |= Concept::Exophytic.bit();
                }
            }
        }
        *value = hu as f32;
    }

    let mut noise_free = scene;
    grid.blur(&mut noise_free, blur_sigma);
    let image: Vec<f32> = noise_free
        .iter()
        .map(|&v| {
            (v as f64 + noise_sd * rng.normal())
                .round()
                .clamp(-1024.0, 3071.0) as f32
        })
        .collect();

    let present = |c: Concept| match c {
        Concept::Lesion => true,
        Concept::MacroscopicFat => f.macroscopic_fat,
        Concept::Necrosis => f.necrosis,
        Concept::Calcification => f.calcification,
        Concept::CentralScar => f.central_scar,
        Concept::Cystic => f.cystic != Cystic::None,
        Concept::Exophytic => f.exophytic,
    };
    // A low-density component shows where the blurred scene is nearer its own value than
    // the enhancing tissue's; partial volume hides thin fluid slits between thick septa.
    // A component no darker than the tumour does not show at all.
    let midway = |component_hu: f64| {
        if component_hu < lesion_hu {
            ((component_hu + lesion_hu) / 2.0) as f32
        } else {
            f32::NEG_INFINITY
        }
    };
    let masks = Concept::ALL
        .into_iter()
        .filter(|&c| present(c))
        .map(|c| {
            let mask: Vec<bool> = regions
                .iter()
                .zip(&noise_free)
                .map(|(&r, &v)| {
                    r & c.bit() != 0
                        && match c {
                            Concept::MacroscopicFat => v <= FAT_MAX_HU,
                            Concept::Calcification => v >= CALCIFICATION_MIN_HU,
                            Concept::Cystic => v <= midway(fluid_hu),
                            Concept::Necrosis => v <= midway(necrosis_hu),
                            Concept::CentralScar => v <= midway(scar_hu),
                            Concept::Lesion | Concept::Exophytic => true,
                        }
                })
                .collect();
            (c, mask)
        })
        .filter(|(c, mask)| *c == Concept::Lesion || mask.iter().any(|&m| m))
        .collect();

    Rendering {
        shape: [depth, size, size],
        spacing_mm: grid.spacing,
        image,
        noise_free,
        masks,
        params: RenderParams {
            spacing_mm: grid.spacing,
            lesion_centre_mm: centre,
            lesion_radius_mm: radius,
            outward,
            centre_to_contour_mm: to_contour,
            kidney_semi_axes_mm: semi,
            cortex_thickness_mm: cortex_thickness,
            contrast_factor: contrast,
            cortex_hu,
            medulla_hu,
            perirenal_fat_hu,
            lesion_hu,
            texture_sd_hu: texture_sd,
            margin_width_mm: margin_width,
            boundary_wobble: boundary.amplitudes(),
            fat_fraction: if f.macroscopic_fat { fat_fraction } else { 0.0 },
            fat_hu,
            fluid_hu,
            cyst_wall_mm: cyst_wall,
            septa: if f.cystic == Cystic::Predominant {
                septa.len()
            } else {
                0
            },
            septum_thickness_mm: septum_thickness,
            nodules: if f.cystic == Cystic::None {
                0
            } else {
                nodules.len()
            },
            necrosis_fraction: if f.necrosis { necrosis_fraction } else { 0.0 },
            necrosis_hu,
            scar_hu,
            scar_spokes: if f.central_scar { scar_spokes.len() } else { 0 },
            calcification_specks: if f.calcification { specks } else { Vec::new() },
            calcification_hu,
            blur_sigma_px: blur_sigma,
            noise_sd_hu: noise_sd,
        },
    }
}
