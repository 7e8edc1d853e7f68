//! `infra verify`: whether what runs in AWS is what the stack says and is healthy, check by
//! check. `checks` judges what was read (no AWS), `gather` reads it, `probe` makes the
//! stack's HTTP requests and `render` writes the report as text, JSON or Markdown.

pub mod checks;
pub mod gather;
pub mod probe;
pub mod render;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// What the check needs could not be read: nothing is known either way.
    Error,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Error => "error",
        }
    }
}

/// One check: what it is about, what it checks, and why it came out as it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The stack address (`service.app`) or `probe.<name>`.
    pub subject: String,
    /// What is checked: `definition`, `tasks`, `targets`, `alarm`, `dns`, `probe`.
    pub what: &'static str,
    pub outcome: Outcome,
    /// Why, in words; never a secret value.
    pub detail: String,
}

impl Check {
    pub fn new(
        subject: impl Into<String>,
        what: &'static str,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            subject: subject.into(),
            what,
            outcome,
            detail: detail.into(),
        }
    }
}

/// Every check of one stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub stack: String,
    pub region: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }

    /// 0 every check passed, 2 one failed, 1 one could not be made (it says nothing either
    /// way, so the run proves nothing).
    pub fn exit_code(&self) -> u8 {
        if self.count(Outcome::Error) > 0 {
            1
        } else if self.count(Outcome::Fail) > 0 {
            2
        } else {
            0
        }
    }
}
