//! The images a stack's containers run, checked against their registry.
//!
//! Every ECR image is looked up (`BatchGetImage`, 100 ids per
//! call, one repository at a time, all repositories at once). A missing tag or repository is
//! a diagnostic at the image line; a found tag is pinned (`repo:tag@sha256:…`, unless the
//! container says `pin-digest #false`), so that the task definition registers exactly the image
//! the plan showed. Against the revision that runs now: an image pushed before the running one
//! is refused unless `--allow-older-image` (a deploy from a stale tag), and a tag whose digest
//! moved since the last deploy is a warning (an error in a `production` stack unless allowed
//! on the line). Images outside ECR are a warning: infra cannot check them.

use std::collections::BTreeMap;

use futures::future::join_all;

use crate::lang::Diagnostic;
use crate::model::{Kind, Stack, Value, Warning};
use crate::providers::ProviderError;
use crate::providers::preflight::{ImageId, Preflight, StoredImage};
use crate::refresh::Refreshed;

use super::{Checked, Options};

/// An image reference in ECR: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repo>[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrImage {
    pub host: String,
    pub registry: String,
    pub region: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl EcrImage {
    pub fn parse(image: &str) -> Option<EcrImage> {
        let (host, path) = image.split_once('/')?;
        let mut parts = host.split('.');
        let registry = parts.next()?;
        if registry.len() != 12 || !registry.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if (parts.next()?, parts.next()?) != ("dkr", "ecr") {
            return None;
        }
        let region = parts.next()?;
        let rest: Vec<&str> = parts.collect();
        if rest != ["amazonaws", "com"] && rest != ["amazonaws", "com", "cn"] {
            return None;
        }
        let (named, digest) = match path.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (path, None),
        };
        // A tag follows the last `:` after the last `/`.
        let last = named.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match named[last..].rfind(':') {
            Some(i) => (&named[..last + i], Some(named[last + i + 1..].to_string())),
            None => (named, None),
        };
        if repository.is_empty() {
            return None;
        }
        Some(EcrImage {
            host: host.to_string(),
            registry: registry.to_string(),
            region: region.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// How the registry is asked for it: by digest when it names one.
    fn id(&self) -> ImageId {
        match (&self.digest, &self.tag) {
            (Some(d), _) => ImageId::Digest(d.clone()),
            (None, Some(t)) => ImageId::Tag(t.clone()),
            (None, None) => ImageId::Tag("latest".into()),
        }
    }

    /// `repo:tag` or `repo@sha256:…` (shortened), for messages.
    fn short(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.repository),
            (None, Some(d)) => format!("{}@{}", self.repository, short_digest(d)),
            (None, None) => format!("{}:latest", self.repository),
        }
    }

    /// The reference pinned to `digest`, tag kept for the reader.
    fn pinned(&self, digest: &str) -> String {
        match &self.tag {
            Some(t) => format!("{}/{}:{t}@{digest}", self.host, self.repository),
            None => format!("{}/{}@{digest}", self.host, self.repository),
        }
    }
}

fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", &hex[..hex.len().min(12)])
}

/// One container's image, and what runs now in the container of the same name.
struct Use {
    resource: usize,
    container: usize,
    name: String,
    image: EcrImage,
    pin: bool,
    /// Names the container sets (`environment` and `secrets`).
    set: Vec<String>,
    running: Option<EcrImage>,
}

/// Checks (and pins) every container image of the stack.
pub async fn check(
    stack: &mut Stack,
    refreshed: &Refreshed,
    preflight: &dyn Preflight,
    options: Options,
    out: &mut Checked,
) {
    let uses = collect(stack, refreshed, out);
    // Every id asked of each repository: what the stack names and what runs now.
    let mut asked: BTreeMap<(String, String), Vec<ImageId>> = BTreeMap::new();
    for u in &uses {
        let ids = asked
            .entry((u.image.registry.clone(), u.image.repository.clone()))
            .or_default();
        for image in std::iter::once(&u.image).chain(u.running.iter()) {
            if image.registry == u.image.registry && image.repository == u.image.repository {
                let id = image.id();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    let answers = join_all(
        asked
            .iter()
            .map(|((registry, repository), ids)| async move {
                let found = preflight.images(registry, repository, ids).await;
                ((registry.clone(), repository.clone()), found)
            }),
    )
    .await;
    let mut stored: BTreeMap<(String, String), Result<BTreeMap<ImageId, StoredImage>, String>> =
        BTreeMap::new();
    for (key, found) in answers {
        let ids = &asked[&key];
        let value = found
            .map(|list| {
                ids.iter()
                    .cloned()
                    .zip(list)
                    .filter_map(|(id, s)| Some((id, s?)))
                    .collect()
            })
            .map_err(|e| describe(&e));
        stored.insert(key, value);
    }

    // Pairs whose push times decide whether the stack goes back in time.
    let mut compare: Vec<(usize, StoredImage, StoredImage)> = Vec::new();
    for (n, u) in uses.iter().enumerate() {
        let key = (u.image.registry.clone(), u.image.repository.clone());
        let r = &stack.resources[u.resource];
        let path = format!("container.{}.image", u.container);
        let span = stack.span_of(r, &path);
        let images = match &stored[&key] {
            Ok(images) => images,
            Err(why) => {
                if let Some(repo) = created_here(stack, refreshed, &u.image.repository) {
                    out.diagnostics.push(
                        Diagnostic::new(
                            "infra::image-in-new-repository",
                            format!(
                                "the image of container `{}` is in ECR repository `{}`, which \
                                 this plan creates ({repo}): no image can be in it yet",
                                u.name, u.image.repository
                            ),
                        )
                        .label(span, "not pushed yet")
                        .help(format!(
                            "create the repository first with `infra apply --target {repo}`, \
                             push the image, then apply the whole stack"
                        )),
                    );
                    continue;
                }
                out.diagnostics.push(
                    Diagnostic::new(
                        "infra::image",
                        format!("cannot check the image of container `{}`: {why}", u.name),
                    )
                    .label(span, "this image")
                    .help(
                        "create the repository and push the image first, or check the account \
                         and region in the image reference; reading ECR needs \
                         ecr:BatchGetImage and ecr:DescribeImages"
                            .to_string(),
                    ),
                );
                continue;
            }
        };
        let Some(found) = images.get(&u.image.id()) else {
            let what = match (&u.image.digest, &u.image.tag) {
                (Some(d), _) => format!("no image with digest `{}`", short_digest(d)),
                (None, Some(t)) => format!("no image tagged `{t}`"),
                (None, None) => "no image tagged `latest`".into(),
            };
            out.diagnostics.push(
                Diagnostic::new(
                    "infra::image-missing",
                    format!(
                        "the image of container `{}` does not exist: ECR repository `{}` has {what}",
                        u.name, u.image.repository
                    ),
                )
                .label(span, "not in the registry")
                .help(
                    "push the image before planning (tasks of this revision could never start), \
                     or fix the tag"
                        .to_string(),
                ),
            );
            continue;
        };
        // What the image says it needs from its environment.
        let missing: Vec<&String> = found
            .required_env
            .iter()
            .filter(|k| !u.set.contains(k))
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.diagnostics.push(
                Diagnostic::new(
                    "infra::image-requires-env",
                    format!(
                        "image `{}` requires {list} in its environment (its manifest annotation \
                         `dev.infra.required-env`), and container `{}` does not set it",
                        u.image.short(),
                        u.name
                    ),
                )
                .label(span, "this image")
                .help(format!(
                    "set it in the container's `environment`, or in `secrets` if it is secret: \
                     `{} \"…\"`",
                    missing[0]
                )),
            );
        }
        if u.pin && u.image.digest.is_none() {
            let pinned = u.image.pinned(&found.digest);
            set_image(&mut stack.resources[u.resource].attrs, u.container, &pinned);
        }
        let Some(running) = &u.running else { continue };
        if running.registry != u.image.registry || running.repository != u.image.repository {
            continue;
        }
        let address = stack.resources[u.resource].address.clone();
        // The same tag, another image: the tag moved since the last deploy.
        if let Some(was) = &running.digest
            && *was != found.digest
            && running.tag.is_some()
            && running.tag == u.image.tag
        {
            let message = format!(
                "tag `{}` moved since the last deploy: container `{}` runs {} and the tag now names \
                 {}",
                u.image.short(),
                u.name,
                short_digest(was),
                short_digest(&found.digest)
            );
            let allowed = stack.allows(&address, &path);
            if stack.production && !allowed {
                out.diagnostics.push(
                    Diagnostic::new("infra::moved-image-tag", message)
                        .label(span, "a mutable tag")
                        .help(
                            "this stack is `production`: deploy an immutable tag (a version or \
                             commit), or accept the move on the line: `image \"…\" allow=\"…\"`"
                                .to_string(),
                        ),
                );
            } else if !allowed {
                out.warnings.push(warning(
                    stack,
                    "infra::moved-image-tag",
                    &address,
                    message,
                    "push each build under a tag of its own; to accept this move, say why: \
                     `image \"…\" allow=\"…\"`"
                        .into(),
                    span,
                ));
            }
        }
        let Some(now) = images.get(&running.id()) else {
            continue;
        };
        if now.digest == found.digest {
            continue;
        }
        compare.push((n, found.clone(), now.clone()));
    }

    // Push times, for the pairs that differ.
    let mut digests: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (n, a, b) in &compare {
        let u = &uses[*n];
        let list = digests
            .entry((u.image.registry.clone(), u.image.repository.clone()))
            .or_default();
        for d in [&a.digest, &b.digest] {
            if !list.contains(d) {
                list.push(d.clone());
            }
        }
    }
    let times = join_all(
        digests
            .iter()
            .map(|((registry, repository), list)| async move {
                preflight
                    .pushed_at(registry, repository, list)
                    .await
                    .unwrap_or_default()
            }),
    )
    .await;
    let pushed: BTreeMap<String, i64> = times.into_iter().flatten().collect();
    if !options.allow_older_image {
        for (n, wanted, now) in &compare {
            let (Some(&wanted_at), Some(&now_at)) =
                (pushed.get(&wanted.digest), pushed.get(&now.digest))
            else {
                continue;
            };
            if wanted_at >= now_at {
                continue;
            }
            let u = &uses[*n];
            let running = u.running.as_ref().map(EcrImage::short).unwrap_or_default();
            let r = &stack.resources[u.resource];
            let span = stack.span_of(r, &format!("container.{}.image", u.container));
            out.diagnostics.push(
                Diagnostic::new(
                    "infra::older-image",
                    format!(
                        "image `{}` (pushed {}) is older than `{running}` (pushed {}), which \
                         container `{}` runs now",
                        u.image.short(),
                        when(wanted_at),
                        when(now_at),
                        u.name
                    ),
                )
                .label(span, "an older image")
                .help(
                    "a deploy from a stale tag would roll the service back: deploy the newer \
                     image, or pass --allow-older-image to go back on purpose"
                        .to_string(),
                ),
            );
        }
    }
}

/// Every container image of the stack's task definitions: ECR ones to check, others warned
/// about.
/// The address of the stack's `ecr-repository` named `repository` when it does not exist yet
/// (the plan creates it).
fn created_here(stack: &Stack, refreshed: &Refreshed, repository: &str) -> Option<String> {
    stack.resources.iter().enumerate().find_map(|(i, r)| {
        let named = r.kind() == Kind::EcrRepository
            && r.attrs.get("name").and_then(Value::as_str) == Some(repository);
        let missing = refreshed.live.get(i).is_none_or(Option::is_none);
        (named && missing).then(|| r.address.to_string())
    })
}

fn collect(stack: &Stack, refreshed: &Refreshed, out: &mut Checked) -> Vec<Use> {
    let mut uses = Vec::new();
    for (i, r) in stack.resources.iter().enumerate() {
        if r.kind() != Kind::TaskDefinition {
            continue;
        }
        let Some(Value::List(containers)) = r.attrs.get("container") else {
            continue;
        };
        // What runs is the latest revision's, unless a service of the stack runs another
        // (after `infra rollback`): then what runs is not known here, and nothing is compared.
        let live = if serves_latest(stack, refreshed, i) {
            refreshed
                .live
                .get(i)
                .and_then(Option::as_ref)
                .and_then(|l| l.attrs.get("container"))
                .and_then(Value::as_list)
                .unwrap_or_default()
        } else {
            &[]
        };
        for (ci, c) in containers.iter().enumerate() {
            let Some(c) = c.as_map() else { continue };
            let Some(image) = c.get("image").and_then(Value::as_str) else {
                continue;
            };
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            let path = format!("container.{ci}.image");
            if stack.production
                && let Some(why) = crate::lang::warnings::mutable_tag(image)
                && !stack.allows(&r.address, &path)
            {
                out.diagnostics.push(
                    Diagnostic::new(
                        "infra::mutable-image-tag",
                        format!(
                            "the image of container `{name}` ({image}) {why}, and this stack is \
                             `production`: what runs could change without a plan"
                        ),
                    )
                    .label(stack.span_of(r, &path), "a mutable tag")
                    .help(
                        "deploy a version tag or a digest; to keep it, say why on the line: \
                         `image \"…\" allow=\"…\"`"
                            .to_string(),
                    ),
                );
            }
            let Some(parsed) = EcrImage::parse(image) else {
                if !stack.allows(&r.address, &path) {
                    out.warnings.push(warning(
                        stack,
                        "infra::image-not-checked",
                        &r.address,
                        format!(
                            "the image of container `{name}` ({image}) is not in ECR: infra \
                             cannot check that it exists or pin its digest"
                        ),
                        "pin a digest (`image@sha256:…`) to know what runs; to accept it, say \
                         why: `image \"…\" allow=\"…\"`"
                            .into(),
                        stack.span_of(r, &path),
                    ));
                }
                continue;
            };
            if parsed.region != stack.region {
                continue;
            }
            let running = live
                .iter()
                .filter_map(Value::as_map)
                .find(|l| l.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|l| l.get("image").and_then(Value::as_str))
                .and_then(EcrImage::parse);
            let set = ["environment", "secrets"]
                .iter()
                .filter_map(|m| c.get(*m).and_then(Value::as_map))
                .flat_map(|m| m.keys().cloned())
                .collect();
            uses.push(Use {
                resource: i,
                container: ci,
                name: name.to_string(),
                image: parsed,
                pin: c.get("pin-digest") != Some(&Value::Bool(false)),
                set,
                running,
            });
        }
    }
    uses
}

/// Whether every service of the stack that runs task definition `td` runs its latest revision
/// (the one refresh read); true when no service runs it.
fn serves_latest(stack: &Stack, refreshed: &Refreshed, td: usize) -> bool {
    let tail = |text: &str| text.rsplit('/').next().unwrap_or(text).to_string();
    let Some(latest) = refreshed
        .live
        .get(td)
        .and_then(Option::as_ref)
        .and_then(|l| l.computed.get("arn").and_then(Value::as_str).map(tail))
    else {
        return true;
    };
    let address = &stack.resources[td].address;
    stack.resources.iter().enumerate().all(|(s, r)| {
        let runs_it = r.kind() == Kind::Service
            && matches!(r.attrs.get("task-definition"), Some(Value::Ref(t)) if t.address() == Some(address));
        if !runs_it {
            return true;
        }
        let running = refreshed
            .live
            .get(s)
            .and_then(Option::as_ref)
            .and_then(|l| l.attrs.get("task-definition"))
            .and_then(Value::as_str)
            .map(tail);
        // A bare family in the live service means it runs the latest revision.
        running.is_none_or(|r| r == latest || !r.contains(':'))
    })
}

fn set_image(attrs: &mut BTreeMap<String, Value>, container: usize, image: &str) {
    if let Some(Value::List(containers)) = attrs.get_mut("container")
        && let Some(Value::Map(c)) = containers.get_mut(container)
    {
        c.insert("image".into(), Value::String(image.to_string()));
    }
}

pub(super) fn warning(
    stack: &Stack,
    code: &'static str,
    address: &crate::model::Address,
    message: String,
    help: String,
    span: crate::model::Span,
) -> Warning {
    Warning {
        code,
        address: Some(address.to_string()),
        message,
        help,
        span: Some(span),
        location: Some(crate::lang::warnings::location(&stack.sources, span)),
    }
}

fn describe(e: &ProviderError) -> String {
    e.to_string()
}

/// A push time as AWS writes it.
fn when(secs: i64) -> String {
    aws_smithy_types::DateTime::from_secs(secs)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::EcrImage;

    #[test]
    fn ecr_references_are_read_with_their_tag_and_digest() {
        let i = EcrImage::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.4.2")
            .expect("an ECR image");
        assert_eq!(
            (
                i.registry.as_str(),
                i.region.as_str(),
                i.repository.as_str()
            ),
            ("123456789012", "eu-west-1", "team/api")
        );
        assert_eq!(i.tag.as_deref(), Some("1.4.2"));
        assert_eq!(i.digest, None);
        assert_eq!(
            i.pinned("sha256:abc"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.4.2@sha256:abc"
        );
        let d = EcrImage::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v2@sha256:ff")
            .expect("pinned");
        assert_eq!(
            (d.tag.as_deref(), d.digest.as_deref()),
            (Some("v2"), Some("sha256:ff"))
        );
        let bare =
            EcrImage::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api").expect("China");
        assert_eq!((bare.tag, bare.repository.as_str()), (None, "api"));
    }

    #[test]
    fn other_registries_are_not_ecr() {
        for image in [
            "nginx:1.27",
            "ghcr.io/org/app:1.0",
            "public.ecr.aws/nginx/nginx:1.27",
            "registry.example.com:5000/app:1.2",
            "12345.dkr.ecr.us-east-1.amazonaws.com/api:1",
            "123456789012.dkr.ecr.us-east-1.example.com/api:1",
        ] {
            assert_eq!(EcrImage::parse(image), None, "{image}");
        }
    }
}
