//! "Did you mean …?" for unknown names: the closest candidate by edit distance.

/// Edit distance over characters, counting a swap of neighbours (`tua` for
/// `tau`) as one edit: the commonest typo.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a likely typo
/// (at most a third of the name's length, and at least one edit allowed).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let candidates: Vec<&str> = candidates.into_iter().filter(|c| *c != name).collect();
    let by_edits = candidates
        .iter()
        .map(|c| (distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c);
    // `tau_m` for `tau`, `tau` for `tau_m`: a name with a `_suffix` more or
    // less is a likely slip, however long the suffix.
    by_edits.or_else(|| {
        let suffixed = |long: &str, short: &str| {
            long.strip_prefix(short)
                .is_some_and(|rest| rest.starts_with('_'))
        };
        candidates
            .iter()
            .filter(|c| suffixed(name, c) || suffixed(c, name))
            .min_by_key(|c| (c.len().abs_diff(name.len()), **c))
            .copied()
    })
}

/// The unit name (with or without prefix) closest to `name`.
pub fn closest_unit(name: &str) -> Option<String> {
    use crate::front::units::{prefixes, unit_names};
    let units: Vec<String> = unit_names()
        .flat_map(|u| {
            let prefixed: Vec<String> = prefixes().map(|(p, _)| format!("{p}{u}")).collect();
            std::iter::once(u).chain(prefixed)
        })
        .collect();
    // Case slips (`mv`, `ns`) are the likeliest mistake with units: a name
    // equal but for case wins over one a single edit away (`m`).
    let lower = name.to_lowercase();
    units
        .iter()
        .filter(|u| u.to_lowercase() == lower)
        .min_by_key(|u| (distance(name, u), u.as_str()))
        .cloned()
        .or_else(|| closest(name, units.iter().map(String::as_str)).map(str::to_string))
        .or_else(|| {
            // A spelled-out unit (`msec`, `mvolt`): the longest unit that
            // starts it, same case first.
            let starts = |u: &&String, exact: bool| {
                u.chars().count() >= 2
                    && if exact {
                        name.starts_with(u.as_str())
                    } else {
                        lower.starts_with(&u.to_lowercase())
                    }
            };
            units
                .iter()
                .filter(|u| starts(u, true))
                .max_by_key(|u| u.len())
                .or_else(|| {
                    units
                        .iter()
                        .filter(|u| starts(u, false))
                        .max_by_key(|u| u.len())
                })
                .cloned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_suffix_more_or_less_is_suggested() {
        assert_eq!(closest("tau_m", ["tau", "V_rest", "R"]), Some("tau"));
        assert_eq!(closest("tau", ["tau_m", "V"]), Some("tau_m"));
        assert_eq!(closest("taum", ["tau_m_long", "V"]), None);
    }

    #[test]
    fn finds_near_misses_only() {
        assert_eq!(closest("tua", ["tau", "V"]), Some("tau"));
        assert_eq!(distance("tua", "tau"), 1);
        assert_eq!(closest("V_rst", ["V_rest", "V_th"]), Some("V_rest"));
        assert_eq!(closest("xyz", ["tau", "V"]), None);
        assert_eq!(closest_unit("mv").as_deref(), Some("mV"));
        assert_eq!(closest_unit("msec").as_deref(), Some("ms"));
    }
}
