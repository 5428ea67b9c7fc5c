//! Module numbers in prerequisite order, and prerequisite cycles.

use crate::api::Module;

/// Up to a few prerequisite cycles, each as the ids along it with the first repeated at the end.
pub(super) fn cycles<'t>(
    modules: &[&'t Module],
    prerequisites: &[Vec<usize>],
) -> Vec<Vec<&'t str>> {
    const MAX_REPORTED: usize = 5;
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let n = modules.len();
    let mut mark = vec![Mark::New; n];
    let mut found = Vec::new();
    // Iterative DFS: a hostile Track must not be able to overflow the stack.
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::OnStack;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&p) = prerequisites[node].get(*next) {
                *next += 1;
                match mark[p] {
                    Mark::New => {
                        mark[p] = Mark::OnStack;
                        stack.push((p, 0));
                    }
                    Mark::OnStack => {
                        if found.len() < MAX_REPORTED {
                            let start = stack.iter().position(|&(x, _)| x == p).unwrap_or(0);
                            let mut cycle: Vec<&str> = stack[start..]
                                .iter()
                                .map(|&(x, _)| modules[x].id.as_str())
                                .collect();
                            cycle.push(modules[p].id.as_str());
                            found.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    found
}

/// Module numbers of all modules, prerequisites before the modules that need them. Modules on
/// a cycle are left out (a Track with a cycle is never planned).
pub(super) fn topological(prerequisites: &[Vec<usize>]) -> Vec<usize> {
    let n = prerequisites.len();
    let mut dependents = vec![Vec::new(); n];
    let mut missing = vec![0usize; n];
    for (m, prereqs) in prerequisites.iter().enumerate() {
        missing[m] = prereqs.len();
        for &p in prereqs {
            dependents[p].push(m);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&m| missing[m] == 0).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(m) = ready.pop() {
        out.push(m);
        for &d in &dependents[m] {
            missing[d] -= 1;
            if missing[d] == 0 {
                ready.push(d);
            }
        }
    }
    out
}
