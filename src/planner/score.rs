//! Per-module numbers: score, gap, weight, boosts, and whether the module is done.

use crate::api::{Module, Profile, TrackRule};

use super::index::Index;

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
            .spec
            .signals
            .get(&c.signal)
            .is_some_and(|&v| c.operator.holds(v, c.value))
    })
}

/// Scores every module, in module-number order.
pub(crate) fn score_all<'a>(index: &Index<'a>, fired: &[usize]) -> Vec<ModuleScore<'a>> {
    let threshold = f64::from(index.track.mastery_threshold);
    index
        .modules
        .iter()
        .map(|m| score_one(index, m, threshold, fired))
        .collect()
}

fn score_one<'a>(
    index: &Index<'a>,
    m: &'a Module,
    threshold: f64,
    fired: &[usize],
) -> ModuleScore<'a> {
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
    // Transfers only ever raise a score; with several, the best one counts. Sorting by skill id
    // keeps the chosen source independent of the order transfers are listed in.
    let mut transfers: Vec<_> = index
        .track
        .transfers
        .iter()
        .filter(|t| t.to == m.id)
        .collect();
    transfers.sort_by(|a, b| a.from.cmp(&b.from).then(a.ratio.total_cmp(&b.ratio)));
    for t in transfers {
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

    let total_exercise_hours: u32 = m.exercises.iter().map(|e| e.hours).sum();
    let completed_exercise_hours: u32 = m
        .exercises
        .iter()
        .filter(|e| index.completed.contains(e.id.as_str()))
        .map(|e| e.hours)
        .sum();
    let all_exercises_done = !m.exercises.is_empty()
        && m.exercises
            .iter()
            .all(|e| index.completed.contains(e.id.as_str()));
    let exercise_fraction = if total_exercise_hours == 0 {
        0.0
    } else {
        f64::from(completed_exercise_hours) / f64::from(total_exercise_hours)
    };
    let done = score >= threshold || all_exercises_done;
    let own_score = matches!(
        score_source,
        ScoreSource::Module | ScoreSource::Transfer { .. }
    ) && score > 0.0;
    let started = own_score || completed_exercise_hours > 0;
    let gap = if done {
        0.0
    } else {
        1.0 - (score / 100.0).max(exercise_fraction)
    };

    let mut weight_parts = Vec::new();
    let mut weight = 1.0;
    for (kind, key, profiles) in [
        (
            "industry",
            &index.spec.industry,
            &index.track.profiles.industries,
        ),
        ("role", &index.spec.role, &index.track.profiles.roles),
    ] {
        if let Some(name) = key
            && let Some(profile) = profiles.get(name)
            && let Some((matched, value)) = profile_weight(profile, m)
        {
            weight *= value;
            weight_parts.push(WeightPart {
                kind,
                profile: name.as_str(),
                key: matched,
                value,
            });
        }
    }

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

    let remaining_hours = (f64::from(m.hours) * gap).round() as u32;
    ModuleScore {
        score,
        score_source,
        exercise_fraction,
        completed_exercise_hours,
        total_exercise_hours,
        done,
        started,
        gap,
        weight,
        weight_parts,
        boosted_by,
        base_priority: weight * gap * boost,
        remaining_hours,
    }
}

/// A module key beats a dimension key; no key means no entry (weight 1).
fn profile_weight<'p>(profile: &'p Profile, m: &'p Module) -> Option<(&'p str, f64)> {
    if let Some(&w) = profile.weights.get(&m.id) {
        return Some((&m.id, w));
    }
    let d = m.dimension.as_ref()?;
    profile.weights.get(d).map(|&w| (d.as_str(), w))
}
