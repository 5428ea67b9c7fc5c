//! Kubernetes I/O: watches, reconcile, status writes, events, metrics, leader election.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{Timestamp, TimestampRound, Unit};

/// The current time, to the second: conditions are stored with second precision, and a
/// sub-second timestamp would make a freshly composed status differ from the stored one.
pub fn now() -> Time {
    let now = Timestamp::now();
    Time(
        now.round(
            TimestampRound::new()
                .smallest(Unit::Second)
                .mode(k8s_openapi::jiff::RoundMode::Trunc),
        )
        .unwrap_or(now),
    )
}
