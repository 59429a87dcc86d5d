//! Libdevice-free f64 math, written once in LLVM IR for both targets
//! (PTX has no accurate f64 `exp`/`log`/`sin`; `ex2.approx` is f32-only and
//! approximate). Straight-line code (selects, no branches), so a warp never
//! diverges inside a math call.
//!
//! Accuracy (tested on the host build of the same IR against `std`):
//! * `exp`: Cody–Waite reduction by ln 2 (two-part constant), degree-13
//!   Taylor polynomial on |r| ≤ ln2/2, exponent built from bits: ≤ 2 ulp.
//! * `log`: fdlibm's decomposition `log(1+f) = f - (hfsq - s(hfsq + R))` with
//!   the series of R to z¹²: ≤ 2 ulp.
//! * `sin`/`cos`: reduction by π/2 with a three-part constant (accurate for
//!   |x| < 2²⁰·π/2; beyond, the reduction loses bits), Taylor polynomials on
//!   |r| ≤ π/4: ≤ 2 ulp in the accurate range.
//! * `exprel`: `1 + x/2` below 1e-8 (as the reference), its Taylor series
//!   for |x| ≤ 0.5, `(exp(x) - 1)/x` beyond: ≤ 3 ulp.
//! * `tanh`: `e/(e+2)` with `e = expm1(2|x|)`: ≤ 4 ulp.
//! * `pow`: `exp(y·log x)` with sign handling for integer `y` and exact
//!   shortcuts for y ∈ {0, 1, 2}: relative error ≈ (|y ln x| + 2)·2⁻⁵³.
//!
//! In f32 runs the kernels widen to f64 around these calls.

use inkwell::module::Linkage;
use inkwell::values::{FloatValue, FunctionValue, IntValue};
use inkwell::{FloatPredicate as P, IntPredicate as I};

use super::llvm::Ir;
use crate::ir::MathOp;

// fdlibm's split constants, by their bits.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const PIO2_1: f64 = f64::from_bits(0x3ff9_21fb_5440_0000);
const PIO2_2: f64 = f64::from_bits(0x3dd0_b461_1a60_0000);
const PIO2_3: f64 = f64::from_bits(0x3ba3_198a_2e00_0000);

/// The math routines of one module, declared on first use.
#[derive(Default)]
pub struct MathLib<'c> {
    fns: Vec<(&'static str, FunctionValue<'c>)>,
}

impl<'c> MathLib<'c> {
    fn get(
        &mut self,
        ir: &Ir<'c>,
        name: &'static str,
        arity: usize,
        body: fn(&Ir<'c>, &mut MathLib<'c>, &[FloatValue<'c>]) -> FloatValue<'c>,
    ) -> FunctionValue<'c> {
        if let Some((_, f)) = self.fns.iter().find(|(n, _)| *n == name) {
            return *f;
        }
        let args: Vec<_> = (0..arity).map(|_| ir.f64t.into()).collect();
        let ty = ir.f64t.fn_type(&args, false);
        let f = ir.m.add_function(name, ty, Some(Linkage::Internal));
        self.fns.push((name, f));
        let here = ir.b.get_insert_block();
        let entry = ir.block(f, "entry");
        ir.at(entry);
        let params: Vec<FloatValue> = f.get_param_iter().map(|p| p.into_float_value()).collect();
        let r = body(ir, self, &params);
        ir.b.build_return(Some(&r)).unwrap();
        if let Some(bb) = here {
            ir.at(bb);
        }
        f
    }

    fn call1(
        &mut self,
        ir: &Ir<'c>,
        name: &'static str,
        body: fn(&Ir<'c>, &mut MathLib<'c>, &[FloatValue<'c>]) -> FloatValue<'c>,
        x: FloatValue<'c>,
    ) -> FloatValue<'c> {
        let f = self.get(ir, name, 1, body);
        ir.call(f, &[x.into()]).into_float_value()
    }

    pub fn exp(&mut self, ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
        self.call1(ir, "snn_exp", |ir, _, a| exp_body(ir, a[0]), x)
    }
    pub fn log(&mut self, ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
        self.call1(ir, "snn_log", |ir, _, a| log_body(ir, a[0]), x)
    }
    pub fn sin(&mut self, ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
        self.call1(ir, "snn_sin", |ir, _, a| sincos_body(ir, a[0], false), x)
    }
    pub fn cos(&mut self, ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
        self.call1(ir, "snn_cos", |ir, _, a| sincos_body(ir, a[0], true), x)
    }
    pub fn exprel(&mut self, ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
        self.call1(ir, "snn_exprel", |ir, m, a| exprel_body(ir, m, a[0]), x)
    }
    pub fn tanh(&mut self, ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
        self.call1(ir, "snn_tanh", |ir, m, a| tanh_body(ir, m, a[0]), x)
    }
    pub fn pow(&mut self, ir: &Ir<'c>, x: FloatValue<'c>, y: FloatValue<'c>) -> FloatValue<'c> {
        let f = self.get(ir, "snn_pow", 2, |ir, m, a| pow_body(ir, m, a[0], a[1]));
        ir.call(f, &[x.into(), y.into()]).into_float_value()
    }

    /// One [`MathOp`] on an f64.
    pub fn apply(&mut self, ir: &Ir<'c>, op: MathOp, x: FloatValue<'c>) -> FloatValue<'c> {
        match op {
            MathOp::Exp => self.exp(ir, x),
            MathOp::Exprel => self.exprel(ir, x),
            MathOp::Log => self.log(ir, x),
            MathOp::Sqrt => ir.intr1("llvm.sqrt", x),
            MathOp::Abs => ir.intr1("llvm.fabs", x),
            MathOp::Sin => self.sin(ir, x),
            MathOp::Cos => self.cos(ir, x),
            MathOp::Tanh => self.tanh(ir, x),
            MathOp::Floor => ir.intr1("llvm.floor", x),
            MathOp::Ceil => ir.intr1("llvm.ceil", x),
        }
    }
}

/// Horner: c[0] + x(c[1] + x(c[2] + …)).
fn horner<'c>(ir: &Ir<'c>, x: FloatValue<'c>, c: &[f64]) -> FloatValue<'c> {
    let mut acc = ir.f(c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        acc = ir.fadd(ir.f(k), ir.fmul(x, acc));
    }
    acc
}

fn factorials(n: usize) -> Vec<f64> {
    let mut v = vec![1.0];
    for k in 1..=n {
        let last = v[k - 1];
        v.push(last * k as f64);
    }
    v
}

/// 2^k for k in [-1022, 1023] (i64) as an f64.
fn pow2<'c>(ir: &Ir<'c>, k: IntValue<'c>) -> FloatValue<'c> {
    let e = ir.iadd(k, ir.i64c(1023));
    ir.bits2f(ir.shl(e, ir.i64c(52)))
}

fn is_nan<'c>(ir: &Ir<'c>, x: FloatValue<'c>) -> IntValue<'c> {
    ir.fcmp(P::UNO, x, x)
}

fn exp_body<'c>(ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
    let hi = 709.782_712_893_384;
    let lo = -745.2;
    let nan = is_nan(ir, x);
    let xc = ir.fsel(nan, ir.f(0.0), x);
    let xc = ir.intr2("llvm.minnum", xc, ir.f(hi));
    let xc = ir.intr2("llvm.maxnum", xc, ir.f(lo));
    let t = ir.fmul(xc, ir.f(std::f64::consts::LOG2_E));
    let nf = ir.intr1("llvm.floor", ir.fadd(t, ir.f(0.5)));
    let r = ir.fsub(xc, ir.fmul(nf, ir.f(LN2_HI)));
    let r = ir.fsub(r, ir.fmul(nf, ir.f(LN2_LO)));
    let fact = factorials(13);
    let c: Vec<f64> = fact.iter().map(|f| 1.0 / f).collect();
    let p = horner(ir, r, &c);
    let n = ir.fptosi(nf);
    let n1 = ir.ashr(n, ir.i64c(1));
    let n2 = ir.isub(n, n1);
    let y = ir.fmul(ir.fmul(p, pow2(ir, n1)), pow2(ir, n2));
    let over = ir.fcmp(P::OGT, x, ir.f(hi));
    let under = ir.fcmp(P::OLT, x, ir.f(lo));
    let y = ir.fsel(under, ir.f(0.0), y);
    let y = ir.fsel(over, ir.f(f64::INFINITY), y);
    ir.fsel(nan, x, y)
}

fn log_body<'c>(ir: &Ir<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
    // Subnormals: scale into the normal range first.
    let tiny = ir.fcmp(P::OLT, x, ir.f(f64::MIN_POSITIVE));
    let xs = ir.fsel(tiny, ir.fmul(x, ir.f(18_014_398_509_481_984.0)), x); // 2^54
    let adj = ir.isel(tiny, ir.i64c(-54), ir.i64c(0));
    let bits = ir.f2bits(xs);
    let ex = ir.and(ir.lshr(bits, ir.i64c(52)), ir.i64c(0x7ff));
    let e = ir.iadd(ir.isub(ex, ir.i64c(1023)), adj);
    let mant = ir.or(
        ir.and(bits, ir.i64c(0x000f_ffff_ffff_ffff)),
        ir.i64c(0x3ff0_0000_0000_0000),
    );
    let m = ir.bits2f(mant);
    let big = ir.fcmp(P::OGT, m, ir.f(std::f64::consts::SQRT_2));
    let m = ir.fsel(big, ir.fmul(m, ir.f(0.5)), m);
    let e = ir.iadd(e, ir.isel(big, ir.i64c(1), ir.i64c(0)));
    let f = ir.fsub(m, ir.f(1.0));
    let s = ir.fdiv(f, ir.fadd(ir.f(2.0), f));
    let z = ir.fmul(s, s);
    // R = z (2/3 + z (2/5 + …)).
    let c: Vec<f64> = (1..=12).map(|k| 2.0 / (2 * k + 1) as f64).collect();
    let r = ir.fmul(z, horner(ir, z, &c));
    let hfsq = ir.fmul(ir.f(0.5), ir.fmul(f, f));
    let dk = ir.sitofp(e);
    // dk·ln2_hi - ((hfsq - (s(hfsq + R) + dk·ln2_lo)) - f)
    let inner = ir.fadd(ir.fmul(s, ir.fadd(hfsq, r)), ir.fmul(dk, ir.f(LN2_LO)));
    let y = ir.fsub(ir.fmul(dk, ir.f(LN2_HI)), ir.fsub(ir.fsub(hfsq, inner), f));
    let zero = ir.fcmp(P::OEQ, x, ir.f(0.0));
    let neg = ir.fcmp(P::OLT, x, ir.f(0.0));
    let inf = ir.fcmp(P::OEQ, x, ir.f(f64::INFINITY));
    let y = ir.fsel(inf, x, y);
    let y = ir.fsel(zero, ir.f(f64::NEG_INFINITY), y);
    let y = ir.fsel(neg, ir.f(f64::NAN), y);
    ir.fsel(is_nan(ir, x), x, y)
}

fn sin_poly<'c>(ir: &Ir<'c>, r: FloatValue<'c>) -> FloatValue<'c> {
    // r (1 - z/3! + z²/5! - …), z = r².
    let z = ir.fmul(r, r);
    let fact = factorials(19);
    let c: Vec<f64> = (0..=8)
        .map(|k| {
            let s = if k % 2 == 0 { 1.0 } else { -1.0 };
            s / fact[2 * k + 1]
        })
        .collect();
    let tail = ir.fmul(z, horner(ir, z, &c[1..]));
    ir.fadd(r, ir.fmul(r, tail))
}

fn cos_poly<'c>(ir: &Ir<'c>, r: FloatValue<'c>) -> FloatValue<'c> {
    let z = ir.fmul(r, r);
    let fact = factorials(20);
    let c: Vec<f64> = (0..=9)
        .map(|k| {
            let s = if k % 2 == 0 { 1.0 } else { -1.0 };
            s / fact[2 * k]
        })
        .collect();
    // 1 - z/2 + z²(1/4! - …): the leading terms added last for accuracy.
    let tail = ir.fmul(ir.fmul(z, z), horner(ir, z, &c[2..]));
    let hz = ir.fmul(ir.f(0.5), z);
    let w = ir.fsub(ir.f(1.0), hz);
    ir.fadd(
        w,
        ir.fsub(ir.fsub(ir.fsub(ir.f(1.0), w), hz), ir.fneg(tail)),
    )
}

fn sincos_body<'c>(ir: &Ir<'c>, x: FloatValue<'c>, cos: bool) -> FloatValue<'c> {
    let ax = ir.intr1("llvm.fabs", x);
    let finite = ir.fcmp(P::OLT, ax, ir.f(f64::INFINITY));
    let xs = ir.fsel(finite, x, ir.f(0.0));
    let t = ir.fmul(xs, ir.f(std::f64::consts::FRAC_2_PI));
    let nf = ir.intr1("llvm.floor", ir.fadd(t, ir.f(0.5)));
    let nf = ir.intr2("llvm.minnum", nf, ir.f(9.0e15));
    let nf = ir.intr2("llvm.maxnum", nf, ir.f(-9.0e15));
    let r = ir.fsub(xs, ir.fmul(nf, ir.f(PIO2_1)));
    let r = ir.fsub(r, ir.fmul(nf, ir.f(PIO2_2)));
    let r = ir.fsub(r, ir.fmul(nf, ir.f(PIO2_3)));
    let q = ir.and(ir.fptosi(nf), ir.i64c(3));
    let q = if cos { ir.iadd(q, ir.i64c(1)) } else { q };
    let q = ir.and(q, ir.i64c(3));
    let s = sin_poly(ir, r);
    let c = cos_poly(ir, r);
    // sin(r + qπ/2): q=0 sin, 1 cos, 2 -sin, 3 -cos.
    let odd = ir.icmp(I::EQ, ir.and(q, ir.i64c(1)), ir.i64c(1));
    let v = ir.fsel(odd, c, s);
    let negate = ir.icmp(I::UGE, q, ir.i64c(2));
    let v = ir.fsel(negate, ir.fneg(v), v);
    ir.fsel(finite, v, ir.f(f64::NAN))
}

fn exprel_body<'c>(ir: &Ir<'c>, m: &mut MathLib<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
    let ax = ir.intr1("llvm.fabs", x);
    let fact = factorials(19);
    let c: Vec<f64> = (0..=17).map(|k| 1.0 / fact[k + 1]).collect();
    let series = horner(ir, x, &c);
    let e = m.exp(ir, x);
    let big = ir.fdiv(ir.fsub(e, ir.f(1.0)), x);
    let tiny = ir.fadd(ir.f(1.0), ir.fdiv(x, ir.f(2.0)));
    let small = ir.fcmp(P::OLE, ax, ir.f(0.5));
    let v = ir.fsel(small, series, big);
    let t = ir.fcmp(P::OLT, ax, ir.f(1e-8));
    ir.fsel(t, tiny, v)
}

fn tanh_body<'c>(ir: &Ir<'c>, m: &mut MathLib<'c>, x: FloatValue<'c>) -> FloatValue<'c> {
    let a = ir.intr1("llvm.fabs", x);
    let a2 = ir.fmul(ir.f(2.0), ir.intr2("llvm.minnum", a, ir.f(22.0)));
    let er = m.exprel(ir, a2);
    let e = ir.fmul(a2, er);
    let t = ir.fdiv(e, ir.fadd(e, ir.f(2.0)));
    let t = ir.fsel(ir.fcmp(P::OGT, a, ir.f(22.0)), ir.f(1.0), t);
    let t = intr_copysign(ir, t, x);
    ir.fsel(is_nan(ir, x), x, t)
}

fn intr_copysign<'c>(ir: &Ir<'c>, mag: FloatValue<'c>, sign: FloatValue<'c>) -> FloatValue<'c> {
    ir.intr2("llvm.copysign", mag, sign)
}

fn pow_body<'c>(
    ir: &Ir<'c>,
    m: &mut MathLib<'c>,
    x: FloatValue<'c>,
    y: FloatValue<'c>,
) -> FloatValue<'c> {
    let ax = ir.intr1("llvm.fabs", x);
    let l = m.log(ir, ax);
    let g = m.exp(ir, ir.fmul(y, l));
    // Sign for negative x: integer y only (odd → negative), else NaN.
    let yi = ir.intr1("llvm.floor", y);
    let integer = ir.fcmp(P::OEQ, yi, y);
    let half = ir.fmul(y, ir.f(0.5));
    let odd = ir.fcmp(P::ONE, ir.intr1("llvm.floor", half), half);
    let odd = ir.and(odd, integer);
    let neg_x = ir.fcmp(P::OLT, x, ir.f(0.0));
    let signed = ir.fsel(odd, ir.fneg(g), g);
    let v = ir.fsel(neg_x, ir.fsel(integer, signed, ir.f(f64::NAN)), g);
    // x = ±0: 0 for y > 0, inf for y < 0 (sign for odd integer y).
    let zero = ir.fcmp(P::OEQ, x, ir.f(0.0));
    let z = ir.fsel(
        ir.fcmp(P::OGT, y, ir.f(0.0)),
        ir.f(0.0),
        ir.f(f64::INFINITY),
    );
    let z = ir.fsel(odd, intr_copysign(ir, z, x), z);
    let v = ir.fsel(zero, z, v);
    let v = ir.fsel(is_nan(ir, x), x, v);
    let v = ir.fsel(is_nan(ir, y), y, v);
    // Exact cases (as libm): y = 2 → x·x, y = 1 → x, y = 0 or x = 1 → 1.
    let v = ir.fsel(ir.fcmp(P::OEQ, y, ir.f(2.0)), ir.fmul(x, x), v);
    let v = ir.fsel(ir.fcmp(P::OEQ, y, ir.f(1.0)), x, v);
    let one = ir.or(ir.fcmp(P::OEQ, y, ir.f(0.0)), ir.fcmp(P::OEQ, x, ir.f(1.0)));
    ir.fsel(one, ir.f(1.0), v)
}
