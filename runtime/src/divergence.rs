//! A run that diverged: which value stopped being a finite number, where and
//! when, and the likely reason. Built by the compiler's divergence guard;
//! `Display` is the message a user reads.

use std::fmt;

/// Why a value most likely stopped being finite.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// A parameter of the population is NaN or infinite in this batch item.
    NonFiniteParam { param: String, value: f64 },
    /// A parameter the population's equations divide by is zero.
    ZeroDivisor { param: String },
    /// The population's equations contain `exp`, and the value is infinite.
    ExpOverflow,
    /// An explicit method (`euler`, `rk2`, `rk4`) steps the population's
    /// equations: it is unstable when dt is large against their fastest time
    /// constant.
    ExplicitMethod { method: String, dt_s: f64 },
}

/// Where the non-finite value was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The guard's scan of every state at a check step.
    StateCheck,
    /// A value about to be written to a trace recording.
    Recorded,
}

/// The first non-finite value the guard found.
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    pub population: String,
    /// The state variable (`V`, `m`, ...).
    pub variable: String,
    pub neuron: u32,
    pub batch: u32,
    /// The value found: NaN or ±inf.
    pub value: f64,
    /// The step at whose start the value was found (`steps` for the state at
    /// the end of the run).
    pub step: u64,
    pub dt_s: f64,
    /// The latest earlier step at which the guard saw every state finite.
    pub finite_at: Option<u64>,
    pub seen: Seen,
    /// Likely causes, most specific first; empty when none was found.
    pub causes: Vec<Cause>,
}

fn ms(steps: u64, dt_s: f64) -> String {
    let t = steps as f64 * dt_s * 1e3;
    format!("{}", (t * 1e6).round() / 1e6)
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NonFiniteParam { param, value } => {
                write!(f, "parameter {param} is {value}")
            }
            Cause::ZeroDivisor { param } => {
                write!(f, "parameter {param} is 0 and the equations divide by it")
            }
            Cause::ExpOverflow => f.write_str(
                "an exp() in the equations overflowed: check the parameters that scale its \
                 argument (e.g. a slope factor near 0)",
            ),
            Cause::ExplicitMethod { method, dt_s } => write!(
                f,
                "`integrate {method}` is an explicit method, unstable when dt = {} ms is large \
                 against the equations' fastest time constant: use a smaller dt or `integrate \
                 exp_euler`",
                (dt_s * 1e3 * 1e6).round() / 1e6
            ),
        }
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seen = match self.seen {
            Seen::StateCheck => "",
            Seen::Recorded => " in a recorded trace",
        };
        write!(
            f,
            "the run diverged at step {} (t = {} ms): {}.{} of neuron {} (batch item {}) is {}{seen}",
            self.step,
            ms(self.step, self.dt_s),
            self.population,
            self.variable,
            self.neuron,
            self.batch,
            self.value,
        )?;
        if let Some(ok) = self.finite_at {
            write!(f, " (every state was finite at step {ok})")?;
        }
        for (k, cause) in self.causes.iter().enumerate() {
            let lead = if k == 0 { "; likely cause: " } else { "; or " };
            write!(f, "{lead}{cause}")?;
        }
        f.write_str(". The recordings up to that step were kept.")
    }
}
