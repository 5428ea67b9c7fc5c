//! Structured fuzzing of `learnpath::planner::plan`.
//!
//! The fuzzer's bytes become a Track spec and a LearningPath spec whose ids come from a tiny
//! alphabet shared by every kind of id (modules, exercises, dimensions, rules, skills), so
//! duplicates, unknown references, prerequisite cycles, self-prerequisites, an exercise id in two
//! modules, a module id that is also a dimension id, unknown profiles and special numbers (NaN,
//! infinities, negatives, huge values) are common. Half of the inputs are first repaired into
//! consistent ones, so the planning steps after validation are reached as well.
//!
//! The planner must never panic. On `Ok` the plan must satisfy the invariants in [`check`]; on
//! any result, reordering the input lists must not change it (docs/planner.md §15).

#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use learnpath::api::{
    Boost, Dimension, Exercise, Learner, LearningPathSpec, Module, ModuleState, Operator,
    Prioritize, Profile, Profiles, Recommend, RuleAction, SignalCondition, Struggle, StruggleEntry,
    TrackRef, TrackRule, TrackSpec, Transfer,
};
use learnpath::planner::{self, Plan};
use libfuzzer_sys::fuzz_target;

/// Every kind of id is drawn from these (or, rarely, is an arbitrary string).
const IDS: &[&str] = &["a", "b", "c", "d", "e", "f", "g", "h"];
const PROFILE_NAMES: &[&str] = &["fintech", "iot", "cloud"];
const SIGNALS: &[&str] = &["load", "mttr"];

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

/// The same inputs with every list whose order carries no meaning reordered. (The order of a
/// module's exercises is meaningful: it is the order the author suggests doing them in.)
fn reordered(
    track: &TrackSpec,
    spec: &LearningPathSpec,
    k: usize,
) -> (TrackSpec, LearningPathSpec) {
    fn shuffle<T>(v: &mut [T], k: usize) {
        if !v.is_empty() {
            v.rotate_left(k % v.len());
            v.reverse();
        }
    }
    let (mut track, mut spec) = (track.clone(), spec.clone());
    shuffle(&mut track.modules, k);
    for m in &mut track.modules {
        shuffle(&mut m.prerequisites, k);
    }
    shuffle(&mut track.dimensions, k);
    shuffle(&mut track.rules, k);
    for r in &mut track.rules {
        shuffle(&mut r.when, k);
    }
    shuffle(&mut track.transfers, k);
    shuffle(&mut spec.completed_exercises, k);
    shuffle(&mut spec.struggles, k);
    (track, spec)
}

fn strictly_sorted<T: Ord>(v: impl IntoIterator<Item = T>) -> bool {
    let v: Vec<T> = v.into_iter().collect();
    v.windows(2).all(|w| w[0] < w[1])
}

/// Invariants of a plan: cheap to check, and each one could fail.
fn check(track: &TrackSpec, spec: &LearningPathSpec, plan: &Plan) {
    let modules: BTreeMap<&str, &Module> =
        track.modules.iter().map(|m| (m.id.as_str(), m)).collect();
    assert_eq!(
        modules.len(),
        track.modules.len(),
        "planned with duplicate module ids"
    );
    let hours_per_week = spec.hours_per_week;
    assert!(
        (1..=168).contains(&hours_per_week),
        "planned with hoursPerWeek {hours_per_week}"
    );

    let mastered: BTreeSet<&str> = plan.mastered.iter().map(String::as_str).collect();
    let optional: BTreeSet<&str> = plan.optional.iter().map(String::as_str).collect();
    assert!(
        strictly_sorted(&plan.mastered),
        "mastered not sorted/unique: {:?}",
        plan.mastered
    );
    assert!(
        strictly_sorted(&plan.optional),
        "optional not sorted/unique: {:?}",
        plan.optional
    );
    assert!(
        mastered.is_disjoint(&optional),
        "mastered and optional overlap"
    );
    for id in mastered.iter().chain(&optional) {
        assert!(
            modules.contains_key(id),
            "unknown module {id:?} in the plan"
        );
    }

    // Order: every module once, never before an unfinished prerequisite; state matches.
    let mut placed = BTreeSet::new();
    for pm in plan.stages.iter().flat_map(|s| &s.modules) {
        let m = modules.get(pm.id.as_str()).expect("planned module exists");
        assert!(
            !mastered.contains(pm.id.as_str()),
            "{} is mastered and planned",
            pm.id
        );
        assert!(
            !optional.contains(pm.id.as_str()),
            "{} is optional and planned",
            pm.id
        );
        for p in &m.prerequisites {
            assert!(
                mastered.contains(p.as_str()) || placed.contains(p.as_str()),
                "{} is planned before its prerequisite {p}",
                pm.id
            );
        }
        assert!(placed.insert(pm.id.as_str()), "{} is planned twice", pm.id);
        let met = m
            .prerequisites
            .iter()
            .all(|p| mastered.contains(p.as_str()));
        assert_eq!(
            pm.state == ModuleState::Locked,
            !met,
            "{} has state {:?}",
            pm.id,
            pm.state
        );
        assert!(
            pm.hours <= m.hours,
            "{}: {} remaining of {} hours",
            pm.id,
            pm.hours,
            m.hours
        );
        assert_eq!(pm.title, m.title);
    }
    assert_eq!(
        placed.len() + mastered.len() + optional.len(),
        modules.len(),
        "planned, mastered and optional do not partition the modules"
    );
    for (id, m) in &modules {
        let all_done = !m.exercises.is_empty()
            && m.exercises
                .iter()
                .all(|e| spec.completed_exercises.contains(&e.id));
        let scored = spec
            .assessment
            .get(*id)
            .is_some_and(|&s| s >= track.mastery_threshold);
        if all_done || scored {
            assert!(mastered.contains(id), "{id} is done but not mastered");
        }
    }

    // Stages: non-empty, hours add up, at most four weeks unless a single module.
    let cap = 4 * hours_per_week;
    let mut total = 0u64;
    for s in &plan.stages {
        assert!(!s.modules.is_empty(), "empty stage {}", s.name);
        let sum: u64 = s.modules.iter().map(|m| u64::from(m.hours)).sum();
        assert_eq!(u64::from(s.hours), sum, "stage {} hours", s.name);
        assert!(
            s.modules.len() == 1 || s.hours <= cap,
            "stage {} over {cap} h",
            s.name
        );
        total += sum;
    }

    // Progress and estimate.
    let p = &plan.progress;
    assert_eq!(u64::from(p.remaining_hours), total, "remainingHours");
    assert!(p.percent <= 100, "percent {}", p.percent);
    if p.remaining_hours == 0 {
        assert_eq!(p.percent, 100, "nothing left but not 100%");
    }
    assert_eq!(p.completed_modules as usize, mastered.len());
    assert_eq!(p.total_modules as usize, mastered.len() + placed.len());
    assert_eq!(
        plan.estimated_weeks,
        p.remaining_hours.div_ceil(hours_per_week)
    );

    // Frozen exercises.
    let max_failures = track.struggle.as_ref().map_or(3, |s| s.max_failures);
    assert!(strictly_sorted(
        plan.frozen_exercises.iter().map(|f| &f.exercise)
    ));
    for f in &plan.frozen_exercises {
        assert!(
            f.failures >= max_failures,
            "{} frozen after {}",
            f.exercise,
            f.failures
        );
        assert!(
            !spec.completed_exercises.contains(&f.exercise),
            "{} done and frozen",
            f.exercise
        );
        let m = modules
            .get(f.module.as_str())
            .expect("frozen exercise's module exists");
        assert!(
            m.exercises.iter().any(|e| e.id == f.exercise),
            "{} not in {}",
            f.exercise,
            f.module
        );
    }
    let frozen: BTreeSet<&str> = plan
        .frozen_exercises
        .iter()
        .map(|f| f.exercise.as_str())
        .collect();

    // Next exercises: open, unlocked, not frozen, within the limit, each once.
    let limit = if spec.paused {
        0
    } else {
        spec.next_exercises_limit as usize
    };
    assert!(
        plan.next_exercises.len() <= limit,
        "{} next exercises, limit {limit}",
        plan.next_exercises.len()
    );
    let mut listed = BTreeSet::new();
    for n in &plan.next_exercises {
        assert!(
            listed.insert(n.exercise.as_str()),
            "{} listed twice",
            n.exercise
        );
        let m = modules
            .get(n.module.as_str())
            .expect("next exercise's module exists");
        let e = m
            .exercises
            .iter()
            .find(|e| e.id == n.exercise)
            .expect("next exercise is in its module");
        assert_eq!((e.hours, &e.title), (n.hours, &n.title));
        assert!(
            !spec.completed_exercises.contains(&n.exercise),
            "{} done and next",
            n.exercise
        );
        assert!(
            !frozen.contains(n.exercise.as_str()),
            "{} frozen and next",
            n.exercise
        );
        assert!(
            m.prerequisites
                .iter()
                .all(|p| mastered.contains(p.as_str())),
            "{} next but {} is locked",
            n.exercise,
            n.module
        );
        assert!(!n.reason.is_empty());
    }

    // Triggered rules: sorted, each fires.
    assert!(strictly_sorted(
        plan.triggered_rules.iter().map(|r| &r.rule)
    ));
    for t in &plan.triggered_rules {
        let rule = track
            .rules
            .iter()
            .find(|r| r.id == t.rule)
            .expect("triggered rule exists");
        for c in &rule.when {
            let v = spec.signals.get(&c.signal).copied();
            assert!(
                v.is_some_and(|v| c.operator.holds(v, c.value)),
                "{} fired, {c:?} does not hold",
                t.rule
            );
        }
    }
    assert!(!plan.summary.is_empty());
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
        check(&track, &spec, plan);
    }
    let (track2, spec2) = reordered(&track, &spec, k);
    let again = planner::plan(&track2, &spec2);
    if result != again {
        panic!(
            "reordering the input lists changed the result\n before: {result:?}\n after: {again:?}"
        );
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
