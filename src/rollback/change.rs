//! The change to commit to the stack file after a rollback, so that the next plan does not
//! deploy again what was rolled back: the image of each container that differs, and the
//! variable to set where the stack builds the image from one (`nginx:${var.image-tag}`).

use std::fmt;

use crate::model::{Kind, Resource, Stack, Value};
use crate::providers::revisions::Revision;

/// One line of the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackChange {
    pub container: String,
    /// The image the rollback runs, as the stack would write it (its tag, without the digest
    /// the plan pins again).
    pub image: String,
    /// The variable the stack's image line is built from and the value that gives `image`.
    pub variable: Option<(String, String)>,
}

impl fmt::Display for StackChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variable {
            Some((name, value)) => write!(
                f,
                "set image of container `{}` to `{}`: variable `{name}` = `{value}` (`--var \
                 {name}={value}`)",
                self.container, self.image
            ),
            None => write!(
                f,
                "set image of container `{}` to `{}`",
                self.container, self.image
            ),
        }
    }
}

/// What differs between `running` and `target`, container by container, as changes to the
/// stack's task definition of `service`.
pub fn stack_changes(
    stack: &Stack,
    service: &Resource,
    running: &Revision,
    target: &Revision,
) -> Vec<StackChange> {
    let task = task_definition_of(stack, service);
    target
        .containers
        .iter()
        .filter(|c| {
            running
                .containers
                .iter()
                .find(|r| r.name == c.name)
                .is_none_or(|r| r.image != c.image)
        })
        .map(|c| {
            let image = as_written(&c.image);
            let variable = task
                .and_then(|t| image_line(stack, t, &c.name))
                .and_then(|line| variable_value(line, &image));
            StackChange {
                container: c.name.clone(),
                image,
                variable,
            }
        })
        .collect()
}

/// The task definition resource a service's `task-definition` refers to.
fn task_definition_of<'a>(stack: &'a Stack, service: &Resource) -> Option<&'a Resource> {
    let Value::Ref(r) = service.attrs.get("task-definition")? else {
        return None;
    };
    stack
        .resource(r.address()?)
        .filter(|t| t.kind() == Kind::TaskDefinition)
}

/// The text of the `image` of container `name` as the stack file writes it.
fn image_line<'a>(stack: &'a Stack, task: &Resource, name: &str) -> Option<&'a str> {
    let i = task
        .attrs
        .get("container")?
        .as_list()?
        .iter()
        .position(|c| {
            c.as_map()
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                == Some(name)
        })?;
    let span = stack.span_of(task, &format!("container.{i}.image"));
    (span != task.span).then(|| stack.sources.slice(span))
}

/// An image reference without its digest where it has a tag (`repo:v2@sha256:…` → `repo:v2`).
fn as_written(image: &str) -> String {
    match image.split_once('@') {
        Some((named, _)) if named.rsplit('/').next().is_some_and(|l| l.contains(':')) => {
            named.to_string()
        }
        _ => image.to_string(),
    }
}

/// Where `line` (the image as written, quotes and all) is built from one variable
/// (`"nginx:${var.image-tag}"`), that variable and the value that makes it `image`.
fn variable_value(line: &str, image: &str) -> Option<(String, String)> {
    let inner = match (line.find('"'), line.rfind('"')) {
        (Some(a), Some(b)) if a < b => &line[a + 1..b],
        _ => line,
    };
    let start = inner.find("${var.")?;
    let end = start + inner[start..].find('}')?;
    if inner[end + 1..].contains("${") {
        return None;
    }
    let name = &inner[start + 6..end];
    let (prefix, suffix) = (&inner[..start], &inner[end + 1..]);
    let value = image.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!value.is_empty()).then(|| (name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_image_is_written_with_its_tag_alone() {
        assert_eq!(
            as_written("1.dkr.ecr.r.amazonaws.com/shop:v2@sha256:abc"),
            "1.dkr.ecr.r.amazonaws.com/shop:v2"
        );
        assert_eq!(as_written("shop@sha256:abc"), "shop@sha256:abc");
        assert_eq!(as_written("nginx:1.27.0"), "nginx:1.27.0");
    }

    #[test]
    fn the_variable_an_image_line_is_built_from_gets_the_value_that_makes_the_image() {
        assert_eq!(
            variable_value("\"nginx:${var.image-tag}\"", "nginx:1.0.0"),
            Some(("image-tag".into(), "1.0.0".into()))
        );
        assert_eq!(
            variable_value("\"repo:${var.tag}-slim\"", "repo:v2-slim"),
            Some(("tag".into(), "v2".into()))
        );
        // Another repository, two variables, none: the image is set as a whole.
        assert_eq!(variable_value("\"nginx:${var.tag}\"", "httpd:2"), None);
        assert_eq!(variable_value("\"${var.repo}:${var.tag}\"", "a:b"), None);
        assert_eq!(variable_value("\"nginx:1.0.0\"", "nginx:1.0.0"), None);
    }
}
