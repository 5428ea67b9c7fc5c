//! Readings of the processes that take part (/proc: RSS, CPU time) and of the operator's
//! Prometheus histograms.

use testkit::*;

/// A number from a `key: value` line of `/proc/<pid>/<file>` (e.g. `VmRSS:` of `status`).
pub(crate) fn proc_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resident memory of a process now, in MiB.
pub(crate) fn rss_mib(pid: u32) -> f64 {
    proc_field(pid, "status", "VmRSS:").unwrap_or(0) as f64 / 1024.0
}

/// Peak resident memory of a process (since start or the last clear_refs), in MiB.
pub(crate) fn peak_rss_mib(pid: u32) -> f64 {
    proc_field(pid, "status", "VmHWM:").unwrap_or(0) as f64 / 1024.0
}

/// User and system CPU seconds a process has used.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ".
    let after = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// CPU seconds used so far by the control plane's kube-apiserver and etcd (their pids are in
/// the cluster directory's `pids` file; a restarted component has a new line).
pub(crate) fn control_plane_cpu() -> (f64, f64) {
    let pids = std::fs::read_to_string(cluster().dir.join("pids")).unwrap_or_default();
    let (mut apiserver, mut etcd) = (0.0, 0.0);
    for pid in pids.lines().filter_map(|l| l.trim().parse::<u32>().ok()) {
        match std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
        {
            "kube-apiserver" => apiserver += cpu_seconds(pid),
            "etcd" => etcd += cpu_seconds(pid),
            _ => {}
        }
    }
    (apiserver, etcd)
}

/// CPU milliseconds per status write of the API server, etcd, the operator and this harness
/// over one phase.
pub(crate) struct CpuPerWrite {
    pub(crate) apiserver: f64,
    pub(crate) etcd: f64,
    pub(crate) operator: f64,
    pub(crate) harness: f64,
}

/// A CPU reading of every process that takes part: API server, etcd, operator (if any), harness.
pub(crate) fn cpu_reading(operator: Option<u32>) -> [f64; 4] {
    let (apiserver, etcd) = control_plane_cpu();
    [
        apiserver,
        etcd,
        operator.map_or(0.0, cpu_seconds),
        cpu_seconds(std::process::id()),
    ]
}

/// CPU milliseconds per write of each process between two [`cpu_reading`]s.
pub(crate) fn cpu_per_write(before: [f64; 4], after: [f64; 4], writes: f64) -> CpuPerWrite {
    let per = |i: usize| (after[i] - before[i]) * 1000.0 / writes.max(1.0);
    CpuPerWrite {
        apiserver: per(0),
        etcd: per(1),
        operator: per(2),
        harness: per(3),
    }
}

/// Cumulative bucket counts of a Prometheus histogram, by upper bound.
pub(crate) fn buckets(metrics: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The upper bound of the bucket holding quantile `q` of the observations made between two
/// scrapes, and how many there were.
pub(crate) fn quantile_between(before: &str, after: &str, name: &str, q: f64) -> (f64, f64) {
    let (b, a) = (buckets(before, name), buckets(after, name));
    let delta: Vec<(f64, f64)> = a
        .iter()
        .map(|(le, n)| {
            let earlier = b.iter().find(|(l, _)| l == le).map_or(0.0, |(_, m)| *m);
            (*le, n - earlier)
        })
        .collect();
    let total = delta.last().map_or(0.0, |(_, n)| *n);
    let bound = delta
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map_or(f64::NAN, |(le, _)| *le);
    (bound, total)
}
