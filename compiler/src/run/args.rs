//! Run arguments written as text, shared by the command line and the Python
//! binding: quantities with units (`20ms`, `1 s`), durations, and sweeps
//! checked against the swept param's declared unit.

use crate::front::ast::{self, Member, NetItem};
use crate::front::check::Ty;
use crate::front::units::{lookup, readable, Base, Dimension};
use crate::pipeline::Compiled;

use super::Sweep;

/// `12ms`, `1 s`, `0.5s`, `20` (with `default_unit`): an SI value and its dimension.
pub fn parse_quantity(text: &str) -> Result<(f64, Dimension), String> {
    let t = text.trim();
    let split = t
        .char_indices()
        .find(|&(i, c)| {
            c.is_alphabetic() && !((c == 'e' || c == 'E') && exponent_follows(t, i)) || c == 'µ'
        })
        .map_or(t.len(), |(i, _)| i);
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number with a unit (e.g. `20ms`)"))?;
    let unit = unit.trim();
    if unit.is_empty() {
        return Ok((value, Dimension::NONE));
    }
    // A unit here is a name with an optional `/name` (`mV/ms`, `Hz`).
    let mut scale = 1.0;
    let mut dim = Dimension::NONE;
    for (k, part) in unit.split('/').enumerate() {
        let u = lookup(part.trim()).ok_or_else(|| format!("`{part}` is not a unit"))?;
        if k == 0 {
            scale *= u.scale;
            dim = dim.mul(u.dim).map_err(|_| "unit too large".to_string())?;
        } else {
            scale /= u.scale;
            dim = dim.div(u.dim).map_err(|_| "unit too large".to_string())?;
        }
    }
    Ok((value * scale, dim))
}

fn exponent_follows(t: &str, i: usize) -> bool {
    let rest = &t[i + 1..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    rest.starts_with(|c: char| c.is_ascii_digit()) && t[..i].ends_with(|c: char| c.is_ascii_digit())
}

fn time() -> Dimension {
    Dimension::base(Base::Time)
}

/// `--duration`: a time.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let (v, d) = parse_quantity(text)?;
    check_time(&format!("--duration {text}"), v, d)
}

/// A time written as text; `label` (`duration="5 mV"`) starts every message.
pub fn parse_time(label: &str, text: &str) -> Result<f64, String> {
    let (v, d) = parse_quantity(text).map_err(|e| format!("{label}: {e}"))?;
    check_time(label, v, d)
}

fn check_time(label: &str, value: f64, d: Dimension) -> Result<f64, String> {
    if d != time() {
        return Err(format!(
            "{label}: expected a time such as `1s` or `200ms`, found {}",
            if d.is_dimensionless() {
                "a number without a unit".to_string()
            } else {
                readable(&d)
            }
        ));
    }
    Ok(value)
}

/// `--sweep E.tau=10ms:30ms`, checked against the param's declared unit.
pub fn parse_sweep(text: &str, compiled: &Compiled) -> Result<Sweep, String> {
    let (target, range) = text.split_once('=').ok_or_else(|| {
        format!("--sweep {text}: expected POP.PARAM=FROM:TO, e.g. E.tau=10ms:30ms")
    })?;
    let (pop, param) = target
        .split_once('.')
        .ok_or_else(|| format!("--sweep {text}: expected POP.PARAM before `=`"))?;
    // `A:B` (evenly spaced over the batch) or `A,B,C` (one per batch item).
    let parts: Vec<&str> = if range.contains(',') {
        range.split(',').collect()
    } else {
        let (from, to) = range
            .split_once(':')
            .ok_or_else(|| format!("--sweep {text}: expected FROM:TO or a list A,B,C after `=`"))?;
        vec![from, to]
    };
    let mut values = Vec::new();
    let mut d1 = None;
    for part in &parts {
        let (v, d) = parse_quantity(part).map_err(|e| format!("--sweep {text}: {e}"))?;
        if d1.is_some_and(|d1| d1 != d) {
            return Err(format!("--sweep {text}: the values have different units"));
        }
        d1 = Some(d);
        values.push(v);
    }
    let d1 = d1.unwrap_or(Dimension::NONE);
    let (from, to) = (values[0], values[values.len() - 1]);
    let values = if range.contains(',') {
        values
    } else {
        Vec::new()
    };
    if let Some(dim) = declared_dimension(compiled, pop, param) {
        if dim != d1 {
            return Err(format!(
                "--sweep {text}: `{param}` of `{pop}` is {}, the bounds are {}",
                readable(&dim),
                dimension_words(d1)
            ));
        }
    }
    Ok(Sweep {
        population: pop.to_string(),
        param: param.to_string(),
        from,
        to,
        values,
    })
}

/// `a time`-style words for a dimension, "plain numbers" for none.
fn dimension_words(d: Dimension) -> String {
    if d.is_dimensionless() {
        "plain numbers".to_string()
    } else {
        readable(&d)
    }
}

/// The declared unit of param `param` of population `pop`, from the
/// population's model (`None` when there is no such param).
#[must_use]
pub fn declared_dimension(compiled: &Compiled, pop: &str, param: &str) -> Option<Dimension> {
    let root = compiled.checked.root();
    let model = root.ast.items.iter().find_map(|i| match i {
        ast::Item::Network(n) => n.items.iter().find_map(|it| match it {
            NetItem::Population(p) if p.name.name == pop => root.scope.get(&p.model.name),
            _ => None,
        }),
        _ => None,
    })?;
    let unit = model.members.iter().find_map(|m| match m {
        Member::Param(p) if p.name.name == param => Some(&p.unit),
        _ => None,
    })?;
    match crate::front::check::unit_ty(unit, &mut Vec::new()) {
        Ty::Num { dim, .. } => Some(dim),
        _ => None,
    }
}

/// A value for param `POP.PARAM` written as text (`"15 ms"`): its SI value,
/// or why it does not fit the param's declared unit `declared`.
pub fn parse_param_value(
    target: &str,
    text: &str,
    declared: Option<Dimension>,
) -> Result<f64, String> {
    let (value, dim) = parse_quantity(text).map_err(|e| format!("{target}: {e}"))?;
    match declared {
        Some(d) if d != dim => Err(format!(
            "{target}: expected {}, found `{text}` ({})",
            if d.is_dimensionless() {
                "a plain number".to_string()
            } else {
                format!("a value in {}", readable(&d))
            },
            if dim.is_dimensionless() {
                "a plain number".to_string()
            } else {
                format!("in {}", readable(&dim))
            }
        )),
        _ => Ok(value),
    }
}
