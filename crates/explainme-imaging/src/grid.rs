//! Plain data: a [`Shape`], a voxel [`Spacing`] and a [`Grid`] of voxels.
//!
//! One generic grid serves both CT images (`Grid<f32>`, Hounsfield units) and masks
//! (`Grid<bool>`), so cropping, indexing and nearest-neighbour resampling are written once.
//! Voxels are stored in C order with x fastest: index = (z * ny + y) * nx + x. A 2D grid is a
//! grid whose shape has two axes (y, x); it is not a 3D grid with one slice.

use crate::{Error, MAX_VOXELS, Result};

/// Extents of a 2D (y, x) or 3D (z, y, x) grid, in voxels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    dims: u8,
    zyx: [usize; 3],
}

impl Shape {
    /// A 2D shape of `y` rows and `x` columns.
    pub fn d2(y: usize, x: usize) -> Shape {
        Shape {
            dims: 2,
            zyx: [1, y, x],
        }
    }

    /// A 3D shape of `z` slices of `y` rows and `x` columns.
    pub fn d3(z: usize, y: usize, x: usize) -> Shape {
        Shape {
            dims: 3,
            zyx: [z, y, x],
        }
    }

    /// A shape from 2 or 3 extents, outermost first.
    pub fn from_slice(extents: &[usize]) -> Result<Shape> {
        match *extents {
            [y, x] => Ok(Shape::d2(y, x)),
            [z, y, x] => Ok(Shape::d3(z, y, x)),
            _ => Err(Error::InvalidShape(format!(
                "{} axes {extents:?}; images have 2 (y, x) or 3 (z, y, x)",
                extents.len()
            ))),
        }
    }

    /// 2 or 3.
    pub fn dims(&self) -> usize {
        usize::from(self.dims)
    }

    /// The extents, outermost first: `[y, x]` or `[z, y, x]`.
    pub fn as_slice(&self) -> &[usize] {
        &self.zyx[3 - self.dims()..]
    }

    /// Slices (1 for a 2D shape).
    pub fn z(&self) -> usize {
        self.zyx[0]
    }

    /// Rows.
    pub fn y(&self) -> usize {
        self.zyx[1]
    }

    /// Columns.
    pub fn x(&self) -> usize {
        self.zyx[2]
    }

    /// `[z, y, x]` with z = 1 for 2D shapes; convenient for loops written once for both.
    pub fn zyx(&self) -> [usize; 3] {
        self.zyx
    }

    /// Number of voxels, or `None` when the product overflows `usize`.
    pub fn voxel_count(&self) -> Option<usize> {
        self.zyx
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
    }

    /// Checks that every extent is positive and the count stays within [`MAX_VOXELS`].
    pub(crate) fn checked_count(&self) -> Result<usize> {
        if self.as_slice().contains(&0) {
            return Err(Error::InvalidShape(format!(
                "zero extent in {:?}",
                self.as_slice()
            )));
        }
        match self.voxel_count() {
            Some(n) if n <= MAX_VOXELS => Ok(n),
            _ => Err(Error::InvalidShape(format!(
                "{:?} has more than {MAX_VOXELS} voxels",
                self.as_slice()
            ))),
        }
    }
}

/// Voxel size in millimetres. For 2D grids `z` is carried along (e.g. a DICOM slice
/// thickness) but plays no role in 2D operations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spacing {
    /// Slice spacing (mm).
    pub z: f32,
    /// Row spacing (mm).
    pub y: f32,
    /// Column spacing (mm).
    pub x: f32,
}

impl Spacing {
    /// Anisotropic spacing in mm.
    pub fn new(z: f32, y: f32, x: f32) -> Spacing {
        Spacing { z, y, x }
    }

    /// The same spacing along every axis.
    pub fn isotropic(mm: f32) -> Spacing {
        Spacing::new(mm, mm, mm)
    }

    /// Spacing as `[z, y, x]`.
    pub fn zyx(&self) -> [f32; 3] {
        [self.z, self.y, self.x]
    }
}

/// 1 mm along every axis: what formats without spacing metadata (`.npy`, PNG without our
/// text chunk) decode to.
impl Default for Spacing {
    fn default() -> Spacing {
        Spacing::isotropic(1.0)
    }
}

/// A 2D or 3D grid of voxels with a physical spacing.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid<T> {
    shape: Shape,
    spacing: Spacing,
    voxels: Vec<T>,
}

/// A CT image: voxels in Hounsfield units (HU), any `f32` including NaN (see the crate docs
/// on NaN).
pub type Image = Grid<f32>;

/// A binary mask on the same grid as an image.
pub type Mask = Grid<bool>;

impl<T> Grid<T> {
    /// A grid from voxels in C order (x fastest), with 1 mm spacing.
    ///
    /// Errors when an extent is zero, the count exceeds [`MAX_VOXELS`] or `voxels.len()`
    /// differs from the shape's voxel count.
    pub fn new(shape: Shape, voxels: Vec<T>) -> Result<Grid<T>> {
        let count = shape.checked_count()?;
        if voxels.len() != count {
            return Err(Error::InvalidShape(format!(
                "{} voxels for shape {:?} ({count} expected)",
                voxels.len(),
                shape.as_slice()
            )));
        }
        Ok(Grid {
            shape,
            spacing: Spacing::default(),
            voxels,
        })
    }

    /// A grid whose voxel at (z, y, x) is `f(z, y, x)` (z = 0 in 2D).
    pub fn from_fn(shape: Shape, mut f: impl FnMut(usize, usize, usize) -> T) -> Result<Grid<T>> {
        let count = shape.checked_count()?;
        let [nz, ny, nx] = shape.zyx();
        let mut voxels = Vec::with_capacity(count);
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    voxels.push(f(z, y, x));
                }
            }
        }
        Grid::new(shape, voxels)
    }

    /// The same grid with another voxel spacing.
    pub fn with_spacing(mut self, spacing: Spacing) -> Grid<T> {
        self.spacing = spacing;
        self
    }

    /// Extents.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// 2 or 3.
    pub fn dims(&self) -> usize {
        self.shape.dims()
    }

    /// Voxel size in mm.
    pub fn spacing(&self) -> Spacing {
        self.spacing
    }

    /// Voxels in C order (x fastest).
    pub fn voxels(&self) -> &[T] {
        &self.voxels
    }

    /// Mutable voxels in C order; the length cannot change.
    pub fn voxels_mut(&mut self) -> &mut [T] {
        &mut self.voxels
    }

    /// The voxel vector, for handing to a model as `(shape, Vec<f32>)`.
    pub fn into_voxels(self) -> Vec<T> {
        self.voxels
    }

    /// Linear index of (z, y, x), or `None` outside the grid. Use z = 0 in 2D.
    pub fn index(&self, z: usize, y: usize, x: usize) -> Option<usize> {
        let [nz, ny, nx] = self.shape.zyx();
        (z < nz && y < ny && x < nx).then(|| (z * ny + y) * nx + x)
    }

    /// The voxel at (z, y, x), or `None` outside the grid. Use z = 0 in 2D.
    pub fn get(&self, z: usize, y: usize, x: usize) -> Option<&T> {
        self.index(z, y, x).map(|i| &self.voxels[i])
    }

    /// A grid of the same shape and spacing with every voxel mapped through `f`.
    pub fn map<U>(&self, f: impl FnMut(&T) -> U) -> Grid<U> {
        Grid {
            shape: self.shape,
            spacing: self.spacing,
            voxels: self.voxels.iter().map(f).collect(),
        }
    }

    /// Errors unless `other` has the same shape.
    pub fn check_same_shape<U>(&self, other: &Grid<U>) -> Result<()> {
        if self.shape == other.shape {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                left: self.shape.as_slice().to_vec(),
                right: other.shape.as_slice().to_vec(),
            })
        }
    }
}

impl<T: Clone> Grid<T> {
    /// A grid with every voxel set to `value`.
    pub fn filled(shape: Shape, value: T) -> Result<Grid<T>> {
        let count = shape.checked_count()?;
        Grid::new(shape, vec![value; count])
    }
}

/// A tensor of any rank: the `(shape, Vec<f32>)` form models consume and `.npy` files hold.
/// The one tensor type of explainme: explainme-onnx feeds and returns it (DESIGN.md: crates
/// exchange `(shape, Vec<f32>)`, never ndarray types of different versions).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Extents, outermost first (C order).
    pub shape: Vec<usize>,
    /// Values in C order; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor, checking that `data` matches the shape.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor> {
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .filter(|&n| n <= MAX_VOXELS);
        if count != Some(data.len()) {
            return Err(Error::InvalidShape(format!(
                "{} values for tensor shape {shape:?}",
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor holds no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// An image as a tensor of its own shape (`[y, x]` or `[z, y, x]`); spacing is dropped.
impl From<Image> for Tensor {
    fn from(image: Image) -> Tensor {
        Tensor {
            shape: image.shape.as_slice().to_vec(),
            data: image.voxels,
        }
    }
}

/// A tensor as an image: leading axes of extent 1 are dropped while more than 2 axes
/// remain (so `[1, 1, 64, 64]` becomes a 64×64 2D image and `[1, 48, 48, 48]` a 3D one);
/// what is left must have 2 or 3 axes. Spacing is 1 mm.
impl TryFrom<Tensor> for Image {
    type Error = Error;

    fn try_from(tensor: Tensor) -> Result<Image> {
        let mut extents = tensor.shape.as_slice();
        while extents.len() > 2 && extents[0] == 1 {
            extents = &extents[1..];
        }
        Grid::new(Shape::from_slice(extents)?, tensor.data)
    }
}
