//! The spread of every per-case parameter a generator drew (cohort.json `details`): for each
//! numeric leaf its minimum, median and maximum over the cases; for each text or boolean leaf
//! how often each value occurs. `cohort-stats` prints it so a cohort's variety is visible at a
//! glance (framings, phases, scanners, bodies, findings).

use crate::cohort::CohortManifest;
use serde::Serialize;
use std::collections::BTreeMap;

/// The spread of one parameter (a path of keys into `details`, joined by dots).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Spread {
    Numeric {
        parameter: String,
        cases: usize,
        min: f64,
        median: f64,
        max: f64,
    },
    Counts {
        parameter: String,
        counts: BTreeMap<String, usize>,
    },
}

fn walk(
    prefix: &str,
    v: &serde_json::Value,
    num: &mut BTreeMap<String, Vec<f64>>,
    cat: &mut BTreeMap<String, BTreeMap<String, usize>>,
) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&p, x, num, cat);
            }
        }
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                num.entry(prefix.to_string()).or_default().push(f);
            }
        }
        Value::String(s) => {
            *cat.entry(prefix.to_string())
                .or_default()
                .entry(s.clone())
                .or_default() += 1
        }
        Value::Bool(b) => {
            *cat.entry(prefix.to_string())
                .or_default()
                .entry(b.to_string())
                .or_default() += 1
        }
        Value::Null => {
            *cat.entry(prefix.to_string())
                .or_default()
                .entry("none".into())
                .or_default() += 1
        }
        // arrays (ranges, coordinates) are described by their elements' spread
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(&format!("{prefix}[{i}]"), x, num, cat);
            }
        }
    }
}

/// The spread of every parameter recorded in the cases' details.
pub fn parameter_spread(m: &CohortManifest) -> Vec<Spread> {
    let (mut num, mut cat) = (BTreeMap::new(), BTreeMap::new());
    for c in &m.cases {
        walk("", &c.details, &mut num, &mut cat);
    }
    let mut out: Vec<Spread> = num
        .into_iter()
        .map(|(parameter, mut v)| {
            v.sort_by(f64::total_cmp);
            Spread::Numeric {
                parameter,
                cases: v.len(),
                min: v[0],
                median: v[v.len() / 2],
                max: v[v.len() - 1],
            }
        })
        .collect();
    out.extend(
        cat.into_iter()
            .map(|(parameter, counts)| Spread::Counts { parameter, counts }),
    );
    out
}

/// One line per parameter.
pub fn to_text(spread: &[Spread]) -> String {
    let mut s = String::new();
    for p in spread {
        match p {
            Spread::Numeric { parameter, cases, min, median, max } => {
                s += &format!("{parameter}: {min:.3} .. {median:.3} .. {max:.3} (min, median, max over {cases})\n")
            }
            Spread::Counts { parameter, counts } => {
                let c: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
                s += &format!("{parameter}: {}\n", c.join(", "));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::CaseRecord;

    #[test]
    fn numbers_get_ranges_and_words_get_counts() {
        let case = |phase: &str, noise: f64| CaseRecord {
            id: "case_001".into(),
            dims: [1, 1, 1],
            spacing: [1.0; 3],
            pancreas_volume_ml: 1.0,
            seed: None,
            source: None,
            details: serde_json::json!({"phase": phase, "scanner": {"noise": noise, "arms": true}}),
        };
        let m = CohortManifest {
            source: "phantom".into(),
            parameters: serde_json::Value::Null,
            cases: vec![
                case("arterial", 3.0),
                case("delayed", 1.0),
                case("arterial", 2.0),
            ],
        };
        let s = parameter_spread(&m);
        assert!(s.contains(&Spread::Numeric {
            parameter: "scanner.noise".into(),
            cases: 3,
            min: 1.0,
            median: 2.0,
            max: 3.0
        }));
        let text = to_text(&s);
        assert!(text.contains("phase: arterial 2, delayed 1"), "{text}");
        assert!(text.contains("scanner.arms: true 3"), "{text}");
    }
}
