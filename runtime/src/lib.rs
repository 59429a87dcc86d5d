//! snnc runtime: the backend-neutral pieces every executor shares.
//!
//! * [`rng`]: counter-based Philox streams, a pure function of
//!   (seed, purpose, index, sub-index, batch item).
//! * [`connectivity`]: CSR synapse tables (row = presynaptic neuron) built by
//!   fixed_prob, fixed_in/out_degree, all_to_all, one_to_one or from a file,
//!   with per-synapse weights and delays ([`synapse_values`]).
//! * [`stimulus`], [`spike_train`]: input arrays and spike trains read and
//!   validated before a run ([`array_file`] does the file formats).
//! * [`npy_stream`], [`record`]: recordings streamed to `.npy` files that stay
//!   valid after every flush; [`summary`]: `summary.json`.
//! * [`memory`]: the estimate of a run's memory and the check against what is
//!   available.
//!
//! Tables are plain `Vec<u32>` / `Vec<f32>` / `Vec<u16>` so a GPU backend can
//! upload them as they are.

pub mod alloc;
pub mod array_file;
pub mod connectivity;
pub mod connectivity_file;
pub mod divergence;
pub mod error;
pub mod memory;
pub mod npy_stream;
pub mod record;
pub mod rng;
pub mod spike_train;
pub mod stimulus;
pub mod summary;
pub mod synapse_values;

pub use error::{FileRole, RuntimeError, ValuePosition};
