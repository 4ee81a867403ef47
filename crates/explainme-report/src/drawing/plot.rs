//! Plots of a model's performance for clinicians: the ROC curve and the reliability
//! (calibration) diagram, drawn by `plotters` into SVG.
//!
//! Both are on the unit square with the chance / perfect-calibration diagonal dashed, axes
//! named in the words a radiologist reads (sensitivity, 1 − specificity), and a legend. Text
//! is `sans-serif`, laid out by plotters' built-in estimate (its `ttf` feature, which would
//! load system fonts through font-kit, is off): the browser draws the text, so only the label
//! areas' sizes come from the estimate. Nothing is read from disk and nothing external is
//! referenced.
//!
//! Deliberately not here: computing the curves (see [`roc_curve`](super::roc_curve) and
//! [`calibration_bins`](super::calibration_bins)), confidence bands, several models on one
//! plot.

use plotters::coord::Shift;
use plotters::element::ComposedElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{Error, Result};
use explainme_explain::evaluation::CalibrationBin;

/// Width and height of both plots, in px: a square plot area with room for labels.
pub const PLOT_SIZE: (u32, u32) = (480, 480);

/// Okabe–Ito blue and vermilion: told apart by every kind of colour vision.
const CURVE: RGBColor = RGBColor(0, 114, 178);
const POINTS: RGBColor = RGBColor(213, 94, 0);
const DIAGONAL: RGBColor = RGBColor(100, 100, 100);
const GRID: RGBColor = RGBColor(232, 232, 232);
const FONT: &str = "sans-serif";

/// A font size for plotters that comes out as `px` in the SVG: plotters writes
/// `font-size` as the size it is given divided by 1.24.
fn px(px: f64) -> f64 {
    px * 1.24
}

/// Draws a ROC curve: false-positive rate (1 − specificity) on x, true-positive rate
/// (sensitivity) on y, both from 0 to 1, the chance diagonal dashed. The legend names the
/// curve with its AUC (three decimals) when `auc` is given; `title` is the caption (none when
/// empty). Points are joined in the order given, as [`roc_curve`](super::roc_curve) returns
/// them.
///
/// Returns an SVG 1.1 document of [`PLOT_SIZE`] with `width`, `height` and `viewBox`.
///
/// # Errors
///
/// An empty curve is refused ([`Error::InvalidParameter`]) rather than drawn as an empty
/// plot: `roc_curve` returns one only when the curve does not exist (a class without cases,
/// a NaN score), and a report should say so in words. So are points or an AUC that are not
/// finite numbers in `[0, 1]`. [`Error::Drawing`] if plotters fails.
///
/// ```
/// use explainme_report::{roc_curve, roc_svg};
///
/// let curve = roc_curve(&[0.9, 0.7, 0.4, 0.2], &[true, false, true, false]);
/// let svg = roc_svg(&curve, Some(0.75), "CNN vs pathology")?;
/// assert!(svg.contains("AUC 0.750") && svg.contains(r#"width="480""#));
/// # Ok::<(), explainme_report::Error>(())
/// ```
pub fn roc_svg(curve: &[(f64, f64)], auc: Option<f64>, title: &str) -> Result<String> {
    if curve.is_empty() {
        return Err(Error::InvalidParameter {
            name: "curve",
            reason: "is empty: there is no ROC curve without positive and negative cases".into(),
        });
    }
    for (i, &(fpr, tpr)) in curve.iter().enumerate() {
        check_unit("curve", &format!("point {i}'s false-positive rate"), fpr)?;
        check_unit("curve", &format!("point {i}'s true-positive rate"), tpr)?;
    }
    if let Some(auc) = auc {
        check_unit("auc", "the AUC", auc)?;
    }
    let legend = match auc {
        Some(auc) => format!("ROC curve, AUC {auc:.3}"),
        None => "ROC curve".to_owned(),
    };
    render("ROC plot", |root| {
        let mut chart = unit_square(
            root,
            title,
            "False-positive rate (1 − specificity)",
            "True-positive rate (sensitivity)",
        )?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                5,
                DIAGONAL.stroke_width(1),
            ))?
            .label("chance (AUC 0.5)")
            .legend(dashed_key);
        chart
            .draw_series(LineSeries::new(
                curve.iter().copied(),
                CURVE.stroke_width(2),
            ))?
            .label(legend)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], CURVE.stroke_width(2)));
        legend_box(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Draws a reliability diagram: for each bin, the observed share of positive cases (y)
/// against the mean predicted probability (x), both from 0 to 1, with the diagonal of
/// perfect calibration dashed. Each bin is a dot whose area grows with its case count
/// (radius 3 to 10 px, by the square root of its share of the largest bin) labelled `n=…`,
/// and the dots are joined in increasing predicted probability. `title` is the caption
/// (none when empty).
///
/// Returns an SVG 1.1 document of [`PLOT_SIZE`] with `width`, `height` and `viewBox`.
///
/// # Errors
///
/// No bins is refused ([`Error::InvalidParameter`]), as an empty ROC curve is; so is a bin
/// without cases or with a value that is not a finite number in `[0, 1]`.
/// [`Error::Drawing`] if plotters fails.
///
/// ```
/// use explainme_report::{calibration_bins, calibration_svg};
///
/// let bins = calibration_bins(&[0.1, 0.15, 0.8, 0.9], &[false, true, true, true], 5);
/// let svg = calibration_svg(&bins, "Calibration")?;
/// assert!(svg.contains("n=2"));
/// # Ok::<(), explainme_report::Error>(())
/// ```
pub fn calibration_svg(bins: &[CalibrationBin], title: &str) -> Result<String> {
    if bins.is_empty() {
        return Err(Error::InvalidParameter {
            name: "bins",
            reason: "is empty: there is no calibration to draw without cases".into(),
        });
    }
    for (i, bin) in bins.iter().enumerate() {
        check_unit(
            "bins",
            &format!("bin {i}'s mean predicted probability"),
            bin.mean_predicted,
        )?;
        check_unit(
            "bins",
            &format!("bin {i}'s observed frequency"),
            bin.observed,
        )?;
        if bin.cases == 0 {
            return Err(Error::InvalidParameter {
                name: "bins",
                reason: format!("bin {i} has no cases"),
            });
        }
    }
    let mut ordered = bins.to_vec();
    ordered.sort_by(|a, b| a.mean_predicted.total_cmp(&b.mean_predicted));
    let largest = ordered.iter().map(|b| b.cases).max().unwrap_or(1) as f64;
    let radius = |cases: usize| (3.0 + 7.0 * (cases as f64 / largest).sqrt()).round() as i32;
    render("calibration plot", |root| {
        let mut chart = unit_square(
            root,
            title,
            "Mean predicted probability",
            "Observed frequency of positives",
        )?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                5,
                DIAGONAL.stroke_width(1),
            ))?
            .label("perfectly calibrated")
            .legend(dashed_key);
        chart.draw_series(LineSeries::new(
            ordered.iter().map(|b| (b.mean_predicted, b.observed)),
            POINTS.stroke_width(1),
        ))?;
        chart
            .draw_series(ordered.iter().map(|b| {
                Circle::new(
                    (b.mean_predicted, b.observed),
                    radius(b.cases),
                    POINTS.filled(),
                )
            }))?
            .label("bins (dot area grows with cases)")
            .legend(|(x, y)| Circle::new((x + 12, y), 5, POINTS.filled()));
        // Counts after every dot, so no dot hides one: below right of the dot, where a
        // rising curve leaves room, or above near the x axis and its tick labels; ending
        // left of the dot near the right edge, so the text stays in the picture.
        let label_font = (FONT, px(12.0)).into_font().color(&BLACK);
        chart.draw_series(ordered.iter().map(|b| {
            let r = radius(b.cases);
            let y = if b.observed < 0.1 { -r - 14 } else { r - 2 };
            let (x, anchor) = if b.mean_predicted > 0.85 {
                (-r, HPos::Right)
            } else {
                (r, HPos::Left)
            };
            let font = label_font.clone().pos(Pos::new(anchor, VPos::Top));
            EmptyElement::at((b.mean_predicted, b.observed))
                + Text::new(format!("n={}", b.cases), (x, y), font)
        }))?;
        legend_box(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// What plotters' drawing calls fail with on the SVG backend.
type DrawError = DrawingAreaErrorKind<std::io::Error>;

/// Draws into a fresh SVG document of [`PLOT_SIZE`] on white and returns it.
fn render(
    drawing: &'static str,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), DrawError>,
) -> Result<String> {
    let failed = |e: DrawError| Error::Drawing {
        drawing,
        reason: e.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        draw(&root).map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// The unit square with a light grid at the labelled ticks (every 0.2) and axis names.
fn unit_square<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    x: &str,
    y: &str,
) -> Result<Chart<'a, 'b>, DrawError> {
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(16)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(56);
    if !title.is_empty() {
        builder.caption(title, (FONT, px(17.0)).into_font());
    }
    let mut chart = builder.build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .label_style((FONT, px(13.0)))
        .axis_desc_style((FONT, px(14.0)))
        .x_desc(x)
        .y_desc(y)
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    Ok(chart)
}

/// The legend's key for the dashed diagonal: two dashes.
type DashedKey<DB> =
    ComposedElement<(i32, i32), DB, PathElement<(i32, i32)>, PathElement<(i32, i32)>>;

fn dashed_key<DB: DrawingBackend>((x, y): (i32, i32)) -> DashedKey<DB> {
    let style = DIAGONAL.stroke_width(1);
    EmptyElement::at((x, y))
        + PathElement::new(vec![(0, 0), (10, 0)], style)
        + PathElement::new(vec![(14, 0), (24, 0)], style)
}

/// The legend, boxed, in a corner the data rarely reaches: lower right for a ROC curve
/// (which bows to the upper left), upper left for a reliability diagram (over-confident
/// models, the common case, fall below the diagonal).
fn legend_box<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    corner: SeriesLabelPosition,
) -> Result<(), DrawError> {
    chart
        .configure_series_labels()
        .position(corner)
        .margin(10)
        .label_font((FONT, px(13.0)))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(180, 180, 180))
        .draw()
}

/// Refuses a value that is not a finite number in `[0, 1]`.
fn check_unit(name: &'static str, what: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            reason: format!("{what} is {value}, not a number in [0, 1]"),
        })
    }
}
