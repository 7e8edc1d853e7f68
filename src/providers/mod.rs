//! The provider boundary: one trait every managed kind implements, one for look-ups.
//!
//! A provider converts between AWS and [`Value`] attributes in schema terms and knows nothing
//! about the graph or the plan. The engine knows nothing about AWS service names. Every method
//! takes or returns whole sets of resources where AWS can batch, so that refresh costs a few
//! calls per kind rather than one per resource.

pub mod aws;
mod blocker;
mod denied;
#[cfg(any(test, feature = "fake-aws"))]
pub mod fake;
pub mod preflight;
pub mod revisions;

pub use blocker::Blocker;
pub use denied::{ACCESS_DENIED, Denied};

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::model::{Kind, Value};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Tag that names the stack owning a resource.
pub const STACK_TAG: &str = "infra:stack";
/// Tag that names the resource's address inside its stack.
pub const ADDRESS_TAG: &str = "infra:address";
/// Tag (value `true`) that records `prevent-destroy` on the live resource, so that the
/// protection holds when the block or the whole resource leaves the stack text.
pub const PROTECT_TAG: &str = "infra:prevent-destroy";
/// Prefix of the tags that record, on a service, which version of each secret of the stack
/// its tasks read (`infra:secret:<address>` = version id): a version that moves restarts it.
pub const SECRET_VERSION_TAG: &str = "infra:secret:";
/// A secret's computed attribute: the id of the version of its value AWS serves now.
pub const VERSION_ID: &str = "version-id";

/// A resource as the stack wants it, with every reference resolved.
#[derive(Debug, Clone)]
pub struct Desired {
    /// `secret.db`, `module.web.alarm.cpu`.
    pub address: String,
    /// Attributes in schema terms. For taggable kinds `tags` holds the effective tags,
    /// ownership tags included. During planning, non-key attributes may be [`Value::Unknown`].
    pub attrs: BTreeMap<String, Value>,
    /// `prevent-destroy`: recorded on the live resource (its [`PROTECT_TAG`] tag, or in a
    /// record's claim).
    pub protected: bool,
    /// Attributes that are references AWS has not answered yet ([`Value::Unknown`] in
    /// `attrs`), with the address of the resource each names: a listing that runs before the
    /// referenced resource is read can still tell which of its resources a desired one means.
    pub pending: BTreeMap<String, String>,
}

impl Desired {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Value::as_str)
    }
}

/// Who a live resource belongs to, according to its ownership tags (or companion record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Stack { stack: String, address: String },
    Nobody,
}

/// A resource as AWS reports it.
#[derive(Debug, Clone)]
pub struct Live {
    /// Configured attributes in schema terms, as AWS reports them.
    pub attrs: BTreeMap<String, Value>,
    /// Attributes only AWS knows: `arn`, `fqdn`, ...
    pub computed: BTreeMap<String, Value>,
    pub owner: Owner,
    /// A resource AWS holds but is deleting (a secret in its recovery window), with when.
    pub pending_deletion: Option<String>,
    /// Provider-private details needed to update or delete it (exact record values, ...).
    pub private: BTreeMap<String, Value>,
    /// Why a resource that looks claimed does not count as owned (a record whose claim names
    /// another record set, or whose values changed since infra wrote them), for the plan to say.
    pub note: Option<String>,
    /// The ids of the other resources AWS holds under the same key, none of them owned (public
    /// hosted zones share names): which one the stack means is unknown, so none is adopted.
    pub alike: Vec<String>,
}

impl Live {
    pub fn new(attrs: BTreeMap<String, Value>, owner: Owner) -> Self {
        Live {
            attrs,
            computed: BTreeMap::new(),
            owner,
            pending_deletion: None,
            private: BTreeMap::new(),
            note: None,
            alike: Vec::new(),
        }
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Value::as_str)
    }

    /// Whether the live resource carries the `prevent-destroy` protection (as a tag, or, for
    /// kinds that cannot be tagged, as the provider recorded it in `private`).
    pub fn protected(&self) -> bool {
        let tagged = self
            .attrs
            .get("tags")
            .and_then(Value::as_map)
            .and_then(|tags| tags.get(PROTECT_TAG))
            .and_then(Value::as_str)
            == Some("true");
        tagged || self.private.get(PROTECT_TAG) == Some(&Value::Bool(true))
    }

    /// What `live` is once converged to `desired`: its attributes, the same AWS identity.
    pub fn converged(desired: &Desired, live: &Live) -> Live {
        let mut updated = Live::new(desired.attrs.clone(), live.owner.clone());
        updated.computed = live.computed.clone();
        updated
    }
}

/// An idempotency token for creating `address` in this run (Secrets Manager's
/// `ClientRequestToken`, ECS's `clientToken`): the same within one run, so that a create tried
/// again after its answer was lost is recognised by AWS as the same request; different in the
/// next run, so that a resource deleted since is created anew. 32 hex digits.
pub fn client_token(address: &str) -> String {
    use sha2::{Digest, Sha256};
    static RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("{}-{}", now.as_nanos(), std::process::id())
    });
    let digest = Sha256::digest(format!("{run}|{address}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Follows a pagination token: `true` (and `token` set) while there is a next page. A token
/// that does not change ends the loop, so a server that ignores it cannot loop us forever.
pub fn next_page(token: &mut Option<String>, next: Option<&str>) -> bool {
    match next {
        Some(next) if !next.is_empty() && Some(next) != token.as_deref() => {
            *token = Some(next.to_string());
            true
        }
        _ => false,
    }
}

/// The top-level attributes an update is to change (`tags` among them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Whatever differs: the resource was found rather than planned (a create whose answer
    /// was lost converges what it finds), so every attribute is sent.
    All,
    /// The attributes the plan found different.
    Attrs(BTreeSet<String>),
}

impl Changed {
    /// The attributes a plan's change lists.
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Changed {
        Changed::Attrs(names.into_iter().map(str::to_string).collect())
    }

    pub fn contains(&self, name: &str) -> bool {
        match self {
            Changed::All => true,
            Changed::Attrs(names) => names.contains(name),
        }
    }

    /// Whether any of `names` changed.
    pub fn any_of(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.contains(n))
    }

    /// The top-level attributes of `kind`'s schema that changed, in schema order.
    pub fn names_in(&self, kind: Kind) -> Vec<&'static str> {
        kind.schema()
            .body
            .attrs
            .iter()
            .map(|a| a.name)
            .filter(|n| self.contains(n))
            .collect()
    }

    /// Whether anything but `names` changed.
    pub fn any_besides(&self, names: &[&str]) -> bool {
        match self {
            Changed::All => true,
            Changed::Attrs(set) => set.iter().any(|n| !names.contains(&n.as_str())),
        }
    }
}

/// What went wrong talking to AWS or preparing a call.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{}", describe(service, operation, code.as_deref(), message))]
    Aws {
        /// The IAM service prefix (`secretsmanager`, `elasticloadbalancing`, ...).
        service: &'static str,
        operation: &'static str,
        code: Option<String>,
        /// AWS's code and message (`ThrottlingException: Rate exceeded`), or what went wrong
        /// on the way in a few words.
        message: String,
    },
    /// No connection could be made: nothing was sent.
    #[error("{operation} failed: infra cannot reach AWS at {endpoint}: {cause}")]
    Unreachable {
        operation: &'static str,
        endpoint: String,
        cause: String,
    },
    /// An error met while doing something the error alone does not say (reading one secret's
    /// value among many).
    #[error("{doing}: {error}")]
    While {
        doing: String,
        error: Box<ProviderError>,
    },
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    NotFound(String),
    /// A step infra refused to take: the resource is no longer this stack's, ...
    #[error("{0}")]
    Refused(String),
    /// The deploy ended, but not with the revision apply asked for serving (rolled back by
    /// ECS, or replaced by another deploy): apply exits with [`EXIT_NOT_SERVING`].
    #[error("{0}")]
    NotServing(String),
    /// A wait ran out of time before the deploy was done either way (it may still succeed).
    #[error("{0}")]
    TimedOut(String),
}

/// Apply's exit code when a deploy finished without the requested revision serving.
pub const EXIT_NOT_SERVING: u8 = 3;

/// AWS's codes for throttling, per service.
const THROTTLING: [&str; 9] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "PriorRequestNotComplete",
];

/// Key in [`Live::private`]: the id of the version of its value AWS serves now (a secret's
/// AWSCURRENT), so that a saved plan can tell on which side a sensitive value changed.
pub const CURRENT_VERSION: &str = "current-version";

/// `Live::private` of an alarm: its state as DescribeAlarms reported it (`OK`, `ALARM`,
/// `INSUFFICIENT_DATA`). Read for the plan's warnings, never diffed: AWS changes it, not infra.
pub const ALARM_STATE: &str = "alarm-state";

/// `Live::private` of an SNS topic: its subscriptions that wait for their owner's confirmation
/// (each a map of `name`, `protocol` and `declared`). Read for the plan's warnings, never
/// diffed: a pending subscription is the declared one until its owner answers.
pub const PENDING_SUBSCRIPTIONS: &str = "pending-subscriptions";

/// The code of an error whose response was lost after AWS may have acted on the request.
pub const RESPONSE_LOST: &str = "infra.ResponseLost";

/// The code of an answer with no AWS error in it (a 404 from something that is not AWS).
pub const NOT_AWS: &str = "infra.NotAws";

/// One sentence for an AWS error: what the code means when infra knows, AWS's words otherwise.
fn describe(service: &str, operation: &str, code: Option<&str>, message: &str) -> String {
    match code {
        Some(code) if ACCESS_DENIED.contains(&code) => {
            let text = message
                .strip_prefix(&format!("{code}: "))
                .unwrap_or(message);
            match Denied::of(service, operation, text) {
                Some(denied) => format!(
                    "{operation} failed: {code}: the credentials lack the IAM permission {}{}",
                    denied.permission(),
                    reason(text)
                ),
                None => format!("{operation} failed: {message}"),
            }
        }
        Some(code) if THROTTLING.contains(&code) => {
            format!("AWS kept throttling {operation} beyond infra's retries ({code})")
        }
        Some(code) => match Blocker::of_code(code) {
            Some(blocker) => format!("{operation} failed: {}", blocker.message()),
            None => format!("{operation} failed: {message}"),
        },
        None => format!("{operation} failed: {message}"),
    }
}

/// Why AWS says the permission is missing, when it says (an explicit deny is not fixed by
/// one more allow).
fn reason(message: &str) -> String {
    if let Some(at) = message.find("with an explicit deny") {
        format!(" ({})", message[at..].trim_end_matches('.'))
    } else if let Some(at) = message.find(" because ") {
        format!(" ({})", message[at + 9..].trim_end_matches('.'))
    } else {
        String::new()
    }
}

impl ProviderError {
    /// Whether AWS may have acted on a request whose answer never arrived.
    pub fn response_lost(&self) -> bool {
        self.code() == Some(RESPONSE_LOST)
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::Aws { code, .. } => code.as_deref(),
            ProviderError::While { error, .. } => error.code(),
            _ => None,
        }
    }

    /// What to do about it, when infra knows.
    pub fn help(&self) -> Option<String> {
        if let Some(blocker) = Blocker::of(self) {
            return Some(blocker.help());
        }
        if let ProviderError::While { error, .. } = self {
            return error.help();
        }
        let ProviderError::Aws {
            service,
            operation,
            code: Some(code),
            message,
        } = self
        else {
            return None;
        };
        if ACCESS_DENIED.contains(&code.as_str()) {
            let text = message
                .strip_prefix(&format!("{code}: "))
                .unwrap_or(message);
            return Denied::of(service, operation, text).map(|d| d.help(operation));
        }
        if code == "DecryptionFailure" {
            return Some(
                "Secrets Manager could not decrypt the value with the secret's KMS key: check \
                 that the key is enabled and that its key policy (or a grant) lets the \
                 credentials use `kms:Decrypt`"
                    .into(),
            );
        }
        if THROTTLING.contains(&code.as_str()) {
            let service = if service.is_empty() {
                "this service"
            } else {
                service
            };
            return Some(format!(
                "something else is using this account's request rate for {service}: run infra \
                 again later, or lower --max-rate (INFRA_MAX_RATE) to leave it room"
            ));
        }
        None
    }

    /// The sentence and its help on one line, where there is no room for a `help:` line (a
    /// failed step of an apply).
    pub fn explained(&self) -> String {
        match self.help() {
            Some(help) => format!("{self} (help: {help})"),
            None => self.to_string(),
        }
    }
}

/// One managed kind of resource.
pub trait ResourceKind: Send + Sync {
    fn kind(&self) -> Kind;

    /// The natural key of a resource, from its attributes; `None` while part of it is unknown.
    fn key(&self, attrs: &BTreeMap<String, Value>) -> Option<String> {
        natural_key(self.kind(), attrs)
    }

    /// Puts desired and live attributes in one comparable form (set-like lists sorted, DNS
    /// names without trailing dots, numbers as numbers, ...).
    fn normalize(&self, _attrs: &mut BTreeMap<String, Value>) {}

    /// What the plan says about a changed attribute infra cannot judge exactly (a KMS key named
    /// by an alias, which AWS reports by the key's ARN): `(attribute, note)` pairs, shown as
    /// reasons of the change when that attribute changes.
    fn notes(
        &self,
        _desired: &BTreeMap<String, Value>,
        _live: &BTreeMap<String, Value>,
    ) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Checks what can only be checked on this machine before any call (environment variables
    /// a value comes from, files). `Err` is a message for the user.
    fn check(&self, _desired: &Desired) -> Result<(), String> {
        Ok(())
    }

    /// Every live resource this stack owns. `desired` says where to look where AWS cannot
    /// search by tag (the hosted zones of records) and lets the provider compare write-only
    /// values (secret material) without ever returning them.
    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>>;

    /// Starts what `list_owned` will need and can be had before the look-ups are answered
    /// (the owned pages of the tagging index), so that it overlaps with them. Failures are
    /// left for `list_owned` to meet and report.
    fn prefetch<'a>(&'a self, _stack: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// Reads resources by their natural keys, batched; one answer per desired resource.
    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>>;

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>>;

    /// Converges `live` to `desired` (ownership tags included), restoring it if AWS was
    /// deleting it. `changed` says which attributes the plan found different, compared the
    /// way the plan compares them (schema defaults, the kind's normalisation): what the
    /// reviewer saw is what the update sends.
    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>>;

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Who owns this very AWS object now, as AWS reports it, read past anything this run
    /// cached; `None` when it no longer exists. Every delete checks it first, so that nothing
    /// that stopped being this stack's since the plan is deleted (`apply::recover`).
    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>>;

    /// Waits until a resource just deleted is really gone, so that one of the same name can be
    /// created (ECS drains a deleted service before its name is free). `Err` when it is not
    /// gone within `timeout`.
    fn wait_gone<'a>(
        &'a self,
        _live: &'a Live,
        _timeout: std::time::Duration,
        _progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    /// Whether an update gives the resource a new identity (a task definition registers a new
    /// revision): dependents then see its computed attributes as unknown until apply.
    fn update_changes_identity(&self) -> bool {
        false
    }

    /// Whether a resource with attributes `new` can exist next to one with `old` (a renamed
    /// resource is created before the old one is deleted only when both can exist at once: a
    /// CNAME cannot share its name with the A record it replaces).
    fn coexists(&self, _old: &BTreeMap<String, Value>, _new: &BTreeMap<String, Value>) -> bool {
        true
    }

    /// Whether a replacement is created before the old resource is deleted (a target group):
    /// dependents move to the new one in between, and the old one goes once they have.
    fn create_before_destroy(&self) -> bool {
        false
    }

    /// Starts again what runs (an ECS service: a new deployment of the revision it runs, so
    /// its tasks read the secrets' current values); `infra restart`. Kinds with nothing
    /// running refuse.
    fn restart<'a>(&'a self, _live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        let kind = self.kind();
        Box::pin(async move {
            Err(ProviderError::Input(format!(
                "{} resources have nothing to restart",
                kind.title()
            )))
        })
    }

    /// Waits until a resource just created or updated is stable (an ECS deployment rolled
    /// out), telling `progress` what it sees. `Err` when it does not stabilise in `timeout`.
    fn wait_stable<'a>(
        &'a self,
        _desired: &'a Desired,
        _live: &'a Live,
        _timeout: std::time::Duration,
        _progress: &'a (dyn Fn(String) + Send + Sync),
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    /// Runs after everything in the apply that depends on this resource has finished: clean-ups
    /// such as deregistering task definition revisions no service uses any more.
    fn finish<'a>(
        &'a self,
        _desired: &'a Desired,
        _live: &'a Live,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A read-only kind: finds something the stack uses but does not own.
pub trait LookupKind: Send + Sync {
    fn kind(&self) -> Kind;

    /// Every attribute of the thing found, configured and computed.
    fn lookup<'a>(
        &'a self,
        attrs: &'a BTreeMap<String, Value>,
    ) -> BoxFuture<'a, Result<BTreeMap<String, Value>, ProviderError>>;
}

/// The providers of one run, by kind.
#[derive(Clone, Default)]
pub struct Providers {
    kinds: BTreeMap<Kind, Arc<dyn ResourceKind>>,
    lookups: BTreeMap<Kind, Arc<dyn LookupKind>>,
    preflight: Option<Arc<dyn preflight::Preflight>>,
}

impl Providers {
    pub fn add(&mut self, provider: Arc<dyn ResourceKind>) {
        self.kinds.insert(provider.kind(), provider);
    }

    pub fn add_lookup(&mut self, lookup: Arc<dyn LookupKind>) {
        self.lookups.insert(lookup.kind(), lookup);
    }

    pub fn get(&self, kind: Kind) -> Option<&Arc<dyn ResourceKind>> {
        self.kinds.get(&kind)
    }

    pub fn lookup(&self, kind: Kind) -> Option<&Arc<dyn LookupKind>> {
        self.lookups.get(&kind)
    }

    pub fn set_preflight(&mut self, preflight: Arc<dyn preflight::Preflight>) {
        self.preflight = Some(preflight);
    }

    /// The reads that check images and secrets before any write; none in the in-memory fake.
    pub fn preflight(&self) -> Option<&Arc<dyn preflight::Preflight>> {
        self.preflight.as_ref()
    }

    pub fn kinds(&self) -> impl Iterator<Item = &Arc<dyn ResourceKind>> {
        self.kinds.values()
    }
}

/// The schema's natural-key attributes joined with `|`; absent optional parts are empty.
pub fn natural_key(kind: Kind, attrs: &BTreeMap<String, Value>) -> Option<String> {
    let mut parts = Vec::new();
    for name in kind.schema().natural_key {
        match attrs.get(*name) {
            None | Some(Value::Null) => parts.push(String::new()),
            Some(Value::Unknown) | Some(Value::Ref(_)) => return None,
            Some(Value::String(s)) => parts.push(s.clone()),
            Some(other) => parts.push(other.to_string()),
        }
    }
    Some(parts.join("|"))
}

/// The ownership recorded in a set of tags.
pub fn owner_from_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Owner {
    let (mut stack, mut address) = (None, None);
    for (k, v) in tags {
        match k {
            STACK_TAG => stack = Some(v.to_string()),
            ADDRESS_TAG => address = Some(crate::model::address::from_tag(v)),
            _ => {}
        }
    }
    match stack {
        Some(stack) => Owner::Stack {
            stack,
            address: address.unwrap_or_default(),
        },
        None => Owner::Nobody,
    }
}

/// Tags as a `Value::Map` of strings, without AWS's own `aws:` tags.
pub fn tags_value<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Map(
        tags.into_iter()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}

/// The secrets (by address) whose recorded version on the live service differs from the one
/// AWS serves now: the running tasks read an older value. A secret with no recorded version
/// (a service from before infra recorded them, or a secret new to it) is only recorded.
pub fn moved_secrets(
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> Vec<String> {
    type Map = BTreeMap<String, Value>;
    let tags = |m: &Map| -> BTreeMap<String, Value> {
        m.get("tags")
            .and_then(Value::as_map)
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| {
                        Some((k.strip_prefix(SECRET_VERSION_TAG)?.to_string(), v.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (want, have) = (tags(desired), tags(live));
    want.into_iter()
        .filter(|(secret, version)| {
            have.get(secret)
                .is_some_and(|was| was != version && *was != Value::Null)
        })
        .map(|(secret, _)| secret)
        .collect()
}

/// The desired tags of a resource as pairs.
pub fn desired_tags(attrs: &BTreeMap<String, Value>) -> Vec<(String, String)> {
    attrs
        .get("tags")
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Tag changes that take `live` to `desired`: keys to set, keys to remove.
pub fn tag_changes(
    desired: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> (Vec<(String, String)>, Vec<String>) {
    let want = desired_tags(desired);
    let have = desired_tags(live);
    let set = want
        .iter()
        .filter(|(k, v)| !have.iter().any(|(hk, hv)| hk == k && hv == v))
        .cloned()
        .collect();
    let remove = have
        .iter()
        .filter(|(k, _)| !want.iter().any(|(wk, _)| wk == k))
        .map(|(k, _)| k.clone())
        .collect();
    (set, remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_repeat_within_a_run_and_differ_per_resource() {
        let token = client_token("service.api");
        assert_eq!(token, client_token("service.api"));
        assert_ne!(token, client_token("service.web"));
        assert_eq!(token.len(), 32);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
