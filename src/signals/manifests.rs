//! Dependency manifests as sets of dependency names (pure: text in, names out).
//!
//! Three formats are recognised by file name, at any directory depth:
//!
//! - `go.mod`: the modules of its `require` directives (single-line and block form). Only direct
//!   dependencies: a requirement marked `// indirect` is skipped, as are `replace`, `exclude`,
//!   `retract`, `toolchain`, `tool`, `godebug` and `ignore`.
//! - `Cargo.toml`: the keys of `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]`
//!   (also in their `target.<cfg>.*` form) and `[workspace.dependencies]`. A renamed dependency,
//!   `foo = { package = "bar" }`, is the crate `bar`.
//! - `package.json`: the keys of `dependencies`, `devDependencies`, `optionalDependencies` and
//!   `peerDependencies`.
//!
//! A set holds names only, so reformatting, reordering, comments and version changes leave it
//! unchanged. A manifest that does not parse is a [`ManifestError`] naming the file and the
//! problem.

use std::collections::BTreeSet;
use std::str::FromStr;

/// The kinds of dependency manifest whose dependencies are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ManifestKind {
    /// A Go module's `go.mod`.
    GoMod,
    /// A Rust package's or workspace's `Cargo.toml`.
    CargoToml,
    /// An npm package's `package.json`.
    PackageJson,
}

impl ManifestKind {
    /// The kind of manifest at `path` (a `/`-separated path inside a repository), by its file
    /// name; `None` for any other file, and for a `package.json` under a `node_modules` directory
    /// (a committed copy of someone else's package, not this project's manifest).
    pub fn of_path(path: &str) -> Option<Self> {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let kind = match file_name {
            "go.mod" => Self::GoMod,
            "Cargo.toml" => Self::CargoToml,
            "package.json" => Self::PackageJson,
            _ => return None,
        };
        if kind == Self::PackageJson && path.split('/').any(|c| c == "node_modules") {
            return None;
        }
        Some(kind)
    }
}

/// A manifest that could not be read as its format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ManifestError {
    /// The manifest's path inside the repository.
    pub path: String,
    /// What is wrong with it, in one line.
    pub problem: String,
}

/// The names of the dependencies the manifest at `path` declares, read as `kind`.
pub fn dependency_names(
    kind: ManifestKind,
    path: &str,
    content: &[u8],
) -> Result<BTreeSet<String>, ManifestError> {
    let error = |problem: String| ManifestError {
        path: path.to_string(),
        problem: one_line(&problem),
    };
    let text = std::str::from_utf8(content).map_err(|e| error(format!("not UTF-8 text ({e})")))?;
    match kind {
        ManifestKind::GoMod => go_mod_requirements(text),
        ManifestKind::CargoToml => cargo_dependencies(text),
        ManifestKind::PackageJson => package_json_dependencies(text),
    }
    .map_err(error)
}

/// Parser messages span several lines (a caret under the offending line); a condition message
/// must be one line.
fn one_line(text: &str) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|" && *l != "^")
        .collect::<Vec<_>>()
        .join(" ");
    const MAX: usize = 200;
    if joined.chars().count() > MAX {
        let cut: String = joined.chars().take(MAX).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

/// Direct requirements of a `go.mod`. Parsed with the `gomod-parser` crate; two things it leaves
/// to the caller are done here as Go's own `golang.org/x/mod/modfile` does them: a requirement is
/// indirect when the first word of its line comment is `indirect` (also `indirect;` or with
/// trailing blanks, which the crate misses), and a module path may be a quoted string.
fn go_mod_requirements(text: &str) -> Result<BTreeSet<String>, String> {
    let parsed = gomod_parser::GoMod::from_str(text).map_err(|e| format!("invalid go.mod: {e}"))?;
    Ok(parsed
        .require
        .iter()
        .filter(|dep| !is_indirect(text, dep.module.version_span.end))
        .map(|dep| unquote_go_path(&dep.module.module_path))
        .collect())
}

/// Whether the rest of the line after byte offset `after_version` is an `// indirect` comment.
fn is_indirect(text: &str, after_version: usize) -> bool {
    let rest = text.get(after_version..).unwrap_or("");
    let line = rest.lines().next().unwrap_or("");
    let Some(comment) = line.trim_start().strip_prefix("//") else {
        return false;
    };
    comment
        .split_whitespace()
        .next()
        .is_some_and(|word| word == "indirect" || word.starts_with("indirect;"))
}

fn unquote_go_path(path: &str) -> String {
    path.strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .or_else(|| path.strip_prefix('`').and_then(|p| p.strip_suffix('`')))
        .unwrap_or(path)
        .to_string()
}

/// The dependency tables of a `Cargo.toml`, by their names in the manifest format (the
/// underscore spellings are Cargo's older aliases and still accepted by it).
const CARGO_DEPENDENCY_TABLES: [&str; 5] = [
    "dependencies",
    "dev-dependencies",
    "dev_dependencies",
    "build-dependencies",
    "build_dependencies",
];

fn cargo_dependencies(text: &str) -> Result<BTreeSet<String>, String> {
    let manifest: toml::Table = toml::from_str(text).map_err(|e| format!("invalid TOML: {e}"))?;
    let mut names = BTreeSet::new();
    collect_cargo_tables(&manifest, "", &mut names)?;
    if let Some(target) = manifest.get("target") {
        let target = target
            .as_table()
            .ok_or_else(|| "[target] is not a table".to_string())?;
        for (cfg, platform) in target {
            let platform = platform
                .as_table()
                .ok_or_else(|| format!("[target.{cfg}] is not a table"))?;
            collect_cargo_tables(platform, &format!("target.{cfg}."), &mut names)?;
        }
    }
    if let Some(workspace) = manifest.get("workspace") {
        let workspace = workspace
            .as_table()
            .ok_or_else(|| "[workspace] is not a table".to_string())?;
        if let Some(deps) = workspace.get("dependencies") {
            collect_cargo_table(deps, "workspace.dependencies", &mut names)?;
        }
    }
    Ok(names)
}

fn collect_cargo_tables(
    parent: &toml::Table,
    prefix: &str,
    names: &mut BTreeSet<String>,
) -> Result<(), String> {
    for table in CARGO_DEPENDENCY_TABLES {
        if let Some(deps) = parent.get(table) {
            collect_cargo_table(deps, &format!("{prefix}{table}"), names)?;
        }
    }
    Ok(())
}

/// One dependency table: each key is a dependency, named by its `package` when renamed.
fn collect_cargo_table(
    deps: &toml::Value,
    table: &str,
    names: &mut BTreeSet<String>,
) -> Result<(), String> {
    let deps = deps
        .as_table()
        .ok_or_else(|| format!("[{table}] is not a table"))?;
    for (key, spec) in deps {
        let name = match spec.as_table().and_then(|t| t.get("package")) {
            None => key.clone(),
            Some(package) => package
                .as_str()
                .ok_or_else(|| format!("[{table}] {key}: `package` is not a string"))?
                .to_string(),
        };
        names.insert(name);
    }
    Ok(())
}

/// The dependency maps of a `package.json`.
const NPM_DEPENDENCY_FIELDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

fn package_json_dependencies(text: &str) -> Result<BTreeSet<String>, String> {
    let package: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let package = package
        .as_object()
        .ok_or_else(|| "not a JSON object".to_string())?;
    let mut names = BTreeSet::new();
    for field in NPM_DEPENDENCY_FIELDS {
        match package.get(field) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Object(deps)) => names.extend(deps.keys().cloned()),
            Some(_) => return Err(format!("`{field}` is not an object")),
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(kind: ManifestKind, text: &str) -> Vec<String> {
        dependency_names(kind, "some/path", text.as_bytes())
            .expect("manifest parses")
            .into_iter()
            .collect()
    }

    fn problem(kind: ManifestKind, text: &str) -> ManifestError {
        dependency_names(kind, "svc/api/manifest", text.as_bytes())
            .expect_err("manifest must not parse")
    }

    #[test]
    fn kinds_are_recognised_by_file_name_at_any_depth() {
        assert_eq!(ManifestKind::of_path("go.mod"), Some(ManifestKind::GoMod));
        assert_eq!(
            ManifestKind::of_path("a/b/Cargo.toml"),
            Some(ManifestKind::CargoToml)
        );
        assert_eq!(
            ManifestKind::of_path("web/package.json"),
            Some(ManifestKind::PackageJson)
        );
        assert_eq!(ManifestKind::of_path("go.sum"), None);
        assert_eq!(ManifestKind::of_path("cargo.toml"), None);
        assert_eq!(ManifestKind::of_path("docs/go.mod.md"), None);
        assert_eq!(
            ManifestKind::of_path("web/node_modules/left-pad/package.json"),
            None
        );
    }

    const GO_MOD: &str = "module example.com/svc

go 1.23

toolchain go1.23.4

require github.com/spf13/cobra v1.8.0

require (
\tgithub.com/stretchr/testify v1.9.0
\tgolang.org/x/sync v0.7.0 // indirect
\tgolang.org/x/sys v0.20.0 // indirect; pulled in by x/net
\tgolang.org/x/text v0.15.0 // indirect\t
\tgolang.org/x/net v0.25.0 // needed for http2
\t\"example.com/quoted\" v1.0.0
)

replace github.com/spf13/cobra => ../cobra

exclude golang.org/x/crypto v0.1.0

retract v1.0.1

tool golang.org/x/tools/cmd/stringer

godebug default=go1.21
";

    #[test]
    fn go_mod_direct_requirements_single_line_and_block() {
        assert_eq!(
            names(ManifestKind::GoMod, GO_MOD),
            [
                "example.com/quoted",
                "github.com/spf13/cobra",
                "github.com/stretchr/testify",
                "golang.org/x/net",
            ]
        );
    }

    #[test]
    fn go_mod_reformatting_and_version_bumps_change_nothing() {
        let reformatted = "// the service
module example.com/svc
go 1.23
require (
    golang.org/x/net v0.26.0 // needed for http2
    github.com/stretchr/testify v1.10.0
    golang.org/x/text v0.16.0 // indirect
)
require (
    github.com/spf13/cobra v1.9.1
    golang.org/x/sys v0.21.0 // indirect
    golang.org/x/sync v0.8.0 // indirect
)
require \"example.com/quoted\" v1.0.0
";
        assert_eq!(
            names(ManifestKind::GoMod, reformatted),
            names(ManifestKind::GoMod, GO_MOD)
        );
        let crlf = GO_MOD.replace('\n', "\r\n");
        assert_eq!(
            names(ManifestKind::GoMod, &crlf),
            names(ManifestKind::GoMod, GO_MOD)
        );
    }

    #[test]
    fn go_mod_without_requirements_is_empty() {
        assert!(names(ManifestKind::GoMod, "module example.com/x\n\ngo 1.22\n").is_empty());
        assert!(names(ManifestKind::GoMod, "").is_empty());
    }

    #[test]
    fn bad_go_mod_names_file_and_problem_on_one_line() {
        let err = problem(
            ManifestKind::GoMod,
            "module x\nrequire (\n\tgithub.com/a v1\n",
        );
        assert_eq!(err.path, "svc/api/manifest");
        assert!(err.problem.starts_with("invalid go.mod"), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
        let err = problem(ManifestKind::GoMod, "hello world\n");
        assert!(err.problem.contains("line 1"), "{err}");
    }

    const CARGO_TOML: &str = r#"
[package]
name = "svc"
version = "0.1.0"

[dependencies]
serde = { version = "1", features = ["derive"] }
tokio = "1"
json = { package = "serde_json", version = "1" }
shared.workspace = true

[dev-dependencies]
proptest = "1"
tokio = { version = "1", features = ["full"] }

[build-dependencies]
cc = "1"

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[target.x86_64-pc-windows-msvc.dev-dependencies]
winapi = "0.3"

[workspace.dependencies]
anyhow = "1"

[features]
default = ["serde"]
"#;

    #[test]
    fn cargo_toml_every_dependency_table_and_renames() {
        assert_eq!(
            names(ManifestKind::CargoToml, CARGO_TOML),
            [
                "anyhow",
                "cc",
                "libc",
                "proptest",
                "serde",
                "serde_json",
                "shared",
                "tokio",
                "winapi",
            ]
        );
    }

    #[test]
    fn cargo_toml_reformatting_and_version_bumps_change_nothing() {
        let reformatted = r#"
# reordered, inline tables, dotted keys, new versions
workspace = { dependencies = { anyhow = "1.0.90" } }
[build-dependencies]
cc = { version = "1.1" }
[dependencies]
tokio = { version = "1.40" }
serde = "1.0.210"
json = { version = "1.0.128", package = "serde_json" }
shared = { workspace = true }
[dev-dependencies]
proptest = "1.5"
[target."cfg(unix)".dependencies]
libc = "0.2.159"
[target.x86_64-pc-windows-msvc]
dev-dependencies = { winapi = "0.3.9" }
[package]
version = "0.2.0"
name = "svc"
"#;
        assert_eq!(
            names(ManifestKind::CargoToml, reformatted),
            names(ManifestKind::CargoToml, CARGO_TOML)
        );
    }

    #[test]
    fn bad_cargo_toml_names_file_and_problem() {
        let err = problem(ManifestKind::CargoToml, "[dependencies\nserde = 1\n");
        assert!(err.problem.starts_with("invalid TOML"), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
        let err = problem(ManifestKind::CargoToml, "dependencies = 3\n");
        assert_eq!(err.problem, "[dependencies] is not a table");
        let err = problem(
            ManifestKind::CargoToml,
            "[dependencies]\nx = { package = 3 }\n",
        );
        assert_eq!(err.problem, "[dependencies] x: `package` is not a string");
    }

    const PACKAGE_JSON: &str = r#"{
  "name": "web",
  "version": "1.0.0",
  "dependencies": { "react": "^18.2.0", "react-dom": "^18.2.0" },
  "devDependencies": { "typescript": "^5.4.0", "@types/react": "^18.2.0" },
  "optionalDependencies": { "fsevents": "^2.3.0" },
  "peerDependencies": { "react": ">=17" },
  "bundledDependencies": ["not-a-map"],
  "scripts": { "build": "tsc" }
}"#;

    #[test]
    fn package_json_every_dependency_map() {
        assert_eq!(
            names(ManifestKind::PackageJson, PACKAGE_JSON),
            [
                "@types/react",
                "fsevents",
                "react",
                "react-dom",
                "typescript"
            ]
        );
    }

    #[test]
    fn package_json_reformatting_and_version_bumps_change_nothing() {
        let reformatted = r#"{"devDependencies":{"@types/react":"^18.3.0","typescript":"^5.5.0"},
"peerDependencies":{"react":">=18"},"dependencies":{"react-dom":"^18.3.0","react":"^18.3.0"},
"optionalDependencies":{"fsevents":"^2.3.3"},"name":"web","version":"1.1.0"}"#;
        assert_eq!(
            names(ManifestKind::PackageJson, reformatted),
            names(ManifestKind::PackageJson, PACKAGE_JSON)
        );
    }

    #[test]
    fn bad_package_json_names_file_and_problem() {
        let err = problem(ManifestKind::PackageJson, "{\"dependencies\": {");
        assert!(err.problem.starts_with("invalid JSON"), "{err}");
        assert_eq!(err.path, "svc/api/manifest");
        let err = problem(ManifestKind::PackageJson, "[]");
        assert_eq!(err.problem, "not a JSON object");
        let err = problem(ManifestKind::PackageJson, r#"{"devDependencies": ["a"]}"#);
        assert_eq!(err.problem, "`devDependencies` is not an object");
    }

    #[test]
    fn non_utf8_manifest_is_an_error_not_a_panic() {
        let err = dependency_names(ManifestKind::GoMod, "go.mod", &[0x66, 0xff, 0xfe])
            .expect_err("not UTF-8");
        assert!(err.problem.starts_with("not UTF-8"), "{err}");
    }
}
