//! Go to definition: models (into the stdlib copy too), their members, and
//! the populations and stimuli of a network.

use super::analysis::{self, members, PopDecl, Symbol};
use super::{Analysis, Places};
use lsp_types::Location;

/// Where the name at byte `offset` of the root file is declared.
pub fn definition(a: &Analysis, places: &Places, offset: usize) -> Option<Location> {
    let occ = analysis::at(&a.occurrences, offset)?;
    let root = a.out.root();
    let span = match &occ.symbol {
        Symbol::Model(key) => {
            analysis::resolve_model(key, &root.ast, &root.scope)?
                .name
                .span
        }
        Symbol::Member { model, name } => {
            let m = analysis::resolve_model(model, &root.ast, &root.scope)?;
            members(m).iter().find(|i| i.name.name == *name)?.name.span
        }
        Symbol::Population { network, name } => {
            let n = analysis::network(&root.ast, *network)?;
            match analysis::find_population(n, name)? {
                PopDecl::Population(p) => p.name.span,
                PopDecl::SpikeTrain(s) => s.name.span,
            }
        }
        Symbol::Stimulus { network, name } => {
            let n = analysis::network(&root.ast, *network)?;
            analysis::find_stimulus(n, name)?.name.span
        }
        Symbol::Unit(_) | Symbol::Builtin(_) | Symbol::Setting(_) => return None,
    };
    places.location(a, span)
}
