//! Charts of the overview, drawn on the server as SVG (plotters): no script, no CDN.

use plotters::prelude::*;

/// One stacked series of a bar chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// One value per category.
    pub values: Vec<u64>,
}

/// A chart and the numbers it draws (shown as a table too, for screen readers and copying).
#[derive(Debug, Clone)]
pub struct Chart {
    /// What it shows.
    pub title: String,
    /// The SVG document (drawn from the console's own labels and numbers only).
    pub svg: String,
    /// Column headings of its data table.
    pub header: Vec<String>,
    /// Rows of its data table: the category, then one value per series.
    pub rows: Vec<Vec<String>>,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn failed(err: impl std::fmt::Display) -> ChartError {
    ChartError(err.to_string())
}

/// Colours of series, in order (distinguishable, and readable on white).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 95, 191),
    RGBColor(230, 126, 34),
    RGBColor(30, 123, 52),
    RGBColor(179, 38, 30),
    RGBColor(123, 77, 181),
    RGBColor(96, 125, 139),
    RGBColor(0, 150, 160),
    RGBColor(200, 160, 0),
];

const SIZE: (u32, u32) = (640, 300);

/// A bar chart of `series` stacked over `categories`, with a legend and its data table.
pub fn stacked_bars(
    title: &str,
    unit: &str,
    categories: &[String],
    series: &[Series],
) -> Result<Chart, ChartError> {
    let totals: Vec<u64> = (0..categories.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let top = totals.iter().copied().max().unwrap_or(0).max(1);
    let top = top + top / 8 + 1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let count = u32::try_from(categories.len()).unwrap_or(u32::MAX).max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d((0..count).into_segmented(), 0..top)
            .map_err(failed)?;
        let every = categories.len().div_ceil(12).max(1);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(RGBColor(230, 232, 236))
            .light_line_style(TRANSPARENT)
            .y_desc(unit)
            .x_labels(categories.len().clamp(1, 40))
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if (*i as usize).is_multiple_of(every) => {
                    categories.get(*i as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(failed)?;
        for (n, s) in series.iter().enumerate() {
            let colour = PALETTE[n % PALETTE.len()];
            let mut bars = Vec::new();
            for (i, value) in s.values.iter().enumerate().filter(|(_, v)| **v > 0) {
                let below: u64 = series[..n]
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0))
                    .sum();
                let x = u32::try_from(i).unwrap_or(u32::MAX);
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(x), below),
                        (SegmentValue::Exact(x + 1), below + value),
                    ],
                    colour.filled(),
                );
                bar.set_margin(0, 0, 2, 2);
                bars.push(bar);
            }
            chart
                .draw_series(bars)
                .map_err(failed)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(217, 221, 229))
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(failed)?;
        }
        root.present().map_err(failed)?;
    }
    let mut header = vec![String::new()];
    header.extend(series.iter().map(|s| s.name.clone()));
    if series.len() > 1 {
        header.push("total".into());
    }
    let rows = categories
        .iter()
        .enumerate()
        .map(|(i, category)| {
            let mut row = vec![category.clone()];
            row.extend(
                series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0).to_string()),
            );
            if series.len() > 1 {
                row.push(totals[i].to_string());
            }
            row
        })
        .collect();
    Ok(Chart {
        title: title.to_owned(),
        svg,
        header,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stacked_chart_draws_every_bar_and_tabulates_its_numbers() {
        let chart = stacked_bars(
            "Calls per day",
            "calls",
            &["11-01".into(), "11-02".into(), "11-03".into()],
            &[
                Series {
                    name: "hatif".into(),
                    values: vec![2, 0, 1],
                },
                Series {
                    name: "voki".into(),
                    values: vec![1, 3, 0],
                },
            ],
        )
        .expect("drawn");
        assert!(chart.svg.starts_with("<svg"), "{}", &chart.svg[..40]);
        // One rectangle per non-zero value, and the series' swatch in the legend.
        let filled = |colour: RGBColor| {
            let RGBColor(r, g, b) = colour;
            format!("fill=\"#{r:02X}{g:02X}{b:02X}\"")
        };
        assert_eq!(chart.svg.matches(&filled(PALETTE[0])).count(), 2 + 1);
        assert_eq!(chart.svg.matches(&filled(PALETTE[1])).count(), 2 + 1);
        for label in ["hatif", "voki", "11-01", "11-02", "11-03"] {
            assert!(
                chart.svg.contains(&format!(">\n{label}\n<")),
                "{label} is drawn"
            );
        }
        assert_eq!(chart.header, ["", "hatif", "voki", "total"]);
        assert_eq!(chart.rows[1], ["11-02", "0", "3", "3"]);
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let chart = stacked_bars("Nothing", "calls", &[], &[]).expect("drawn");
        assert!(chart.svg.contains("</svg>"));
        assert!(chart.rows.is_empty());
    }
}
