//! What EFS's lifecycle states mean for a wait, judged without AWS, and the polling loop that
//! asks again until the judgement is final or the time is up.

use std::future::Future;
use std::time::Duration;

use crate::providers::ProviderError;

/// What one look at the states says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Done,
    /// Not yet, with what is still pending (for the progress line).
    Waiting(String),
    Failed(String),
}

/// Whether a file system and its mount targets are usable: every state `available`; `error`
/// fails; anything else (`creating`, `updating`) waits.
pub fn stable(file_system: &str, mount_targets: &[(String, String)]) -> Verdict {
    if file_system == "error" {
        return Verdict::Failed("the file system is in state error".into());
    }
    if let Some((id, _)) = mount_targets.iter().find(|(_, s)| s == "error") {
        return Verdict::Failed(format!("mount target {id} is in state error"));
    }
    if file_system != "available" {
        return Verdict::Waiting(format!("file system {file_system}"));
    }
    let pending: Vec<String> = mount_targets
        .iter()
        .filter(|(_, s)| s != "available")
        .map(|(id, s)| format!("{id} {s}"))
        .collect();
    if pending.is_empty() {
        Verdict::Done
    } else {
        Verdict::Waiting(format!("mount targets {}", pending.join(", ")))
    }
}

/// Whether the mount targets a delete waits for are gone: AWS reports a deleted one as
/// `deleting` for a while, then `deleted` or not at all, and refuses to delete the file system
/// (or to create another mount target in that zone) until then.
pub fn gone(remaining: &[(String, String)]) -> Verdict {
    let pending: Vec<String> = remaining
        .iter()
        .filter(|(_, s)| s != "deleted")
        .map(|(id, s)| format!("{id} {s}"))
        .collect();
    if pending.is_empty() {
        Verdict::Done
    } else {
        Verdict::Waiting(format!("mount targets {}", pending.join(", ")))
    }
}

/// Asks `look` until it is [`Verdict::Done`] (Ok) or [`Verdict::Failed`] (Err), waiting
/// `interval` in between; `Err(TimedOut)` once `timeout` has passed without either.
pub async fn until<F, Fut>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    progress: &(dyn Fn(String) + Send + Sync),
    mut look: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Verdict, ProviderError>>,
{
    let start = tokio::time::Instant::now();
    let mut last = String::new();
    loop {
        match look().await? {
            Verdict::Done => return Ok(()),
            Verdict::Failed(why) => return Err(ProviderError::Refused(format!("{what}: {why}"))),
            Verdict::Waiting(pending) => {
                if start.elapsed() >= timeout {
                    return Err(ProviderError::TimedOut(format!(
                        "{what}: still waiting after {}s ({pending})",
                        timeout.as_secs()
                    )));
                }
                if pending != last {
                    progress(pending.clone());
                    last = pending;
                }
                tokio::time::sleep(interval).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn states(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
            .block_on(f)
    }

    #[test]
    fn a_file_system_is_stable_when_it_and_every_mount_target_are_available() {
        let ready = states(&[("fsmt-1", "available"), ("fsmt-2", "available")]);
        assert_eq!(stable("available", &ready), Verdict::Done);
        assert_eq!(
            stable("creating", &[]),
            Verdict::Waiting("file system creating".into())
        );
        let half = states(&[("fsmt-1", "available"), ("fsmt-2", "creating")]);
        assert_eq!(
            stable("available", &half),
            Verdict::Waiting("mount targets fsmt-2 creating".into())
        );
        let broken = states(&[("fsmt-1", "error")]);
        assert!(matches!(stable("available", &broken), Verdict::Failed(_)));
    }

    #[test]
    fn mount_targets_in_deletion_are_not_gone_until_aws_stops_reporting_them() {
        assert_eq!(gone(&[]), Verdict::Done);
        assert_eq!(gone(&states(&[("fsmt-1", "deleted")])), Verdict::Done);
        assert_eq!(
            gone(&states(&[("fsmt-1", "deleting"), ("fsmt-2", "deleted")])),
            Verdict::Waiting("mount targets fsmt-1 deleting".into())
        );
    }

    /// Canned answers, as AWS gives them after DeleteMountTarget: deleting twice, then gone.
    #[test]
    fn the_wait_asks_again_until_the_mount_targets_are_gone() {
        let answers = Mutex::new(vec![
            states(&[]),
            states(&[("fsmt-1", "deleting")]),
            states(&[("fsmt-1", "deleting")]),
        ]);
        let seen = Mutex::new(Vec::new());
        let asked = Mutex::new(0);
        run(until(
            "deleting",
            Duration::from_secs(60),
            Duration::ZERO,
            &|line| seen.lock().expect("unpoisoned").push(line),
            || {
                *asked.lock().expect("unpoisoned") += 1;
                let next = answers
                    .lock()
                    .expect("unpoisoned")
                    .pop()
                    .unwrap_or_default();
                async move { Ok(gone(&next)) }
            },
        ))
        .expect("gone in the end");
        assert_eq!(*asked.lock().expect("unpoisoned"), 3);
        // The same pending state is reported once.
        assert_eq!(
            *seen.lock().expect("unpoisoned"),
            ["mount targets fsmt-1 deleting"]
        );
    }

    #[test]
    fn the_wait_gives_up_after_its_timeout_and_fails_on_an_error_state() {
        let stuck = run(until(
            "deleting",
            Duration::ZERO,
            Duration::ZERO,
            &|_| {},
            || async { Ok(gone(&states(&[("fsmt-1", "deleting")]))) },
        ));
        assert!(
            matches!(stuck, Err(ProviderError::TimedOut(_))),
            "{stuck:?}"
        );
        let failed = run(until(
            "creating",
            Duration::from_secs(60),
            Duration::ZERO,
            &|_| {},
            || async { Ok(stable("error", &[])) },
        ));
        assert!(
            matches!(failed, Err(ProviderError::Refused(_))),
            "{failed:?}"
        );
    }
}
