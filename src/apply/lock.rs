//! Who holds a stack's apply lock, and since when. The lock itself lives on the AWS side
//! (`providers::aws::lock_table`), so two machines cannot both hold it.

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
    /// The holder's process on `host` (0 when not recorded).
    pub pid: u32,
}

impl Holder {
    /// This process, about to run `command`.
    pub fn me(command: &str) -> Holder {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown".into());
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
        }
    }

    /// Whether the holder is an infra process on this machine that no longer runs (it was
    /// killed, or the machine restarted): its lock can only be released by hand.
    pub fn stale(&self) -> bool {
        if self.pid == 0 || self.host != Holder::me("").host {
            return false;
        }
        // A pid reused by another program does not hold our lock either.
        std::fs::read_to_string(format!("/proc/{}/comm", self.pid))
            .map(|comm| comm.trim() != "infra")
            .unwrap_or(true)
    }
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
        if self.stale() {
            write!(
                f,
                " (stale: process {} on {} is no longer running)",
                self.pid, self.host
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

    #[test]
    fn holders_say_who_what_and_how_long() {
        let h = Holder {
            id: "abc123".into(),
            user: "ana".into(),
            host: "ci-7".into(),
            command: "apply stacks/shop.kdl".into(),
            since: 0,
            pid: 0,
        };
        let text = h.to_string();
        assert!(
            text.starts_with("lock abc123 held by ana@ci-7 running `apply stacks/shop.kdl` for "),
            "{text}"
        );
        assert_ne!(Holder::me("x").id, "", "an id");
        assert_eq!(ago(90), "90s");
        assert_eq!(ago(600), "10m");
        assert_eq!(ago(7_500), "2h5m");
    }

    #[test]
    fn a_holder_whose_process_is_gone_is_stale() {
        let me = Holder::me("apply x");
        let gone = Holder {
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert!(gone.stale());
        assert!(gone.to_string().contains("(stale: process"), "{gone}");
        let elsewhere = Holder {
            host: format!("{}-other", me.host),
            ..gone
        };
        assert!(
            !elsewhere.stale(),
            "another machine's process cannot be seen"
        );
    }
}
