//! The learner's capability radar: one score per dimension of the Track.

use super::index::Index;
use super::score;

/// One axis of a learner's capability radar.
#[derive(Clone, Debug, PartialEq)]
pub struct DimensionScore {
    /// The dimension's id.
    pub id: String,
    /// The dimension's title.
    pub title: String,
    /// 0 to 100.
    pub score: f64,
    /// Whether the score is the learner's own assessment of the dimension (`true`) or derived
    /// from the modules of the dimension (`false`).
    pub assessed: bool,
}

/// Scores every dimension, in the Track's order of dimensions.
///
/// A dimension the learner's `spec.assessment` scores directly keeps that score. Any other
/// dimension gets the mean of its modules' levels weighted by the modules' hours, where a
/// module's level is the higher of its score (its own assessment or a transfer credit) and the
/// share of its exercise hours done, as a percentage (so a module whose exercises are all done
/// counts 100). Modules of 0 hours all weigh the same when the whole dimension has 0 hours; a
/// dimension without modules scores 0.
pub(crate) fn radar(index: &Index) -> Vec<DimensionScore> {
    // Boosts do not change a score, so no rule needs to fire here.
    let scores = score::score_all(index, &[]);
    index
        .track
        .dimensions
        .iter()
        .map(|d| {
            if let Some(&own) = index.spec.assessment.get(&d.id) {
                return DimensionScore {
                    id: d.id.clone(),
                    title: d.title.clone(),
                    score: f64::from(own),
                    assessed: true,
                };
            }
            let levels: Vec<(f64, f64)> = index
                .modules
                .iter()
                .zip(&scores)
                .filter(|(m, _)| m.dimension.as_deref() == Some(d.id.as_str()))
                .map(|(m, s)| {
                    let level = s.score.max(100.0 * s.exercise_fraction).min(100.0);
                    (level, f64::from(m.hours))
                })
                .collect();
            DimensionScore {
                id: d.id.clone(),
                title: d.title.clone(),
                score: weighted_mean(&levels),
                assessed: false,
            }
        })
        .collect()
}

/// The mean of `(value, weight)` pairs; the plain mean when every weight is 0; 0 for none.
fn weighted_mean(pairs: &[(f64, f64)]) -> f64 {
    let total: f64 = pairs.iter().map(|&(_, w)| w).sum();
    if total > 0.0 {
        pairs.iter().map(|&(v, w)| v * w).sum::<f64>() / total
    } else if pairs.is_empty() {
        0.0
    } else {
        pairs.iter().map(|&(v, _)| v).sum::<f64>() / pairs.len() as f64
    }
}
