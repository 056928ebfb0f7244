//! An invoice's status only moves forward: `created` → `overdue` → a final one (`paid`,
//! `canceled`, `expired`, or anything newer the API may add). Logs and list answers can arrive
//! in any order — a sweep reads events newest first — so an older snapshot must never undo a
//! newer one.

/// Where a status stands in an invoice's life.
pub fn status_rank(status: &str) -> u8 {
    match status {
        "created" => 0,
        "overdue" => 1,
        _ => 2,
    }
}

/// Whether a snapshot with status `new` should replace what the ledger holds (`current`, or
/// nothing yet).
pub fn advances(current: Option<&str>, new: &str) -> bool {
    match current {
        None => true,
        Some(c) => status_rank(new) > status_rank(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_never_go_backwards() {
        let cases = [
            (None, "created", true),
            (Some("created"), "created", false),
            (Some("created"), "overdue", true),
            (Some("created"), "paid", true),
            (Some("overdue"), "paid", true),
            (Some("paid"), "created", false),
            (Some("paid"), "overdue", false),
            (Some("overdue"), "created", false),
            (Some("paid"), "paid", false),
            (Some("canceled"), "created", false),
            (Some("paid"), "expired", false),
        ];
        for (current, new, want) in cases {
            assert_eq!(advances(current, new), want, "{current:?} -> {new}");
        }
    }
}
