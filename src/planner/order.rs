//! The order of the modules still to do: priorities inherited along prerequisites, then a
//! topological sort that always takes the most important ready module next.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::index::Index;
use super::score::ModuleScore;

/// Why a module is scheduled ahead of the priority order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Urgency {
    /// A fired rule prioritizes it (rule number).
    Rule(usize),
    /// It is the remedy of a frozen exercise (exercise id).
    Remedy(String),
    /// An urgent module needs it first (module number).
    NeededBy(usize),
}

/// A module's final place-deciding numbers.
#[derive(Clone, Debug)]
pub(crate) struct Placement {
    /// Base priority, or the highest priority of a pending module that needs it.
    pub priority: f64,
    /// The pending module the priority was inherited from, if it was.
    pub inherited_from: Option<usize>,
    /// Not done, and weighted or needed by something weighted or urgent.
    pub needed: bool,
    pub urgency: Option<Urgency>,
}

/// Computes inherited priorities, which modules are needed, and which are urgent.
pub(crate) fn place(
    index: &Index,
    scores: &[ModuleScore],
    urgent: &[(usize, Urgency)],
) -> Vec<Placement> {
    let mut placements: Vec<Placement> = scores
        .iter()
        .map(|s| Placement {
            priority: s.base_priority,
            inherited_from: None,
            needed: !s.done && s.weight > 0.0,
            urgency: None,
        })
        .collect();
    for (m, why) in urgent {
        if !scores[*m].done && placements[*m].urgency.is_none() {
            placements[*m].urgency = Some(why.clone());
            placements[*m].needed = true;
        }
    }
    // Dependents come after their prerequisites in the topological order, so walking it backwards pushes
    // priority, neededness and urgency down every chain in one pass.
    for &m in index.shared.topological.iter().rev() {
        if scores[m].done {
            continue;
        }
        let (priority, needed, urgent) = (
            placements[m].priority,
            placements[m].needed,
            placements[m].urgency.is_some(),
        );
        for &p in &index.prerequisites[m] {
            if scores[p].done {
                continue;
            }
            let target = &mut placements[p];
            if priority > target.priority
                || (priority == target.priority
                    && target.inherited_from.is_some_and(|from| m < from))
            {
                target.priority = priority;
                target.inherited_from = Some(m);
            }
            target.needed |= needed;
            if urgent && target.urgency.is_none() {
                target.urgency = Some(Urgency::NeededBy(m));
            }
        }
    }
    placements
}

#[derive(PartialEq)]
struct Candidate {
    urgent: bool,
    priority: f64,
    remaining: u32,
    id_rank: usize,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    /// The greatest candidate goes first: urgent, then highest priority, then fewer remaining
    /// hours, then the smaller id (module numbers follow id order).
    fn cmp(&self, other: &Self) -> Ordering {
        self.urgent
            .cmp(&other.urgent)
            .then(self.priority.total_cmp(&other.priority))
            .then(other.remaining.cmp(&self.remaining))
            .then(other.id_rank.cmp(&self.id_rank))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The modules to plan, in order: never before an unfinished prerequisite; among the modules
/// whose planned prerequisites are placed, the greatest [`Candidate`] first.
pub(crate) fn order(index: &Index, scores: &[ModuleScore], placements: &[Placement]) -> Vec<usize> {
    let n = index.modules.len();
    let pending = |m: usize| !scores[m].done && placements[m].needed;
    let mut dependents = vec![Vec::new(); n];
    let mut missing = vec![0usize; n];
    for m in (0..n).filter(|&m| pending(m)) {
        for &p in &index.prerequisites[m] {
            if pending(p) {
                missing[m] += 1;
                dependents[p].push(m);
            }
        }
    }
    let candidate = |m: usize| Candidate {
        urgent: placements[m].urgency.is_some(),
        priority: placements[m].priority,
        remaining: scores[m].remaining_hours,
        id_rank: m,
    };
    let mut heap: BinaryHeap<Candidate> = (0..n)
        .filter(|&m| pending(m) && missing[m] == 0)
        .map(candidate)
        .collect();
    let mut out = Vec::new();
    while let Some(c) = heap.pop() {
        let m = c.id_rank;
        out.push(m);
        for &d in &dependents[m] {
            missing[d] -= 1;
            if missing[d] == 0 {
                heap.push(candidate(d));
            }
        }
    }
    out
}
