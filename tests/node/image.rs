//! The image `make image` packs without a container engine: the same commit gives the same
//! digest; skopeo (an independent reader of OCI archives) sees the Dockerfile's user, entrypoint
//! and port; the layer holds only the static binary and the CA bundle, owned by root and not
//! writable; the SBOM beside it lists the Rust dependencies at their locked versions.

use std::process::Command;

use serde_json::Value;
use testkit::*;

use super::harness::*;

fn skopeo(args: &[&str]) -> Value {
    let mut cmd = Command::new("skopeo");
    cmd.args(args);
    let out = run(cmd).expect(&format!("skopeo {}", args.join(" ")));
    serde_json::from_str(&out.stdout).expect("skopeo prints JSON")
}

/// The version Cargo.lock pins for `package`.
fn locked_version(package: &str) -> String {
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let marker = format!("[[package]]\nname = \"{package}\"\nversion = \"");
    let start = lock.find(&marker).expect("package in Cargo.lock") + marker.len();
    lock[start..]
        .split('"')
        .next()
        .expect("version")
        .to_string()
}

#[tokio::test]
async fn the_image_is_reproducible_and_runs_as_the_dockerfile_says() {
    let _turn = SERIAL.lock().await;
    let first = image();
    run_image_script().expect("hack/image.sh again");
    let again = build_image().expect("the second build's digest");
    assert_eq!(
        again.digest, first.digest,
        "the same commit gives the same digest"
    );

    let archive = format!("oci-archive:{}", first.archive.display());
    let config = skopeo(&["inspect", "--config", &archive]);
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532");
    assert_eq!(c["Entrypoint"], serde_json::json!(["/learnpath"]));
    assert_eq!(c["Cmd"], serde_json::json!(["run"]));
    assert!(c["ExposedPorts"]["8080/tcp"].is_object(), "{c}");
    let manifest = skopeo(&["inspect", "--raw", &archive]);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1);
    let layer = layers[0]["digest"].as_str().expect("digest");
    assert_eq!(
        format!("sha256:{}", sha256_of(&first.archive, layer)),
        layer,
        "the layer's bytes match its digest"
    );

    // What the layer holds: `tar -tv` of the blob.
    let blob = format!("blobs/sha256/{}", &layer["sha256:".len()..]);
    let script = format!("tar -xOf {} {blob} | tar -tvzf -", first.archive.display());
    let listing = run({
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        cmd
    })
    .expect("list the layer");
    let files: Vec<&str> = listing
        .stdout
        .lines()
        .filter(|l| !l.starts_with('d'))
        .collect();
    assert_eq!(files.len(), 2, "{}", listing.stdout);
    assert!(
        files
            .iter()
            .any(|l| l.starts_with("-r-xr-xr-x 0/0") && l.ends_with(" ./learnpath")),
        "{}",
        listing.stdout
    );
    assert!(
        files
            .iter()
            .any(|l| l.starts_with("-r--r--r-- 0/0") && l.ends_with("ca-certificates.crt")),
        "{}",
        listing.stdout
    );

    let sbom: Value = serde_json::from_slice(
        &std::fs::read(first.dir.join("learnpath.cdx.json")).expect("the SBOM beside the image"),
    )
    .expect("SBOM JSON");
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    let components = sbom["components"].as_array().expect("components");
    for package in ["kube", "tokio", "gix"] {
        let version = locked_version(package);
        assert!(
            components
                .iter()
                .any(|c| c["name"] == package && c["version"] == version.as_str()),
            "the SBOM lists {package} {version}"
        );
    }
}

/// sha256 of a blob inside the archive, by `sha256sum`.
fn sha256_of(archive: &std::path::Path, digest: &str) -> String {
    let script = format!(
        "tar -xOf {} blobs/sha256/{} | sha256sum",
        archive.display(),
        &digest["sha256:".len()..]
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]);
    let out = run(cmd).expect("sha256sum of the blob");
    out.stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
