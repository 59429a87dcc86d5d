//! Facts about a module that lowering, the validator and every backend need,
//! computed in one place: which variables a set of expressions loads, which
//! states of the presynaptic neuron a projection's synapse code reads
//! (`pre.X`), and which post-neuron states its `on_pre` writes.

use std::collections::{BTreeSet, HashSet};

use super::{Expr, Handle, Module, Projection, Var};

/// Every variable the expression trees under `roots` load.
#[must_use]
pub fn loads(module: &Module, roots: &[Handle<Expr>]) -> HashSet<Var> {
    let mut seen = HashSet::new();
    let mut out = HashSet::new();
    let mut stack: Vec<Handle<Expr>> = roots.to_vec();
    while let Some(x) = stack.pop() {
        if !seen.insert(x) {
            continue;
        }
        match &module.exprs[x] {
            Expr::Load(v) => {
                out.insert(*v);
            }
            e => stack.extend(e.children()),
        }
    }
    out
}

/// The roots of a projection's synapse ODEs (right-hand sides and exact
/// updates).
fn ode_roots(j: &Projection) -> Vec<Handle<Expr>> {
    j.synapse
        .odes
        .iter()
        .flat_map(|o| [Some(o.rhs), o.update].into_iter().flatten())
        .collect()
}

/// Which presynaptic states a projection's synapse code reads, by site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreReads {
    /// Read by the synapse ODEs (per-synapse layout only: an align-post
    /// state has no one presynaptic neuron).
    pub in_odes: BTreeSet<u32>,
    /// Read by `on_pre` or `on_post` (event code).
    pub in_on_pre: BTreeSet<u32>,
}

impl PreReads {
    #[must_use]
    pub fn any(&self) -> bool {
        !self.in_odes.is_empty() || !self.in_on_pre.is_empty()
    }

    /// Every state read at either site.
    #[must_use]
    pub fn states(&self) -> BTreeSet<u32> {
        self.in_odes.union(&self.in_on_pre).copied().collect()
    }
}

fn pre_states(vars: &HashSet<Var>) -> BTreeSet<u32> {
    vars.iter()
        .filter_map(|v| match v {
            Var::PreState(q) => Some(*q),
            _ => None,
        })
        .collect()
}

/// The `pre.X` reads of projection `k`.
#[must_use]
pub fn pre_reads(module: &Module, k: usize) -> PreReads {
    let j = &module.projections[k];
    let on_pre: Vec<Handle<Expr>> = (j.synapse.on_pre.iter())
        .chain(&j.synapse.on_post)
        .map(|a| a.value)
        .collect();
    PreReads {
        in_odes: pre_states(&loads(module, &ode_roots(j))),
        in_on_pre: pre_states(&loads(module, &on_pre)),
    }
}

/// Whether any projection of the module reads a presynaptic state.
#[must_use]
pub fn any_pre_reads(module: &Module) -> bool {
    (0..module.projections.len()).any(|k| pre_reads(module, k).any())
}

/// The post-neuron states projection `k`'s `on_pre` writes.
#[must_use]
pub fn post_writes(module: &Module, k: usize) -> BTreeSet<u32> {
    module.projections[k]
        .synapse
        .on_pre
        .iter()
        .filter_map(|a| match a.target {
            Var::PostState(q) => Some(q),
            _ => None,
        })
        .collect()
}

/// A presynaptic state that synapse code reads while some projection's
/// `on_pre` writes it: within a step its value would depend on the order in
/// which events are delivered (which differs between backends and threads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreReadConflict {
    /// The projection that reads `pre.X`.
    pub reader: usize,
    /// The projection whose `on_pre` writes `post.X` of the same population.
    pub writer: usize,
    /// The population and its state `X`.
    pub population: u32,
    pub state: u32,
}

/// The first [`PreReadConflict`] of the module, if any.
#[must_use]
pub fn pre_read_conflict(module: &Module) -> Option<PreReadConflict> {
    for (reader, j) in module.projections.iter().enumerate() {
        let read = pre_reads(module, reader).states();
        for (writer, w) in module.projections.iter().enumerate() {
            if w.post != j.pre {
                continue;
            }
            if let Some(&state) = post_writes(module, writer).intersection(&read).next() {
                return Some(PreReadConflict {
                    reader,
                    writer,
                    population: j.pre,
                    state,
                });
            }
        }
    }
    None
}
