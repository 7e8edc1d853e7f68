//! The apply lock: one DynamoDB item per stack and region, written with a conditional put, so
//! that exactly one of two concurrent applies gets it (on AWS and in the moto emulator alike).
//! The table is created on first use.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};

use super::error::{aws, build};
use crate::apply::lock::Holder;
use crate::providers::ProviderError;

/// The table infra keeps its locks in, unless `INFRA_LOCK_TABLE` names another.
pub const DEFAULT_TABLE: &str = "infra-locks";
const KEY: &str = "lock_key";
/// How often a blocked apply looks again.
const POLL: Duration = Duration::from_secs(1);

/// Why a lock was not taken or released.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{0}")]
    Held(Holder),
    #[error("{0}")]
    Aws(#[from] ProviderError),
}

impl LockError {
    /// The sentence and, for an AWS error, its help, on one line.
    pub fn explained(&self) -> String {
        match self {
            LockError::Held(_) => self.to_string(),
            LockError::Aws(e) => e.explained(),
        }
    }
}

#[derive(Clone)]
pub struct LockTable {
    client: Client,
    table: String,
}

impl LockTable {
    pub fn new(client: Client) -> Self {
        let table = std::env::var("INFRA_LOCK_TABLE").unwrap_or_else(|_| DEFAULT_TABLE.into());
        LockTable { client, table }
    }

    /// Creates the table unless it exists, and waits until it can be used.
    async fn ensure_table(&self) -> Result<(), ProviderError> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        let active = match described {
            Ok(d) => d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active),
            Err(e) => {
                let e = aws("DescribeTable")(e);
                if e.code() != Some("ResourceNotFoundException") {
                    return Err(e);
                }
                let created = self
                    .client
                    .create_table()
                    .table_name(&self.table)
                    .billing_mode(BillingMode::PayPerRequest)
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(KEY)
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .map_err(build("CreateTable"))?,
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name(KEY)
                            .key_type(KeyType::Hash)
                            .build()
                            .map_err(build("CreateTable"))?,
                    )
                    .send()
                    .await
                    .map_err(aws("CreateTable"));
                match created {
                    Ok(_) => false,
                    // Another apply created it at the same moment.
                    Err(e) if e.code() == Some("ResourceInUseException") => false,
                    Err(e) => return Err(e),
                }
            }
        };
        if active {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let d = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(aws("DescribeTable"))?;
            if d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        Err(ProviderError::Input(format!(
            "the lock table `{}` did not become active within 2 minutes",
            self.table
        )))
    }

    /// Takes the lock of `key` for `me`, waiting up to `timeout` for another holder to let go;
    /// `waiting` hears about the holder once.
    pub async fn acquire(
        &self,
        key: &str,
        me: &Holder,
        timeout: Duration,
        waiting: &mut dyn FnMut(&Holder),
    ) -> Result<(), LockError> {
        self.ensure_table().await?;
        let deadline = Instant::now() + timeout;
        let mut told = false;
        loop {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item(key, me)))
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", KEY)
                .send()
                .await
                .map_err(aws("PutItem"));
            match put {
                Ok(_) => return Ok(()),
                // The put may have gone through: whoever holds the lock now says.
                Err(e) if e.response_lost() => {
                    if self.holder(key).await?.is_some_and(|h| h.id == me.id) {
                        return Ok(());
                    }
                }
                Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                    let Some(holder) = self.holder(key).await? else {
                        continue; // released in between: try again at once
                    };
                    // A retried put that had gone through finds our own lock.
                    if holder.id == me.id {
                        return Ok(());
                    }
                    if Instant::now() >= deadline {
                        return Err(LockError::Held(holder));
                    }
                    if !told {
                        waiting(&holder);
                        told = true;
                    }
                    tokio::time::sleep(POLL.min(deadline - Instant::now())).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Renews the lock of `key` that `id` holds for another `lease`. `Ok(false)`: it is no longer
    /// `id`'s (broken with `infra unlock --force`, and maybe taken by another run).
    pub async fn renew(&self, key: &str, id: &str, lease: Duration) -> Result<bool, LockError> {
        let now = crate::apply::lock::now();
        let renewed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.to_string()))
            .update_expression("SET #h = :now, #e = :expires")
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#h", "heartbeat")
            .expression_attribute_names("#e", "expires")
            .expression_attribute_values(":id", AttributeValue::S(id.to_string()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((now + lease.as_secs().max(1)).to_string()),
            )
            .send()
            .await
            .map_err(aws("UpdateItem"));
        match renewed {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases the lock of `key` if `id` holds it. `Ok(false)`: someone else holds it now.
    pub async fn release(&self, key: &str, id: &str) -> Result<bool, LockError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.to_string()))
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", "id")
            .expression_attribute_values(":id", AttributeValue::S(id.to_string()))
            .send()
            .await
            .map_err(aws("DeleteItem"));
        match deleted {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Who holds the lock of `key`, if anyone.
    pub async fn holder(&self, key: &str) -> Result<Option<Holder>, ProviderError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("GetItem"));
        let got = match got {
            Ok(g) => g,
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(got.item().map(holder_of))
    }
}

fn item(key: &str, h: &Holder) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    HashMap::from([
        (KEY.to_string(), s(key)),
        ("id".to_string(), s(&h.id)),
        ("user".to_string(), s(&h.user)),
        ("host".to_string(), s(&h.host)),
        ("command".to_string(), s(&h.command)),
        ("since".to_string(), AttributeValue::N(h.since.to_string())),
        ("pid".to_string(), AttributeValue::N(h.pid.to_string())),
        (
            "heartbeat".to_string(),
            AttributeValue::N(h.heartbeat.to_string()),
        ),
        (
            "expires".to_string(),
            AttributeValue::N(h.expires.to_string()),
        ),
    ])
}

fn holder_of(item: &HashMap<String, AttributeValue>) -> Holder {
    let s = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_else(|| "?".into())
    };
    let n = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default()
    };
    Holder {
        id: s("id"),
        user: s("user"),
        host: s("host"),
        command: s("command"),
        since: n("since"),
        pid: u32::try_from(n("pid")).unwrap_or_default(),
        heartbeat: n("heartbeat"),
        expires: n("expires"),
    }
}
