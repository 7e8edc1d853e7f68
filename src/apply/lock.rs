//! Who holds a stack's apply lock, since when, and until when. The lock itself lives on the AWS
//! side (`providers::aws::lock_table`), so two machines cannot both hold it.
//!
//! A holder renews its lock while it runs (a heartbeat that pushes `expires` forward); a lock
//! whose expiry has passed belongs to a run that stopped renewing it (killed, or its machine
//! lost): that is the evidence of staleness, the same whatever the machine, container or name
//! of the binary.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The holder of a lock, as recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Random; `infra unlock` names it.
    pub id: String,
    pub user: String,
    pub host: String,
    /// The subcommand and stack file, never variables (they may hold secrets).
    pub command: String,
    /// Seconds since the Unix epoch.
    pub since: u64,
    /// The holder's process on `host` (0 when not recorded), for people to look at.
    pub pid: u32,
    /// When the holder last renewed the lock (seconds since the Unix epoch; 0: never).
    pub heartbeat: u64,
    /// Until when the lock holds without another renewal (0: not recorded, by an earlier
    /// version of infra: never taken as stale).
    pub expires: u64,
}

impl Holder {
    /// This process, about to run `command`, holding the lock for `lease` unless it renews it.
    pub fn me(command: &str, lease: std::time::Duration) -> Holder {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (user, host) = crate::providers::revisions::user_and_host();
        let id = format!(
            "{:08x}{:06x}",
            (now.as_nanos() as u64) ^ (u64::from(std::process::id()) << 20),
            std::process::id() & 0xff_ffff
        );
        Holder {
            id: id.chars().rev().take(12).collect(),
            user,
            host,
            command: command.to_string(),
            since: now.as_secs(),
            pid: std::process::id(),
            heartbeat: now.as_secs(),
            expires: now.as_secs() + lease.as_secs().max(1),
        }
    }

    /// Whether the holder stopped renewing its lock before `now` (seconds since the epoch).
    pub fn stale_at(&self, now: u64) -> bool {
        self.expires != 0 && now > self.expires
    }

    /// Whether the holder stopped renewing its lock: its run was killed or its machine lost.
    pub fn stale(&self) -> bool {
        self.stale_at(now())
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|n| n.as_secs())
        .unwrap_or_default()
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let age = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|n| n.as_secs().saturating_sub(self.since))
            .unwrap_or_default();
        write!(
            f,
            "lock {} held by {}@{} running `{}` for {}",
            self.id,
            self.user,
            self.host,
            self.command,
            ago(age)
        )?;
        let now = now();
        if self.stale_at(now) {
            write!(
                f,
                " (stale: no heartbeat for {}; that run was killed or its machine lost)",
                ago(now.saturating_sub(self.heartbeat))
            )?;
        } else if self.heartbeat != 0 {
            write!(
                f,
                " (alive: heartbeat {} ago)",
                ago(now.saturating_sub(self.heartbeat))
            )?;
        }
        Ok(())
    }
}

fn ago(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7_200 => format!("{}m", s / 60),
        s => format!("{}h{}m", s / 3_600, (s % 3_600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(heartbeat: u64, expires: u64) -> Holder {
        Holder {
            id: "abc123".into(),
            user: "ana".into(),
            host: "ci-7".into(),
            command: "apply stacks/shop.kdl".into(),
            since: 0,
            pid: 0,
            heartbeat,
            expires,
        }
    }

    #[test]
    fn holders_say_who_what_and_how_long() {
        let text = holder(0, 0).to_string();
        assert!(
            text.starts_with("lock abc123 held by ana@ci-7 running `apply stacks/shop.kdl` for "),
            "{text}"
        );
        assert_ne!(
            Holder::me("x", std::time::Duration::from_secs(60)).id,
            "",
            "an id"
        );
        assert_eq!(ago(90), "90s");
        assert_eq!(ago(600), "10m");
        assert_eq!(ago(7_500), "2h5m");
    }

    /// Staleness is the lease running out, whatever the host, container or binary name.
    #[test]
    fn a_holder_is_stale_once_its_lease_runs_out() {
        let me = Holder::me("apply x", std::time::Duration::from_secs(60));
        assert!(!me.stale(), "a fresh lock is alive");
        assert!(me.to_string().contains("(alive: heartbeat"), "{me}");
        let old = holder(1_000, 1_060);
        assert!(!old.stale_at(1_060));
        assert!(old.stale_at(1_061));
        assert!(
            old.to_string().contains("(stale: no heartbeat for "),
            "{old}"
        );
        // A lock written without an expiry (an earlier version) is never called stale.
        assert!(!holder(0, 0).stale_at(u64::MAX));
    }
}
