//! The text of a [`StepProgram`] (`snnc compile --emit kernels`): one block
//! per kernel with its domain, random stream and statements.

use std::fmt::{self, Write as _};

use super::{Cond, Domain, Place, StepProgram, Stmt};
use crate::ir::print::{expr, Names};
use crate::ir::SYNAPSE_KEY_BIT;
use crate::ir::{AssignOp, Module};
use snnc_runtime::rng::Purpose;

/// Print `program` of `module` (names come from the module).
#[must_use]
pub fn program(module: &Module, program: &StepProgram) -> String {
    let mut out = String::new();
    for k in &program.kernels {
        let lists = NameLists::of(module, k.domain);
        let names = lists.names();
        let domain = match k.domain {
            Domain::Neurons { pop } => {
                format!("neurons of {}", module.populations[pop as usize].name)
            }
            Domain::SpikeSource { pop } => {
                format!("spike train of {}", module.populations[pop as usize].name)
            }
            Domain::Synapses { proj } => {
                format!("synapses of {}", module.projections[proj as usize].name)
            }
            Domain::PreEvents { proj } => {
                format!(
                    "arriving events of {}",
                    module.projections[proj as usize].name
                )
            }
            Domain::PostEvents { proj } => {
                format!(
                    "synapses onto spiking neurons of {}",
                    module.projections[proj as usize].name
                )
            }
        };
        let _ = writeln!(
            out,
            "kernel {} over {domain} (draws: {}, {} locals) {{",
            k.name,
            stream(k.draws),
            k.locals
        );
        let _ = block(&mut out, program, &names, &k.body, 1);
        let _ = writeln!(out, "}}");
    }
    out
}

/// The names a kernel's code reads, owned.
#[derive(Default)]
struct NameLists {
    states: Vec<String>,
    currents: Vec<String>,
    params: Vec<String>,
    syn_states: Vec<String>,
    syn_params: Vec<String>,
    post_states: Vec<String>,
    post_currents: Vec<String>,
    pre_states: Vec<String>,
    inputs: Vec<String>,
}

impl NameLists {
    fn of(module: &Module, domain: Domain) -> Self {
        let states = |p: u32| {
            module.populations[p as usize]
                .states
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        let inputs = module.inputs.iter().map(|i| i.name.clone()).collect();
        match domain {
            Domain::Neurons { pop } | Domain::SpikeSource { pop } => {
                let p = &module.populations[pop as usize];
                Self {
                    states: states(pop),
                    currents: p.currents.clone(),
                    params: p.params.iter().map(|q| q.name.clone()).collect(),
                    inputs,
                    ..Self::default()
                }
            }
            Domain::Synapses { proj }
            | Domain::PreEvents { proj }
            | Domain::PostEvents { proj } => {
                let j = &module.projections[proj as usize];
                Self {
                    syn_states: j.synapse.states.iter().map(|s| s.name.clone()).collect(),
                    syn_params: j.synapse.params.iter().map(|q| q.name.clone()).collect(),
                    post_states: states(j.post),
                    post_currents: module.populations[j.post as usize].currents.clone(),
                    pre_states: states(j.pre),
                    inputs,
                    ..Self::default()
                }
            }
        }
    }

    fn names(&self) -> Names<'_> {
        Names {
            states: &self.states,
            currents: &self.currents,
            params: &self.params,
            syn_states: &self.syn_states,
            syn_params: &self.syn_params,
            post_states: &self.post_states,
            post_currents: &self.post_currents,
            pre_states: &self.pre_states,
            inputs: &self.inputs,
        }
    }
}

/// The random stream a kernel draws from, in words.
fn stream(draws: Purpose) -> String {
    match draws {
        Purpose::ModelNoise { population } if population & SYNAPSE_KEY_BIT != 0 => {
            format!(
                "synapse noise of projection #{}",
                population & !SYNAPSE_KEY_BIT
            )
        }
        Purpose::ModelNoise { population } => format!("noise of population #{population}"),
        Purpose::Injection { injection } => format!("injection #{injection}"),
        other => format!("{other:?}"),
    }
}

fn block(
    out: &mut String,
    program: &StepProgram,
    names: &Names<'_>,
    body: &[Stmt],
    depth: usize,
) -> fmt::Result {
    let pad = "    ".repeat(depth);
    for s in body {
        match s {
            Stmt::Let { local, value } => {
                writeln!(
                    out,
                    "{pad}%{local} = {}",
                    expr(&program.exprs, names, *value)
                )?;
            }
            Stmt::Store { place, op, value } => {
                let op = match op {
                    AssignOp::Set => "=",
                    AssignOp::Add => "+=",
                };
                writeln!(
                    out,
                    "{pad}{} {op} {}",
                    place_name(names, *place),
                    expr(&program.exprs, names, *value)
                )?;
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                let c = match cond {
                    Cond::Nonzero(h) => expr(&program.exprs, names, *h),
                    Cond::Refractory => "refractory".into(),
                    Cond::AllFinite(ls) => format!(
                        "finite({})",
                        ls.iter()
                            .map(|l| format!("%{l}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                writeln!(out, "{pad}if {c} {{")?;
                block(out, program, names, then, depth + 1)?;
                if !otherwise.is_empty() {
                    writeln!(out, "{pad}}} else {{")?;
                    block(out, program, names, otherwise, depth + 1)?;
                }
                writeln!(out, "{pad}}}")?;
            }
            Stmt::EmitSpike => writeln!(out, "{pad}spike")?,
            Stmt::SetRefractory { duration } => {
                writeln!(
                    out,
                    "{pad}refractory for {}",
                    expr(&program.exprs, names, *duration)
                )?;
            }
            Stmt::CountDownRefractory => writeln!(out, "{pad}count down refractory")?,
            Stmt::StartRefractory => writeln!(out, "{pad}refractory until ended")?,
            Stmt::EndRefractory => writeln!(out, "{pad}end refractory")?,
        }
    }
    Ok(())
}

fn place_name(names: &Names<'_>, place: Place) -> String {
    let at = |list: &[String], i: u32| {
        list.get(i as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    };
    match place {
        Place::State(q) => at(names.states, q),
        Place::Current(c) => at(names.currents, c),
        Place::Syn(q) => at(names.syn_states, q),
        Place::PostState(q) => format!("post.{}", at(names.post_states, q)),
        Place::Sum(k) => format!("sum[{k}]"),
        Place::Weight => "w".into(),
    }
}
