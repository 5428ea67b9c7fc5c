//! `learnpath plan` on hostile YAML: arbitrary bytes as the text of a Track file and a
//! LearningPath file, through the same steps as `learnpath plan --track T --path P -o FORMAT`
//! (src/cli/plan.rs and src/main.rs): UTF-8 text, `serde_saphyr::from_str` into a `Track` and a
//! `LearningPath`, `plan_objects`, then rendering. Errors are fine; a panic, a hang or a blow-up
//! in memory is not.
//!
//! Input layout: `<Track YAML> 0xFF <LearningPath YAML>`. 0xFF never occurs in UTF-8, so the
//! split cannot cut a valid file; without it, the whole input is the Track and the LearningPath
//! is empty. The seeds in corpus/plan_yaml follow this layout (examples/tracks/go-engineer.yaml
//! with each of examples/learners/*.yaml).

#![no_main]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use learnpath::api::{LearningPath, Track};
use learnpath::cli::{PlanFormat, plan_objects, render};
use libfuzzer_sys::fuzz_target;

const SEPARATOR: u8 = 0xFF;

fuzz_target!(|data: &[u8]| {
    let (track, path) = match data.iter().position(|&b| b == SEPARATOR) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    // `read_to_string` rejects invalid UTF-8 before the YAML parser sees it.
    let (Ok(track), Ok(path)) = (std::str::from_utf8(track), std::str::from_utf8(path)) else {
        return;
    };
    let track: Result<Track, _> = serde_saphyr::from_str(track);
    let path: Result<LearningPath, _> = serde_saphyr::from_str(path);
    // The CLI prints the first line of a parse error: build it (Display must not panic).
    let (track, path) = match (track, path) {
        (Ok(t), Ok(p)) => (t, p),
        (t, p) => {
            if let Err(e) = &t {
                let _ = e.to_string().lines().next();
            }
            if let Err(e) = &p {
                let _ = e.to_string().lines().next();
            }
            return;
        }
    };
    let now = Time(Timestamp::from_second(1_767_225_600).expect("a valid timestamp"));
    match plan_objects(&track, &path, now) {
        Ok(status) => {
            for format in [
                PlanFormat::Json,
                PlanFormat::Yaml,
                PlanFormat::Table,
                PlanFormat::Mermaid,
            ] {
                render(&status, format).expect("a computed status renders");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
