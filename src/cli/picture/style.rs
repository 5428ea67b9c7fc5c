//! The pictures' one stylesheet, inlined into every page and every SVG: nothing is fetched.
//!
//! Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
//! deficiencies), and every state is also written out in words next to its colour.

/// Fonts the machine has; none is downloaded.
const FONTS: &str = "\"DejaVu Sans\",\"Noto Sans\",\"Noto Sans CJK SC\",\"WenQuanYi Micro Hei\",\"Helvetica Neue\",Arial,sans-serif";

/// The SVG part: what the radar and the timeline need, standalone or inside a page.
pub(crate) fn svg_css() -> String {
    format!(
        "svg text{{font-family:{FONTS};fill:#1f2933}}\
.axis{{stroke:#c5ccd3;stroke-width:1}}\
.grid{{fill:none;stroke:#dde2e7;stroke-width:1}}\
.grid-label{{font-size:10px;fill:#7b8794}}\
.threshold{{fill:none;stroke:#D55E00;stroke-width:2;stroke-dasharray:6 4}}\
.threshold-label{{font-size:11px;fill:#b34d00;font-weight:600}}\
.learner-area{{fill:#0072B2;fill-opacity:.22;stroke:#0072B2;stroke-width:2.5;stroke-linejoin:round}}\
.point{{fill:#0072B2;stroke:#fff;stroke-width:1.5}}\
.point.derived{{fill:#fff;stroke:#0072B2;stroke-width:2}}\
.dim-label{{font-size:13px;font-weight:600}}\
.dim-score{{font-size:13px;fill:#0072B2;font-weight:700}}\
.dim-score.derived{{fill:#3e6f92;font-weight:400;font-style:italic}}\
.heading{{font-size:15px;font-weight:700}}\
.title{{font-size:22px;font-weight:700}}\
.sub{{font-size:12px;fill:#52606d}}\
.small{{font-size:11px;fill:#52606d}}\
.week-tick{{stroke:#e4e7eb;stroke-width:1}}\
.week-label{{font-size:10px;fill:#7b8794}}\
.stage-band{{fill:#f5f7fa}}\
.stage-band.odd{{fill:#eaf1f8}}\
.stage-name{{font-size:12px;font-weight:700;fill:#334e68}}\
.module-label{{font-size:12px}}\
.state-word{{font-size:11px;fill:#52606d}}\
.bar{{stroke-width:1}}\
.s-mastered{{fill:#009E73;stroke:#00785a}}\
.s-next{{fill:#0072B2;stroke:#005a8c}}\
.s-in-progress{{fill:#56B4E9;stroke:#3a94c7}}\
.s-frozen{{fill:#D55E00;stroke:#a84a00}}\
.s-ready{{fill:#cfe4f3;stroke:#7fb0d6}}\
.s-locked{{fill:#e4e7eb;stroke:#b8c0c8}}\
.s-optional{{fill:#fff;stroke:#9aa5b1;stroke-dasharray:3 2}}\
.pill-text{{font-size:11px;fill:#fff;font-weight:600}}\
.pill-text.dark{{fill:#1f2933;font-weight:400}}\
.notice{{font-size:13px;fill:#7b8794;font-style:italic}}\
.frame{{fill:#fff;stroke:#dde2e7}}"
    )
}

/// The page part, for the roadmap page and the cohort report.
pub(crate) fn page_css() -> String {
    format!(
        "*{{box-sizing:border-box}}\
body{{margin:0;padding:24px 32px;font-family:{FONTS};color:#1f2933;background:#f5f7fa;font-size:14px;line-height:1.45}}\
h1{{font-size:24px;margin:0 0 4px}}h2{{font-size:19px;margin:28px 0 8px}}h3{{font-size:15px;margin:18px 0 6px}}\
a{{color:#005a8c}}\
.meta{{color:#52606d;margin:0 0 12px}}\
.card{{background:#fff;border:1px solid #dde2e7;border-radius:8px;padding:16px 20px;margin:0 0 16px}}\
.cols{{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}}\
.cols>.card{{flex:1 1 420px}}\
.badge{{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;margin-right:4px;border:1px solid}}\
.badge.good{{background:#e3f6ee;border-color:#8fd3b8;color:#0b5d40}}\
.badge.bad{{background:#fde8dc;border-color:#f0a77c;color:#8a3300}}\
.badge.neutral{{background:#eef1f4;border-color:#c5ccd3;color:#3e4c59}}\
.nums{{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 12px}}\
.num{{background:#fff;border:1px solid #dde2e7;border-radius:8px;padding:8px 14px;min-width:120px}}\
.num b{{display:block;font-size:22px}}.num span{{color:#52606d;font-size:12px}}\
ol.next li{{margin:0 0 10px}}.why{{color:#52606d;font-size:13px}}\
ul.plain{{list-style:none;padding:0;margin:0}}ul.plain li{{margin:0 0 8px}}\
code{{font-family:\"DejaVu Sans Mono\",monospace;font-size:12px;background:#eef1f4;padding:0 4px;border-radius:3px}}\
table{{border-collapse:collapse;width:100%;background:#fff}}\
th,td{{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e7eb;vertical-align:middle}}\
th{{font-size:12px;color:#52606d;font-weight:600;background:#f5f7fa}}\
td.n,th.n{{text-align:right;font-variant-numeric:tabular-nums}}\
.bar-track{{display:inline-block;width:120px;height:10px;background:#e4e7eb;border-radius:5px;vertical-align:middle;margin-right:6px;overflow:hidden}}\
.bar-fill{{display:block;height:100%;background:#009E73}}\
.heat td.h{{text-align:right;font-variant-numeric:tabular-nums;min-width:70px}}\
.h0{{background:#fff;color:#c5ccd3}}.h1{{background:#e6f0f8}}.h2{{background:#c6dcee}}.h3{{background:#9fc4e2}}.h4{{background:#6fa6d3;color:#fff}}.h5{{background:#0072B2;color:#fff}}\
.hf1{{background:#fbe3d3}}.hf2{{background:#f6c09d}}.hf3{{background:#ee9560}}.hf4{{background:#D55E00;color:#fff}}\
.rule-bar{{display:inline-block;height:12px;background:#CC79A7;border-radius:3px;vertical-align:middle;margin-right:6px}}\
nav.views a,nav.pages a{{margin-right:12px}}nav.views b,nav.pages b{{margin-right:12px}}\
.legend span.sw{{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin:0 4px 0 12px;border:1px solid #9aa5b1}}\
.sw.s-mastered{{background:#009E73}}.sw.s-next{{background:#0072B2}}.sw.s-in-progress{{background:#56B4E9}}.sw.s-frozen{{background:#D55E00}}.sw.s-ready{{background:#cfe4f3}}.sw.s-locked{{background:#e4e7eb}}.sw.s-optional{{background:#fff;border-style:dashed}}\
svg{{max-width:100%;height:auto}}\
.muted{{color:#7b8794}}"
    )
}
