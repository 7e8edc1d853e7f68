//! Durations as a user writes them, on the command line (`--wait-timeout 10m`) and in a stack
//! (`bake "5m"`): `90s`, `10m`, `1h` or plain seconds.

/// The longest duration: a day (`--wait-timeout`, `--lock-timeout`, a deployment's `bake`).
pub const MAX_DURATION_SECS: u64 = 24 * 3600;

/// `90s`, `10m`, `1h` or plain seconds, at most [`MAX_DURATION_SECS`].
pub fn parse(text: &str) -> Result<std::time::Duration, String> {
    let not_a_duration = || format!("`{text}` is not a duration such as 90s, 10m or 1h");
    let too_long = || format!("`{text}` is longer than the maximum of 24h");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    if number.is_empty() {
        return Err(not_a_duration());
    }
    let per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(not_a_duration()),
    };
    // Only digits are left, so a number that does not fit is too long, not malformed.
    let n: u64 = number.parse().map_err(|_| too_long())?;
    match n.checked_mul(per_unit) {
        Some(seconds) if seconds <= MAX_DURATION_SECS => {
            Ok(std::time::Duration::from_secs(seconds))
        }
        _ => Err(too_long()),
    }
}
