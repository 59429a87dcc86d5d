//! The generated model of the front-end benchmarks: many adaptive neuron
//! models with params, states, lets and ODEs, and one network wiring a
//! population of each to the next.

use std::fmt::Write;

/// A model of `neurons` neuron models (about 20 lines and 880 bytes each).
pub fn model(neurons: usize) -> String {
    let mut s = String::from("import std.{Expon, COBA}\n\n");
    for i in 0..neurons {
        push_neuron(&mut s, i);
    }
    push_network(&mut s, neurons);
    s
}

fn push_neuron(s: &mut String, i: usize) {
    writeln!(
        s,
        "/// Generated adaptive neuron {i}.
neuron N{i} {{
    param V_rest: mV = -65 mV
    param V_th: mV = -50 mV
    param tau: ms = {tau} ms
    param tau_w: ms = 100 ms
    param a: nS = 2 nS
    param b: nA = 0.05 nA
    param R: Mohm = 100 Mohm
    state V: mV = V_rest
    state w: nA = 0
    current I: nA
    let drive = R * (I - w)
    dV/dt = (V_rest - V + drive) / tau
    dw/dt = (a * (V - V_rest) - w) / tau_w
    spike when V >= V_th
    reset {{ V = V_rest; w += b }}
    refractory 2 ms
}}
",
        tau = 10 + i % 20
    )
    .unwrap();
}

fn push_network(s: &mut String, neurons: usize) {
    s.push_str("network big {\n    dt = 0.1 ms\n    duration = 1 s\n");
    for k in 0..neurons {
        writeln!(s, "    population P{k} = N{k}[100] {{ tau = 20 ms }}").unwrap();
    }
    for k in 0..neurons {
        writeln!(
            s,
            "    projection P{k} -> P{} {{ connect fixed_prob(0.1); weight 1 nS; synapse Expon(tau = 5 ms); output COBA(E = 0 mV) }}",
            (k + 1) % neurons
        )
        .unwrap();
    }
    s.push_str("}\n");
}
