//! Client-side rate limiting: a token bucket per AWS service, adjusted by additive increase and
//! multiplicative decrease. Every request waits for a token of its service before it is sent;
//! a throttling answer halves the service's rate, and each answered request raises it a little,
//! back up to the ceiling. So a large plan or apply stays just under what AWS allows instead of
//! spending its retries against throttling.
//!
//! It sits in the HTTP layer (a wrapper around the SDK's HTTP connector), where waiting is
//! possible and every attempt, retries included, passes through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

/// Requests per second each service starts at and never exceeds, unless `--max-rate` says
/// otherwise. AWS's own limits for the describe and mutate calls infra makes are mostly 10 to
/// 50 per second per account and region; the ceiling adapts down from here when AWS pushes back.
pub const DEFAULT_MAX_RATE: f64 = 50.0;
/// The floor a service's rate is never cut below.
const MIN_RATE: f64 = 1.0;
/// What a throttling answer multiplies the rate by.
const DECREASE: f64 = 0.7;
/// Requests per second the rate grows by, per second of answered requests.
const INCREASE: f64 = 2.0;

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.last).as_secs_f64();
        // A burst of at most one second's worth, as AWS's own buckets allow.
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        self.last = now;
    }
}

/// The buckets of one run, by SigV4 service name.
#[derive(Debug)]
pub struct RateLimits {
    ceiling: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimits {
    pub fn new(ceiling: f64) -> Arc<RateLimits> {
        Arc::new(RateLimits {
            ceiling: ceiling.max(MIN_RATE),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Waits until `service` may send a request.
    pub async fn acquire(&self, service: &str) {
        loop {
            let wait = {
                let Ok(mut buckets) = self.buckets.lock() else {
                    return;
                };
                let now = Instant::now();
                let bucket = buckets.entry(service.to_string()).or_insert(Bucket {
                    rate: self.ceiling,
                    tokens: 1.0,
                    last: now,
                });
                bucket.refill(now);
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / bucket.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// AWS throttled `service`: slow down.
    pub fn throttled(&self, service: &str) {
        self.adjust(service, |rate| (rate * DECREASE).max(MIN_RATE));
    }

    /// A request of `service` was answered: speed up a little.
    pub fn answered(&self, service: &str) {
        let ceiling = self.ceiling;
        self.adjust(service, |rate| (rate + INCREASE / rate).min(ceiling));
    }

    fn adjust(&self, service: &str, f: impl Fn(f64) -> f64) {
        if let Ok(mut buckets) = self.buckets.lock()
            && let Some(bucket) = buckets.get_mut(service)
        {
            bucket.refill(Instant::now());
            bucket.rate = f(bucket.rate);
        }
    }

    /// The current rate of `service`, for `--stats` and tests.
    pub fn rate(&self, service: &str) -> f64 {
        self.buckets
            .lock()
            .ok()
            .and_then(|b| b.get(service).map(|b| b.rate))
            .unwrap_or(self.ceiling)
    }
}

/// Whether an answer says the caller is going too fast: HTTP 429, EC2's 503, or a throttling
/// code in the error type header (JSON protocols) or the body (query and REST-XML protocols).
fn is_throttling(status: u16, error_type: Option<&str>, body: &[u8]) -> bool {
    const CODES: [&str; 8] = [
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "PriorRequestNotComplete",
        "RequestThrottled",
        "SlowDown",
    ];
    if status == 429 {
        return true;
    }
    if status != 400 && status != 503 {
        return false;
    }
    if error_type.is_some_and(|t| CODES.iter().any(|c| t.contains(c))) {
        return true;
    }
    let text = String::from_utf8_lossy(body);
    CODES.iter().any(|c| {
        text.contains(&format!("<Code>{c}</Code>"))
            || text.contains(&format!("#{c}\""))
            || text.contains(&format!("\"{c}\""))
    })
}

/// The SDK's HTTP client, with each request waiting for its service's token.
#[derive(Debug, Clone)]
pub struct RateLimitedClient {
    inner: SharedHttpClient,
    limits: Arc<RateLimits>,
    service: &'static str,
}

impl RateLimitedClient {
    pub fn new(inner: SharedHttpClient, limits: Arc<RateLimits>, service: &'static str) -> Self {
        RateLimitedClient {
            inner,
            limits,
            service,
        }
    }
}

impl HttpClient for RateLimitedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RateLimitedConnector {
            inner: self.inner.http_connector(settings, components),
            limits: self.limits.clone(),
            service: self.service,
        })
    }
}

#[derive(Debug)]
struct RateLimitedConnector {
    inner: SharedHttpConnector,
    limits: Arc<RateLimits>,
    service: &'static str,
}

impl HttpConnector for RateLimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let limits = self.limits.clone();
        let service = self.service;
        HttpConnectorFuture::new(async move {
            limits.acquire(service).await;
            let mut response: HttpResponse = inner.call(request).await?;
            let status = response.status().as_u16();
            if status == 400 || status == 503 || status == 429 {
                // Error bodies are small: read it to find the code, then hand it on.
                let body = response.take_body();
                let bytes = ByteStream::new(body)
                    .collect()
                    .await
                    .map(|b| b.into_bytes())
                    .unwrap_or_default();
                let error_type = response
                    .headers()
                    .get("x-amzn-errortype")
                    .map(str::to_string);
                if is_throttling(status, error_type.as_deref(), &bytes) {
                    limits.throttled(service);
                } else {
                    limits.answered(service);
                }
                *response.body_mut() = SdkBody::from(bytes);
            } else {
                limits.answered(service);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_recognised_in_every_protocol_shape() {
        assert!(is_throttling(
            400,
            Some("ThrottlingException:http://internal"),
            b""
        ));
        assert!(is_throttling(
            400,
            None,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code></Error></ErrorResponse>"
        ));
        assert!(is_throttling(
            503,
            None,
            b"<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>"
        ));
        assert!(is_throttling(
            400,
            None,
            b"{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\"}"
        ));
        assert!(is_throttling(429, None, b""));
        assert!(!is_throttling(
            400,
            None,
            b"{\"__type\":\"ResourceNotFoundException\"}"
        ));
        assert!(!is_throttling(500, None, b"<Code>Throttling</Code>"));
    }

    #[test]
    fn throttling_cuts_the_rate_and_answers_bring_it_back() {
        let limits = RateLimits::new(20.0);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(limits.acquire("ecs"));
        limits.throttled("ecs");
        assert!((limits.rate("ecs") - 14.0).abs() < 1e-9);
        limits.throttled("ecs");
        let low = limits.rate("ecs");
        for _ in 0..1000 {
            limits.answered("ecs");
        }
        assert!(limits.rate("ecs") > low);
        assert!(limits.rate("ecs") <= 20.0);
        assert_eq!(limits.rate("elasticloadbalancing"), 20.0, "per service");
    }

    #[test]
    fn a_bucket_spaces_requests_at_its_rate() {
        let limits = RateLimits::new(50.0);
        let started = Instant::now();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async {
                for _ in 0..76 {
                    limits.acquire("logs").await;
                }
            });
        // 76 requests at 50 per second: the first starts at once, the bucket fills to one
        // second's worth while they run, so at least half a second passes.
        assert!(
            started.elapsed() >= Duration::from_millis(480),
            "{:?}",
            started.elapsed()
        );
    }
}
