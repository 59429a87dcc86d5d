//! Why lowering refused a checked network: one variant per kind of
//! refusal, carrying the values involved; the message is written once, in
//! `Display`, and [`LowerError::into_diagnostic`] makes the one diagnostic.

use std::fmt;

use super::expr::{MAX_IR_DEPTH, MAX_IR_TREE};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Something lowering cannot turn into IR, at a place in the source. Codes:
/// E0401 (not compilable by this version), E0403 (too deep once `let`s are
/// expanded) or E0404 (a constant delay no synapse table can hold).
#[derive(Debug, Clone, PartialEq)]
pub enum LowerError {
    /// Input the checker refuses, met by lowering anyway (a checker gap).
    NotChecked {
        span: Span,
        what: Unchecked,
    },
    /// A value that must fold to a number (`what`: "a setting", …).
    NotConstant {
        span: Span,
        what: &'static str,
    },
    /// A weight or delay (`what`) that is no constant or supported draw.
    NotADistribution {
        span: Span,
        what: &'static str,
    },
    ClipBoundsReversed {
        span: Span,
        low: f64,
        high: f64,
    },
    SeedNotInteger {
        span: Span,
    },
    DtNotPositive {
        span: Span,
    },
    /// A synapse reading `pre.{state}` of `population` that the `on_pre` of
    /// projection `writer` writes.
    PreReadConflict {
        span: Span,
        state: String,
        population: String,
        writer: String,
    },
    PopulationSize {
        span: Span,
        found: f64,
    },
    /// A param of `model` with no default and no value at the instance.
    NoDefault {
        span: Span,
        model: String,
        param: String,
    },
    /// A connect rule (`rule`) without its argument (`what`).
    MissingRuleArgument {
        span: Span,
        rule: String,
        what: &'static str,
    },
    /// A count argument (`what`) of a connect rule outside 0..=max.
    CountOutOfRange {
        span: Span,
        what: &'static str,
        max: u32,
        found: f64,
    },
    ProbabilityOutOfRange {
        span: Span,
        found: f64,
    },
    OneToOneSizes {
        span: Span,
        pre: u32,
        post: u32,
    },
    /// An output param with no default and no value at the projection.
    OutputParamUnset {
        span: Span,
        param: String,
    },
    OutputParamNotConstant {
        span: Span,
    },
    /// A current that `population` (`None`: the post population) lacks.
    NoCurrent {
        span: Span,
        population: Option<String>,
        current: String,
    },
    /// An injection reading a stimulus declared for another population.
    StimulusOfAnotherPopulation {
        span: Span,
        stimulus: String,
        population: String,
    },
    /// A recorded range `population[lo:hi]` outside 0 ≤ lo < hi ≤ size.
    NeuronRange {
        span: Span,
        population: String,
        lo: f64,
        hi: f64,
        size: u32,
    },
    EveryNotWholeSteps {
        span: Span,
        dt: f64,
    },
    /// A recorded name that is not a state of `population`.
    NotRecordable {
        span: Span,
        name: String,
        population: String,
    },
    /// A name (or `post.X` / `pre.X`) with no value where it is read.
    CannotRead {
        span: Span,
        name: String,
    },
    /// A `let` that reads itself, directly or through other `let`s.
    SelfReference {
        span: Span,
        name: String,
    },
    /// A block whose statements read and assign variables crosswise.
    Crosswise {
        span: Span,
    },
    /// E0404: a constant delay (seconds) that rounds to a negative number of
    /// steps of `dt` or to more than a synapse table holds (the run's rule,
    /// [`steps_of_delay`](snnc_runtime::synapse_values::steps_of_delay), known before the run).
    DelaySteps {
        span: Span,
        delay: f64,
        dt: f64,
    },
    /// E0404: a drawn delay that reaches dt / 2 with probability `reach`
    /// below 1e-6.
    DelayNeverOneStep {
        span: Span,
        dt: f64,
        reach: f64,
    },
    /// E0403: an expression deeper than [`MAX_IR_DEPTH`] once the
    /// `let`s it reads are expanded into it.
    TooDeep {
        span: Span,
    },
    /// E0403: an expression that stands for more than [`MAX_IR_TREE`]
    /// operations once the `let`s it reads are written out.
    TooLarge {
        span: Span,
    },
}

/// What lowering met that the checker should have refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unchecked {
    ExpressionWithError,
    StatementWithError,
    ClauseWithError,
    StringValue,
    UnknownModel,
    UnknownPopulation(String),
    UnknownUnit(String),
    UnknownFunction(String),
    UnknownSetting(String),
    UnknownConnectRule(String),
    /// A projection without a clause (its form: "connect rule(…)", …).
    MissingClause(&'static str),
    /// A call of `function` with `found` arguments instead of `expected`.
    Arity {
        function: String,
        expected: usize,
        found: usize,
    },
    /// A path other than `name`, `post.X` or `pre.X`.
    UnreadablePath,
    NotAState(String),
    NotAPostState(String),
    ResetTarget,
    EventTarget,
    OutputTarget,
    OutputOperator,
    OutputAddsNothing,
    InjectionTarget,
    AutapsesNotBool,
    FromFileWithoutPath,
}

impl LowerError {
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            LowerError::TooDeep { .. } | LowerError::TooLarge { .. } => "E0403",
            LowerError::DelaySteps { .. } | LowerError::DelayNeverOneStep { .. } => "E0404",
            _ => "E0401",
        }
    }

    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            LowerError::NotChecked { span, .. }
            | LowerError::NotConstant { span, .. }
            | LowerError::NotADistribution { span, .. }
            | LowerError::ClipBoundsReversed { span, .. }
            | LowerError::SeedNotInteger { span }
            | LowerError::DtNotPositive { span }
            | LowerError::PreReadConflict { span, .. }
            | LowerError::PopulationSize { span, .. }
            | LowerError::NoDefault { span, .. }
            | LowerError::MissingRuleArgument { span, .. }
            | LowerError::CountOutOfRange { span, .. }
            | LowerError::ProbabilityOutOfRange { span, .. }
            | LowerError::OneToOneSizes { span, .. }
            | LowerError::OutputParamUnset { span, .. }
            | LowerError::OutputParamNotConstant { span }
            | LowerError::NoCurrent { span, .. }
            | LowerError::StimulusOfAnotherPopulation { span, .. }
            | LowerError::NeuronRange { span, .. }
            | LowerError::EveryNotWholeSteps { span, .. }
            | LowerError::NotRecordable { span, .. }
            | LowerError::CannotRead { span, .. }
            | LowerError::SelfReference { span, .. }
            | LowerError::Crosswise { span }
            | LowerError::DelaySteps { span, .. }
            | LowerError::DelayNeverOneStep { span, .. }
            | LowerError::TooDeep { span }
            | LowerError::TooLarge { span } => *span,
        }
    }

    #[must_use]
    pub fn into_diagnostic(self) -> Diagnostic {
        let label = match self.code() {
            "E0404" => "this delay",
            _ => "cannot be compiled",
        };
        Diagnostic::error(self.code(), self.to_string()).with_primary(self.span(), label)
    }
}

/// Expression lowering recurses once per operation: it carries its error
/// boxed, so that each of its frames stays small (deep_input.rs).
impl From<Box<LowerError>> for LowerError {
    fn from(boxed: Box<LowerError>) -> Self {
        *boxed
    }
}

impl fmt::Display for Unchecked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unchecked::ExpressionWithError => f.write_str("expression with an error"),
            Unchecked::StatementWithError => f.write_str("statement with an error"),
            Unchecked::ClauseWithError => f.write_str("clause with an error"),
            Unchecked::StringValue => f.write_str("a string is not a value here"),
            Unchecked::UnknownModel => f.write_str("unknown model"),
            Unchecked::UnknownPopulation(name) => write!(f, "unknown population `{name}`"),
            Unchecked::UnknownUnit(name) => write!(f, "unknown unit `{name}`"),
            Unchecked::UnknownFunction(name) => write!(f, "unknown function `{name}`"),
            Unchecked::UnknownSetting(name) => write!(f, "unknown setting `{name}`"),
            Unchecked::UnknownConnectRule(name) => write!(f, "unknown connect rule `{name}`"),
            Unchecked::MissingClause(form) => write!(f, "a projection needs `{form}`"),
            Unchecked::Arity {
                function,
                expected,
                found,
            } => write!(
                f,
                "`{function}` takes {expected} argument(s), found {found}"
            ),
            Unchecked::UnreadablePath => f.write_str("this path cannot be read here"),
            Unchecked::NotAState(name) => write!(f, "`{name}` is not a state"),
            Unchecked::NotAPostState(name) => write!(f, "`post.{name}` is not a state"),
            Unchecked::ResetTarget => f.write_str("a reset assigns a state of the neuron"),
            Unchecked::EventTarget => f.write_str(
                "on_pre assigns a synapse state, `w` or `post.X`; on_post a synapse state or `w`",
            ),
            Unchecked::OutputTarget => {
                f.write_str("an output adds to a current of the post neuron")
            }
            Unchecked::OutputOperator => f.write_str("an output uses `+=` or `-=`"),
            Unchecked::OutputAddsNothing => f.write_str("this output model adds to no current"),
            Unchecked::InjectionTarget => {
                f.write_str("an injection target is `population.current`")
            }
            Unchecked::AutapsesNotBool => f.write_str("`autapses` is `true` or `false`"),
            Unchecked::FromFileWithoutPath => f.write_str("`from_file` takes a path in quotes"),
        }
    }
}

impl fmt::Display for LowerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LowerError::NotChecked { what, .. } => write!(f, "{what}"),
            LowerError::NotConstant { what, .. } => write!(f, "{what} must be a constant"),
            LowerError::NotADistribution { what, .. } => write!(
                f,
                "a {what} is a constant, `uniform(…)`, `normal(…)`, `lognormal(…)`, \
                 or `clip(…, lo, hi)` of one of these"
            ),
            LowerError::ClipBoundsReversed { low, high, .. } => write!(
                f,
                "`clip(…, lo, hi)` needs lo ≤ hi, found lo = {low} and hi = {high} (SI units)"
            ),
            LowerError::SeedNotInteger { .. } => f.write_str("the seed is a non-negative integer"),
            LowerError::DtNotPositive { .. } => f.write_str("dt must be positive"),
            LowerError::PreReadConflict {
                state,
                population,
                writer,
                ..
            } => write!(
                f,
                "this projection's synapse reads `pre.{state}` of {population}, which the on_pre of projection {writer} writes (`post.{state}`): within a step the value read would depend on the order events are delivered in; read a state no on_pre writes"
            ),
            LowerError::PopulationSize { found, .. } => {
                write!(f, "a population size is a positive integer, found {found}")
            }
            LowerError::NoDefault { model, param, .. } => write!(
                f,
                "`{model}` has no default for param `{param}`: set it here (`{param} = …`)"
            ),
            LowerError::MissingRuleArgument { rule, what, .. } => {
                write!(f, "`{rule}` needs {what}")
            }
            LowerError::CountOutOfRange {
                what, max, found, ..
            } => write!(f, "{what} must be an integer from 0 to {max}, found {found}"),
            LowerError::ProbabilityOutOfRange { found, .. } => {
                write!(f, "a probability is in [0, 1], found {found}")
            }
            LowerError::OneToOneSizes { pre, post, .. } => write!(
                f,
                "`one_to_one` needs populations of one size, found {pre} and {post}"
            ),
            LowerError::OutputParamUnset { param, .. } => write!(f, "set `{param}` here"),
            LowerError::OutputParamNotConstant { .. } => {
                f.write_str("an output's param is a constant")
            }
            LowerError::NoCurrent {
                population: Some(population),
                current,
                ..
            } => write!(f, "`{population}` has no current `{current}`"),
            LowerError::NoCurrent {
                population: None,
                current,
                ..
            } => write!(f, "the post population has no current `{current}`"),
            LowerError::StimulusOfAnotherPopulation {
                stimulus,
                population,
                ..
            } => write!(
                f,
                "stimulus `{stimulus}` is declared for another population than `{population}`"
            ),
            LowerError::NeuronRange {
                population,
                lo,
                hi,
                size,
                ..
            } => write!(
                f,
                "`{population}[{lo}:{hi}]` is not a range of neurons 0 ≤ a < b ≤ {size}"
            ),
            LowerError::EveryNotWholeSteps { dt, .. } => {
                write!(f, "`every` must be a whole number of steps of dt = {dt} s")
            }
            LowerError::NotRecordable {
                name, population, ..
            } => write!(
                f,
                "`{name}` is not a state of `{population}`: only states can be recorded"
            ),
            LowerError::CannotRead { name, .. } => write!(f, "`{name}` cannot be read here"),
            LowerError::SelfReference { name, .. } => {
                write!(f, "`{name}` is defined in terms of itself")
            }
            LowerError::Crosswise { .. } => f.write_str(
                "this block reads and assigns variables crosswise (each one's new value needs \
                 another's old one); assign through a `let` or reorder the statements",
            ),
            LowerError::DelaySteps { delay, dt, .. } => write!(
                f,
                "a delay of {delay} s is {} steps of dt = {dt} s, not in 0..={}",
                (delay / dt).round(),
                u16::MAX
            ),
            LowerError::DelayNeverOneStep { dt, reach, .. } => {
                let chance = if *reach > 0.0 {
                    format!("with probability {reach:.1e}")
                } else {
                    "never".to_string()
                };
                write!(
                    f,
                    "a drawn delay is redrawn until it is at least dt / 2 = {} s (one step), and this \
                     distribution gets there {chance}: put its mass above dt, or write \
                     `clip(…, lo, hi)` to clip instead of redrawing",
                    dt / 2.0
                )
            }
            LowerError::TooDeep { .. } => write!(
                f,
                "this expression is more than {} operations deep once its `let`s are expanded",
                MAX_IR_DEPTH
            ),
            LowerError::TooLarge { .. } => write!(
                f,
                "this expression stands for more than {} operations once its `let`s are written out",
                MAX_IR_TREE
            ),
        }
    }
}
