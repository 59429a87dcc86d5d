//! Helpers shared by the file-based tests: a scratch folder per test and a
//! `.npy` writer for any element type and shape.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use npyz::WriterBuilder;

/// A fresh folder under the system temp dir, unique per process and test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-runtime-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Write `data` (C order) with `shape` to `path` as `.npy`.
pub fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) {
    write_npy_order(path, shape, data, npyz::Order::C);
}

pub fn write_npy_order<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[u64],
    data: &[T],
    order: npyz::Order,
) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create npy"));
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .order(order)
        .writer(file)
        .begin_nd()
        .expect("npy header");
    writer.extend(data.iter().copied()).expect("npy data");
    writer.finish().expect("npy finish");
}

/// Read an `.npy` back: shape and values.
pub fn read_npy<T: npyz::Deserialize>(path: &Path) -> (Vec<u64>, Vec<T>) {
    let bytes = std::fs::read(path).expect("read npy");
    let npy = npyz::NpyFile::new(&bytes[..]).expect("valid npy");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().expect("npy data"))
}
