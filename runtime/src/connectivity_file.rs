//! `from_file` connectivity: an `.npy` array of shape `[E, 2]` (pre, post) or
//! `[E, 3]` (pre, post, weight), or a CSV file with header `pre,post` or
//! `pre,post,weight`. Indices are validated against the population sizes
//! before a table is built; synapses keep the file's order within each row.

use std::path::Path;

use crate::array_file::{as_index, is_csv, read_csv, read_npy};
use crate::connectivity::Structure;
use crate::error::{FileRole, RuntimeError};

/// What a connectivity file gives: the structure, and weights when the file
/// has a third column (in table order).
#[derive(Debug, Clone, PartialEq)]
pub struct FileConnections {
    pub structure: Structure,
    pub weights: Option<Vec<f32>>,
}

/// Read and validate a connectivity file of projection `projection`.
pub fn from_file(
    projection: &str,
    path: &Path,
    n_pre: u32,
    n_post: u32,
) -> Result<FileConnections, RuntimeError> {
    let role = FileRole::Connectivity(projection.to_string());
    let (columns, data) = if is_csv(path) {
        let table = read_csv(&role, path)?;
        let names: Vec<&str> = table.header.iter().flatten().map(String::as_str).collect();
        let header_ok = names == ["pre", "post"] || names == ["pre", "post", "weight"];
        if !header_ok {
            return Err(RuntimeError::CsvHeader {
                role,
                path: path.to_path_buf(),
                expected: "'pre,post' or 'pre,post,weight'".to_string(),
                found: table.header.unwrap_or_default(),
            });
        }
        (table.columns, table.data)
    } else {
        let check = |shape: &[u64]| match shape {
            [_, 2] | [_, 3] => Ok(()),
            _ => Err(RuntimeError::Shape {
                role: role.clone(),
                path: path.to_path_buf(),
                expected: "[E, 2] (pre, post) or [E, 3] (pre, post, weight)".to_string(),
                found: shape.to_vec(),
            }),
        };
        let array = read_npy(&role, path, check)?;
        (array.shape[1] as usize, array.data)
    };

    let mut pairs = Vec::with_capacity(data.len() / columns.max(1));
    for (entry, row) in data.chunks_exact(columns).enumerate() {
        let index = |value: f64, column: &'static str, size: u32| {
            as_index(value, size).ok_or_else(|| RuntimeError::IndexOutOfRange {
                role: role.clone(),
                path: path.to_path_buf(),
                entry: entry as u64,
                column,
                value,
                size,
            })
        };
        let pre = index(row[0], "pre", n_pre)?;
        let post = index(row[1], "post", n_post)?;
        pairs.push((pre, post, row.get(2).copied()));
    }
    // Stable: synapses of one row keep the order they have in the file.
    pairs.sort_by_key(|&(pre, _, _)| pre);

    let mut row_ptr = vec![0u64; n_pre as usize + 1];
    for &(pre, _, _) in &pairs {
        row_ptr[pre as usize + 1] += 1;
    }
    for i in 0..n_pre as usize {
        row_ptr[i + 1] += row_ptr[i];
    }
    let cols = pairs.iter().map(|&(_, post, _)| post).collect();
    let weights = (columns == 3).then(|| {
        pairs
            .iter()
            .map(|&(_, _, w)| w.unwrap_or(0.0) as f32)
            .collect()
    });
    Ok(FileConnections {
        structure: Structure {
            n_pre,
            n_post,
            row_ptr,
            cols,
        },
        weights,
    })
}
