//! AWS providers: clients from the standard configuration chain, and one module per service.
//!
//! Clients share one configuration: the stack's region, an endpoint override for emulators,
//! adaptive retries with a bounded budget, timeouts per call and per attempt, and a counter of
//! every request sent (the number of AWS calls a plan costs is a product metric).

mod acm_certificate;
mod autoscaling;
mod calls;
mod certificate;
mod cloudwatch;
mod ec2;
mod ecr;
mod ecs;
mod efs;
mod elbv2;
mod error;
pub mod health;
mod hosted_zone;
mod iam;
mod kit;
pub mod lock_table;
mod log_metric_filter;
mod logs;
mod lost_response;
mod managed_zone;
mod network;
mod preflight;
pub mod rate;
mod route53;
mod secrets;
mod sns;
mod tagging;
mod unreachable;
mod when_used;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

pub use calls::CallCounter;
pub use ecs::History as EcsHistory;
pub use elbv2::alternate_target_group_name;
pub use secrets::put_value as put_secret_value;

use super::Providers;
use when_used::WhenUsed;

/// How to reach AWS.
#[derive(Debug, Clone)]
pub struct Connection {
    pub region: String,
    /// `--endpoint-url`; `AWS_ENDPOINT_URL` is honoured by the configuration chain itself.
    pub endpoint_url: Option<String>,
    /// The stack's name, for ownership tags and records.
    pub stack: String,
    /// Where relative `from-file` paths start (the stack file's folder).
    pub base_dir: PathBuf,
    /// Requests per second per AWS service, at most (`--max-rate`); the client-side limiter
    /// adapts below it when AWS throttles.
    pub max_rate: f64,
    /// How long one attempt of a request may take (`--request-timeout`); a create that times
    /// out is looked up by its natural key before it is tried again, never retried blindly.
    pub attempt_timeout: Duration,
}

/// The default of `--request-timeout`.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no AWS credentials found")]
    NoCredentials,
    /// `AWS_PROFILE` names a profile the configuration files do not define.
    #[error("the AWS profile `{profile}` (AWS_PROFILE) is not defined")]
    UnknownProfile {
        profile: String,
        /// The profiles that are defined.
        known: Vec<String>,
    },
    #[error("AWS credentials could not be loaded: {0}")]
    Credentials(String),
}

/// Every AWS service infra calls, once: the field of [`Clients`], the SDK crate, the name its
/// rate limiter knows it by and its IAM prefix (`ecs:CreateService` in a permission hint). A new
/// service is one line here; nothing else names the crate to the error mapping.
macro_rules! services {
    ($($field:ident: $sdk:ident, rate $rate:literal, iam $iam:literal;)*) => {
        /// The service clients of one run.
        #[derive(Clone, Debug)]
        pub struct Clients {
            $(pub $field: $sdk::Client,)*
        }

        impl Clients {
            /// Every client from `config`, wired the way every run's are: counted, failing fast
            /// when AWS is unreachable, never blindly repeating a create whose answer was lost,
            /// and waiting for its service's rate-limit token before each request.
            fn wired(config: &aws_config::SdkConfig, wiring: &Wiring) -> Clients {
                Clients {
                    $($field: $sdk::Client::from_conf(
                        $sdk::config::Builder::from(config)
                            .interceptor(wiring.counting.clone())
                            // Before the lost-response check: a connection never made lost
                            // nothing.
                            .interceptor(unreachable::FailFast)
                            .interceptor(lost_response::NoBlindRetry)
                            .http_client(rate::RateLimitedClient::new(
                                wiring.http.clone(),
                                wiring.limits.clone(),
                                $rate,
                            ))
                            .build(),
                    ),)*
                }
            }

            /// Clients that are never called (for tests of what providers compute offline).
            #[cfg(test)]
            pub fn offline() -> Clients {
                let config = aws_config::SdkConfig::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new("us-east-1"))
                    .build();
                Clients {
                    $($field: $sdk::Client::new(&config),)*
                }
            }
        }

        /// The IAM prefix of the SDK crate named `crate_name` (`aws_sdk_ecs` → `ecs`).
        fn iam_prefix(crate_name: &str) -> Option<&'static str> {
            match crate_name {
                $(stringify!($sdk) => Some($iam),)*
                _ => None,
            }
        }
    };
}

services! {
    acm: aws_sdk_acm, rate "acm", iam "acm";
    autoscaling: aws_sdk_applicationautoscaling, rate "application-autoscaling", iam "application-autoscaling";
    dynamodb: aws_sdk_dynamodb, rate "dynamodb", iam "dynamodb";
    ec2: aws_sdk_ec2, rate "ec2", iam "ec2";
    ecr: aws_sdk_ecr, rate "ecr", iam "ecr";
    ecs: aws_sdk_ecs, rate "ecs", iam "ecs";
    efs: aws_sdk_efs, rate "elasticfilesystem", iam "elasticfilesystem";
    elbv2: aws_sdk_elasticloadbalancingv2, rate "elasticloadbalancing", iam "elasticloadbalancing";
    iam: aws_sdk_iam, rate "iam", iam "iam";
    secrets: aws_sdk_secretsmanager, rate "secretsmanager", iam "secretsmanager";
    sns: aws_sdk_sns, rate "sns", iam "sns";
    sts: aws_sdk_sts, rate "sts", iam "sts";
    cloudwatch: aws_sdk_cloudwatch, rate "monitoring", iam "cloudwatch";
    logs: aws_sdk_cloudwatchlogs, rate "logs", iam "logs";
    route53: aws_sdk_route53, rate "route53", iam "route53";
    tagging: aws_sdk_resourcegroupstagging, rate "tagging", iam "tag";
}

/// What every client of a run shares: the call counter, the rate limits and the HTTPS client.
struct Wiring {
    counting: calls::CountCalls,
    limits: Arc<rate::RateLimits>,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
}

/// Retries: adaptive (client-side rate limiting when AWS throttles), at most this many attempts.
const MAX_ATTEMPTS: u32 = 5;

/// Loads configuration, checks that credentials exist, and builds every client.
pub async fn connect(
    connection: &Connection,
    calls: &CallCounter,
) -> Result<Clients, ConnectError> {
    // Standard retries: the rate limiter below does the adapting to throttling.
    let retry = RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(5));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(connection.attempt_timeout)
        .operation_timeout((connection.attempt_timeout * 4).max(Duration::from_secs(120)))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // A request waiting for its rate-limit token is not a stalled stream; the timeouts
        // above catch connections that hang.
        .stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        )
        .region(Region::new(connection.region.clone()))
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(url) = &connection.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    let config = loader.load().await;
    let credentials = config
        .credentials_provider()
        .ok_or(ConnectError::NoCredentials)?;
    match credentials.provide_credentials().await {
        Ok(_) => {}
        Err(CredentialsError::CredentialsNotLoaded(_)) => {
            return Err(match unknown_profile().await {
                Some((profile, known)) => ConnectError::UnknownProfile { profile, known },
                None => ConnectError::NoCredentials,
            });
        }
        Err(e) => return Err(ConnectError::Credentials(error::chain(&e))),
    }
    let counting = calls.interceptor();
    let limits = rate::RateLimits::new(connection.max_rate);
    // The SDK's default HTTPS client (rustls with aws-lc), unless the configuration set one.
    let http = config.http_client().unwrap_or_else(|| {
        aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https()
    });
    let wiring = Wiring {
        counting,
        limits,
        http,
    };
    Ok(Clients::wired(&config, &wiring))
}

/// The profile `AWS_PROFILE` names when the configuration files do not define it, with the
/// profiles they do define.
async fn unknown_profile() -> Option<(String, Vec<String>)> {
    use aws_types::os_shim_internal::{Env, Fs};
    let profile = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())?;
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let mut known: Vec<String> = aws_config::profile::load(&Fs::real(), &Env::real(), &files, None)
        .await
        .map(|set| set.profiles().map(str::to_string).collect())
        .unwrap_or_default();
    known.sort();
    (!known.contains(&profile)).then_some((profile, known))
}

/// Whether the credentials work in the home region of the stack's partition (`us-east-1`,
/// which no account can disable): when they do and the stack's region refused them, that
/// region is not enabled for the account. `false` when the stack's region is the home region.
pub async fn key_works_elsewhere(clients: &Clients, region: &str) -> bool {
    let home = match crate::model::regions::partition(region) {
        Some("aws-cn") => "cn-north-1",
        Some("aws-us-gov") => "us-gov-west-1",
        Some("aws") => "us-east-1",
        _ => return false,
    };
    if home == region {
        return false;
    }
    let config = clients
        .sts
        .config()
        .to_builder()
        .region(Region::new(home))
        .build();
    aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .is_ok()
}

/// The account the credentials belong to (saved plans are bound to it).
pub async fn account(clients: &Clients) -> Result<String, super::ProviderError> {
    let me = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(error::aws("GetCallerIdentity"))?;
    me.account()
        .map(str::to_string)
        .ok_or_else(|| super::ProviderError::Input("GetCallerIdentity returned no account".into()))
}

/// The providers of every kind this build supports.
pub fn providers(clients: &Clients, connection: &Connection) -> Providers {
    let owned = Arc::new(tagging::OwnedIndex::new(
        clients.tagging.clone(),
        connection.stack.clone(),
    ));
    let mut providers = Providers::default();
    providers.add(Arc::new(secrets::Secrets::new(
        clients.secrets.clone(),
        connection.base_dir.clone(),
    )));
    providers.add(Arc::new(cloudwatch::Alarms::new(
        clients.cloudwatch.clone(),
        owned.clone(),
    )));
    providers.add(Arc::new(logs::LogGroups::new(
        clients.logs.clone(),
        owned.clone(),
    )));
    providers.add(WhenUsed::wrap(
        Arc::new(ecr::Repositories::new(clients.ecr.clone(), owned.clone())),
        &owned,
        "ecr",
    ));
    providers.add(WhenUsed::wrap(
        Arc::new(iam::Roles::new(
            clients.iam.clone(),
            connection.region.clone(),
        )),
        &owned,
        "iam",
    ));
    providers.add(Arc::new(log_metric_filter::MetricFilters::new(
        clients.logs.clone(),
        owned.clone(),
        connection.stack.clone(),
    )));
    providers.add(WhenUsed::wrap(
        Arc::new(sns::Topics::new(
            clients.sns.clone(),
            clients.sts.clone(),
            connection.region.clone(),
            owned.clone(),
        )),
        &owned,
        "sns",
    ));
    providers.add(WhenUsed::wrap(
        Arc::new(autoscaling::Scalings::new(
            clients,
            connection.stack.clone(),
        )),
        &owned,
        "application-autoscaling",
    ));
    providers.add(WhenUsed::wrap(
        Arc::new(efs::FileSystems::new(
            clients.efs.clone(),
            clients.ec2.clone(),
            connection.stack.clone(),
        )),
        &owned,
        "elasticfilesystem",
    ));
    ecs::register(&mut providers, clients, connection, &owned);
    ec2::register(&mut providers, &clients.ec2, &owned);
    elbv2::register(&mut providers, clients, connection, &owned);
    providers.add(Arc::new(route53::Records::new(
        clients.route53.clone(),
        connection.stack.clone(),
        connection.region.clone(),
    )));
    providers.add(WhenUsed::wrap(
        Arc::new(acm_certificate::AcmCertificates::new(
            clients.acm.clone(),
            clients.route53.clone(),
            owned.clone(),
            connection.stack.clone(),
        )),
        &owned,
        "acm",
    ));
    providers.add(WhenUsed::wrap(
        Arc::new(managed_zone::ManagedZones::new(
            clients.route53.clone(),
            connection.stack.clone(),
        )),
        &owned,
        "route53",
    ));
    providers.add_lookup(Arc::new(hosted_zone::HostedZones::new(
        clients.route53.clone(),
    )));
    providers.set_preflight(Arc::new(preflight::Preflight::new(
        clients.ecr.clone(),
        clients.secrets.clone(),
    )));
    providers.add_lookup(Arc::new(network::Vpcs::new(clients.ec2.clone())));
    providers.add_lookup(Arc::new(network::Subnets::new(clients.ec2.clone())));
    providers.add_lookup(Arc::new(network::SecurityGroups::new(clients.ec2.clone())));
    providers.add_lookup(Arc::new(certificate::Certificates::new(
        clients.acm.clone(),
    )));
    providers
}
