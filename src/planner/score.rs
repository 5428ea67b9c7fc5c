//! Per-module numbers: score, gap, weight, boosts, and whether the module is done.

use crate::api::{Module, TrackRule};

use super::index::{Index, ProfileWeights, WeightKey, profile_weights};

/// Where a module's weight comes from, for the reason text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WeightPart<'a> {
    /// `industry` or `role`.
    pub kind: &'static str,
    /// Profile name.
    pub profile: &'a str,
    /// The key that matched (module id or dimension id).
    pub key: &'a str,
    pub value: f64,
}

/// The numbers behind one module's place in the plan.
#[derive(Clone, Debug)]
pub(crate) struct ModuleScore<'a> {
    /// 0..=100, from the module's own assessment, its dimension's, or a transfer.
    pub score: f64,
    /// Where the score came from, for the reason text.
    pub score_source: ScoreSource<'a>,
    /// Completed exercise hours / all exercise hours.
    pub exercise_fraction: f64,
    pub completed_exercise_hours: u32,
    pub total_exercise_hours: u32,
    pub done: bool,
    /// Started on its own account (not merely through a dimension score).
    pub started: bool,
    pub gap: f64,
    pub weight: f64,
    pub weight_parts: Vec<WeightPart<'a>>,
    /// The fired rules that boost this module.
    pub boosted_by: Vec<usize>,
    /// weight x gap x boost, before inheritance.
    pub base_priority: f64,
    /// Remaining hours: the module's hours times its gap, rounded.
    pub remaining_hours: u32,
}

/// Where a score comes from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ScoreSource<'a> {
    None,
    Module,
    Dimension(&'a str),
    Transfer {
        skill: &'a str,
        ratio: f64,
        skill_score: u8,
    },
}

/// Whether every condition of a rule holds for the learner's signals.
pub(crate) fn fires(rule: &TrackRule, index: &Index) -> bool {
    rule.when.iter().all(|c| {
        index
            .signals
            .get(c.signal.as_str())
            .is_some_and(|&v| c.operator.holds(v, c.value))
    })
}

/// Scores every module, in module-number order.
pub(crate) fn score_all<'a>(index: &Index<'a>, fired: &[usize]) -> Vec<ModuleScore<'a>> {
    let threshold = f64::from(index.track.mastery_threshold);
    // The learner's profiles, resolved once: (kind, profile name, weight of each module).
    let profiles: Vec<(&'static str, &'a str, &'a ProfileWeights)> = [
        (
            "industry",
            &index.spec.industry,
            &index.track.profiles.industries,
            &index.shared.industry_weights,
        ),
        (
            "role",
            &index.spec.role,
            &index.track.profiles.roles,
            &index.shared.role_weights,
        ),
    ]
    .into_iter()
    .filter_map(|(kind, name, profiles, weights)| {
        let name = name.as_ref()?;
        let profile = profiles.get(name)?;
        let weights = weights
            .get(name.as_str())?
            .get_or_init(|| profile_weights(profile, &index.modules));
        Some((kind, name.as_str(), weights))
    })
    .collect();
    index
        .modules
        .iter()
        .enumerate()
        .map(|(i, m)| score_one(index, i, m, threshold, fired, &profiles))
        .collect()
}

fn score_one<'a>(
    index: &Index<'a>,
    i: usize,
    m: &'a Module,
    threshold: f64,
    fired: &[usize],
    profiles: &[(&'static str, &'a str, &'a ProfileWeights)],
) -> ModuleScore<'a> {
    let (score, score_source) = assessed_score(index, i, m);
    let exercises = exercise_progress(index, i, m);
    let done = score >= threshold || exercises.all_done;
    let own_score = matches!(
        score_source,
        ScoreSource::Module | ScoreSource::Transfer { .. }
    ) && score > 0.0;
    let started = own_score || exercises.completed_hours > 0;
    let gap = if done {
        0.0
    } else {
        1.0 - (score / 100.0).max(exercises.fraction)
    };
    let (weight, weight_parts) = weight(i, m, profiles);
    let (boost, boosted_by) = boost(index, m, fired);
    ModuleScore {
        score,
        score_source,
        exercise_fraction: exercises.fraction,
        completed_exercise_hours: exercises.completed_hours,
        total_exercise_hours: exercises.total_hours,
        done,
        started,
        gap,
        weight,
        weight_parts,
        boosted_by,
        base_priority: weight * gap * boost,
        remaining_hours: (f64::from(m.hours) * gap).round() as u32,
    }
}

/// The module's own assessment, else its dimension's, raised by the best transfer.
fn assessed_score<'a>(index: &Index<'a>, i: usize, m: &'a Module) -> (f64, ScoreSource<'a>) {
    let assessment = &index.spec.assessment;
    let (mut score, mut score_source) = match assessment.get(&m.id) {
        Some(&s) => (f64::from(s), ScoreSource::Module),
        None => match m
            .dimension
            .as_ref()
            .and_then(|d| assessment.get(d).map(|&s| (d, s)))
        {
            Some((d, s)) => (f64::from(s), ScoreSource::Dimension(d.as_str())),
            None => (0.0, ScoreSource::None),
        },
    };
    // Transfers only ever raise a score; with several, the best one counts (in skill order, see
    // `TrackIndex::transfers_to`).
    for &t in &index.shared.transfers_to[i] {
        let t = &index.track.transfers[t];
        if let Some(&s) = assessment.get(&t.from) {
            let credited = t.ratio * f64::from(s);
            if credited > score {
                score = credited;
                score_source = ScoreSource::Transfer {
                    skill: t.from.as_str(),
                    ratio: t.ratio,
                    skill_score: s,
                };
            }
        }
    }
    (score, score_source)
}

/// How much of a module's exercise work is done.
struct ExerciseProgress {
    completed_hours: u32,
    total_hours: u32,
    /// Completed hours / all hours (0 without exercises).
    fraction: f64,
    /// It has exercises and all are done.
    all_done: bool,
}

fn exercise_progress(index: &Index, i: usize, m: &Module) -> ExerciseProgress {
    let total_hours = index.shared.exercise_hours[i];
    let mut completed_hours = 0u32;
    let mut all_done = !m.exercises.is_empty();
    for (k, e) in m.exercises.iter().enumerate() {
        if index.exercise_done(i, k) {
            completed_hours += e.hours;
        } else {
            all_done = false;
        }
    }
    let fraction = if total_hours == 0 {
        0.0
    } else {
        f64::from(completed_hours) / f64::from(total_hours)
    };
    ExerciseProgress {
        completed_hours,
        total_hours,
        fraction,
        all_done,
    }
}

/// The product of the learner's profile weights for the module, and where each came from.
fn weight<'a>(
    i: usize,
    m: &'a Module,
    profiles: &[(&'static str, &'a str, &'a ProfileWeights)],
) -> (f64, Vec<WeightPart<'a>>) {
    let mut parts = Vec::new();
    let mut weight = 1.0;
    for &(kind, profile, weights) in profiles {
        if let Some((key, value)) = weights[i] {
            let key = match (key, &m.dimension) {
                (WeightKey::Dimension, Some(d)) => d.as_str(),
                _ => m.id.as_str(),
            };
            weight *= value;
            parts.push(WeightPart {
                kind,
                profile,
                key,
                value,
            });
        }
    }
    (weight, parts)
}

/// The product of the fired rules' boosts of the module, and which rules they are.
fn boost(index: &Index, m: &Module, fired: &[usize]) -> (f64, Vec<usize>) {
    let mut boost = 1.0;
    let mut boosted_by = Vec::new();
    for &r in fired {
        if let Some(b) = &index.track.rules[r].then.boost
            && b.module == m.id
        {
            boost *= b.factor;
            boosted_by.push(r);
        }
    }
    (boost, boosted_by)
}
