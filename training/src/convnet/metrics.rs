//! Binary classification metrics of the validation set: cross-entropy, accuracy at p >= 0.5 and
//! the area under the ROC curve (Mann-Whitney statistic with tied scores counted half).

/// Mean cross-entropy (natural log) of probabilities `p` of the positive class.
pub fn cross_entropy(p: &[f32], labels: &[bool]) -> f64 {
    let n = p.len().max(1) as f64;
    p.iter()
        .zip(labels)
        .map(|(&q, &l)| {
            let q = (q as f64).clamp(1e-7, 1.0 - 1e-7);
            if l {
                -q.ln()
            } else {
                -(1.0 - q).ln()
            }
        })
        .sum::<f64>()
        / n
}

/// Share of examples whose thresholded probability (>= 0.5) matches the label.
pub fn accuracy(p: &[f32], labels: &[bool]) -> f64 {
    let hits = p
        .iter()
        .zip(labels)
        .filter(|(&q, &l)| (q >= 0.5) == l)
        .count();
    hits as f64 / p.len().max(1) as f64
}

/// Area under the ROC curve; 0.5 when a class is missing.
pub fn auc(p: &[f32], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    // average ranks over ties
    let mut ranks = vec![0.0f64; p.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    let npos = labels.iter().filter(|&&l| l).count() as f64;
    let nneg = labels.len() as f64 - npos;
    if npos == 0.0 || nneg == 0.0 {
        return 0.5;
    }
    let rsum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l)
        .map(|(r, _)| r)
        .sum();
    (rsum - npos * (npos + 1.0) / 2.0) / (npos * nneg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_inverted_scores() {
        let labels = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &labels), 1.0);
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &labels), 0.0);
        assert_eq!(auc(&[0.5, 0.5, 0.5, 0.5], &labels), 0.5);
        // one of four pairs misordered
        assert_eq!(auc(&[0.1, 0.85, 0.8, 0.9], &labels), 0.75);
    }

    #[test]
    fn accuracy_and_cross_entropy() {
        let labels = [true, false];
        assert_eq!(accuracy(&[0.7, 0.2], &labels), 1.0);
        assert_eq!(accuracy(&[0.4, 0.2], &labels), 0.5);
        let ce = cross_entropy(&[0.5, 0.5], &labels);
        assert!((ce - std::f64::consts::LN_2).abs() < 1e-12);
    }
}
