//! `snnc plot` on the results of every example: PNG and SVG of the stated
//! size, one raster mark per recorded spike (counted in the SVG against the
//! `.npy` rows), spike colours in the PNG, batch items, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn snnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("snnc runs")
}

/// A new empty folder per call (tests run in parallel on the same examples).
fn fresh_dir(name: &str) -> PathBuf {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("snnc-plot-{}-{call}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `snnc run` of an example for 50 ms (unless `extra` sets `--duration`).
fn run_example(name: &str, extra: &[&str]) -> PathBuf {
    let dir = fresh_dir(name);
    let model = format!("examples/{name}.snn");
    let mut args = vec!["run", &model, "-q"];
    if !extra.contains(&"--duration") {
        args.extend_from_slice(&["--duration", "50ms"]);
    }
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", dir.to_str().unwrap()]);
    ok(&snnc(&args));
    dir
}

/// Rows of a `[K, 3]` spike file: (step, neuron, batch item).
fn spike_rows(path: &Path) -> Vec<[u32; 3]> {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape()[1], 3);
    let flat: Vec<u32> = npy.into_vec().unwrap();
    flat.chunks_exact(3).map(|r| [r[0], r[1], r[2]]).collect()
}

fn spike_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("spikes_") && name.ends_with(".npy")
        })
        .collect();
    files.sort();
    files
}

/// The `width`/`height` attributes of the `<svg>` element.
fn svg_size(svg: &str) -> (u32, u32) {
    let tag = &svg[svg.find("<svg").unwrap()..];
    let tag = &tag[..tag.find('>').unwrap()];
    let attr = |name: &str| -> u32 {
        let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        tag[start..][..tag[start..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    (attr("width"), attr("height"))
}

/// The tab10 colour `snnc plot` gives the first population.
const FIRST_COLOUR: [u8; 3] = [31, 119, 180];

fn plot(results: &Path, out: &Path, extra: &[&str]) -> (image::RgbImage, String) {
    let mut args = vec![
        "plot",
        results.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--width",
        "640",
        "--height",
        "480",
    ];
    args.extend_from_slice(extra);
    ok(&snnc(&args));
    let png_bytes = std::fs::read(out.join("plot.png")).unwrap();
    // The PNG signature and the IHDR size, then the decoded picture.
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png_bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(png_bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png_bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (640, 480));
    let png = image::load_from_memory(&png_bytes).unwrap().to_rgb8();
    assert_eq!(png.dimensions(), (640, 480));
    let svg = std::fs::read_to_string(out.join("plot.svg")).unwrap();
    assert_eq!(svg_size(&svg), (640, 480));
    (png, svg)
}

fn has_colour(png: &image::RgbImage, rgb: [u8; 3]) -> bool {
    png.pixels().any(|p| p.0 == rgb)
}

#[test]
fn every_example_plots_one_mark_per_spike() {
    let examples = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "snn"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    assert!(examples.len() >= 6, "{examples:?}");
    let mut total_spikes = 0;
    for name in examples {
        let results = run_example(&name, &[]);
        let (png, svg) = plot(&results, &results.join("img"), &[]);
        let spikes: usize = spike_files(&results)
            .iter()
            .map(|f| spike_rows(f).len())
            .sum();
        assert!(
            !spike_files(&results).is_empty(),
            "{name} records no spikes"
        );
        assert_eq!(svg.matches("<circle").count(), spikes, "{name}");
        // The PNG shows the first population's colour exactly when it spiked.
        let first_spikes = spike_rows(&spike_files(&results)[0]).len();
        assert_eq!(has_colour(&png, FIRST_COLOUR), first_spikes > 0, "{name}");
        total_spikes += spikes;
    }
    // A blank set of plots would pass the per-example counts.
    assert!(total_spikes > 100, "{total_spikes}");
}

/// Polylines of 20 points or more: data lines (axes and ticks have 2 points).
fn long_lines(svg: &str) -> usize {
    svg.split("<polyline")
        .skip(1)
        .filter(|element| {
            let points = element.split("points=\"").nth(1).unwrap_or("");
            points[..points.find('"').unwrap_or(0)].split(' ').count() >= 20
        })
        .count()
}

#[test]
fn a_recorded_trace_gets_a_panel() {
    let results = run_example("stimulus_file", &[]);
    let (_, svg) = plot(&results, &results.join("img"), &[]);
    // `record V of E[0:3]`: three lines of E.V.
    assert!(svg.contains("E.V: 3 recorded neurons"), "{svg}");
    // The rate of E and the 3 traces of 50 samples (50 ms, every 1 ms).
    assert_eq!(long_lines(&svg), 1 + 3, "{svg}");

    // A batch of 2: traces are [S, 2, 3]; item 1 gets the same panel.
    let batched = run_example("stimulus_file", &["--batch", "2"]);
    let (_, svg) = plot(&batched, &batched.join("img"), &["--item", "1"]);
    assert!(svg.contains("E.V: 3 recorded neurons"), "{svg}");
    assert_eq!(long_lines(&svg), 1 + 3, "{svg}");
}

#[test]
fn a_batched_run_plots_the_chosen_item() {
    let results = run_example("coba", &["--batch", "2", "--duration", "20ms"]);
    let rows = spike_rows(&results.join("spikes_E.npy"));
    let rows_i = spike_rows(&results.join("spikes_I.npy"));
    for item in [0u32, 1] {
        let out = results.join(format!("img{item}"));
        let k = item.to_string();
        let (_, svg) = plot(&results, &out, &["--item", &k]);
        let expected = rows.iter().chain(&rows_i).filter(|r| r[2] == item).count();
        assert!(expected > 0);
        assert_eq!(svg.matches("<circle").count(), expected, "item {item}");
    }
    let o = snnc(&["plot", results.to_str().unwrap(), "--item", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--item 2 is not a batch item"));
}

/// One `error:` line, exit code 1, naming `expected`.
fn refused(args: &[&str], expected: &str) {
    let o = snnc(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn bad_results_are_refused_in_one_sentence() {
    let missing = fresh_dir("missing");
    refused(
        &["plot", missing.to_str().unwrap()],
        "is not a results folder",
    );

    let results = run_example("seed", &[]);
    let p = results.to_str().unwrap();
    refused(&["plot", p, "--width", "10"], "image size 10×900");

    // A truncated spike file.
    let spikes = results.join("spikes_E.npy");
    let bytes = std::fs::read(&spikes).unwrap();
    std::fs::write(&spikes, &bytes[..bytes.len().min(100)]).unwrap();
    refused(&["plot", p], "recording 'spikes of E'");

    // A spike file of the wrong shape.
    std::fs::write(&spikes, npy_u32(&[2, 2], &[0, 0, 1, 1])).unwrap();
    refused(&["plot", p], "expected shape [K, 3]");

    // A neuron index beyond the population.
    std::fs::write(&spikes, npy_u32(&[1, 3], &[0, 1_000_000, 0])).unwrap();
    refused(&["plot", p], "neuron index 1000000");

    // No spike file at all.
    std::fs::remove_file(&spikes).unwrap();
    refused(&["plot", p], "holds no spikes_<population>.npy");

    // No summary.
    std::fs::remove_file(results.join("summary.json")).unwrap();
    refused(&["plot", p], "summary.json");
}

fn npy_u32(shape: &[u64], data: &[u32]) -> Vec<u8> {
    use npyz::WriterBuilder;
    let mut out = Vec::new();
    let mut writer = npyz::WriteOptions::<u32>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut out)
        .begin_nd()
        .unwrap();
    writer.extend(data.iter().copied()).unwrap();
    writer.finish().unwrap();
    out
}
