use super::*;

fn dim(name: &str) -> Dimension {
    lookup(name).unwrap().dim
}

#[test]
fn prefixes_and_ambiguity() {
    assert_eq!(lookup("m").unwrap().scale, 1.0);
    assert_eq!(dim("m"), Dimension::base(Base::Length));
    assert_eq!(lookup("mm").unwrap().scale, 1e-3);
    assert_eq!(dim("ms"), Dimension::base(Base::Time));
    assert!((lookup("mM").unwrap().scale - 1.0).abs() < 1e-12);
    assert_eq!(lookup("Mohm").unwrap().scale, 1e6);
    assert_eq!(lookup("kg").unwrap().scale, 1.0);
    assert_eq!(lookup("µV").unwrap().scale, 1e-6);
    assert!(!is_unit_name("min"));
    assert!(!is_unit_name("mms"));
    assert!(!is_unit_name("tau"));
}

#[test]
fn derived_units_agree() {
    // S*V = A, F/s = S, V/A = ohm.
    assert_eq!(dim("nS").mul(dim("mV")).unwrap(), dim("nA"));
    assert_eq!(dim("F").div(dim("s")).unwrap(), dim("S"));
    assert_eq!(dim("V").div(dim("A")).unwrap(), dim("ohm"));
    assert_eq!(dim("Hz").mul(dim("s")).unwrap(), Dimension::NONE);
}

#[test]
fn rational_powers_and_weight_var() {
    let area = dim("cm").powr(Rational::int(2)).unwrap();
    assert_eq!(area.powr(Rational::new(1, 2).unwrap()).unwrap(), dim("m"));
    let g = Dimension::weight_var().div(dim("s")).unwrap();
    assert!(g.has_weight_var());
    assert_eq!(
        g.substitute(dim("nS")).unwrap(),
        dim("S").div(dim("s")).unwrap()
    );
}

#[test]
fn readable_names() {
    assert_eq!(readable(&dim("mV")), "V");
    assert_eq!(readable(&dim("V").div(dim("s")).unwrap()), "V/s");
    assert_eq!(readable(&Dimension::NONE), "1");
    assert_eq!(UnitForm::written(dim("mV"), "mV/ms").to_string(), "mV/ms");
    assert_eq!(si_form(&dim("V")), "kg*m^2/(s^3*A)");
}

#[test]
fn names_are_all_units() {
    for n in unit_names() {
        assert!(is_unit_name(&n), "{n}");
        for (p, _) in prefixes() {
            assert!(is_unit_name(&format!("{p}{n}")), "{p}{n}");
        }
    }
}
