//! Structured fuzzing of `learnpath::planner::plan`.
//!
//! The fuzzer's bytes become a Track spec and a LearningPath spec whose ids come from a tiny
//! alphabet shared by every kind of id (modules, exercises, dimensions, rules, skills), so
//! duplicates, unknown references, prerequisite cycles, self-prerequisites, an exercise id in two
//! modules, a module id that is also a dimension id, unknown profiles and special numbers (NaN,
//! infinities, negatives, huge values) are common. Half of the inputs are first repaired into
//! consistent ones, so the planning steps after validation are reached as well.
//!
//! The planner must never panic. On `Ok` the plan must satisfy the invariants of
//! `learnpath::invariants` (the property tests check the same ones); on any result, reordering
//! the input lists must not change it (README.md: same inputs, same bytes).

#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{self, Timestamp};
use learnpath::api::{
    Boost, Dimension, Exercise, Learner, LearningPathSpec, Module, Operator, Prioritize, Profile,
    Profiles, Recommend, RuleAction, SignalCondition, Struggle, StruggleEntry, TrackRef, TrackRule,
    TrackSpec, Transfer,
};
use learnpath::{invariants, planner};
use libfuzzer_sys::fuzz_target;

/// Every kind of id is drawn from these (or, rarely, is an arbitrary string).
const IDS: &[&str] = &["a", "b", "c", "d", "e", "f", "g", "h"];
const PROFILE_NAMES: &[&str] = &["fintech", "iot", "cloud"];
const SIGNALS: &[&str] = &["load", "mttr"];
/// The time windows are judged at, when an input has one: failures are placed around it.
const NOW: Timestamp = Timestamp::constant(1_800_000_000, 0);

/// Lists stay short: the bugs live in how few ids relate, not in how many there are.
const MAX_LIST: usize = 12;

fn pick(u: &mut Unstructured, names: &[&str]) -> Result<String> {
    let b: u8 = u.arbitrary()?;
    // 1 in 32: an arbitrary string (empty, unicode, long), else one of the names.
    if b >= 248 {
        u.arbitrary()
    } else {
        Ok(names[usize::from(b) % names.len()].to_string())
    }
}

fn id(u: &mut Unstructured) -> Result<String> {
    pick(u, IDS)
}

fn list<T>(
    u: &mut Unstructured,
    max: usize,
    mut f: impl FnMut(&mut Unstructured) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| f(u)).collect()
}

/// A number, often one that breaks arithmetic.
fn number(u: &mut Unstructured) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=19)? {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => -1.0,
        4 => -0.0,
        5 => f64::MAX,
        6 => f64::MIN_POSITIVE,
        7 => 1e-300,
        8 => 1e300,
        9 => 0.5,
        10 => 0.0,
        11 => 1.0,
        12 => 1000.0,
        13 => f64::from_bits(u.arbitrary()?),
        _ => f64::from(u.int_in_range(0u8..=100)?) / 10.0,
    })
}

/// Hours or counts: small, at the documented limits, or far beyond them.
fn count(u: &mut Unstructured, usual: u32, limit: u32) -> Result<u32> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => 0,
        1 => limit,
        2 => limit.saturating_add(1),
        3 => u32::MAX,
        4 => u32::MAX / 2 + 1,
        5 => u.arbitrary()?,
        _ => u.int_in_range(0..=usual)?,
    })
}

/// A struggle window: valid spans (short, long, at the limit) and text that is not one.
fn window(u: &mut Unstructured) -> Result<Option<String>> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => None,
        1 => Some("12h".into()),
        2 => Some("30m".into()),
        3 => Some("P7D".into()),
        4 => Some("0s".into()),
        5 => Some("-1h".into()),
        6 => Some(u.arbitrary()?),
        _ => Some(format!("{}s", u.int_in_range(0u32..=200_000)?)),
    })
}

/// An instant near `NOW` (failures inside and outside a window, and in the future) or at the
/// edges of what a timestamp can hold.
fn instant(u: &mut Unstructured) -> Result<Timestamp> {
    let offset: i64 = match u.int_in_range(0u8..=7)? {
        0 => i64::from(u.arbitrary::<i32>()?),
        1 => 0,
        _ => i64::from(u.int_in_range(-200_000i32..=3_600)?),
    };
    Ok(NOW
        .checked_add(jiff::SignedDuration::from_secs(offset))
        .unwrap_or(NOW))
}

fn operator(u: &mut Unstructured) -> Result<Operator> {
    Ok(*u.choose(&[
        Operator::Gt,
        Operator::Ge,
        Operator::Lt,
        Operator::Le,
        Operator::Eq,
    ])?)
}

fn module(u: &mut Unstructured) -> Result<Module> {
    let id = id(u)?;
    Ok(Module {
        title: format!("Module {id}"),
        id,
        dimension: if u.arbitrary()? {
            Some(self::id(u)?)
        } else {
            None
        },
        hours: count(u, 40, 10_000)?,
        prerequisites: list(u, 4, self::id)?,
        exercises: list(u, 4, |u| {
            let id = self::id(u)?;
            Ok(Exercise {
                title: format!("Exercise {id}"),
                id,
                hours: count(u, 10, 1000)?,
                difficulty: None,
                url: None,
            })
        })?,
    })
}

fn profiles(u: &mut Unstructured) -> Result<BTreeMap<String, Profile>> {
    Ok(list(u, 3, |u| {
        Ok((
            pick(u, PROFILE_NAMES)?,
            Profile {
                weights: list(u, 6, |u| Ok((id(u)?, number(u)?)))?
                    .into_iter()
                    .collect(),
            },
        ))
    })?
    .into_iter()
    .collect())
}

fn rule(u: &mut Unstructured) -> Result<TrackRule> {
    let id = id(u)?;
    Ok(TrackRule {
        message: format!("rule {id} fired"),
        id,
        when: list(u, 3, |u| {
            Ok(SignalCondition {
                signal: pick(u, SIGNALS)?,
                operator: operator(u)?,
                value: number(u)?,
            })
        })?,
        then: RuleAction {
            boost: if u.arbitrary()? {
                Some(Boost {
                    module: self::id(u)?,
                    factor: number(u)?,
                })
            } else {
                None
            },
            prioritize: if u.arbitrary()? {
                Some(Prioritize {
                    module: self::id(u)?,
                })
            } else {
                None
            },
            recommend: if u.arbitrary()? {
                Some(Recommend {
                    text: "do it".into(),
                })
            } else {
                None
            },
        },
    })
}

fn track(u: &mut Unstructured) -> Result<TrackSpec> {
    Ok(TrackSpec {
        title: "fuzz".into(),
        description: None,
        mastery_threshold: match u.int_in_range(0u8..=3)? {
            0 => u.arbitrary()?,
            _ => 80,
        },
        dimensions: list(u, 4, |u| {
            let id = id(u)?;
            Ok(Dimension {
                title: format!("Dimension {id}"),
                id,
            })
        })?,
        modules: list(u, MAX_LIST, module)?,
        profiles: Profiles {
            industries: profiles(u)?,
            roles: profiles(u)?,
        },
        rules: list(u, 4, rule)?,
        struggle: if u.arbitrary()? {
            Some(Struggle {
                max_failures: count(u, 5, 100)?,
                window: window(u)?,
                remedial: list(u, 4, |u| Ok((id(u)?, id(u)?)))?.into_iter().collect(),
            })
        } else {
            None
        },
        transfers: list(u, 3, |u| {
            Ok(Transfer {
                from: pick(u, &["a", "b", "go", "java"])?,
                to: id(u)?,
                ratio: number(u)?,
            })
        })?,
    })
}

fn spec(u: &mut Unstructured) -> Result<LearningPathSpec> {
    Ok(LearningPathSpec {
        track_ref: TrackRef {
            name: "fuzz".into(),
        },
        learner: Learner {
            name: "L".into(),
            email: None,
        },
        industry: if u.arbitrary()? {
            Some(pick(u, PROFILE_NAMES)?)
        } else {
            None
        },
        role: if u.arbitrary()? {
            Some(pick(u, PROFILE_NAMES)?)
        } else {
            None
        },
        assessment: list(u, 6, |u| {
            Ok((
                pick(u, &["a", "b", "c", "d", "e", "f", "g", "h", "go", "java"])?,
                match u.int_in_range(0u8..=7)? {
                    0 => u.arbitrary()?,
                    1 => 80,
                    _ => u.int_in_range(0..=100)?,
                },
            ))
        })?
        .into_iter()
        .collect(),
        completed_exercises: list(u, 6, id)?,
        signals: list(u, 2, |u| Ok((pick(u, SIGNALS)?, number(u)?)))?
            .into_iter()
            .collect(),
        struggles: list(u, 3, |u| {
            Ok(StruggleEntry {
                exercise: id(u)?,
                failures: count(u, 6, 10_000)?,
                failed_at: list(u, 4, |u| Ok(Time(instant(u)?)))?,
            })
        })?,
        hours_per_week: count(u, 20, 168)?,
        next_exercises_limit: match u.int_in_range(0u8..=7)? {
            0 => u.arbitrary()?,
            _ => u.int_in_range(0..=20)?,
        },
        paused: u.ratio(1u8, 8u8)?,
    })
}

/// Turns generated inputs into consistent ones: the checks `plan` makes pass, so the planning
/// steps after them run. Only what validation rejects is changed; everything it accepts (for
/// example exercise hours, duplicate struggles, remedies that are themselves frozen) is kept.
fn repair(track: &mut TrackSpec, spec: &mut LearningPathSpec) {
    let finite_or = |x: f64, or: f64| if x.is_finite() { x } else { or };
    let mut seen = BTreeSet::new();
    track.modules.retain(|m| seen.insert(m.id.clone()));
    let module_ids: Vec<String> = track.modules.iter().map(|m| m.id.clone()).collect();
    let mut seen = BTreeSet::new();
    track
        .dimensions
        .retain(|d| !module_ids.contains(&d.id) && seen.insert(d.id.clone()));
    let dims: BTreeSet<String> = track.dimensions.iter().map(|d| d.id.clone()).collect();
    let mut exercises = BTreeSet::new();
    for (i, m) in track.modules.iter_mut().enumerate() {
        m.hours = m.hours.min(10_000);
        if m.dimension.as_ref().is_some_and(|d| !dims.contains(d)) {
            m.dimension = None;
        }
        // Only earlier modules may be prerequisites: no cycles.
        m.prerequisites.retain(|p| module_ids[..i].contains(p));
        m.exercises.retain(|e| exercises.insert(e.id.clone()));
    }
    let known = |k: &String| module_ids.contains(k) || dims.contains(k);
    let mut seen = BTreeSet::new();
    track.rules.retain(|r| seen.insert(r.id.clone()));
    for r in &mut track.rules {
        for c in &mut r.when {
            c.value = finite_or(c.value, 0.0);
        }
        if let Some(b) = &mut r.then.boost {
            if !module_ids.contains(&b.module) {
                r.then.boost = None;
            } else if !(b.factor.is_finite() && b.factor > 0.0) {
                b.factor = 2.0;
            }
        }
        if r.then
            .prioritize
            .as_ref()
            .is_some_and(|p| !module_ids.contains(&p.module))
        {
            r.then.prioritize = None;
        }
    }
    for profiles in [&mut track.profiles.industries, &mut track.profiles.roles] {
        for p in profiles.values_mut() {
            p.weights.retain(|k, _| known(k));
            for w in p.weights.values_mut() {
                *w = finite_or(w.abs(), 1.0);
            }
        }
    }
    if let Some(s) = &mut track.struggle {
        s.remedial.retain(|e, r| {
            exercises.contains(e) && (exercises.contains(r) || module_ids.contains(r))
        });
    }
    track.transfers.retain(|t| module_ids.contains(&t.to));
    for t in &mut track.transfers {
        t.ratio = finite_or(t.ratio.abs(), 0.5).min(1.0);
    }
    track.mastery_threshold = track.mastery_threshold.min(100);

    let skills: BTreeSet<String> = track.transfers.iter().map(|t| t.from.clone()).collect();
    if spec
        .industry
        .as_ref()
        .is_some_and(|k| !track.profiles.industries.contains_key(k))
    {
        spec.industry = None;
    }
    if spec
        .role
        .as_ref()
        .is_some_and(|k| !track.profiles.roles.contains_key(k))
    {
        spec.role = None;
    }
    spec.assessment
        .retain(|k, _| known(k) || skills.contains(k));
    for v in spec.assessment.values_mut() {
        *v = (*v).min(100);
    }
    spec.completed_exercises.retain(|e| exercises.contains(e));
    spec.struggles.retain(|s| exercises.contains(&s.exercise));
    for v in spec.signals.values_mut() {
        *v = finite_or(*v, 0.0);
    }
    spec.hours_per_week = spec.hours_per_week.clamp(1, 168);
}

/// `LEARNPATH_FUZZ_PRINT=1`: print each input as YAML on stderr (turns a crash file into a
/// readable report: `LEARNPATH_FUZZ_PRINT=1 fuzz/target/.../planner crash-...`).
fn print_inputs() -> bool {
    static PRINT: OnceLock<bool> = OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("LEARNPATH_FUZZ_PRINT").is_some_and(|v| v == "1"))
}

fn run(u: &mut Unstructured) -> Result<()> {
    let mut track = track(u)?;
    let mut spec = spec(u)?;
    if u.arbitrary()? {
        repair(&mut track, &mut spec);
    }
    let k: usize = u.arbitrary::<u8>()?.into();
    if print_inputs() {
        eprintln!(
            "--- track spec\n{}--- learning path spec\n{}--- reordered by {k}",
            serde_saphyr::to_string(&track).unwrap_or_else(|e| e.to_string()),
            serde_saphyr::to_string(&spec).unwrap_or_else(|e| e.to_string()),
        );
    }

    let result = planner::plan(&track, &spec);
    if let Ok(plan) = &result {
        invariants::check(&track, &spec, plan);
    }
    invariants::order_independent(&track, &spec, &result, k);

    // Judged at a time, a window leaves fewer failures counting: the same invariants hold, and
    // the plan says when it changes next only if that is after `NOW`.
    let inputs = planner::Inputs {
        spec: &spec,
        observed: &[],
        now: Some(NOW),
    };
    if let Ok(plan) = planner::plan_inputs(&track, inputs) {
        invariants::check(&track, &spec, &plan);
        if let Some(next) = plan.next_change {
            assert!(next > NOW, "next change {next} is not after {NOW}");
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
