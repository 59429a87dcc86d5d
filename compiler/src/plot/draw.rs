//! The figure: raster on top, binned population rate below, then one panel per
//! recorded trace. Drawn the same way on the bitmap (PNG) and SVG backends.
//!
//! Every spike is one filled circle and nothing else in the figure is a
//! circle (legend marks are squares), so an SVG's `<circle` count is the
//! number of spikes drawn.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{RunResults, Trace};
use super::rate::{bin_steps, binned_rate};
use super::{write_error, PlotError};

/// DejaVu Sans (Bitstream Vera licence, `compiler/assets/fonts/`): text on
/// the bitmap backend needs a registered font.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";

/// Population colours (the matplotlib "tab10" cycle).
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Traces drawn per recorded state (the first ones), so a panel stays readable.
const MAX_TRACE_LINES: usize = 10;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font committed with the source.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

fn colour(k: usize) -> RGBColor {
    COLOURS[k % COLOURS.len()]
}

/// Draw `results` to a PNG file; returns the raster marks drawn.
pub fn png(path: &Path, size: (u32, u32), results: &RunResults) -> Result<usize, PlotError> {
    register_font();
    let root = BitMapBackend::new(path, size).into_drawing_area();
    let marks = figure(&root, results).map_err(|e| write_error(path, e))?;
    root.present().map_err(|e| write_error(path, e))?;
    Ok(marks)
}

/// Draw `results` to an SVG file; returns the raster marks drawn.
pub fn svg(path: &Path, size: (u32, u32), results: &RunResults) -> Result<usize, PlotError> {
    register_font();
    let root = SVGBackend::new(path, size).into_drawing_area();
    let marks = figure(&root, results).map_err(|e| write_error(path, e))?;
    root.present().map_err(|e| write_error(path, e))?;
    Ok(marks)
}

type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    results: &RunResults,
) -> DrawResult<usize, DB> {
    root.fill(&WHITE)?;
    let height = root.dim_in_pixel().1;
    // Raster : rate : each trace = 3 : 1 : 1.
    let parts = 4 + results.traces.len() as u32;
    let unit = height / parts;
    let (raster_area, rest) = root.split_vertically(3 * unit);
    let (rate_area, mut rest) = rest.split_vertically(unit);
    let marks = raster(&raster_area, results)?;
    rate(&rate_area, results)?;
    for trace in &results.traces {
        let (area, below) = rest.split_vertically(unit);
        trace_panel(&area, trace, results.dt_s)?;
        rest = below;
    }
    Ok(marks)
}

fn end_ms(results: &RunResults) -> f64 {
    (results.steps as f64 * results.dt_s * 1e3).max(f64::MIN_POSITIVE)
}

fn raster<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &RunResults,
) -> DrawResult<usize, DB> {
    let total: u32 = results.populations.iter().map(|p| p.neurons).sum();
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("spikes (batch item {})", results.item),
            (FONT_FAMILY, 18),
        )
        .margin(8)
        .margin_right(24)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end_ms(results), 0.0..f64::from(total.max(1)))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (ms)")
        .y_desc("neuron")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT_FAMILY, 12))
        .draw()?;
    // Dots as large as a neuron's row, within 1..=3 pixels of radius.
    let row_px = f64::from(area.dim_in_pixel().1) / f64::from(total.max(1));
    let radius = (row_px / 2.0).clamp(1.0, 3.0) as u32;
    let mut marks = 0;
    let mut offset = 0u32;
    for (k, pop) in results.populations.iter().enumerate() {
        let style = colour(k).filled();
        let first = f64::from(offset);
        let points = pop.spikes.iter().map(|&(step, neuron)| {
            let t = step as f64 * results.dt_s * 1e3;
            Circle::new((t, first + f64::from(neuron) + 0.5), radius, style)
        });
        marks += pop.spikes.len();
        chart
            .draw_series(points)?
            .label(format!("{} ({} spikes)", pop.name, pop.spikes.len()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 8, y + 4)], style));
        offset += pop.neurons;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 12))
        .draw()?;
    Ok(marks)
}

fn rate<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    results: &RunResults,
) -> DrawResult<(), DB> {
    let bin = bin_steps(results.steps, results.dt_s);
    let series: Vec<Vec<(f64, f64)>> = results
        .populations
        .iter()
        .map(|pop| {
            binned_rate(
                pop.spikes.iter().map(|&(step, _)| step),
                pop.neurons,
                results.steps,
                bin,
                results.dt_s,
            )
            .into_iter()
            .map(|(t, r)| (t * 1e3, r))
            .collect()
        })
        .collect();
    let top = series
        .iter()
        .flatten()
        .map(|&(_, r)| r)
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .margin_right(24)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end_ms(results), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time (ms)")
        .y_desc(format!(
            "rate (Hz, {} ms bins)",
            bin as f64 * results.dt_s * 1e3
        ))
        .label_style((FONT_FAMILY, 12))
        .draw()?;
    for (k, line) in series.into_iter().enumerate() {
        chart.draw_series(LineSeries::new(line, colour(k).stroke_width(2)))?;
    }
    Ok(())
}

/// SI values scaled by a power of 1000 so the largest magnitude is in [1, 1000).
fn display_scale(values: &[Vec<f64>]) -> i32 {
    let largest = values
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    if largest == 0.0 {
        return 0;
    }
    (largest.log10() / 3.0).floor() as i32 * 3
}

fn trace_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    trace: &Trace,
    dt_s: f64,
) -> DrawResult<(), DB> {
    let exponent = display_scale(&trace.values);
    let scale = 10f64.powi(-exponent);
    // x in ms when the sample interval is known, else the sample index.
    let (x_step, x_desc) = match trace.every {
        Some(every) => (every as f64 * dt_s * 1e3, "time (ms)".to_string()),
        None => (
            1.0,
            "sample (its interval is not fixed by the sample count)".to_string(),
        ),
    };
    let samples = trace.values.len();
    let lines = trace
        .values
        .first()
        .map_or(0, Vec::len)
        .min(MAX_TRACE_LINES);
    let finite = || {
        trace
            .values
            .iter()
            .flat_map(|row| row.iter().take(lines))
            .filter(|v| v.is_finite())
            .map(|v| v * scale)
    };
    let (lo, hi) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo < hi {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (-1.0, 1.0)
    };
    let unit = if exponent == 0 {
        "SI".to_string()
    } else {
        format!("1e{exponent} SI")
    };
    let mut chart = ChartBuilder::on(area)
        .caption(trace_caption(trace, lines), (FONT_FAMILY, 14))
        .margin(8)
        .margin_right(24)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..(samples.max(1) as f64 * x_step), lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_desc)
        .y_desc(format!("{}.{} ({unit})", trace.population, trace.state))
        .label_style((FONT_FAMILY, 12))
        .draw()?;
    for j in 0..lines {
        let points = trace
            .values
            .iter()
            .enumerate()
            .filter(|(_, row)| row[j].is_finite())
            .map(|(k, row)| (k as f64 * x_step, row[j] * scale));
        chart.draw_series(LineSeries::new(points, colour(j).stroke_width(1)))?;
    }
    Ok(())
}

fn trace_caption(trace: &Trace, lines: usize) -> String {
    let recorded = trace.values.first().map_or(0, Vec::len);
    let shown = if lines < recorded {
        format!(", the first {lines} shown")
    } else {
        String::new()
    };
    format!(
        "{}.{}: {recorded} recorded neurons{shown}",
        trace.population, trace.state
    )
}

#[cfg(test)]
mod tests {
    use super::display_scale;

    #[test]
    fn traces_are_shown_in_a_power_of_1000() {
        // Volts around -65 mV → millivolts.
        assert_eq!(display_scale(&[vec![-0.065, -0.05]]), -3);
        assert_eq!(display_scale(&[vec![2.5e-9]]), -9);
        assert_eq!(display_scale(&[vec![0.0]]), 0);
        assert_eq!(display_scale(&[vec![12.0, f64::NAN]]), 0);
    }
}
