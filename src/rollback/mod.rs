//! `infra rollback`'s decisions, apart from the AWS calls that feed them: whether a revision is
//! the one to go back to (`target`), and the change to the stack file that keeps it (`change`).

mod change;
mod target;

pub use change::{StackChange, stack_changes};
pub use target::{Verdict, judge};
