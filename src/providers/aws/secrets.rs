//! Secrets Manager secrets. Secret material is read from its source only to be sent to AWS or
//! compared in memory with AWS's copy; it never becomes a [`Value`], so it cannot reach a plan,
//! a log line or an error.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry, Tag};

use super::error::aws;
use super::kit;
use crate::model::{Kind, Value};
use crate::providers::Changed;
use crate::providers::{
    BoxFuture, Desired, Live, Owner, ProviderError, ResourceKind, client_token, owner_from_tags,
    tags_value,
};
use crate::providers::{CURRENT_VERSION, VERSION_ID};

/// ListSecrets accepts at most 10 values per filter.
const NAMES_PER_LIST: usize = 10;
/// BatchGetSecretValue reads at most 20 secrets per call.
const VALUES_PER_BATCH: usize = 20;
/// What the live `value` attribute says when AWS's copy differs from the stack's source.
const DIFFERS: &str = "(differs from its source)";

pub struct Secrets {
    client: Client,
    base_dir: PathBuf,
}

/// Secret material: never printed, not even in debug output.
struct Material(String);

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Material(sensitive)")
    }
}

/// Where a secret's value comes from, as written in the stack.
enum Source<'a> {
    Env(&'a str),
    File(&'a str),
    Generate(&'a BTreeMap<String, Value>),
    /// Operators set it; infra never reads or writes it.
    Unmanaged,
}

fn source(attrs: &BTreeMap<String, Value>) -> Source<'_> {
    let Some(value) = attrs.get("value").and_then(Value::as_map) else {
        return Source::Unmanaged;
    };
    if let Some(var) = value.get("from-env").and_then(Value::as_str) {
        Source::Env(var)
    } else if let Some(path) = value.get("from-file").and_then(Value::as_str) {
        Source::File(path)
    } else if let Some(generate) = value.get("generate").and_then(Value::as_map) {
        Source::Generate(generate)
    } else {
        Source::Unmanaged
    }
}

impl Secrets {
    pub fn new(client: Client, base_dir: PathBuf) -> Self {
        Secrets { client, base_dir }
    }

    /// The material of a value that comes from the environment or a file.
    fn material(&self, attrs: &BTreeMap<String, Value>) -> Result<Option<Material>, String> {
        match source(attrs) {
            Source::Env(var) => match std::env::var(var) {
                Ok(text) => Ok(Some(Material(text))),
                Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                    "the environment variable `{var}` that holds this secret's value is not \
                     UTF-8 text"
                )),
                Err(std::env::VarError::NotPresent) => Err(format!(
                    "the environment variable `{var}` that holds this secret's value is not set"
                )),
            },
            Source::File(path) => {
                let full = self.base_dir.join(path);
                match std::fs::read_to_string(&full) {
                    Ok(text) => Ok(Some(Material(text))),
                    Err(e) => Err(format!(
                        "the file `{}` that holds this secret's value cannot be read: {e}",
                        full.display()
                    )),
                }
            }
            Source::Generate(_) | Source::Unmanaged => Ok(None),
        }
    }

    async fn generate(&self, spec: &BTreeMap<String, Value>) -> Result<Material, ProviderError> {
        let flag = |k: &str| spec.get(k) == Some(&Value::Bool(true));
        let password = self
            .client
            .get_random_password()
            .password_length(spec.get("length").and_then(Value::as_int).unwrap_or(32))
            .exclude_punctuation(flag("exclude-punctuation"))
            .include_space(flag("include-space"))
            .set_exclude_characters(
                spec.get("exclude-characters")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .send()
            .await
            .map_err(aws("GetRandomPassword"))?;
        password
            .random_password()
            .map(|p| Material(p.to_string()))
            .ok_or_else(|| ProviderError::Input("GetRandomPassword returned no password".into()))
    }

    /// Lists secrets by filter, scheduled deletions included, every page.
    async fn list(&self, filters: Vec<Filter>) -> Result<Vec<SecretListEntry>, ProviderError> {
        let filters = &filters;
        kit::pages(|token| async move {
            let page = self
                .client
                .list_secrets()
                .set_filters(Some(filters.clone()))
                .include_planned_deletion(true)
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("ListSecrets"))?;
            Ok((
                page.secret_list().to_vec(),
                page.next_token().map(str::to_string),
            ))
        })
        .await
    }

    /// AWS's current values of the named secrets whose stack value has a source to compare.
    /// A secret AWS holds no value for has none here; one whose value AWS would not give
    /// (denied, or its KMS key would not decrypt it) fails the read, naming the secret: a
    /// value that cannot be compared is not rewritten blind on every apply.
    async fn current_values(
        &self,
        names: &[&str],
    ) -> Result<BTreeMap<String, Material>, ProviderError> {
        // One chain of pages per chunk of names, all chunks at once.
        let values = kit::in_chunks(names, VALUES_PER_BATCH, |chunk| async move {
            kit::pages(|token| async move {
                let page = self
                    .client
                    .batch_get_secret_value()
                    .set_secret_id_list(Some(chunk.iter().map(|n| n.to_string()).collect()))
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(aws("BatchGetSecretValue"))?;
                if let Some(error) = page.errors().iter().find_map(unreadable) {
                    return Err(error);
                }
                let values = page
                    .secret_values()
                    .iter()
                    .filter_map(|entry| {
                        Some((
                            entry.name()?.to_string(),
                            Material(entry.secret_string()?.to_string()),
                        ))
                    })
                    .collect();
                Ok((values, page.next_token().map(str::to_string)))
            })
            .await
        })
        .await?;
        Ok(values.into_iter().collect())
    }

    /// Converts listed secrets to live resources, comparing values with their sources.
    async fn to_live(
        &self,
        entries: Vec<SecretListEntry>,
        desired: &[Desired],
    ) -> Result<Vec<Live>, ProviderError> {
        let wanted: BTreeMap<&str, &Desired> = desired
            .iter()
            .filter_map(|d| Some((d.str("name")?, d)))
            .collect();
        let compare: Vec<&str> = entries
            .iter()
            .filter(|e| e.deleted_date().is_none())
            .filter_map(|e| e.name())
            .filter(|n| {
                wanted
                    .get(n)
                    .is_some_and(|d| matches!(source(&d.attrs), Source::Env(_) | Source::File(_)))
            })
            .collect();
        let current = self.current_values(&compare).await?;
        let mut out = Vec::new();
        for entry in entries {
            let Some(name) = entry.name() else { continue };
            let mut live = live_secret(&entry);
            if let Some(want) = wanted.get(name) {
                if let Some(window) = want.attrs.get("recovery-window") {
                    live.attrs.insert("recovery-window".into(), window.clone());
                }
                if let Some(value) = want.attrs.get("value") {
                    let same = match (self.material(&want.attrs), current.get(name)) {
                        (Ok(Some(Material(mine))), Some(Material(theirs))) => {
                            same_material(&mine, theirs)
                        }
                        (Ok(Some(_)), None) => false,
                        _ => true,
                    };
                    let shown = if same {
                        value.clone()
                    } else {
                        Value::String(DIFFERS.into())
                    };
                    live.attrs.insert("value".into(), shown);
                }
            }
            out.push(live);
        }
        Ok(out)
    }

    /// Writes a new current value; the id of the version it made.
    async fn put_value(
        &self,
        id: &str,
        material: Material,
    ) -> Result<Option<String>, ProviderError> {
        let put = self
            .client
            .put_secret_value()
            .secret_id(id)
            .secret_string(material.0)
            .send()
            .await
            .map_err(aws("PutSecretValue"))?;
        Ok(put.version_id().map(str::to_string))
    }
}

/// A secret whose value AWS would not give, as an error naming it; `None` for one that has no
/// value (nothing to compare: the value is written).
fn unreadable(error: &aws_sdk_secretsmanager::types::ApiErrorType) -> Option<ProviderError> {
    let code = error.error_code().unwrap_or("UnknownError");
    if code == "ResourceNotFoundException" {
        return None;
    }
    let secret = error.secret_id().unwrap_or("(unnamed)");
    let message = match error.message() {
        Some(message) => format!("{code}: {message}"),
        None => code.to_string(),
    };
    Some(ProviderError::While {
        doing: format!(
            "the value of secret `{secret}` could not be read to compare with its source (infra \
             does not rewrite a value it cannot compare)"
        ),
        // BatchGetSecretValue needs GetSecretValue on each secret it reads.
        error: Box::new(ProviderError::Aws {
            service: "secretsmanager",
            operation: "GetSecretValue",
            code: Some(code.to_string()),
            message,
        }),
    })
}

/// Equal text, or equal JSON documents whatever their key order and spacing.
fn same_material(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn live_secret(entry: &SecretListEntry) -> Live {
    let mut attrs = BTreeMap::new();
    let name = entry.name().unwrap_or_default();
    attrs.insert("name".into(), Value::String(name.into()));
    if let Some(d) = entry.description().filter(|d| !d.is_empty()) {
        attrs.insert("description".into(), Value::String(d.into()));
    }
    if let Some(k) = entry.kms_key_id() {
        attrs.insert("kms-key".into(), Value::String(k.into()));
    }
    let tags = entry
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
    attrs.insert("tags".into(), tags_value(tags.clone()));
    let mut live = Live::new(attrs, owner_from_tags(tags));
    if let Some(arn) = entry.arn() {
        live.computed
            .insert("arn".into(), Value::String(arn.into()));
    }
    // Which version is current: a value that differs while this stays the same changed on
    // this side (the environment or file it comes from), not in AWS.
    if let Some(current) = entry.secret_versions_to_stages().and_then(|versions| {
        versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id.clone())
    }) {
        live.computed
            .insert(VERSION_ID.into(), Value::String(current.clone()));
        live.private
            .insert(CURRENT_VERSION.into(), Value::String(current));
    }
    live.pending_deletion = entry.deleted_date().map(|d| d.to_string());
    live
}

/// The alias of the key Secrets Manager uses when a secret names none; AWS reports no key then.
const DEFAULT_KEY_ALIAS: &str = "alias/aws/secretsmanager";

/// A KMS key as written or reported, in the form both sides compare in: a key ARN as its key id
/// (`arn:aws:kms:…:key/<id>` and `<id>` are one key), an alias ARN as the alias
/// (`arn:aws:kms:…:alias/<name>` is `alias/<name>`), and the default key as none at all.
fn comparable_key(key: &str) -> Option<String> {
    let short = match key.strip_prefix("arn:") {
        Some(_) => key.splitn(6, ':').nth(5).unwrap_or(key),
        None => key,
    };
    let short = short.strip_prefix("key/").unwrap_or(short);
    (short != DEFAULT_KEY_ALIAS).then(|| short.to_string())
}

/// The kms-key attribute in its comparable form, removed when it is the default key.
fn normalize_key(attrs: &mut BTreeMap<String, Value>) {
    let Some(Value::String(key)) = attrs.get("kms-key") else {
        return;
    };
    match comparable_key(key) {
        Some(short) => attrs.insert("kms-key".into(), Value::String(short)),
        None => attrs.remove("kms-key"),
    };
}

/// Whether a key written in the stack is an alias that only KMS could match with the key AWS
/// reports (infra does not read KMS).
fn alias_against_key(desired: Option<&str>, live: Option<&str>) -> bool {
    let alias = desired
        .and_then(comparable_key)
        .is_some_and(|k| k.starts_with("alias/"));
    let key = live
        .and_then(comparable_key)
        .is_some_and(|k| !k.starts_with("alias/"));
    alias && key
}

fn aws_tags(attrs: &BTreeMap<String, Value>) -> Vec<Tag> {
    crate::providers::desired_tags(attrs)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Writes a new current value of the secret `arn` (`infra secret set`); the new version's id.
pub async fn put_value(client: &Client, arn: &str, value: String) -> Result<String, ProviderError> {
    let put = client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .map_err(aws("PutSecretValue"))?;
    put.version_id()
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Input("PutSecretValue returned no version id".into()))
}

impl ResourceKind for Secrets {
    fn kind(&self) -> Kind {
        Kind::Secret
    }

    fn check(&self, desired: &Desired) -> Result<(), String> {
        self.material(&desired.attrs).map(|_| ())
    }

    /// A value operators set by hand (`value unmanaged=#true`) is not infra's to show or
    /// compare. (A live value that differs is a marker string, not a block: it stays.)
    fn normalize(&self, attrs: &mut BTreeMap<String, Value>) {
        normalize_key(attrs);
        let block = attrs.get("value").is_some_and(|v| v.as_map().is_some());
        if block && matches!(source(attrs), Source::Unmanaged) {
            attrs.remove("value");
        }
    }

    fn notes(
        &self,
        desired: &BTreeMap<String, Value>,
        live: &BTreeMap<String, Value>,
    ) -> Vec<(&'static str, String)> {
        fn key(m: &BTreeMap<String, Value>) -> Option<&str> {
            m.get("kms-key").and_then(Value::as_str)
        }
        if alias_against_key(key(desired), key(live)) {
            vec![(
                "kms-key",
                "`kms-key` names an alias and AWS reports the key's ARN: infra compares keys by \
                 ARN and does not read KMS aliases, so write the key's id (shown) or ARN to keep \
                 plans empty"
                    .into(),
            )]
        } else {
            Vec::new()
        }
    }

    fn list_owned<'a>(
        &'a self,
        stack: &'a str,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Live>, ProviderError>> {
        Box::pin(async move {
            let filters = vec![
                Filter::builder()
                    .key(FilterNameStringType::TagKey)
                    .values(crate::providers::STACK_TAG)
                    .build(),
                Filter::builder()
                    .key(FilterNameStringType::TagValue)
                    .values(stack)
                    .build(),
            ];
            let entries = self.list(filters).await?;
            let ours = entries
                .into_iter()
                .filter(|e| {
                    e.tags().iter().any(|t| {
                        t.key() == Some(crate::providers::STACK_TAG) && t.value() == Some(stack)
                    })
                })
                .collect();
            self.to_live(ours, desired).await
        })
    }

    fn read<'a>(
        &'a self,
        desired: &'a [Desired],
    ) -> BoxFuture<'a, Result<Vec<Option<Live>>, ProviderError>> {
        Box::pin(async move {
            let names: Vec<&str> = desired.iter().filter_map(|d| d.str("name")).collect();
            // Every chunk of names at once.
            let entries = kit::in_chunks(&names, NAMES_PER_LIST, |chunk| async move {
                let filter = Filter::builder()
                    .key(FilterNameStringType::Name)
                    .set_values(Some(chunk.iter().map(|n| n.to_string()).collect()))
                    .build();
                // The name filter matches prefixes; keep exact names only.
                Ok(self
                    .list(vec![filter])
                    .await?
                    .into_iter()
                    .filter(|e| e.name().is_some_and(|n| chunk.contains(&n)))
                    .collect::<Vec<_>>())
            })
            .await?;
            let live = self.to_live(entries, desired).await?;
            Ok(desired
                .iter()
                .map(|d| {
                    live.iter()
                        .find(|l| l.str("name") == d.str("name"))
                        .cloned()
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, desired: &'a Desired) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let material = match source(&desired.attrs) {
                Source::Generate(spec) => Some(self.generate(spec).await?),
                _ => self
                    .material(&desired.attrs)
                    .map_err(ProviderError::Input)?,
            };
            let created = self
                .client
                .create_secret()
                .client_request_token(client_token(&desired.address))
                .name(desired.str("name").unwrap_or_default())
                .set_description(desired.str("description").map(str::to_string))
                .set_kms_key_id(desired.str("kms-key").map(str::to_string))
                .set_secret_string(material.map(|m| m.0))
                .set_tags(Some(aws_tags(&desired.attrs)))
                .send()
                .await
                .map_err(aws("CreateSecret"))?;
            let mut live = Live::new(desired.attrs.clone(), crate::providers::Owner::Nobody);
            if let Some(arn) = created.arn() {
                live.computed
                    .insert("arn".into(), Value::String(arn.into()));
            }
            if let Some(version) = created.version_id() {
                live.computed
                    .insert(VERSION_ID.into(), Value::String(version.into()));
            }
            Ok(live)
        })
    }

    fn update<'a>(
        &'a self,
        desired: &'a Desired,
        live: &'a Live,
        _changed: &'a Changed,
    ) -> BoxFuture<'a, Result<Live, ProviderError>> {
        Box::pin(async move {
            let id = kit::live_arn(live, "secret")?;
            if live.pending_deletion.is_some() {
                self.client
                    .restore_secret()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(aws("RestoreSecret"))?;
            }
            let changed = |k: &str| desired.attrs.get(k) != live.attrs.get(k);
            // Keys compare in their comparable form, and one the stack omits is left as it is.
            let key_changed = {
                let (mut d, mut l) = (desired.attrs.clone(), live.attrs.clone());
                normalize_key(&mut d);
                normalize_key(&mut l);
                desired
                    .attrs
                    .get("kms-key")
                    .is_some_and(|v| *v != Value::Null)
                    && d.get("kms-key") != l.get("kms-key")
            };
            if changed("description") || key_changed {
                self.client
                    .update_secret()
                    .secret_id(id)
                    .description(desired.str("description").unwrap_or_default())
                    .set_kms_key_id(desired.str("kms-key").map(str::to_string))
                    .send()
                    .await
                    .map_err(aws("UpdateSecret"))?;
            }
            let mut version = None;
            if changed("value")
                && let Some(material) = self
                    .material(&desired.attrs)
                    .map_err(ProviderError::Input)?
            {
                version = self.put_value(id, material).await?;
            }
            kit::retag(
                &desired.attrs,
                &live.attrs,
                &[],
                |keys| async {
                    self.client
                        .untag_resource()
                        .secret_id(id)
                        .set_tag_keys(Some(keys))
                        .send()
                        .await
                        .map_err(aws("UntagResource"))?;
                    Ok(())
                },
                |pairs| async {
                    let tags = pairs
                        .into_iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect();
                    self.client
                        .tag_resource()
                        .secret_id(id)
                        .set_tags(Some(tags))
                        .send()
                        .await
                        .map_err(aws("TagResource"))?;
                    Ok(())
                },
            )
            .await?;
            let mut converged = Live::converged(desired, live);
            if let Some(version) = version {
                converged
                    .computed
                    .insert(VERSION_ID.into(), Value::String(version));
            }
            Ok(converged)
        })
    }

    fn delete<'a>(&'a self, live: &'a Live) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            if live.pending_deletion.is_some() {
                return Ok(());
            }
            let window = live
                .attrs
                .get("recovery-window")
                .and_then(Value::as_int)
                .unwrap_or(30);
            self.client
                .delete_secret()
                .secret_id(kit::live_arn(live, "secret")?)
                .recovery_window_in_days(window)
                .send()
                .await
                .map_err(aws("DeleteSecret"))?;
            Ok(())
        })
    }

    fn owner_now<'a>(
        &'a self,
        live: &'a Live,
    ) -> BoxFuture<'a, Result<Option<Owner>, ProviderError>> {
        Box::pin(async move {
            let described = match self
                .client
                .describe_secret()
                .secret_id(kit::live_arn(live, "secret")?)
                .send()
                .await
            {
                Ok(d) => d,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(aws("DescribeSecret")(e)),
            };
            let tags = described
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
            Ok(Some(owner_from_tags(tags)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{alias_against_key, comparable_key, same_material};

    #[test]
    fn a_key_id_its_arn_and_the_default_alias_compare_as_aws_reports_them() {
        let id = "0a1b2c3d-1111-2222-3333-444455556666";
        let arn = format!("arn:aws:kms:us-east-1:123456789012:key/{id}");
        assert_eq!(comparable_key(id), comparable_key(&arn));
        assert_eq!(comparable_key(&arn).as_deref(), Some(id));
        assert_eq!(
            comparable_key("arn:aws:kms:us-east-1:123456789012:alias/shop").as_deref(),
            Some("alias/shop")
        );
        assert_eq!(comparable_key("alias/aws/secretsmanager"), None);
        assert_eq!(
            comparable_key("arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager"),
            None
        );
        assert!(alias_against_key(Some("alias/shop"), Some(&arn)));
        assert!(!alias_against_key(Some(id), Some(&arn)));
        assert!(!alias_against_key(
            Some("alias/shop"),
            Some("arn:aws:kms:us-east-1:123456789012:alias/shop")
        ));
    }

    #[test]
    fn json_values_compare_by_content() {
        assert!(same_material(
            r#"{"user":"app","password":"x"}"#,
            r#"{ "password": "x", "user": "app" }"#
        ));
        assert!(!same_material(r#"{"user":"app"}"#, r#"{"user":"web"}"#));
        assert!(!same_material("plain", "plain "));
    }
}
