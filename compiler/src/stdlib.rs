//! The standard model library, embedded in the binary so that `import std.…`
//! works from any folder. The `.snn` sources live in the workspace's `stdlib/`.

/// Every stdlib module: (module name, display file name, source text).
pub const MODULES: &[(&str, &str, &str)] = &[
    (
        "neurons",
        "std/neurons.snn",
        include_str!("../../stdlib/neurons.snn"),
    ),
    (
        "synapses",
        "std/synapses.snn",
        include_str!("../../stdlib/synapses.snn"),
    ),
    (
        "outputs",
        "std/outputs.snn",
        include_str!("../../stdlib/outputs.snn"),
    ),
    (
        "sources",
        "std/sources.snn",
        include_str!("../../stdlib/sources.snn"),
    ),
];

/// The modules that `import std.<name>` names; `import std.{X}` searches all.
pub fn module(name: &str) -> Option<(&'static str, &'static str)> {
    MODULES
        .iter()
        .find(|(m, _, _)| *m == name)
        .map(|(_, file, text)| (*file, *text))
}

/// Whether the standard library defines a model `name` of kind `kind`
/// (`neuron`, `synapse`, `output`): the help for a model used but not
/// imported names the import that would bring it in.
#[must_use]
pub fn defines(kind: &str, name: &str) -> bool {
    MODULES.iter().any(|(_, _, text)| {
        text.lines().any(|line| {
            let mut words = line.split_whitespace();
            words.next() == Some(kind)
                && words
                    .next()
                    .is_some_and(|w| w.trim_end_matches('{') == name)
        })
    })
}
