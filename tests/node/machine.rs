//! Stopping the node leaves the machine as it was: no process, mount, network namespace, link,
//! nftables (iptables-nft) rule or Pod cgroup of the node's, and the sysctls it changed back at
//! their old values. Checked around a node that really ran a Pod, so each check could fail.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use testkit::*;

use super::harness::*;

/// The sysctls the kubelet, kube-proxy and the bridge plugin set (hack/node.sh SYSCTLS).
const SYSCTLS: &[&str] = &[
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
];

/// What the node may change on the machine.
#[derive(Debug, PartialEq, Eq)]
struct Machine {
    sysctls: Vec<(String, String)>,
    ruleset: String,
    links: BTreeSet<String>,
    mounts: BTreeSet<String>,
    pod_cgroups: BTreeSet<String>,
}

fn output(program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run(cmd)
        .expect(&format!("{program} {}", args.join(" ")))
        .stdout
}

fn snapshot() -> Machine {
    let sysctls = SYSCTLS
        .iter()
        .map(|s| {
            let value = std::fs::read_to_string(format!("/proc/sys/{s}")).unwrap_or_default();
            (s.to_string(), value.trim().to_string())
        })
        .collect();
    let links = output("ip", &["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .collect();
    let mounts = std::fs::read_to_string("/proc/self/mounts")
        .expect("/proc/self/mounts")
        .lines()
        .map(String::from)
        .collect();
    let pod_cgroups = std::fs::read_dir("/sys/fs/cgroup")
        .expect("/sys/fs/cgroup")
        .flatten()
        .flat_map(|controller| {
            ["kubepods", "kubepods.slice"]
                .iter()
                .map(move |dir| controller.path().join(dir))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    Machine {
        sysctls,
        ruleset: output("nft", &["-s", "list", "ruleset"]),
        links,
        mounts,
        pod_cgroups,
    }
}

/// The processes whose command line names `dir`.
fn processes_under(dir: &std::path::Path) -> Vec<String> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(&needle).then_some(text)
        })
        .collect()
}

#[tokio::test]
async fn stopping_the_node_leaves_the_machine_as_it_was() {
    let _turn = SERIAL.lock().await;
    stop_node();
    let before = snapshot();

    let own = Cluster::supervise_node("machine").expect("a node");
    let pause = format!(
        "--image=learnpath.local/pause:{}",
        std::fs::read_to_string(bin("pause").with_file_name("TAG"))
            .expect("pause TAG")
            .trim()
    );
    kubectl_with(
        &own.kubeconfig,
        &[
            "run",
            "sleeper",
            &pause,
            "--image-pull-policy=Never",
            "--restart=Never",
        ],
    )
    .expect("kubectl run");
    kubectl_with(
        &own.kubeconfig,
        &[
            "wait",
            "--for=condition=Ready",
            "pod/sleeper",
            "--timeout=120s",
        ],
    )
    .expect("the Pod runs");
    let running = snapshot();
    assert_ne!(
        running.sysctls, before.sysctls,
        "the node changed no sysctl"
    );
    assert_ne!(running.ruleset, before.ruleset, "the node added no rule");
    assert!(
        running.links.len() > before.links.len(),
        "no bridge or veth"
    );
    assert!(running.mounts.len() > before.mounts.len(), "no mount");
    assert!(!running.pod_cgroups.is_empty(), "no Pod cgroup");
    let dir = own.dir.clone();
    assert!(!processes_under(&dir).is_empty());

    drop(own);
    // The supervisor has stopped everything when Cluster's drop returns; processes a kill has
    // just reached may take a moment to be reaped.
    let mut left = processes_under(&dir);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = processes_under(&dir);
    }
    assert!(left.is_empty(), "still running: {left:?}");
    let after = snapshot();
    assert_eq!(after.sysctls, before.sysctls);
    assert_eq!(after.ruleset, before.ruleset);
    assert_eq!(after.links, before.links);
    let new_mounts: Vec<_> = after.mounts.difference(&before.mounts).collect();
    assert!(new_mounts.is_empty(), "mounts left: {new_mounts:?}");
    assert_eq!(after.pod_cgroups, before.pod_cgroups);
}
