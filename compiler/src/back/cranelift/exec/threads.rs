//! How many worker threads a run gets.

use super::JitOptions;
use crate::ir::{Expr, Module};
use snnc_runtime::synapse_values::SynapseTable;

/// Automatic thread count: one thread per this many work units per step
/// (neuron updates weighted by [`neuron_cost`] + synapses/50). COBA's 4,000
/// LIF neurons and 320,000 synapses are 10,400: one thread. Their step lasts
/// ~5 µs, and on a 2-core VM two threads ranged from 1.8× faster to 2× slower
/// than one (a vCPU taken away for a moment stalls the per-step barrier);
/// COBAHH (4,000 × 29) and the seed network (10,000 × 2 + 20,000) run 1.8–2.2×
/// faster on two.
const AUTO_WORK_PER_THREAD: usize = 16_384;

/// Runnable threads on the machine right now besides this one (Linux), if
/// known. Instantaneous, unlike the load average, which still counts a
/// compiler that finished half a minute ago.
fn others_running() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let n: usize = stat
        .lines()
        .find_map(|l| l.strip_prefix("procs_running"))?
        .trim()
        .parse()
        .ok()?;
    Some(n.saturating_sub(1))
}

/// Rough cost of one neuron's update, in units of a plain LIF update: the
/// distinct IR nodes of its ODE updates, spike condition and injections, a
/// transcendental function or a draw counting as 20 (an HH neuron costs about
/// 30 LIF neurons, so 4,000 of them need both cores while COBA's 4,000 LIF
/// neurons do not).
fn neuron_cost(m: &Module, p: usize) -> usize {
    let pop = &m.populations[p];
    let mut roots: Vec<_> = pop
        .odes
        .iter()
        .map(|o| o.update.unwrap_or(o.rhs))
        .chain(pop.spike)
        .collect();
    roots.extend(
        m.injections
            .iter()
            .filter(|i| i.population as usize == p)
            .map(|i| i.value),
    );
    let mut seen = std::collections::HashSet::new();
    let mut cost = 0;
    while let Some(h) = roots.pop() {
        if !seen.insert(h.index()) {
            continue;
        }
        let e = &m.exprs[h];
        cost += match e {
            Expr::Const(_) | Expr::Load(_) => 0,
            Expr::Math(..) | Expr::Random { .. } => 20,
            _ => 1,
        };
        roots.extend(e.children());
    }
    (cost / 12).max(1)
}

/// Threads for a run: `opts.threads`, else `SNNC_THREADS`, else by the work
/// per step (neuron updates and expected synaptic events), at most the cores.
pub(super) fn thread_count(
    m: &Module,
    nb: usize,
    tables: &[SynapseTable],
    opts: &JitOptions,
) -> usize {
    let env = std::env::var("SNNC_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    let avail = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    opts.threads
        .or(env)
        .unwrap_or_else(|| {
            let neurons: usize = (0..m.populations.len())
                .map(|p| m.populations[p].size as usize * neuron_cost(m, p))
                .sum();
            let synapses: usize = tables.iter().map(|t| t.structure.len()).sum();
            // Work units per step: a neuron update ~ 1, a synapse ~ 1/50
            // (a few percent of the synapses see an event each step).
            let work = (neurons + synapses / 50) * nb;
            let by_work = avail.min((work / AUTO_WORK_PER_THREAD).max(1));
            // On an oversubscribed machine a per-step barrier waits for a
            // descheduled thread (measured: 2 threads twice as slow as 1 with
            // 4 busy threads on 2 cores): then one thread, unless steps are
            // long enough that a barrier's wait does not matter.
            let small_steps = work < 16 * AUTO_WORK_PER_THREAD;
            if small_steps && others_running().is_some_and(|n| n >= avail) {
                1
            } else {
                by_work
            }
        })
        .clamp(1, 64)
}
