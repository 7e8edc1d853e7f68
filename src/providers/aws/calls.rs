//! Counts the calls made to AWS per service and operation, and the HTTP requests they took
//! (a retried call is one call and several requests), and logs them at `-vv`/`-vvv`: by
//! operation, method, path and status; bodies, query strings and header values never, as they
//! carry secret values and signatures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls and requests, by `Service.Operation`.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    requests: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    pub fn interceptor(&self) -> CountCalls {
        CountCalls {
            calls: self.calls.clone(),
            requests: self.requests.clone(),
        }
    }

    /// Calls made so far, per operation.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests
            .lock()
            .map(|c| c.values().sum())
            .unwrap_or_default()
    }
}

/// The interceptor every client carries.
#[derive(Debug, Clone)]
pub struct CountCalls {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    requests: Arc<Mutex<BTreeMap<String, u64>>>,
}

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map(|m| format!("{}.{}", m.service(), m.name()))
        .unwrap_or_else(|| "unknown".into())
}

fn bump(counts: &Mutex<BTreeMap<String, u64>>, name: String) {
    if let Ok(mut counts) = counts.lock() {
        *counts.entry(name).or_default() += 1;
    }
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "infra-call-counter"
    }

    /// `-vv`: every call and its outcome (the error code, never a body).
    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::ui::log(2, || {
            let outcome = match context.output_or_error() {
                Some(Ok(_)) => "ok".to_string(),
                Some(Err(e)) if e.is_operation_error() => format!(
                    "failed: AWS error (HTTP {})",
                    context
                        .response()
                        .map_or_else(|| "?".into(), |r| r.status().as_u16().to_string())
                ),
                Some(Err(_)) => "failed: no answer".to_string(),
                None => "no outcome".to_string(),
            };
            format!("aws: {} {outcome}", operation(cfg))
        });
        Ok(())
    }

    /// `-vvv`: the status each HTTP attempt got.
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::ui::log(3, || {
            let status = context
                .response()
                .map_or_else(|| "no response".into(), |r| r.status().as_u16().to_string());
            format!("http: {} <- {status}", operation(cfg))
        });
        Ok(())
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        bump(&self.calls, operation(cfg));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        crate::ui::log(3, || {
            let request = context.request();
            let uri = request.uri();
            let path = uri
                .split("://")
                .nth(1)
                .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
                .unwrap_or("/");
            format!(
                "http: {} -> {} {} ({} bytes)",
                operation(cfg),
                request.method(),
                path.split('?').next().unwrap_or("/"),
                request.body().content_length().unwrap_or(0)
            )
        });
        bump(&self.requests, operation(cfg));
        Ok(())
    }
}
