//! Philox4x32-10 and the frozen word→number conversions of
//! `snnc_runtime::rng`, in LLVM IR: mirrored line by line so a GPU draw is
//! the reference's draw. The block function and `uniform` are bitwise equal;
//! `normal` goes through this backend's `log`/`cos` (≤ 2 ulp each, see
//! [`super::math`]), so it agrees to a few ulp.

use inkwell::values::{FloatValue, IntValue};
use inkwell::IntPredicate;

use super::llvm::Ir;
use super::math::MathLib;
use crate::ir::RandomKind;

const PHILOX_M0: u64 = 0xD251_1F53;
const PHILOX_M1: u64 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// The block function: four i32 words from counter and key (unrolled; the
/// key schedule is folded when the key is constant).
pub fn philox4x32_10<'c>(
    ir: &Ir<'c>,
    counter: [IntValue<'c>; 4],
    key: [IntValue<'c>; 2],
) -> [IntValue<'c>; 4] {
    let mut c = counter;
    let mut k = key;
    let m0 = ir.i64t.const_int(PHILOX_M0, false);
    let m1 = ir.i64t.const_int(PHILOX_M1, false);
    let w0 = ir.i32t.const_int(u64::from(PHILOX_W0), false);
    let w1 = ir.i32t.const_int(u64::from(PHILOX_W1), false);
    let s32 = ir.i64c(32);
    for round in 0..10 {
        if round > 0 {
            k = [ir.iadd(k[0], w0), ir.iadd(k[1], w1)];
        }
        // mul.wide.u32 on the GPU.
        let p0 = ir.imul(m0, ir.zext64(c[0]));
        let p1 = ir.imul(m1, ir.zext64(c[2]));
        let hi1 = ir.trunc32(ir.lshr(p1, s32));
        let hi0 = ir.trunc32(ir.lshr(p0, s32));
        c = [
            ir.xor(ir.xor(hi1, c[1]), k[0]),
            ir.trunc32(p1),
            ir.xor(ir.xor(hi0, c[3]), k[1]),
            ir.trunc32(p0),
        ];
    }
    c
}

/// `uniform_f64(lo, hi)`: 52 random bits centred in their cell.
pub fn uniform<'c>(ir: &Ir<'c>, lo: IntValue<'c>, hi: IntValue<'c>) -> FloatValue<'c> {
    let bits = ir.or(
        ir.shl(ir.zext64(hi), ir.i64c(20)),
        ir.lshr(ir.zext64(lo), ir.i64c(12)),
    );
    let v = ir.fadd(ir.uitofp(bits), ir.f(0.5));
    ir.fmul(v, ir.f(1.0 / 4_503_599_627_370_496.0))
}

/// `normal_f64(block)`: Box–Muller, cosine branch.
pub fn normal<'c>(ir: &Ir<'c>, m: &mut MathLib<'c>, w: [IntValue<'c>; 4]) -> FloatValue<'c> {
    let u1 = uniform(ir, w[0], w[1]);
    let u2 = uniform(ir, w[2], w[3]);
    let l = m.log(ir, u1);
    let r = ir.intr1("llvm.sqrt", ir.fmul(ir.f(-2.0), l));
    let c = m.cos(ir, ir.fmul(ir.f(std::f64::consts::TAU), u2));
    ir.fmul(r, c)
}

/// `uniform_f32(word)`: 23 random bits centred in their cell (exact in f32).
pub fn uniform_f32<'c>(ir: &Ir<'c>, w: IntValue<'c>) -> FloatValue<'c> {
    let bits = ir.lshr(ir.zext64(w), ir.i64c(9));
    let v = ir.fadd(ir.uitofp(bits), ir.f(0.5));
    ir.fmul(v, ir.f(1.0 / 8_388_608.0))
}

/// `keyed_draw`: counter `[slot, index, step, batch]` under `key`, as f64;
/// in f32 runs a uniform draw is word `index % 4` of block `index / 4`.
#[allow(clippy::too_many_arguments)]
pub fn keyed_draw<'c>(
    ir: &Ir<'c>,
    m: &mut MathLib<'c>,
    key: [u32; 2],
    kind: RandomKind,
    slot: u32,
    index: IntValue<'c>,
    step: IntValue<'c>,
    batch: IntValue<'c>,
    f32: bool,
) -> FloatValue<'c> {
    let k = [
        ir.i32t.const_int(u64::from(key[0]), false),
        ir.i32t.const_int(u64::from(key[1]), false),
    ];
    let counter = [
        ir.i32t.const_int(u64::from(slot), false),
        index,
        step,
        batch,
    ];
    draw(ir, m, kind, f32, counter, k)
}

/// [`keyed_draw`] with the counter and key as values.
pub fn draw<'c>(
    ir: &Ir<'c>,
    m: &mut MathLib<'c>,
    kind: RandomKind,
    f32: bool,
    counter: [IntValue<'c>; 4],
    k: [IntValue<'c>; 2],
) -> FloatValue<'c> {
    let [slot, index, step, batch] = counter;
    if f32 && kind == RandomKind::Uniform {
        let w = philox4x32_10(ir, [slot, ir.lshr(index, ir.i32c(2)), step, batch], k);
        let lane = ir.and(index, ir.i32c(3));
        let is = |n: i64| ir.icmp(IntPredicate::EQ, lane, ir.i32c(n));
        let word = ir.isel(
            is(0),
            w[0],
            ir.isel(is(1), w[1], ir.isel(is(2), w[2], w[3])),
        );
        return uniform_f32(ir, word);
    }
    let w = philox4x32_10(ir, counter, k);
    match kind {
        RandomKind::Uniform => uniform(ir, w[0], w[1]),
        RandomKind::Normal => normal(ir, m, w),
    }
}
