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
