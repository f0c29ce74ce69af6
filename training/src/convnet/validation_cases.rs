//! Which whole cases a ConvNet holds out for validation (early stopping, the AUC it reports).
//!
//! A fixed share of the cases, taken in a seeded random order, stratified by whether a case holds
//! pancreas: cohorts with scans that hold none (chest-only and pelvis-only framings, negatives
//! for the cascade and the networks) would otherwise leave some validations without a single
//! positive example, and their AUC undefined. On a cohort where every case holds pancreas the
//! choice is the earlier unstratified one: the lowest-ranked share of the order.

/// `rank[i]`: case `i`'s position in the seeded order (a permutation of `0..n`);
/// `has_pancreas[i]`: whether its label holds pancreas. Returns whether each case validates:
/// `round(n_pos * fraction)` (at least 1, and 1 short of all) of the cases with pancreas and
/// `round(n_neg * fraction)` (short of all) of those without, each the lowest-ranked. With a
/// single case holding pancreas, that case trains and one other case validates.
pub fn validation_cases(rank: &[usize], has_pancreas: &[bool], fraction: f64) -> Vec<bool> {
    let n = rank.len();
    let share = |m: usize, least: usize| -> usize {
        if m <= least {
            return 0;
        }
        ((m as f64 * fraction).round() as usize).clamp(least, m - 1)
    };
    let n_pos = has_pancreas.iter().filter(|&&p| p).count();
    let single = n_pos == n || n_pos == 0;
    let (val_pos, val_neg) = if single {
        // one stratum: the unstratified split (at least one case on each side)
        (share(n, 1), 0)
    } else {
        let pos = share(n_pos, 1);
        let neg = share(n - n_pos, 0);
        (pos, if pos == 0 && neg == 0 { 1 } else { neg })
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| rank[i]);
    let mut is_val = vec![false; n];
    let (mut taken_pos, mut taken_neg) = (0, 0);
    for i in order {
        if single || has_pancreas[i] {
            if taken_pos < val_pos {
                is_val[i] = true;
                taken_pos += 1;
            }
        } else if taken_neg < val_neg {
            is_val[i] = true;
            taken_neg += 1;
        }
    }
    is_val
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unstratified rule: the lowest-ranked `round(n * fraction)` cases, 1 to n - 1.
    fn unstratified(rank: &[usize], fraction: f64) -> Vec<bool> {
        let n = rank.len();
        let k = ((n as f64 * fraction).round() as usize).clamp(1, n - 1);
        rank.iter().map(|&r| r < k).collect()
    }

    #[test]
    fn all_with_pancreas_keeps_the_unstratified_split() {
        for n in 2..40 {
            let rank: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % n).collect();
            let mut sorted = rank.clone();
            sorted.sort_unstable();
            if sorted != (0..n).collect::<Vec<_>>() {
                continue; // not a permutation for this n
            }
            assert_eq!(
                validation_cases(&rank, &vec![true; n], 0.2),
                unstratified(&rank, 0.2),
                "n = {n}"
            );
        }
    }

    #[test]
    fn both_strata_validate_in_proportion() {
        // 10 with pancreas, 5 without; the negatives rank lowest
        let rank: Vec<usize> = (0..15).map(|i| (i + 5) % 15).collect();
        let has: Vec<bool> = (0..15).map(|i| i < 10).collect();
        let v = validation_cases(&rank, &has, 0.2);
        let pos = (0..15).filter(|&i| v[i] && has[i]).count();
        let neg = (0..15).filter(|&i| v[i] && !has[i]).count();
        assert_eq!((pos, neg), (2, 1));
        // the lowest-ranked of each stratum
        assert!(v[0] && v[1] && v[10]);
    }

    #[test]
    fn a_few_negatives_never_take_every_validation_slot() {
        // the unstratified rule would hold out only the two negatives (ranks 0 and 1)
        let rank = vec![2, 3, 4, 5, 6, 7, 8, 9, 0, 1];
        let has = vec![true, true, true, true, true, true, true, true, false, false];
        let v = validation_cases(&rank, &has, 0.2);
        assert!(
            v[0] && v[1],
            "the two lowest-ranked cases with pancreas validate"
        );
        assert_eq!(v.iter().filter(|&&x| x).count(), 2);
        assert!(!v[8] && !v[9], "round(2 x 0.2) = 0 negatives validate");
        // a lone negative stays in training
        let v = validation_cases(&[0, 1, 2], &[false, true, true], 0.2);
        assert_eq!(v, vec![false, true, false]);
    }

    #[test]
    fn training_always_keeps_a_case() {
        let v = validation_cases(&[1, 0], &[true, false], 0.5);
        assert!(v.iter().any(|&x| !x) && v.iter().any(|&x| x));
        let v = validation_cases(&[1, 0], &[true, true], 0.9);
        assert_eq!(v.iter().filter(|&&x| x).count(), 1);
    }
}
