//! Durations as the API writes them: Go's notation (`30s`, `5m`, `1h30m`, `1.5h`, `500ms`), the
//! one Kubernetes and Flux users know from `interval` fields.

use k8s_openapi::jiff::SignedDuration;

/// The schema's pattern for a duration field; [`parse_duration`] accepts exactly these.
pub const PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// A duration that is not in Go's notation, or not positive.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a positive duration such as 30s, 5m, 1h30m or 1.5h")]
pub struct DurationError {
    /// The text given.
    pub text: String,
}

/// Parses a positive Go-style duration.
///
/// # Errors
/// [`DurationError`] for anything else (including units Go does not have, such as days).
pub fn parse_duration(text: &str) -> Result<SignedDuration, DurationError> {
    let error = || DurationError {
        text: text.to_string(),
    };
    if !is_go_duration(text) {
        return Err(error());
    }
    match text.parse::<SignedDuration>() {
        Ok(d) if d.is_positive() => Ok(d),
        _ => Err(error()),
    }
}

/// Whether `text` matches [`PATTERN`]: one or more `<number>[.<fraction>]<unit>` groups.
fn is_go_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(fraction.len());
            if digits == 0 {
                return false;
            }
            rest = &fraction[digits..];
        }
        rest = match ["ms", "s", "m", "h"]
            .iter()
            .find_map(|unit| rest.strip_prefix(unit))
        {
            Some(after) => after,
            None => return false,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_and_others_do_not() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs_f64());
        assert_eq!(secs("30s"), Ok(30.0));
        assert_eq!(secs("5m"), Ok(300.0));
        assert_eq!(secs("1h30m"), Ok(5400.0));
        assert_eq!(secs("1.5h"), Ok(5400.0));
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(secs("12h"), Ok(43_200.0));
        for bad in [
            "",
            "5",
            "m",
            "1d",
            "-5m",
            "0s",
            "5 m",
            "PT5M",
            "1.h",
            "five minutes",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }
}
