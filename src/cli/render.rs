//! Human-readable renderings of a status: a table and a Mermaid flowchart.

use std::fmt::Write as _;

use crate::api::{LearningPathStatus, ModuleState};

use super::PlanFormat;

/// Renders a status in the requested format.
///
/// # Errors
/// When serialization fails, which would be a bug, and for `svg` and `html`: a picture needs
/// the LearningPath as well as its status ([`super::show_picture`], [`super::plan_picture`]).
pub fn render(status: &LearningPathStatus, format: PlanFormat) -> Result<String, String> {
    match format {
        PlanFormat::Json => serde_json::to_string_pretty(status)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        PlanFormat::Yaml => serde_saphyr::to_string(status).map_err(|e| e.to_string()),
        PlanFormat::Table => Ok(table(status)),
        PlanFormat::Mermaid => Ok(mermaid(status)),
        PlanFormat::Svg | PlanFormat::Html => {
            Err("a picture needs the LearningPath, not only its status".to_string())
        }
    }
}

fn state_word(state: ModuleState) -> &'static str {
    match state {
        ModuleState::InProgress => "in-progress",
        ModuleState::Ready => "ready",
        ModuleState::Locked => "locked",
    }
}

fn table(status: &LearningPathStatus) -> String {
    let mut out = String::new();
    if let Some(summary) = &status.summary {
        let _ = writeln!(out, "{summary}");
    }
    if let Some(p) = &status.progress {
        let _ = writeln!(
            out,
            "progress: {}% ({} of {} modules, {} hours left, ~{} weeks)",
            p.percent,
            p.completed_modules,
            p.total_modules,
            p.remaining_hours,
            status.estimated_weeks.unwrap_or(0)
        );
    }
    let width = status
        .stages
        .iter()
        .flat_map(|s| &s.modules)
        .map(|m| m.id.len())
        .max()
        .unwrap_or(2)
        .max(6);
    for stage in &status.stages {
        let _ = writeln!(out, "\n{} - {} h", stage.name, stage.hours);
        for m in &stage.modules {
            let _ = writeln!(
                out,
                "  {:<width$}  {:<11}  {:>4} h  {}",
                m.id,
                state_word(m.state),
                m.hours,
                m.title
            );
        }
    }
    if !status.next_exercises.is_empty() {
        let _ = writeln!(out, "\nNext exercises:");
        for (i, e) in status.next_exercises.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {}. {} ({}, {} h): {}",
                i + 1,
                e.exercise,
                e.module,
                e.hours,
                e.title
            );
            let _ = writeln!(out, "     why: {}", e.reason);
        }
    }
    if !status.mastered.is_empty() {
        let _ = writeln!(out, "\nSkipped (mastered): {}", status.mastered.join(", "));
    }
    if !status.optional.is_empty() {
        let _ = writeln!(out, "Optional: {}", status.optional.join(", "));
    }
    for f in &status.frozen_exercises {
        let remedy = f.remedy.as_deref().unwrap_or("none named");
        let _ = writeln!(
            out,
            "Frozen: {} after {} failures (remedy: {remedy})",
            f.exercise, f.failures
        );
    }
    for r in &status.triggered_rules {
        let _ = writeln!(out, "Rule {}: {}", r.rule, r.message);
        if let Some(text) = &r.recommendation {
            let _ = writeln!(out, "  recommendation: {text}");
        }
    }
    out
}

/// Mermaid node ids must be plain words; module ids may hold dashes.
fn node(id: &str) -> String {
    id.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
}

fn mermaid(status: &LearningPathStatus) -> String {
    let mut out = String::from("flowchart TD\n");
    let mut previous: Option<String> = None;
    for (i, stage) in status.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph stage{}[\"{}\"]",
            i + 1,
            stage.name.replace('"', "'")
        );
        for m in &stage.modules {
            let _ = writeln!(
                out,
                "    {}[\"{} ({} h, {})\"]",
                node(&m.id),
                m.title.replace('"', "'"),
                m.hours,
                state_word(m.state)
            );
        }
        let _ = writeln!(out, "  end");
        for m in &stage.modules {
            if let Some(prev) = &previous {
                let _ = writeln!(out, "  {prev} --> {}", node(&m.id));
            }
            previous = Some(node(&m.id));
        }
    }
    out
}
