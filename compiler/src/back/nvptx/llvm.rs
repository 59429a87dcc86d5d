//! A thin layer over inkwell's builder: every kernel, math routine and the
//! Philox generator are written with these helpers, once, for both targets
//! (NVPTX and the host CPU). Builder errors can only come from misuse (an
//! unpositioned builder), i.e. bugs: they panic, and the entry points catch
//! the panic and turn it into an error.

use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, FloatType, IntType, PointerType};
use inkwell::values::{
    AsValueRef, BasicMetadataValueEnum, FloatValue, FunctionValue, IntValue, PointerValue,
};
use inkwell::{AddressSpace, AtomicOrdering, FloatPredicate, IntPredicate};

/// Builder plus the types every routine uses.
pub struct Ir<'c> {
    pub cx: &'c Context,
    pub m: Module<'c>,
    pub b: Builder<'c>,
    /// Kernels for the GPU (global pointers in address space 1).
    pub nvptx: bool,
    pub f64t: FloatType<'c>,
    pub f32t: FloatType<'c>,
    pub i1: IntType<'c>,
    pub i32t: IntType<'c>,
    pub i64t: IntType<'c>,
    /// Pointer to device (global) memory.
    pub gptr: PointerType<'c>,
}

impl<'c> Ir<'c> {
    pub fn new(cx: &'c Context, name: &str, nvptx: bool) -> Self {
        let space = if nvptx {
            AddressSpace::from(1u16)
        } else {
            AddressSpace::default()
        };
        Self {
            cx,
            m: cx.create_module(name),
            b: cx.create_builder(),
            nvptx,
            f64t: cx.f64_type(),
            f32t: cx.f32_type(),
            i1: cx.bool_type(),
            i32t: cx.i32_type(),
            i64t: cx.i64_type(),
            gptr: cx.ptr_type(space),
        }
    }

    // ---- constants -------------------------------------------------------
    pub fn f(&self, v: f64) -> FloatValue<'c> {
        self.f64t.const_float(v)
    }
    pub fn i32c(&self, v: i64) -> IntValue<'c> {
        self.i32t.const_int(v as u64, true)
    }
    pub fn i64c(&self, v: i64) -> IntValue<'c> {
        self.i64t.const_int(v as u64, true)
    }

    // ---- float arithmetic ------------------------------------------------
    pub fn fadd(&self, a: FloatValue<'c>, b: FloatValue<'c>) -> FloatValue<'c> {
        self.b.build_float_add(a, b, "").unwrap()
    }
    pub fn fsub(&self, a: FloatValue<'c>, b: FloatValue<'c>) -> FloatValue<'c> {
        self.b.build_float_sub(a, b, "").unwrap()
    }
    pub fn fmul(&self, a: FloatValue<'c>, b: FloatValue<'c>) -> FloatValue<'c> {
        self.b.build_float_mul(a, b, "").unwrap()
    }
    pub fn fdiv(&self, a: FloatValue<'c>, b: FloatValue<'c>) -> FloatValue<'c> {
        self.b.build_float_div(a, b, "").unwrap()
    }
    pub fn fneg(&self, a: FloatValue<'c>) -> FloatValue<'c> {
        self.b.build_float_neg(a, "").unwrap()
    }
    pub fn fcmp(&self, p: FloatPredicate, a: FloatValue<'c>, b: FloatValue<'c>) -> IntValue<'c> {
        self.b.build_float_compare(p, a, b, "").unwrap()
    }
    pub fn fsel(&self, c: IntValue<'c>, a: FloatValue<'c>, b: FloatValue<'c>) -> FloatValue<'c> {
        self.b.build_select(c, a, b, "").unwrap().into_float_value()
    }
    pub fn isel(&self, c: IntValue<'c>, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_select(c, a, b, "").unwrap().into_int_value()
    }
    /// `1.0` when `c`, else `0.0`, in the type of `like`.
    pub fn truth(&self, c: IntValue<'c>, ty: FloatType<'c>) -> FloatValue<'c> {
        self.fsel(c, ty.const_float(1.0), ty.const_float(0.0))
    }

    /// A one-argument float intrinsic (`llvm.floor`, `llvm.sqrt`, …).
    pub fn intr1(&self, name: &str, x: FloatValue<'c>) -> FloatValue<'c> {
        let ty: BasicTypeEnum = x.get_type().into();
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(&self.m, &[ty]))
            .unwrap_or_else(|| panic!("intrinsic {name}"));
        self.call(f, &[x.into()]).into_float_value()
    }
    pub fn intr2(&self, name: &str, x: FloatValue<'c>, y: FloatValue<'c>) -> FloatValue<'c> {
        let ty: BasicTypeEnum = x.get_type().into();
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(&self.m, &[ty]))
            .unwrap_or_else(|| panic!("intrinsic {name}"));
        self.call(f, &[x.into(), y.into()]).into_float_value()
    }

    pub fn call(
        &self,
        f: FunctionValue<'c>,
        args: &[BasicMetadataValueEnum<'c>],
    ) -> inkwell::values::BasicValueEnum<'c> {
        self.b
            .build_call(f, args, "")
            .unwrap()
            .try_as_basic_value()
            .unwrap_basic()
    }
    pub fn call_void(&self, f: FunctionValue<'c>, args: &[BasicMetadataValueEnum<'c>]) {
        self.b.build_call(f, args, "").unwrap();
    }

    // ---- integers ---------------------------------------------------------
    pub fn iadd(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_add(a, b, "").unwrap()
    }
    pub fn isub(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_sub(a, b, "").unwrap()
    }
    pub fn imul(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_mul(a, b, "").unwrap()
    }
    pub fn udiv(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_unsigned_div(a, b, "").unwrap()
    }
    pub fn urem(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_unsigned_rem(a, b, "").unwrap()
    }
    pub fn and(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_and(a, b, "").unwrap()
    }
    pub fn or(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_or(a, b, "").unwrap()
    }
    pub fn xor(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_xor(a, b, "").unwrap()
    }
    pub fn shl(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_left_shift(a, b, "").unwrap()
    }
    pub fn lshr(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_right_shift(a, b, false, "").unwrap()
    }
    pub fn ashr(&self, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_right_shift(a, b, true, "").unwrap()
    }
    pub fn icmp(&self, p: IntPredicate, a: IntValue<'c>, b: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_compare(p, a, b, "").unwrap()
    }
    pub fn zext64(&self, a: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_z_extend(a, self.i64t, "").unwrap()
    }
    pub fn trunc32(&self, a: IntValue<'c>) -> IntValue<'c> {
        self.b.build_int_truncate(a, self.i32t, "").unwrap()
    }
    pub fn f2bits(&self, x: FloatValue<'c>) -> IntValue<'c> {
        self.b
            .build_bit_cast(x, self.i64t, "")
            .unwrap()
            .into_int_value()
    }
    pub fn bits2f(&self, x: IntValue<'c>) -> FloatValue<'c> {
        self.b
            .build_bit_cast(x, self.f64t, "")
            .unwrap()
            .into_float_value()
    }
    pub fn fptosi(&self, x: FloatValue<'c>) -> IntValue<'c> {
        self.b.build_float_to_signed_int(x, self.i64t, "").unwrap()
    }
    pub fn sitofp(&self, x: IntValue<'c>) -> FloatValue<'c> {
        self.b.build_signed_int_to_float(x, self.f64t, "").unwrap()
    }
    pub fn uitofp(&self, x: IntValue<'c>) -> FloatValue<'c> {
        self.b
            .build_unsigned_int_to_float(x, self.f64t, "")
            .unwrap()
    }
    /// f64 → the real type `ty` (no-op for f64).
    pub fn to_real(&self, x: FloatValue<'c>, ty: FloatType<'c>) -> FloatValue<'c> {
        if ty == self.f64t {
            x
        } else {
            self.b.build_float_trunc(x, ty, "").unwrap()
        }
    }
    /// A real of type f32/f64 → f64.
    pub fn to_f64(&self, x: FloatValue<'c>) -> FloatValue<'c> {
        if x.get_type() == self.f64t {
            x
        } else {
            self.b.build_float_ext(x, self.f64t, "").unwrap()
        }
    }

    // ---- memory -----------------------------------------------------------
    /// `&base[idx]` for elements of `ty`.
    pub fn gep(
        &self,
        ty: BasicTypeEnum<'c>,
        base: PointerValue<'c>,
        idx: IntValue<'c>,
    ) -> PointerValue<'c> {
        // SAFETY: indices come from the plan's buffer sizes; the kernels
        // guard every index against the counts they read.
        unsafe { self.b.build_gep(ty, base, &[idx], "").unwrap() }
    }
    pub fn load_f(
        &self,
        ty: FloatType<'c>,
        base: PointerValue<'c>,
        idx: IntValue<'c>,
    ) -> FloatValue<'c> {
        let p = self.gep(ty.into(), base, idx);
        self.b.build_load(ty, p, "").unwrap().into_float_value()
    }
    pub fn load_i(
        &self,
        ty: IntType<'c>,
        base: PointerValue<'c>,
        idx: IntValue<'c>,
    ) -> IntValue<'c> {
        let p = self.gep(ty.into(), base, idx);
        self.b.build_load(ty, p, "").unwrap().into_int_value()
    }
    pub fn store_at(
        &self,
        ty: BasicTypeEnum<'c>,
        base: PointerValue<'c>,
        idx: IntValue<'c>,
        v: impl inkwell::values::BasicValue<'c>,
    ) {
        let p = self.gep(ty, base, idx);
        self.b.build_store(p, v).unwrap();
    }
    /// Atomic `*p += v` on a float (relaxed): `red.global.add.f64/f32` on
    /// sm_60+, a compare-exchange loop on the host.
    pub fn atomic_fadd(&self, p: PointerValue<'c>, v: FloatValue<'c>) {
        use inkwell::llvm_sys::core::LLVMBuildAtomicRMW;
        use inkwell::llvm_sys::LLVMAtomicOrdering;
        use inkwell::llvm_sys::LLVMAtomicRMWBinOp;
        // SAFETY: plain FFI on a positioned builder with values of this context.
        unsafe {
            LLVMBuildAtomicRMW(
                self.b.as_mut_ptr(),
                LLVMAtomicRMWBinOp::LLVMAtomicRMWBinOpFAdd,
                p.as_value_ref(),
                v.as_value_ref(),
                LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic,
                0,
            );
        }
    }
    /// Atomic `old = *p; *p += v` on an i32 (relaxed).
    pub fn atomic_iadd(&self, p: PointerValue<'c>, v: IntValue<'c>) -> IntValue<'c> {
        self.b
            .build_atomicrmw(
                inkwell::AtomicRMWBinOp::Add,
                p,
                v,
                AtomicOrdering::Monotonic,
            )
            .unwrap()
    }

    // ---- control flow -----------------------------------------------------
    pub fn block(&self, f: FunctionValue<'c>, name: &str) -> BasicBlock<'c> {
        self.cx.append_basic_block(f, name)
    }
    pub fn br(&self, to: BasicBlock<'c>) {
        self.b.build_unconditional_branch(to).unwrap();
    }
    pub fn cbr(&self, c: IntValue<'c>, t: BasicBlock<'c>, e: BasicBlock<'c>) {
        self.b.build_conditional_branch(c, t, e).unwrap();
    }
    pub fn at(&self, bb: BasicBlock<'c>) {
        self.b.position_at_end(bb);
    }
    pub fn alloca_f(&self, ty: FloatType<'c>) -> PointerValue<'c> {
        self.b.build_alloca(ty, "").unwrap()
    }
    pub fn alloca_i(&self, ty: IntType<'c>) -> PointerValue<'c> {
        self.b.build_alloca(ty, "").unwrap()
    }
    pub fn ld_f(&self, ty: FloatType<'c>, p: PointerValue<'c>) -> FloatValue<'c> {
        self.b.build_load(ty, p, "").unwrap().into_float_value()
    }
    pub fn ld_i(&self, ty: IntType<'c>, p: PointerValue<'c>) -> IntValue<'c> {
        self.b.build_load(ty, p, "").unwrap().into_int_value()
    }
    pub fn st(&self, p: PointerValue<'c>, v: impl inkwell::values::BasicValue<'c>) {
        self.b.build_store(p, v).unwrap();
    }

    /// A counted loop `for i in lo..hi` (i64): `body(i)` is emitted inside;
    /// the builder ends positioned after the loop.
    pub fn for_range(
        &self,
        f: FunctionValue<'c>,
        lo: IntValue<'c>,
        hi: IntValue<'c>,
        body: &mut dyn FnMut(IntValue<'c>),
    ) {
        let var = self.alloca_entry_i(f, self.i64t);
        self.st(var, lo);
        let head = self.block(f, "loop");
        let inner = self.block(f, "body");
        let done = self.block(f, "done");
        self.br(head);
        self.at(head);
        let i = self.ld_i(self.i64t, var);
        let c = self.icmp(IntPredicate::SLT, i, hi);
        self.cbr(c, inner, done);
        self.at(inner);
        body(i);
        let i = self.ld_i(self.i64t, var);
        let n = self.iadd(i, self.i64c(1));
        self.st(var, n);
        self.br(head);
        self.at(done);
    }

    /// An alloca in the function's entry block (so mem2reg promotes it).
    pub fn alloca_entry_i(&self, f: FunctionValue<'c>, ty: IntType<'c>) -> PointerValue<'c> {
        let entry = f.get_first_basic_block().expect("entry block");
        let here = self.b.get_insert_block().expect("positioned");
        let tmp = self.cx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => tmp.position_before(&i),
            None => tmp.position_at_end(entry),
        }
        let p = tmp.build_alloca(ty, "").unwrap();
        self.b.position_at_end(here);
        p
    }
    pub fn alloca_entry_f(&self, f: FunctionValue<'c>, ty: FloatType<'c>) -> PointerValue<'c> {
        let entry = f.get_first_basic_block().expect("entry block");
        let tmp = self.cx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => tmp.position_before(&i),
            None => tmp.position_at_end(entry),
        }
        tmp.build_alloca(ty, "").unwrap()
    }
}
