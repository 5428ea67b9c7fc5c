//! Small drawing helpers shared by the pictures: numbers as SVG writes them, text that fits.

use std::fmt::Write as _;

/// A coordinate or length with at most one decimal, so that the same picture is the same bytes
/// (and a diff in a pull request shows only what moved).
pub(crate) fn num(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 {
        // Never "-0".
        "0".to_string()
    } else if rounded == rounded.trunc() {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// A count with thousands separators: 10,000 reads at a glance, 10000 does not.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x,y x,y ...` for a `points` attribute.
pub(crate) fn points(ps: &[(f64, f64)]) -> String {
    let mut out = String::with_capacity(ps.len() * 12);
    for (i, &(x, y)) in ps.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{},{}", num(x), num(y));
    }
    out
}

/// `text` cut to at most `max` characters, with an ellipsis when cut (SVG text does not wrap).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// `text` broken into lines of at most `width` characters at spaces (a word longer than a line
/// gets a line of its own, cut), at most `max_lines` lines, the last one ellipsised when there
/// is more.
pub(crate) fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if !current.is_empty() && needed > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    let cut = lines.len() > max_lines;
    lines.truncate(max_lines);
    for line in &mut lines {
        *line = truncate(line, width);
    }
    if cut && let Some(last) = lines.last_mut() {
        *last = truncate(&format!("{last} …"), width);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_at_most_one_decimal_and_no_trailing_zero() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.04), "12");
        assert_eq!(num(12.06), "12.1");
        assert_eq!(num(-0.25), "-0.3", "halves away from zero");
        assert_eq!(num(-0.04), "0");
        assert_eq!(points(&[(1.0, 2.5), (3.33, 4.0)]), "1,2.5 3.3,4");
        assert_eq!(
            [0, 999, 1000, 10_000, 1_234_567].map(count),
            ["0", "999", "1,000", "10,000", "1,234,567"]
        );
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_and_wrapped_at_spaces() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(
            truncate("Kubernetes Operator development", 12),
            "Kubernetes…"
        );
        assert_eq!(
            wrap("one two three four five", 9, 5),
            ["one two", "three", "four five"]
        );
        assert_eq!(
            wrap("one two three four five", 9, 2),
            ["one two", "three …"]
        );
        assert_eq!(wrap("averyveryverylongword x", 6, 3), ["avery…", "x"]);
        assert!(wrap("", 10, 3).is_empty());
    }
}
