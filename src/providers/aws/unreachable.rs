//! Connections that could not be made: said once, plainly, and not retried.
//!
//! The SDK treats every I/O error as transient and retries it five times with backoff, so an
//! endpoint that refuses connections or a host name that does not resolve cost seconds per call
//! and ended in a dump of the connector's error. A connection that was never made is not
//! going to be made by the next attempt a few hundred milliseconds later: this interceptor
//! turns it into [`Unreachable`] (the endpoint and the cause in a few words), which no retry
//! classifier retries. Connections that broke after the request went out, throttling and 5xx
//! answers keep their retries.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// No connection could be made to `endpoint`: nothing was sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot reach {endpoint}: {cause}")]
pub struct Unreachable {
    /// `https://ecs.eu-west-1.amazonaws.com`, `http://127.0.0.1:9`.
    pub endpoint: String,
    /// `connection refused`, `DNS name not found`, `connection timed out`.
    pub cause: String,
}

#[derive(Debug, Clone, Default)]
pub struct FailFast;

/// Where the attempt in flight went (the request itself is gone once it is sent).
#[derive(Debug, Clone)]
struct Endpoint(String);

impl Storable for Endpoint {
    type Storer = StoreReplace<Self>;
}

impl Intercept for FailFast {
    fn name(&self) -> &'static str {
        "infra-fail-fast-when-unreachable"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let endpoint = Endpoint(endpoint(context.request().uri()));
        cfg.interceptor_state().store_put(endpoint);
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let endpoint = cfg.load::<Endpoint>().map(|e| e.0.clone());
        let Some(Err(error)) = context.output_or_error_mut() else {
            return Ok(());
        };
        let Some(cause) = error.as_connector_error().and_then(connect_failure) else {
            return Ok(());
        };
        *error = OrchestratorError::other(Unreachable {
            endpoint: endpoint.unwrap_or_else(|| "the AWS endpoint".into()),
            cause,
        });
        Ok(())
    }
}

/// `scheme://host[:port]` of a request's URI, without path or query (which may name things).
fn endpoint(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or(rest);
            format!("{scheme}://{host}")
        }
        None => uri.split(['/', '?']).next().unwrap_or(uri).to_string(),
    }
}

/// Why a connection could not be made, when that is what `error` says; `None` for failures
/// after the connection was made (a reset, a dropped answer), which may be transient.
pub fn connect_failure(error: &ConnectorError) -> Option<String> {
    let mut texts = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            let cause = match io.kind() {
                ErrorKind::ConnectionRefused => Some("connection refused"),
                ErrorKind::NetworkUnreachable => Some("network unreachable"),
                ErrorKind::HostUnreachable => Some("host unreachable"),
                ErrorKind::AddrNotAvailable => Some("address not available"),
                _ => None,
            };
            if let Some(cause) = cause {
                return Some(cause.into());
            }
        }
        texts.push(e.to_string());
        next = e.source();
    }
    let said = |words: &str| texts.iter().any(|t| t.contains(words));
    if said("dns error") || said("failed to lookup address") {
        return Some("DNS name not found".into());
    }
    if error.is_timeout() && said("connect") {
        return Some("connection timed out".into());
    }
    if said("invalid peer certificate") {
        let last = texts.last().cloned().unwrap_or_default();
        return Some(format!("its TLS certificate is not trusted ({last})"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_keeps_scheme_host_and_port_only() {
        assert_eq!(
            endpoint("https://secretsmanager.eu-west-1.amazonaws.com/"),
            "https://secretsmanager.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:9/2013-04-01/hostedzone?name=x"),
            "http://127.0.0.1:9"
        );
    }

    #[test]
    fn refused_and_unresolved_connections_are_connect_failures() {
        let refused = ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(
            connect_failure(&refused).as_deref(),
            Some("connection refused")
        );
        let dns = ConnectorError::io(Box::new(std::io::Error::other(
            "dns error: failed to lookup address information: Name or service not known",
        )));
        assert_eq!(connect_failure(&dns).as_deref(), Some("DNS name not found"));
        let reset = ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(connect_failure(&reset), None, "a reset may be transient");
    }
}
