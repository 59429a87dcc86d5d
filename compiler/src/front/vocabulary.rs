//! The words of the language, in one place: the parser uses them, the editor
//! grammar in `spec/` is tested against them so that the two cannot drift.

/// Reserved words: never usable as names.
pub const KEYWORDS: &[&str] = &[
    "import",
    "neuron",
    "synapse",
    "output",
    "network",
    "param",
    "state",
    "current",
    "let",
    "spike",
    "when",
    "reset",
    "refractory",
    "on_pre",
    "on_post",
    "integrate",
    "population",
    "projection",
    "connect",
    "stimulus",
    "record",
    "if",
    "else",
    "and",
    "or",
    "not",
    "true",
    "false",
];

/// Words with a meaning only in one position, usable as names elsewhere
/// (a param may be called `delay` or `input`).
pub const CONTEXTUAL_KEYWORDS: &[&str] = &[
    "weight", "delay", "from", "input", "spikes", "of", "every", "while",
];

/// Network settings: `dt = 0.1 ms`.
pub const SETTINGS: &[&str] = &["dt", "duration", "seed"];

/// Names every model body can read without declaring them.
/// `t` and `dt` are time; `w` is the projection's weight (synapses);
/// `g` is the synapse's state read by outputs; `post`/`pre` prefix the
/// neurons on either side of a synapse.
pub const BUILTIN_NAMES: &[&str] = &["t", "dt", "w", "post", "pre"];

/// Mathematical functions usable in any expression.
pub const MATH_FUNCTIONS: &[&str] = &[
    "exp", "expm1", "exprel", "log", "log10", "sqrt", "abs", "min", "max", "clip", "sin", "cos",
    "tan", "tanh", "pow", "floor", "ceil", "sign",
];

/// Random draws: per neuron in initial values, per synapse in weights and
/// delays, per neuron and step inside model bodies and injections.
pub const RANDOM_FUNCTIONS: &[&str] = &["rand", "randn", "uniform", "normal", "lognormal"];

/// Connection rules usable after `connect`.
pub const CONNECT_RULES: &[&str] = &[
    "fixed_prob",
    "all_to_all",
    "one_to_one",
    "fixed_in_degree",
    "fixed_out_degree",
    "fixed_total_number",
    "from_file",
];

/// Integration methods usable after `integrate`.
pub const INTEGRATION_METHODS: &[&str] = &["exact", "exp_euler", "euler", "rk2", "rk4"];

/// Keywords that start a top-level item.
pub const ITEM_KEYWORDS: &[&str] = &["import", "neuron", "synapse", "output", "network"];

/// Keywords that start a network item.
pub const NET_ITEM_KEYWORDS: &[&str] = &["population", "projection", "stimulus", "record"];

/// Keywords that start a model member.
pub const MEMBER_KEYWORDS: &[&str] = &[
    "param",
    "state",
    "current",
    "let",
    "spike",
    "reset",
    "refractory",
    "on_pre",
    "on_post",
    "integrate",
];

/// Whether `word` only ever starts a line (an item, a member or a clause).
/// Met after a line break inside `(…)` or `[…]`, such a word means a bracket
/// was left open: the lexer and the parser both recover there.
pub fn is_line_start_keyword(word: &str) -> bool {
    ITEM_KEYWORDS.contains(&word)
        || NET_ITEM_KEYWORDS.contains(&word)
        || MEMBER_KEYWORDS.contains(&word)
        || word == "connect"
}
