//! Host functions the generated code calls: keyed random draws (bitwise the
//! reference's, so both backends see the same numbers) and the rare math
//! functions that are not inlined.

use crate::back::reference::eval::keyed_draw;
use crate::ir::RandomKind;

/// `keyed_draw` with the key packed as `key[0] | key[1] << 32` and
/// `kind` 0 = uniform, 1 = normal.
pub extern "C" fn snnc_jit_draw(
    key: u64,
    kind: u32,
    slot: u32,
    index: u32,
    step: u32,
    batch: u32,
) -> f64 {
    let kind = if kind == 0 {
        RandomKind::Uniform
    } else {
        RandomKind::Normal
    };
    keyed_draw(
        [key as u32, (key >> 32) as u32],
        kind,
        slot,
        index,
        step,
        batch,
        // Only normal draws come here (uniform ones are inline); they do not
        // depend on the precision.
        false,
    )
}

pub extern "C" fn snnc_jit_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

pub extern "C" fn snnc_jit_sin(x: f64) -> f64 {
    x.sin()
}

pub extern "C" fn snnc_jit_cos(x: f64) -> f64 {
    x.cos()
}

pub extern "C" fn snnc_jit_tanh(x: f64) -> f64 {
    x.tanh()
}

/// Pack a Philox key for a context slot.
#[must_use]
pub fn pack_key(key: [u32; 2]) -> u64 {
    u64::from(key[0]) | (u64::from(key[1]) << 32)
}
