//! Hand-built IR modules shared by the run, JIT and GPU tests: std.LIF,
//! Expon + COBA, the COBA network, and small networks that exercise delays,
//! integration schemes, synapse layouts and noise.
#![allow(dead_code)]

use snnc::ir::build::Builder;
use snnc::ir::classify::classify;
use snnc::ir::{
    Assign, AssignOp, BinaryOp, Connect, Expr, Handle, Injection, Method, Module, NamedValue, Ode,
    Output, Population, Projection, RandomKind, Record, Refractory, StateVar, Synapse,
    SynapseLayout, Var,
};
use snnc_runtime::connectivity::Rule;
use snnc_runtime::rng::Distribution;

pub struct Lif {
    pub v_rest: f64,
    pub v_reset: f64,
    pub v_th: f64,
    pub tau: f64,
    pub r: f64,
    pub t_ref: f64,
}

/// std.LIF, lowered by hand: params stay loads (they may be swept).
/// `init` builds V's initial value.
pub fn add_lif(
    m: &mut Module,
    name: &str,
    n: u32,
    p: &Lif,
    init: impl FnOnce(&mut Builder) -> Handle<Expr>,
) -> u32 {
    let dt = m.dt;
    let mut b = Builder::new(&mut m.exprs);
    let [v_rest, v_reset, v_th, tau, r, t_ref] = [0, 1, 2, 3, 4, 5].map(|i| b.load(Var::Param(i)));
    let v = b.load(Var::State(0));
    let i = b.load(Var::Current(0));
    let d = b.sub(v_rest, v);
    let ri = b.mul(r, i);
    let num = b.add(d, ri);
    let rhs = b.div(num, tau);
    let (method, update, note) = classify(&mut b, rhs, Var::State(0), "V", dt, None);
    let spike = b.binary(BinaryOp::Ge, v, v_th);
    let init = init(&mut b);
    let params = [
        ("V_rest", p.v_rest),
        ("V_reset", p.v_reset),
        ("V_th", p.v_th),
        ("tau", p.tau),
        ("R", p.r),
        ("t_ref", p.t_ref),
    ]
    .map(|(n, v)| NamedValue {
        name: n.into(),
        value: v,
    })
    .to_vec();
    m.populations.push(Population {
        name: name.into(),
        model: "LIF".into(),
        size: n,
        params,
        states: vec![StateVar {
            name: "V".into(),
            init,
        }],
        currents: vec!["I".into()],
        odes: vec![Ode {
            state: 0,
            rhs,
            method,
            update,
            note,
        }],
        spike: Some(spike),
        reset: vec![Assign {
            target: Var::State(0),
            op: AssignOp::Set,
            value: v_reset,
        }],
        refractory: Some(Refractory::Period(t_ref)),
        held: vec![0],
        source: None,
    });
    (m.populations.len() - 1) as u32
}

/// Expon synapse (align post) with a COBA output `I += g (E - post.V)`.
#[allow(clippy::too_many_arguments)]
pub fn add_coba(
    m: &mut Module,
    pre: u32,
    post: u32,
    p: f64,
    w: f64,
    tau: f64,
    e_rev: f64,
    g0: Distribution,
) {
    let dt = m.dt;
    let mut b = Builder::new(&mut m.exprs);
    let init = match g0 {
        Distribution::Normal { mean, sd } => {
            let sz = scaled_draw(&mut b, RandomKind::Normal, 0, sd);
            let mu = b.c(mean);
            b.add(mu, sz)
        }
        _ => b.c(0.0),
    };
    let tau_h = b.load(Var::SynParam(0));
    let params = vec![
        NamedValue {
            name: "tau".into(),
            value: tau,
        },
        NamedValue {
            name: "E".into(),
            value: e_rev,
        },
    ];
    let synapse = expon_synapse(&mut b, dt, SynapseLayout::AlignPost, tau_h, params, init);
    let g = b.load(Var::Syn(0));
    let e = b.load(Var::SynParam(1));
    let vpost = b.load(Var::PostState(0));
    let drive = b.sub(e, vpost);
    let out = b.mul(g, drive);
    let name = format!(
        "{}->{}",
        m.populations[pre as usize].name, m.populations[post as usize].name
    );
    m.projections.push(Projection {
        name,
        pre,
        post,
        connect: Connect::Rule(Rule::FixedProb(p)),
        allow_autapses: false,
        weight: Distribution::Constant(w),
        delay: Distribution::Constant(0.0),
        synapse,
        output: Some(Output {
            model: "COBA".into(),
            current: 0,
            value: out,
        }),
        source: None,
    });
}

/// One LIF under a constant injected current.
pub fn single_lif(i_amp: f64, t_ref: f64, duration: f64) -> Module {
    let mut m = Module::new("lif", 1e-4, duration, 7);
    let p = Lif {
        v_rest: -0.065,
        v_reset: -0.065,
        v_th: -0.050,
        tau: 0.010,
        r: 1e7,
        t_ref,
    };
    let pop = add_lif(&mut m, "N", 1, &p, |b| b.load(Var::Param(0)));
    let value = Builder::new(&mut m.exprs).c(i_amp);
    m.injections.push(Injection {
        population: pop,
        current: 0,
        value,
    });
    m.records.push(Record::Spikes { population: pop });
    m
}

/// COBA (Vogels & Abbott / Brette et al. benchmark 1), hand-lowered.
pub fn coba(n_e: u32, n_i: u32, p: f64, duration: f64) -> Module {
    let mut m = Module::new("coba", 1e-4, duration, 42);
    let lif = Lif {
        v_rest: -0.060,
        v_reset: -0.060,
        v_th: -0.050,
        tau: 0.020,
        r: 1e8,
        t_ref: 0.005,
    };
    // V = -60 mV + 5 mV * randn() - 5 mV
    let init = |b: &mut Builder| {
        let sz = scaled_draw(b, RandomKind::Normal, 0, 0.005);
        let base = b.c(-0.065);
        b.add(base, sz)
    };
    let e = add_lif(&mut m, "E", n_e, &lif, init);
    let i = add_lif(&mut m, "I", n_i, &lif, init);
    for post in [e, i] {
        add_coba(
            &mut m,
            e,
            post,
            p,
            6e-9,
            0.005,
            0.0,
            Distribution::Normal {
                mean: 40e-9,
                sd: 15e-9,
            },
        );
    }
    for post in [e, i] {
        add_coba(
            &mut m,
            i,
            post,
            p,
            67e-9,
            0.010,
            -0.080,
            Distribution::Normal {
                mean: 200e-9,
                sd: 120e-9,
            },
        );
    }
    m.records.push(Record::Spikes { population: e });
    m.records.push(Record::Spikes { population: i });
    m
}

/// The LIF of the small test networks (no refractory period).
pub const LIF: Lif = Lif {
    v_rest: -0.065,
    v_reset: -0.065,
    v_th: -0.050,
    tau: 0.010,
    r: 1e7,
    t_ref: 0.0,
};

/// Driven Pre → one_to_one delta synapse `post.V += w` (w = 20 mV).
pub fn delayed(delay: f64) -> Module {
    let mut m = Module::new("delay", 1e-4, 0.05, 3);
    let pre = add_lif(&mut m, "Pre", 1, &LIF, |b| b.load(Var::Param(0)));
    let post = add_lif(&mut m, "Post", 1, &LIF, |b| b.load(Var::Param(0)));
    let value = Builder::new(&mut m.exprs).c(3e-9);
    m.injections.push(Injection {
        population: pre,
        current: 0,
        value,
    });
    let w = Builder::new(&mut m.exprs).load(Var::Weight);
    m.projections.push(Projection {
        name: "Pre->Post".into(),
        pre,
        post,
        connect: Connect::Rule(Rule::OneToOne),
        allow_autapses: false,
        weight: Distribution::Constant(0.020),
        delay: Distribution::Constant(delay),
        synapse: Synapse {
            model: "Delta".into(),
            layout: SynapseLayout::AlignPost,
            params: Vec::new(),
            states: Vec::new(),
            odes: Vec::new(),
            method: Method::Exact,
            on_pre: vec![Assign {
                target: Var::PostState(0),
                op: AssignOp::Add,
                value: w,
            }],
            on_post: Vec::new(),
        },
        output: None,
        source: None,
    });
    m.records.push(Record::Spikes { population: pre });
    m.records.push(Record::Spikes { population: post });
    m
}

/// dX/dt = -k X² (not linear), X(0) = 1, integrated by `method`.
pub fn quadratic(method: Option<Method>, size: u32) -> Module {
    let mut m = Module::new("quad", 1e-3, 0.1, 0);
    let dt = m.dt;
    let mut b = Builder::new(&mut m.exprs);
    let x = b.load(Var::State(0));
    let xx = b.mul(x, x);
    let k = b.c(-20.0);
    let rhs = b.mul(k, xx);
    let (method, update, note) = classify(&mut b, rhs, Var::State(0), "X", dt, method);
    let init = b.c(1.0);
    m.populations.push(Population {
        name: "Q".into(),
        model: "Quad".into(),
        size,
        params: Vec::new(),
        states: vec![StateVar {
            name: "X".into(),
            init,
        }],
        currents: Vec::new(),
        odes: vec![Ode {
            state: 0,
            rhs,
            method,
            update,
            note,
        }],
        spike: None,
        reset: Vec::new(),
        refractory: None,
        held: Vec::new(),
        source: None,
    });
    m.records.push(Record::Trace {
        population: 0,
        state: 0,
        neurons: None,
        every: 1,
    });
    m
}

/// `scale · draw`, a keyed draw of `kind` in `slot` (noise terms, random
/// initial values).
pub fn scaled_draw(b: &mut Builder, kind: RandomKind, slot: u32, scale: f64) -> Handle<Expr> {
    let draw = b.exprs.append(Expr::Random { kind, slot });
    let s = b.c(scale);
    b.mul(s, draw)
}

/// An `Expon` synapse (`dg/dt = -g/tau`, exact; `g += w` on a spike) in
/// `layout`, and the `CUBA` output that adds `g` to the post's current 0.
pub fn expon_cuba(m: &mut Module, tau: f64, layout: SynapseLayout) -> (Synapse, Output) {
    let dt = m.dt;
    let mut b = Builder::new(&mut m.exprs);
    let t = b.c(tau);
    let zero = b.c(0.0);
    let params = vec![NamedValue {
        name: "tau".into(),
        value: tau,
    }];
    let synapse = expon_synapse(&mut b, dt, layout, t, params, zero);
    let output = Output {
        model: "CUBA".into(),
        current: 0,
        value: b.load(Var::Syn(0)),
    };
    (synapse, output)
}

/// `Expon`: `dg/dt = -g/tau` (classified, so exact), `g += w` on a spike,
/// `g` starting at `init`.
fn expon_synapse(
    b: &mut Builder,
    dt: f64,
    layout: SynapseLayout,
    tau: Handle<Expr>,
    params: Vec<NamedValue>,
    init: Handle<Expr>,
) -> Synapse {
    let g = b.load(Var::Syn(0));
    let ng = b.neg(g);
    let rhs = b.div(ng, tau);
    let (method, update, note) = classify(b, rhs, Var::Syn(0), "g", dt, None);
    let w = b.load(Var::Weight);
    Synapse {
        model: "Expon".into(),
        layout,
        params,
        states: vec![StateVar {
            name: "g".into(),
            init,
        }],
        odes: vec![Ode {
            state: 0,
            rhs,
            method,
            update,
            note,
        }],
        method,
        on_pre: vec![Assign {
            target: Var::Syn(0),
            op: AssignOp::Add,
            value: w,
        }],
        on_post: Vec::new(),
    }
}

/// Driven Pre (10, random initial V) → Post (5) all-to-all, Expon current
/// synapse in `layout` with random weights and a 0.5 ms delay.
pub fn expon_net(layout: SynapseLayout, delay: Distribution) -> Module {
    let mut m = Module::new("layout", 1e-4, 0.05, 9);
    let pre = add_lif(&mut m, "Pre", 10, &LIF, |b| {
        let su = scaled_draw(b, RandomKind::Uniform, 0, 0.015);
        let base = b.c(-0.065);
        b.add(base, su)
    });
    let post = add_lif(&mut m, "Post", 5, &LIF, |b| b.load(Var::Param(0)));
    let value = Builder::new(&mut m.exprs).c(2.5e-9);
    m.injections.push(Injection {
        population: pre,
        current: 0,
        value,
    });
    let (synapse, output) = expon_cuba(&mut m, 0.005, layout);
    m.projections.push(Projection {
        name: "Pre->Post".into(),
        pre,
        post,
        connect: Connect::Rule(Rule::AllToAll),
        allow_autapses: false,
        weight: Distribution::Uniform {
            low: 0.1e-9,
            high: 0.3e-9,
        },
        delay,
        synapse,
        output: Some(output),
        source: None,
    });
    m.records.push(Record::Trace {
        population: post,
        state: 0,
        neurons: None,
        every: 1,
    });
    m
}

/// 50 LIFs with per-step uniform noise injected and normal noise in dV/dt
/// (Euler), refractory 2 ms.
pub fn noisy() -> Module {
    let mut m = Module::new("noise", 1e-4, 0.05, 5);
    let lif = Lif {
        t_ref: 0.002,
        ..LIF
    };
    let pop = add_lif(&mut m, "E", 50, &lif, |b| b.load(Var::Param(0)));
    let mut b = Builder::new(&mut m.exprs);
    let value = scaled_draw(&mut b, RandomKind::Uniform, 0, 3.2e-9);
    m.injections.push(Injection {
        population: pop,
        current: 0,
        value,
    });
    // dV/dt = old rhs + 0.5 V/s · N(0,1), integrated by Euler.
    let p = &m.populations[0];
    let old = p.odes[0].rhs;
    let mut b = Builder::new(&mut m.exprs);
    let sz = scaled_draw(&mut b, RandomKind::Normal, 0, 0.5);
    let rhs = b.add(old, sz);
    let ode = &mut m.populations[0].odes[0];
    ode.rhs = rhs;
    ode.method = Method::Euler;
    ode.update = None;
    m
}

/// `.snn` text (imports from the standard library only) compiled to IR;
/// panics with the rendered diagnostics when it does not compile.
pub fn compile_text(text: &str) -> Module {
    let c = snnc::pipeline::compile_source("test.snn", text, &snnc::source::NoFiles, None);
    match c.module {
        Some(m) => m,
        None => panic!(
            "does not compile:\n{}",
            snnc::diagnostic::render_text(&c.diagnostics, c.sources(), false)
        ),
    }
}
