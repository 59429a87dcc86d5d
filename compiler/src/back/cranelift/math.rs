//! Inline math for the JIT: `exp`, `exprel` (= expm1(x)/x) and `log` written
//! out in CLIF for f32/f64 scalars and f32x4/f64x2 vectors, so the hot loop
//! needs no call. Cranelift has no transcendental instructions; these follow
//! fdlibm (f64) and Cephes (f32): Cody–Waite range reduction, a polynomial or
//! rational kernel, and the exponent put back with integer ops on the bits
//! (no float↔int conversion, which 128-bit vectors lack for 64-bit lanes).
//! Rare functions (sin, cos, tanh, pow) are calls, one per lane.

// The kernel coefficients are written as fdlibm and Cephes publish them.
#![allow(clippy::excessive_precision)]

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// Float width and lane count of the code being generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub f32: bool,
    pub lanes: u8,
}

impl Shape {
    #[must_use]
    pub fn fty(self) -> Type {
        match (self.f32, self.lanes) {
            (true, 1) => types::F32,
            (false, 1) => types::F64,
            (true, _) => types::F32X4,
            (false, _) => types::F64X2,
        }
    }
    /// The integer type with the float's lane layout (masks, counters).
    #[must_use]
    pub fn ity(self) -> Type {
        match (self.f32, self.lanes) {
            (true, 1) => types::I32,
            (false, 1) => types::I64,
            (true, _) => types::I32X4,
            (false, _) => types::I64X2,
        }
    }
    #[must_use]
    pub fn scalar_f(self) -> Type {
        if self.f32 {
            types::F32
        } else {
            types::F64
        }
    }
    #[must_use]
    pub fn scalar_i(self) -> Type {
        if self.f32 {
            types::I32
        } else {
            types::I64
        }
    }
    #[must_use]
    pub fn vector(self) -> bool {
        self.lanes > 1
    }
    /// Bytes of one float (or counter) element.
    #[must_use]
    pub fn elem(self) -> i64 {
        if self.f32 {
            4
        } else {
            8
        }
    }
    /// The natural vector shape for a precision: f32x4 or f64x2.
    #[must_use]
    pub fn simd(f32: bool) -> Self {
        Self {
            f32,
            lanes: if f32 { 4 } else { 2 },
        }
    }
    #[must_use]
    pub fn scalar(f32: bool) -> Self {
        Self { f32, lanes: 1 }
    }
}

fn le() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// A float constant of the shape (splatted for vectors).
pub fn fconst(b: &mut FunctionBuilder, sh: Shape, v: f64) -> Value {
    let s = if sh.f32 {
        b.ins().f32const(v as f32)
    } else {
        b.ins().f64const(v)
    };
    if sh.vector() {
        b.ins().splat(sh.fty(), s)
    } else {
        s
    }
}

/// An integer constant with the float's lane layout.
pub fn iconst(b: &mut FunctionBuilder, sh: Shape, v: i64) -> Value {
    let s = b.ins().iconst(sh.scalar_i(), v);
    if sh.vector() {
        b.ins().splat(sh.ity(), s)
    } else {
        s
    }
}

pub fn f2i(b: &mut FunctionBuilder, sh: Shape, x: Value) -> Value {
    b.ins().bitcast(sh.ity(), le(), x)
}

pub fn i2f(b: &mut FunctionBuilder, sh: Shape, x: Value) -> Value {
    b.ins().bitcast(sh.fty(), le(), x)
}

/// A condition: an i8 for scalars, an all-ones/zeros integer vector for vectors.
pub type Mask = Value;

pub fn fcmp(b: &mut FunctionBuilder, cc: FloatCC, x: Value, y: Value) -> Mask {
    b.ins().fcmp(cc, x, y)
}

/// `m ? x : y` on floats. Vectors select in the integer domain: with the
/// mask straight from a compare, x86 then uses one blend instead of
/// and/andnot/or (Cranelift only proves an integer-typed compare's mask all
/// ones or zeros).
pub fn fsel(b: &mut FunctionBuilder, sh: Shape, m: Mask, x: Value, y: Value) -> Value {
    if sh.vector() {
        let xi = f2i(b, sh, x);
        let yi = f2i(b, sh, y);
        let r = b.ins().bitselect(m, xi, yi);
        i2f(b, sh, r)
    } else {
        b.ins().select(m, x, y)
    }
}

/// `m ? x : y` on integers with the float's layout.
pub fn isel(b: &mut FunctionBuilder, sh: Shape, m: Mask, x: Value, y: Value) -> Value {
    if sh.vector() {
        b.ins().bitselect(m, x, y)
    } else {
        b.ins().select(m, x, y)
    }
}

pub fn mand(b: &mut FunctionBuilder, x: Mask, y: Mask) -> Mask {
    b.ins().band(x, y)
}

pub fn mor(b: &mut FunctionBuilder, x: Mask, y: Mask) -> Mask {
    b.ins().bor(x, y)
}

pub fn mnot(b: &mut FunctionBuilder, sh: Shape, x: Mask) -> Mask {
    if sh.vector() {
        b.ins().bnot(x)
    } else {
        b.ins().bxor_imm_s(x, 1)
    }
}

/// An i8 that is non-zero when any lane of `m` is set.
pub fn many(b: &mut FunctionBuilder, sh: Shape, m: Mask) -> Value {
    if sh.vector() {
        b.ins().vany_true(m)
    } else {
        m
    }
}

/// Lane `l` of a mask as an i32 0 or 1.
pub fn mlane(b: &mut FunctionBuilder, sh: Shape, m: Mask, l: u8) -> Value {
    if sh.vector() {
        let x = b.ins().extractlane(m, l);
        let x = if sh.f32 {
            x
        } else {
            b.ins().ireduce(types::I32, x)
        };
        b.ins().band_imm_s(x, 1)
    } else {
        b.ins().uextend(types::I32, m)
    }
}

/// 1.0 where `m`, else 0.0 (the IR's truth values).
pub fn truth(b: &mut FunctionBuilder, sh: Shape, m: Mask) -> Value {
    let one = fconst(b, sh, 1.0);
    let zero = fconst(b, sh, 0.0);
    fsel(b, sh, m, one, zero)
}

/// 2^k for integer-valued float `k` with k + bias in the normal range.
fn pow2(b: &mut FunctionBuilder, sh: Shape, k: Value) -> Value {
    let (magic, bias, mant) = if sh.f32 {
        (12_582_912.0, 127, 23) // 0x1.8p23
    } else {
        (6_755_399_441_055_744.0, 1023, 52) // 0x1.8p52
    };
    let m = fconst(b, sh, magic);
    let y = b.ins().fadd(k, m);
    let bits = f2i(b, sh, y);
    let bias = iconst(b, sh, bias);
    let e = b.ins().iadd(bits, bias);
    let e = b.ins().ishl_imm_s(e, mant);
    i2f(b, sh, e)
}

fn horner(b: &mut FunctionBuilder, sh: Shape, x: Value, coefs: &[f64]) -> Value {
    let mut acc = fconst(b, sh, coefs[0]);
    for &c in &coefs[1..] {
        let t = b.ins().fmul(acc, x);
        let c = fconst(b, sh, c);
        acc = b.ins().fadd(t, c);
    }
    acc
}

fn clamp(b: &mut FunctionBuilder, sh: Shape, x: Value, lo: f64, hi: f64) -> Value {
    let h = fconst(b, sh, hi);
    let l = fconst(b, sh, lo);
    let x = b.ins().fmin(x, h);
    b.ins().fmax(x, l)
}

const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const INV_LN2: f64 = std::f64::consts::LOG2_E;
// fdlibm's exp kernel.
const EP: [f64; 5] = [
    4.138_136_797_057_238_460_39e-8,
    -1.653_390_220_546_525_153_90e-6,
    6.613_756_321_437_934_361_17e-5,
    -2.777_777_777_701_559_338_42e-3,
    1.666_666_666_666_660_190_37e-1,
];
// Cephes expf kernel.
const EPF: [f64; 6] = [
    1.987_569_150_0e-4,
    1.398_199_950_7e-3,
    8.333_451_907_3e-3,
    4.166_579_589_4e-2,
    1.666_666_545_9e-1,
    5.000_000_120_1e-1,
];
const C1F: f64 = 0.693_359_375;
const C2F: f64 = -2.121_944_40e-4;

/// Range reduction x = k ln2 + r and `p = e^r - 1` (accurate for small r).
/// Returns (k, p).
fn exp_core(b: &mut FunctionBuilder, sh: Shape, x: Value) -> (Value, Value) {
    let il = fconst(b, sh, INV_LN2);
    let kx = b.ins().fmul(x, il);
    let k = b.ins().nearest(kx);
    if sh.f32 {
        let c1 = fconst(b, sh, C1F);
        let c2 = fconst(b, sh, C2F);
        let a = b.ins().fmul(k, c1);
        let r = b.ins().fsub(x, a);
        let a = b.ins().fmul(k, c2);
        let r = b.ins().fsub(r, a);
        let z = b.ins().fmul(r, r);
        let poly = horner(b, sh, r, &EPF);
        let pz = b.ins().fmul(poly, z);
        let p = b.ins().fadd(pz, r);
        (k, p)
    } else {
        let hi_c = fconst(b, sh, LN2_HI);
        let lo_c = fconst(b, sh, LN2_LO);
        let a = b.ins().fmul(k, hi_c);
        let hi = b.ins().fsub(x, a);
        let lo = b.ins().fmul(k, lo_c);
        let r = b.ins().fsub(hi, lo);
        let t = b.ins().fmul(r, r);
        let poly = horner(b, sh, t, &EP);
        let tp = b.ins().fmul(t, poly);
        let c = b.ins().fsub(r, tp);
        let rc = b.ins().fmul(r, c);
        let two = fconst(b, sh, 2.0);
        let d = b.ins().fsub(two, c);
        let q = b.ins().fdiv(rc, d);
        let lq = b.ins().fsub(lo, q);
        let p = b.ins().fsub(hi, lq);
        (k, p)
    }
}

/// The range reduction `exp` and `exprel` share: x = k ln2 + r, `p = e^r - 1`
/// and 2^k as two factors `s1·s2` (so that 2^k never leaves the normal range
/// of either). The exact update `x e^z + c·exprel(z)` takes both functions of
/// one `z`, so the JIT reduces once per argument.
#[derive(Debug, Clone, Copy)]
pub struct ExpParts {
    k: Value,
    p: Value,
    s1: Value,
    s2: Value,
}

/// [`ExpParts`] of `x`, clamped to a range both functions are exact over
/// (below it `exp` is 0 and `exprel` is `-1/x`; above it both overflow).
pub fn exp_parts(b: &mut FunctionBuilder, sh: Shape, x: Value) -> ExpParts {
    let xc = if sh.f32 {
        clamp(b, sh, x, -104.0, 95.0)
    } else {
        clamp(b, sh, x, -746.0, 709.8)
    };
    let (k, p) = exp_core(b, sh, xc);
    let half = fconst(b, sh, 0.5);
    let kh = b.ins().fmul(k, half);
    let k1 = b.ins().floor(kh);
    let k2 = b.ins().fsub(k, k1);
    let s1 = pow2(b, sh, k1);
    let s2 = pow2(b, sh, k2);
    ExpParts { k, p, s1, s2 }
}

/// `e^x`: NaN → NaN, overflow → +inf, underflow → 0 (through subnormals).
pub fn exp(b: &mut FunctionBuilder, sh: Shape, x: Value) -> Value {
    let e = exp_parts(b, sh, x);
    exp_from(b, sh, e)
}

/// `e^x` from its reduction.
pub fn exp_from(b: &mut FunctionBuilder, sh: Shape, e: ExpParts) -> Value {
    let one = fconst(b, sh, 1.0);
    let y = b.ins().fadd(one, e.p);
    let y = b.ins().fmul(y, e.s1);
    b.ins().fmul(y, e.s2)
}

/// `(e^x - 1)/x`, with `1 + x/2` for |x| < 1e-8 (the IR's definition).
pub fn exprel(b: &mut FunctionBuilder, sh: Shape, x: Value) -> Value {
    let e = exp_parts(b, sh, x);
    exprel_from(b, sh, x, e)
}

/// `exprel(x)` from the reduction of `x`.
pub fn exprel_from(b: &mut FunctionBuilder, sh: Shape, x: Value, e: ExpParts) -> Value {
    let (hi, big, neg) = if sh.f32 {
        (95.0, 23.0, -18.0)
    } else {
        (709.8, 52.0, -40.0)
    };
    let ExpParts { k, p, s1, s2 } = e;
    let half = fconst(b, sh, 0.5);
    // Small k: (2^k - 1) + 2^k p, with 2^k - 1 exact.
    let tk = b.ins().fmul(s1, s2);
    let one = fconst(b, sh, 1.0);
    let tm1 = b.ins().fsub(tk, one);
    let tp = b.ins().fmul(tk, p);
    let small = b.ins().fadd(tm1, tp);
    // Large k: the -1 is lost anyway. In f32, divide by x between the two
    // scalings so that e^x/x stays finite where f32 can hold it (the
    // reference computes in f64); in f64, expm1 overflows first, as in std.
    let y = b.ins().fadd(one, p);
    let y = b.ins().fmul(y, s1);
    let large = if sh.f32 {
        let y = b.ins().fdiv(y, x);
        b.ins().fmul(y, s2)
    } else {
        let y = b.ins().fmul(y, s2);
        b.ins().fdiv(y, x)
    };
    // Below `neg`, e^x - 1 is -1 to the last bit (and the reduction above
    // was clamped).
    let negc = fconst(b, sh, neg);
    let is_neg = fcmp(b, FloatCC::LessThan, x, negc);
    let m1 = fconst(b, sh, -1.0);
    let em1 = fsel(b, sh, is_neg, m1, small);
    let r = b.ins().fdiv(em1, x);
    let bigc = fconst(b, sh, big);
    let is_big = fcmp(b, FloatCC::GreaterThan, k, bigc);
    let r = fsel(b, sh, is_big, large, r);
    let hic = fconst(b, sh, hi);
    let over = fcmp(b, FloatCC::GreaterThan, x, hic);
    let inf = fconst(b, sh, f64::INFINITY);
    // e^inf/inf is NaN in the reference: keep it.
    let fin = fcmp(b, FloatCC::LessThan, x, inf);
    let over = mand(b, over, fin);
    let r = fsel(b, sh, over, inf, r);
    let pinf = fcmp(b, FloatCC::Equal, x, inf);
    let nan = fconst(b, sh, f64::NAN);
    let r = fsel(b, sh, pinf, nan, r);
    // |x| < 1e-8: 1 + x/2.
    let ax = b.ins().fabs(x);
    let tiny = fconst(b, sh, 1e-8);
    let is_tiny = fcmp(b, FloatCC::LessThan, ax, tiny);
    let hx = b.ins().fmul(x, half);
    let t = b.ins().fadd(one, hx);
    fsel(b, sh, is_tiny, t, r)
}

// fdlibm log kernel.
const LG: [f64; 7] = [
    6.666_666_666_666_735_130e-1,
    3.999_999_999_940_941_908e-1,
    2.857_142_874_366_239_149e-1,
    2.222_219_843_214_978_396e-1,
    1.818_357_216_161_805_012e-1,
    1.531_383_769_920_937_332e-1,
    1.479_819_860_511_658_591e-1,
];
// Cephes logf kernel.
const LGF: [f64; 9] = [
    7.037_683_629_2e-2,
    -1.151_461_031_0e-1,
    1.167_699_874_0e-1,
    -1.242_014_084_6e-1,
    1.424_932_278_7e-1,
    -1.666_805_766_5e-1,
    2.000_071_476_5e-1,
    -2.499_999_399_3e-1,
    3.333_333_117_4e-1,
];

/// Natural log: x < 0 or NaN → NaN, 0 → -inf, +inf → +inf, subnormals exact.
pub fn log(b: &mut FunctionBuilder, sh: Shape, x: Value) -> Value {
    let (min_normal, scale, scale_exp, mant_bits, mant_mask, one_bits, magic_bits, magic) =
        if sh.f32 {
            (
                f64::from(f32::MIN_POSITIVE),
                2f64.powi(25),
                25.0,
                23,
                0x007F_FFFF_i64,
                0x3F80_0000_i64,
                0x4B00_0000_i64,
                8_388_608.0 + 127.0,
            )
        } else {
            (
                f64::MIN_POSITIVE,
                2f64.powi(54),
                54.0,
                52,
                0x000F_FFFF_FFFF_FFFF_i64,
                0x3FF0_0000_0000_0000_i64,
                0x4330_0000_0000_0000_i64,
                4_503_599_627_370_496.0 + 1023.0,
            )
        };
    // Subnormals: scale up first.
    let mn = fconst(b, sh, min_normal);
    let sub = fcmp(b, FloatCC::LessThan, x, mn);
    let sc = fconst(b, sh, scale);
    let xs = b.ins().fmul(x, sc);
    let xn = fsel(b, sh, sub, xs, x);
    let zero = fconst(b, sh, 0.0);
    let se = fconst(b, sh, scale_exp);
    let eadj = fsel(b, sh, sub, se, zero);
    let bits = f2i(b, sh, xn);
    // Biased exponent as a float, without int→float conversion.
    let be = b.ins().ushr_imm_s(bits, mant_bits);
    let mb = iconst(b, sh, magic_bits);
    let ef = b.ins().bor(be, mb);
    let ef = i2f(b, sh, ef);
    let mg = fconst(b, sh, magic);
    let e = b.ins().fsub(ef, mg);
    let e = b.ins().fsub(e, eadj);
    // Mantissa in [1, 2), then in [sqrt(1/2), sqrt(2)).
    let mm = iconst(b, sh, mant_mask);
    let m = b.ins().band(bits, mm);
    let ob = iconst(b, sh, one_bits);
    let m = b.ins().bor(m, ob);
    let m = i2f(b, sh, m);
    let sqrt2 = fconst(b, sh, std::f64::consts::SQRT_2);
    let over = fcmp(b, FloatCC::GreaterThan, m, sqrt2);
    let half = fconst(b, sh, 0.5);
    let mh = b.ins().fmul(m, half);
    let m = fsel(b, sh, over, mh, m);
    let one = fconst(b, sh, 1.0);
    let e1 = b.ins().fadd(e, one);
    let e = fsel(b, sh, over, e1, e);
    let f = b.ins().fsub(m, one);
    let res = if sh.f32 {
        let z = b.ins().fmul(f, f);
        let poly = horner(b, sh, f, &LGF);
        let y = b.ins().fmul(poly, f);
        let y = b.ins().fmul(y, z);
        let c2 = fconst(b, sh, C2F);
        let a = b.ins().fmul(e, c2);
        let y = b.ins().fadd(y, a);
        let hz = b.ins().fmul(z, half);
        let y = b.ins().fsub(y, hz);
        let r = b.ins().fadd(f, y);
        let c1 = fconst(b, sh, C1F);
        let a = b.ins().fmul(e, c1);
        b.ins().fadd(r, a)
    } else {
        let two = fconst(b, sh, 2.0);
        let d = b.ins().fadd(two, f);
        let s = b.ins().fdiv(f, d);
        let z = b.ins().fmul(s, s);
        let w = b.ins().fmul(z, z);
        let t1 = horner(b, sh, w, &[LG[5], LG[3], LG[1]]);
        let t1 = b.ins().fmul(w, t1);
        let t2 = horner(b, sh, w, &[LG[6], LG[4], LG[2], LG[0]]);
        let t2 = b.ins().fmul(z, t2);
        let r = b.ins().fadd(t2, t1);
        let ff = b.ins().fmul(f, f);
        let hfsq = b.ins().fmul(half, ff);
        let hr = b.ins().fadd(hfsq, r);
        let shr = b.ins().fmul(s, hr);
        let lo_c = fconst(b, sh, LN2_LO);
        let elo = b.ins().fmul(e, lo_c);
        let a = b.ins().fadd(shr, elo);
        let a = b.ins().fsub(hfsq, a);
        let a = b.ins().fsub(a, f);
        let hi_c = fconst(b, sh, LN2_HI);
        let ehi = b.ins().fmul(e, hi_c);
        b.ins().fsub(ehi, a)
    };
    // Special values.
    let inf = fconst(b, sh, f64::INFINITY);
    let is_inf = fcmp(b, FloatCC::Equal, x, inf);
    let res = fsel(b, sh, is_inf, inf, res);
    let ninf = fconst(b, sh, f64::NEG_INFINITY);
    let is_zero = fcmp(b, FloatCC::Equal, x, zero);
    let res = fsel(b, sh, is_zero, ninf, res);
    let nan = fconst(b, sh, f64::NAN);
    let bad = fcmp(b, FloatCC::UnorderedOrLessThan, x, zero);
    fsel(b, sh, bad, nan, res)
}

/// Round half away from zero for non-negative `v` (Rust's `f64::round`).
pub fn round_half_away(b: &mut FunctionBuilder, sh: Shape, v: Value) -> Value {
    let t = b.ins().trunc(v);
    let d = b.ins().fsub(v, t);
    let h = fconst(b, sh, 0.5);
    let up = fcmp(b, FloatCC::GreaterThanOrEqual, d, h);
    let one = fconst(b, sh, 1.0);
    let t1 = b.ins().fadd(t, one);
    fsel(b, sh, up, t1, t)
}

/// Integer compare helper with the float's lane layout.
pub fn icmp(b: &mut FunctionBuilder, cc: IntCC, x: Value, y: Value) -> Mask {
    b.ins().icmp(cc, x, y)
}

/// Philox4x32-10 multipliers and key increments (runtime/src/rng.rs).
pub const PHILOX_M: [u32; 2] = [0xD251_1F53, 0xCD9E_8D57];
pub const PHILOX_W: [u32; 2] = [0x9E37_79B9, 0xBB67_AE85];

/// `shuffle` of two 4×32-bit vectors by lane numbers (0..8).
fn shuffle32(b: &mut FunctionBuilder, x: Value, y: Value, lanes: [u8; 4]) -> Value {
    let mut bytes = Vec::with_capacity(16);
    for l in lanes {
        for k in 0..4 {
            bytes.push(l * 4 + k);
        }
    }
    let imm = b.func.dfg.immediates.push(bytes.into());
    let xi = b.ins().bitcast(types::I8X16, le(), x);
    let yi = b.ins().bitcast(types::I8X16, le(), y);
    let s = b.ins().shuffle(xi, yi, imm);
    b.ins().bitcast(types::I32X4, le(), s)
}

/// Lane-wise 32×32→64 product of `x` (i32x4) and the constant `m`:
/// (high words, low words).
fn mul_hi_lo(b: &mut FunctionBuilder, x: Value, m: u32) -> (Value, Value) {
    let bytes: Vec<u8> = [u64::from(m); 2]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let c = b.func.dfg.constants.insert(bytes.into());
    let mw = b.ins().vconst(types::I64X2, c);
    let xl = b.ins().uwiden_low(x);
    let pl = b.ins().imul(xl, mw);
    let xh = b.ins().uwiden_high(x);
    let ph = b.ins().imul(xh, mw);
    let a = b.ins().bitcast(types::I32X4, le(), pl);
    let c = b.ins().bitcast(types::I32X4, le(), ph);
    let hi = shuffle32(b, a, c, [1, 3, 5, 7]);
    let lo = shuffle32(b, a, c, [0, 2, 4, 6]);
    (hi, lo)
}

/// A 4×u32 vector constant (from the constant pool, folded into the
/// instruction that uses it).
pub fn vconst32(b: &mut FunctionBuilder, v: [u32; 4]) -> Value {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let c = b.func.dfg.constants.insert(bytes.into());
    b.ins().vconst(types::I32X4, c)
}

/// Philox4x32-10 of four counters at once (each word an i32x4 over four
/// draws), bitwise `snnc_runtime::rng::philox4x32_10`, with the key known at
/// compile time (`key`: low word, high word).
pub fn philox4(b: &mut FunctionBuilder, counter: [Value; 4], key: [u32; 2]) -> [Value; 4] {
    philox4_interleaved(b, &[counter], key)[0]
}

/// [`philox4`] of several independent counter sets, round by round: one
/// Philox chain is all latency (multiply, shuffle, xor, ten times over), and
/// interleaving gives the core a second chain to work on meanwhile.
pub fn philox4_interleaved(
    b: &mut FunctionBuilder,
    counters: &[[Value; 4]],
    key: [u32; 2],
) -> Vec<[Value; 4]> {
    let mut cs = counters.to_vec();
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W[0]);
            k[1] = k[1].wrapping_add(PHILOX_W[1]);
        }
        for c in &mut cs {
            let (h0, l0) = mul_hi_lo(b, c[0], PHILOX_M[0]);
            let (h1, l1) = mul_hi_lo(b, c[2], PHILOX_M[1]);
            let k0 = vconst32(b, [k[0]; 4]);
            let a = b.ins().bxor(h1, c[1]);
            let a = b.ins().bxor(a, k0);
            let k1 = vconst32(b, [k[1]; 4]);
            let d = b.ins().bxor(h0, c[3]);
            let d = b.ins().bxor(d, k1);
            *c = [a, l1, d, l0];
        }
    }
    cs
}

/// The 4×4 transpose of four i32x4 rows: `out[l][k] = rows[k][l]`. Turns
/// Philox's words-by-counter output into counters-by-word.
pub fn transpose4(b: &mut FunctionBuilder, w: [Value; 4]) -> [Value; 4] {
    let a = shuffle32(b, w[0], w[1], [0, 4, 1, 5]);
    let c = shuffle32(b, w[2], w[3], [0, 4, 1, 5]);
    let d = shuffle32(b, w[0], w[1], [2, 6, 3, 7]);
    let e = shuffle32(b, w[2], w[3], [2, 6, 3, 7]);
    [
        shuffle32(b, a, c, [0, 1, 4, 5]),
        shuffle32(b, a, c, [2, 3, 6, 7]),
        shuffle32(b, d, e, [0, 1, 4, 5]),
        shuffle32(b, d, e, [2, 3, 6, 7]),
    ]
}

/// `snnc_runtime::rng::uniform_f32` of each word (i32 or i32x4 → f32 or
/// f32x4): `((w >> 9) + ½)·2⁻²³`, every step exact.
pub fn uniform_f32_words(b: &mut FunctionBuilder, sh: Shape, w: Value) -> Value {
    let top = b.ins().ushr_imm_u(w, 9);
    let x = b.ins().fcvt_from_sint(sh.fty(), top);
    let half = fconst(b, sh, 0.5);
    let x = b.ins().fadd(x, half);
    let scale = fconst(b, sh, 1.0 / 8_388_608.0);
    b.ins().fmul(x, scale)
}

/// `uniform_f64(lo, hi)` of lanes 0–1 (f64x2) or 0–3 (f32x4, rounded from
/// the f64 value) of two i32x4 words; lane 0 for scalars. Exact: the f64 is
/// `1 + bits·2⁻⁵²` (built from the bits) `- 1 + 2⁻⁵³` = `(bits + ½)·2⁻⁵²`.
pub fn uniform_words(b: &mut FunctionBuilder, sh: Shape, lo: Value, hi: Value) -> Value {
    let one_bits = b.ins().iconst(types::I32, 0x3FF0_0000);
    let one_bits = b.ins().splat(types::I32X4, one_bits);
    let a = b.ins().ishl_imm_u(hi, 20);
    let c = b.ins().ushr_imm_u(lo, 12);
    let wlo = b.ins().bor(a, c);
    let d = b.ins().ushr_imm_u(hi, 12);
    let whi = b.ins().bor(d, one_bits);
    let one = b.ins().f64const(1.0);
    let one = b.ins().splat(types::F64X2, one);
    let half = b.ins().f64const(f64::powi(2.0, -53));
    let half = b.ins().splat(types::F64X2, half);
    let as_f64 = |b: &mut FunctionBuilder, lanes: [u8; 4]| {
        let x = shuffle32(b, wlo, whi, lanes);
        let x = b.ins().bitcast(types::F64X2, le(), x);
        let x = b.ins().fsub(x, one);
        b.ins().fadd(x, half)
    };
    let d01 = as_f64(b, [0, 4, 1, 5]);
    match (sh.f32, sh.vector()) {
        (false, true) => d01,
        (false, false) => b.ins().extractlane(d01, 0),
        (true, false) => {
            let x = b.ins().extractlane(d01, 0);
            b.ins().fdemote(types::F32, x)
        }
        (true, true) => {
            let d23 = as_f64(b, [2, 6, 3, 7]);
            let f01 = b.ins().fvdemote(d01);
            let f23 = b.ins().fvdemote(d23);
            let f01 = b.ins().bitcast(types::I32X4, le(), f01);
            let f23 = b.ins().bitcast(types::I32X4, le(), f23);
            let r = shuffle32(b, f01, f23, [0, 1, 4, 5]);
            b.ins().bitcast(types::F32X4, le(), r)
        }
    }
}
