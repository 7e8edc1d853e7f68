//! A fault-injecting HTTP proxy between infra and moto.
//!
//! infra's `--endpoint-url` points at the proxy; the proxy forwards each request to moto on a
//! fresh connection and hands the answer back, unless a fault says otherwise. Per request it
//! can answer with the service's own throttling error (each service has its code and body
//! shape), a 500 or 503, an `AccessDenied`, add latency, or forward the request and then drop
//! the connection without answering: the call took effect, its response was lost.
//!
//! Faults are decided by a hash of the seed, the operation and how many times that operation
//! was called before, so the same run of calls meets the same faults. The proxy also counts
//! calls and faults per operation, can cap each service's request rate (throttling above it,
//! as AWS does), and can SIGKILL a process when the n-th request has reached moto.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fault the proxy can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error (ECS `ThrottlingException`, ELBv2 `Throttling`, EC2
    /// `RequestLimitExceeded`, ...), in its protocol's body shape.
    Throttle,
    /// HTTP 500 with the service's internal-error body.
    ServerError,
    /// HTTP 503, service unavailable.
    Unavailable,
    /// Forwarded to moto, then the connection closes without an answer.
    DropAfterEffect,
    /// The service's access-denied error.
    AccessDenied,
    /// Forwarded to moto, then the answer is held this long before it goes back (longer than
    /// the client waits: the request took effect, the client timed out).
    HangAfterEffect(Duration),
    /// Forwarded to moto; its answer, where it holds the first text, gets the second in its
    /// place (same length): AWS's answers that moto does not give (a service `DRAINING`).
    /// Counted against `times` only when the text was there.
    Rewrite(&'static str, &'static str),
    /// The service's own error answer with this HTTP status, code and message (refused
    /// credentials, an explicit denial naming an action), in its protocol's body shape.
    Error {
        status: u16,
        code: &'static str,
        message: &'static str,
    },
    /// [`Fault::Error`] for requests signed for `region` only (an opt-in region the account has
    /// not enabled); requests signed for other regions go through.
    ErrorIn {
        region: &'static str,
        status: u16,
        code: &'static str,
        message: &'static str,
    },
    /// `BatchGetSecretValue` answered without values: every secret asked for is in `Errors`
    /// with this code and message (`{id}` in it becomes the secret's id).
    SecretErrors {
        code: &'static str,
        message: &'static str,
    },
}

impl Fault {
    /// Whether the fault applies to a request signed for `region`.
    fn applies_in(&self, region: &str) -> bool {
        match self {
            Fault::ErrorIn { region: only, .. } => *only == region,
            _ => true,
        }
    }
}

/// A fault for calls of one operation, optionally only those whose body names something.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The operation's name, or `*` for every operation.
    pub operation: String,
    pub body_contains: Option<String>,
    pub fault: Fault,
    /// How many calls it hits; `None`: all of them.
    pub times: Option<u64>,
}

/// What to inject. Rates are per request, between 0 and 1.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    pub throttle: f64,
    pub server_error: f64,
    pub drop_after_effect: f64,
    /// Added to every request before it is forwarded.
    pub latency: Duration,
    /// Requests per second each service accepts; more are throttled. `None`: no cap.
    pub rate_per_service: Option<f64>,
    /// Faults that always apply to matching calls (checked before the random ones).
    pub rules: Vec<Rule>,
}

impl Faults {
    /// The mix the convergence tests use: 10 % throttling, 2 % 5xx, 1 % lost responses.
    pub fn stormy(seed: u64) -> Faults {
        Faults {
            seed,
            throttle: 0.10,
            server_error: 0.02,
            drop_after_effect: 0.01,
            ..Faults::default()
        }
    }
}

/// What happened to the calls of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub calls: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub dropped: u64,
    pub denied: u64,
}

#[derive(Default)]
struct State {
    faults: Faults,
    tallies: BTreeMap<String, Tally>,
    /// Tokens per service for the rate cap: (tokens, last refill).
    buckets: BTreeMap<String, (f64, Instant)>,
    /// Kill this process once this many requests have reached moto.
    kill: Option<(u64, u32)>,
    forwarded: u64,
    killed: bool,
    /// When each request arrived, since the tallies were last reset, and its operation.
    timeline: Vec<(Duration, String)>,
    since: Option<Instant>,
    /// Answers reshaped the way AWS gives them ([`super::shape`]), when set.
    shape: Option<Arc<super::shape::Shape>>,
}

/// A running proxy; it lives as long as the test binary.
#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    upstream: String,
    state: Arc<Mutex<State>>,
    slots: Arc<Slots>,
}

/// A counting semaphore over requests in flight to moto.
struct Slots {
    free: Mutex<usize>,
    freed: std::sync::Condvar,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (`http://host:port`).
    pub fn start(upstream: &str, faults: Faults) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let proxy = Proxy {
            url: format!("http://127.0.0.1:{port}"),
            upstream: upstream.trim_start_matches("http://").to_string(),
            state: Arc::new(Mutex::new(State {
                faults,
                ..State::default()
            })),
            slots: Arc::new(Slots {
                free: Mutex::new(32),
                freed: std::sync::Condvar::new(),
            }),
        };
        let serving = proxy.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let proxy = serving.clone();
                std::thread::spawn(move || proxy.serve(stream));
            }
        });
        proxy
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the faults (tallies are kept).
    pub fn set_faults(&self, faults: Faults) {
        self.state().faults = faults;
    }

    /// From now on, answers as AWS gives them ([`super::shape::Shape`]); returns the layer,
    /// which counts what it changed.
    pub fn shape_answers(&self, shape: super::shape::Shape) -> Arc<super::shape::Shape> {
        let shape = Arc::new(shape);
        self.state().shape = Some(shape.clone());
        shape
    }

    /// Calls and faults per `service.Operation`.
    pub fn tallies(&self) -> BTreeMap<String, Tally> {
        self.state().tallies.clone()
    }

    /// All calls and all faults so far.
    pub fn totals(&self) -> Tally {
        self.tallies()
            .values()
            .fold(Tally::default(), |mut sum, t| {
                sum.calls += t.calls;
                sum.throttled += t.throttled;
                sum.server_errors += t.server_errors;
                sum.dropped += t.dropped;
                sum.denied += t.denied;
                sum
            })
    }

    pub fn reset_tallies(&self) {
        let mut state = self.state();
        state.tallies.clear();
        state.timeline.clear();
        state.since = Some(Instant::now());
    }

    /// When each request arrived since the tallies were reset, and its `service.Operation`
    /// (the scale benchmark shows which reads wait on which).
    #[allow(dead_code)]
    pub fn timeline(&self) -> Vec<(Duration, String)> {
        self.state().timeline.clone()
    }

    /// SIGKILLs `pid` once `after` more requests have reached moto (before their answers go
    /// back). Returns at once; [`Proxy::killed`] says whether it happened.
    pub fn kill_after(&self, after: u64, pid: u32) {
        let mut state = self.state();
        state.kill = Some((state.forwarded + after, pid));
        state.killed = false;
    }

    pub fn killed(&self) -> bool {
        self.state().killed
    }

    fn serve(&self, client: TcpStream) {
        let Ok(reading) = client.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(reading);
        let mut client = client;
        while let Ok(Some(request)) = read_request(&mut reader) {
            if !self.answer(&mut client, &request) {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
        }
    }

    /// Answers one request; `false` when the connection must close.
    fn answer(&self, client: &mut TcpStream, request: &Request) -> bool {
        let call = Call::of(request);
        let (fault, latency) = self.decide(&call, request);
        if !latency.is_zero() {
            std::thread::sleep(latency);
        }
        if let Some(Fault::SecretErrors { code, message }) = fault {
            return client
                .write_all(&secret_errors(request, code, message))
                .is_ok();
        }
        if let Some(fault) = fault.filter(|f| {
            !matches!(
                f,
                Fault::DropAfterEffect | Fault::HangAfterEffect(_) | Fault::Rewrite(..)
            )
        }) {
            return client.write_all(&call.error(fault)).is_ok();
        }
        let forwarded = {
            // moto is one process: at most this many requests reach it at once.
            let _slot = self.slots.take();
            forward(&self.upstream, request)
        };
        let response = match forwarded {
            Ok(response) => response,
            // An emulator that cannot take the request is a service that is unavailable.
            Err(_) => return client.write_all(&call.error(Fault::Unavailable)).is_ok(),
        };
        if self.after_effect() || fault == Some(Fault::DropAfterEffect) {
            return false;
        }
        if let Some(Fault::HangAfterEffect(hold)) = fault {
            std::thread::sleep(hold);
        }
        let response = self.rewritten(&call, response);
        let response = self.shaped(&call, request, response);
        client.write_all(&response).is_ok()
    }

    /// The answer as AWS would give it, when the AWS-shaped layer is on.
    fn shaped(&self, call: &Call, request: &Request, response: Vec<u8>) -> Vec<u8> {
        let Some(shape) = self.state().shape.clone() else {
            return response;
        };
        // The region is the third part of the SigV4 credential scope.
        let region = request
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(2))
            .unwrap_or("us-east-1")
            .to_string();
        shape.reshape(
            &call.service,
            &call.operation,
            &region,
            &request.text(),
            response,
        )
    }

    /// Applies the first rewrite rule of this operation whose text the answer holds.
    fn rewritten(&self, call: &Call, mut response: Vec<u8>) -> Vec<u8> {
        let mut state = self.state();
        for rule in state.faults.rules.iter_mut() {
            let Fault::Rewrite(from, to) = rule.fault else {
                continue;
            };
            if rule.operation != call.operation || rule.times == Some(0) {
                continue;
            }
            assert_eq!(from.len(), to.len(), "a rewrite keeps the answer's length");
            let Some(at) = response
                .windows(from.len())
                .position(|w| w == from.as_bytes())
            else {
                continue;
            };
            response[at..at + from.len()].copy_from_slice(to.as_bytes());
            rule.times = rule.times.map(|n| n - 1);
            break;
        }
        response
    }

    /// Counts the request and picks its fault, if any.
    fn decide(&self, call: &Call, request: &Request) -> (Option<Fault>, Duration) {
        let mut state = self.state();
        let faults = state.faults.clone();
        let name = format!("{}.{}", call.service, call.operation);
        let seen = state.tallies.get(&name).map_or(0, |t| t.calls);
        let capped = faults
            .rate_per_service
            .is_some_and(|rate| !take_token(&mut state.buckets, &call.service, rate));
        let ruled = faults.rules.iter().position(|r| {
            (r.operation == call.operation || r.operation == "*")
                && r.fault.applies_in(&call.region)
                && !matches!(r.fault, Fault::Rewrite(..))
                && r.times.is_none_or(|n| n > 0)
                && r.body_contains
                    .as_ref()
                    .is_none_or(|s| request.text().contains(s.as_str()))
        });
        let ruled = ruled.map(|i| {
            let rule = &mut state.faults.rules[i];
            rule.times = rule.times.map(|n| n - 1);
            rule.fault
        });
        let roll = unit(faults.seed, &name, seen);
        let fault = if ruled.is_some() {
            ruled
        } else if capped || roll < faults.throttle {
            Some(Fault::Throttle)
        } else if roll < faults.throttle + faults.server_error {
            // Half 500s, half 503s.
            Some(if seen.is_multiple_of(2) {
                Fault::ServerError
            } else {
                Fault::Unavailable
            })
        } else if roll < faults.throttle + faults.server_error + faults.drop_after_effect {
            Some(Fault::DropAfterEffect)
        } else {
            None
        };
        let at = state.since.get_or_insert_with(Instant::now).elapsed();
        state.timeline.push((at, name.clone()));
        let tally = state.tallies.entry(name).or_default();
        tally.calls += 1;
        match fault {
            Some(Fault::Throttle) => tally.throttled += 1,
            Some(Fault::ServerError | Fault::Unavailable) => tally.server_errors += 1,
            Some(Fault::DropAfterEffect) => tally.dropped += 1,
            Some(Fault::AccessDenied) => tally.denied += 1,
            Some(
                Fault::HangAfterEffect(_)
                | Fault::Rewrite(..)
                | Fault::Error { .. }
                | Fault::ErrorIn { .. }
                | Fault::SecretErrors { .. },
            )
            | None => {}
        }
        (fault, faults.latency)
    }

    /// Notes that a request reached moto; kills the victim when its time has come. `true`
    /// when the answer must not go back (the victim is dead).
    fn after_effect(&self) -> bool {
        let mut state = self.state();
        state.forwarded += 1;
        match state.kill {
            Some((at, pid)) if state.forwarded >= at => {
                // SAFETY: kill(2) with a pid the test started; no memory is involved.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                }
                state.kill = None;
                state.killed = true;
                true
            }
            _ => false,
        }
    }
}

/// A number in [0, 1) from the seed, the operation and its call count (splitmix64).
pub fn unit(seed: u64, name: &str, n: u64) -> f64 {
    let mut x = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in name.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
    }
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A token bucket per service holding at most one second of requests.
fn take_token(buckets: &mut BTreeMap<String, (f64, Instant)>, service: &str, rate: f64) -> bool {
    let now = Instant::now();
    let (tokens, last) = buckets.entry(service.to_string()).or_insert((rate, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (method, path) = (method.to_string(), path.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        request.body = read_chunked(reader)?;
        request
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("transfer-encoding"));
    } else {
        let length: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        request.body = body;
    }
    Ok(Some(request))
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            let mut end = String::new();
            while reader.read_line(&mut end)? > 2 {
                end.clear();
            }
            return Ok(body);
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        chunk.truncate(size);
        body.extend(chunk);
    }
}

/// Sends the request to moto on a fresh connection and returns the answer, re-framed with a
/// `Content-Length` for the client's kept-alive connection.
fn forward(upstream: &str, request: &Request) -> std::io::Result<Vec<u8>> {
    let mut moto = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (k, v) in &request.headers {
        if !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        request.body.len()
    ));
    moto.write_all(head.as_bytes())?;
    moto.write_all(&request.body)?;
    let mut reader = BufReader::new(moto);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let chunked = headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("transfer-encoding:") && h.contains("chunked"));
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body)?;
        body
    };
    let mut out = status.trim_end().to_string();
    out.push_str("\r\n");
    for h in headers {
        let lower = h.to_ascii_lowercase();
        if lower.starts_with("transfer-encoding:")
            || lower.starts_with("content-length:")
            || lower.starts_with("connection:")
        {
            continue;
        }
        out.push_str(&h);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend(body);
    Ok(bytes)
}

/// The service (SigV4 signing name), region and operation of a request.
struct Call {
    service: String,
    region: String,
    operation: String,
}

impl Call {
    fn of(request: &Request) -> Call {
        // Credential=KEY/DATE/REGION/SERVICE/aws4_request
        let scope = |i: usize| {
            request
                .header("authorization")
                .and_then(|a| a.split("Credential=").nth(1))
                .and_then(|c| c.split('/').nth(i))
                .unwrap_or("unknown")
                .to_string()
        };
        let (region, service) = (scope(2), scope(3));
        let operation = if let Some(target) = request.header("x-amz-target") {
            target.rsplit('.').next().unwrap_or(target).to_string()
        } else if let Some(action) = request
            .text()
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
        {
            action.to_string()
        } else {
            rest_operation(&request.method, &request.path)
        };
        Call {
            service,
            region,
            operation,
        }
    }

    /// The raw HTTP answer for `fault`, in the shape this service really sends.
    fn error(&self, fault: Fault) -> Vec<u8> {
        let (status, code, message): (u16, &str, &str) = match (fault, self.service.as_str()) {
            (
                Fault::Error {
                    status,
                    code,
                    message,
                }
                | Fault::ErrorIn {
                    status,
                    code,
                    message,
                    ..
                },
                _,
            ) => (status, code, message),
            (Fault::Throttle, "ec2") => (503, "RequestLimitExceeded", "Request limit exceeded."),
            (Fault::Throttle, "tagging") => (400, "ThrottledException", "Rate exceeded"),
            (Fault::Throttle, "route53") if self.operation == "ChangeResourceRecordSets" => (
                400,
                "PriorRequestNotComplete",
                "The request was rejected because Route 53 was still processing a prior request.",
            ),
            (
                Fault::Throttle,
                "elasticloadbalancing" | "monitoring" | "route53" | "sts" | "iam" | "sns",
            ) => (400, "Throttling", "Rate exceeded"),
            (Fault::Throttle, _) => (400, "ThrottlingException", "Rate exceeded"),
            (Fault::ServerError, "ecs") => (500, "ServerException", "Internal server error"),
            (Fault::ServerError, _) => (500, "InternalFailure", "Internal server error"),
            (Fault::Unavailable, _) => (503, "ServiceUnavailable", "Service unavailable"),
            (Fault::AccessDenied, "ec2") => (
                403,
                "UnauthorizedOperation",
                "You are not authorized to perform this operation.",
            ),
            (Fault::AccessDenied, "sns") => (
                403,
                "AuthorizationError",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform this operation",
            ),
            (
                Fault::AccessDenied,
                "elasticloadbalancing" | "monitoring" | "route53" | "sts" | "iam",
            ) => (
                403,
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform this operation",
            ),
            (Fault::AccessDenied, _) => (
                400,
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform this operation",
            ),
            (
                Fault::DropAfterEffect
                | Fault::HangAfterEffect(_)
                | Fault::Rewrite(..)
                | Fault::SecretErrors { .. },
                _,
            ) => (500, "InternalFailure", "unreachable"),
        };
        let reason = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            500 => "Internal Server Error",
            _ => "Service Unavailable",
        };
        let request_id = "4f0c1e5a-0000-4000-8000-000000000000";
        let (content_type, body) = match self.service.as_str() {
            "ec2" => (
                "text/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                     <Code>{code}</Code><Message>{message}</Message></Error></Errors>\
                     <RequestID>{request_id}</RequestID></Response>"
                ),
            ),
            // The query and REST-XML protocols answer errors in XML.
            "elasticloadbalancing" | "monitoring" | "sts" | "route53" | "iam" | "sns" => {
                let namespace = match self.service.as_str() {
                    "elasticloadbalancing" => {
                        "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
                    }
                    "monitoring" => "http://monitoring.amazonaws.com/doc/2010-08-01/",
                    "route53" => "https://route53.amazonaws.com/doc/2013-04-01/",
                    "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
                    "sns" => "http://sns.amazonaws.com/doc/2010-03-31/",
                    _ => "https://sts.amazonaws.com/doc/2011-06-15/",
                };
                let kind = if status >= 500 { "Receiver" } else { "Sender" };
                (
                    "text/xml",
                    format!(
                        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type>\
                         <Code>{code}</Code><Message>{message}</Message></Error>\
                         <RequestId>{request_id}</RequestId></ErrorResponse>"
                    ),
                )
            }
            "dynamodb" => (
                "application/x-amz-json-1.0",
                format!(
                    "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{code}\",\
                     \"message\":\"{message}\"}}"
                ),
            ),
            // Secrets Manager spells its message key with a capital letter.
            "secretsmanager" => (
                "application/x-amz-json-1.1",
                format!("{{\"__type\":\"{code}\",\"Message\":\"{message}\"}}"),
            ),
            _ => (
                "application/x-amz-json-1.1",
                format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
            ),
        };
        let mut out = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n\
             x-amzn-RequestId: {request_id}\r\nx-amzn-ErrorType: {code}\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend(body.into_bytes());
        out
    }
}

/// A `BatchGetSecretValue` answer that lists every secret the request names among its errors.
fn secret_errors(request: &Request, code: &str, message: &str) -> Vec<u8> {
    let text = request.text();
    let ids: Vec<String> = text
        .split("\"SecretIdList\":[")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .map(|list| {
            list.split(',')
                .map(|id| id.trim().trim_matches('"').to_string())
                .filter(|id| !id.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let errors: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "{{\"SecretId\":\"{id}\",\"ErrorCode\":\"{code}\",\"Message\":\"{}\"}}",
                message.replace("{id}", id)
            )
        })
        .collect();
    let body = format!("{{\"SecretValues\":[],\"Errors\":[{}]}}", errors.join(","));
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n\
         x-amzn-RequestId: 4f0c1e5a-0000-4000-8000-000000000000\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend(body.into_bytes());
    out
}

/// Route 53's REST operations by method and path.
fn rest_operation(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method, parts.as_slice()) {
        ("POST", [_, "hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("GET", [_, "hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("GET", [_, "hostedzone", _]) => "GetHostedZone",
        ("POST", [_, "hostedzone"]) => "CreateHostedZone",
        ("GET", [_, "hostedzone"]) => "ListHostedZones",
        ("GET", [_, "hostedzonesbyname"]) => "ListHostedZonesByName",
        ("GET", [_, "change", _]) => "GetChange",
        ("GET", [_, "tags", ..]) => "ListTagsForResource",
        ("POST", [_, "tags", ..]) => "ChangeTagsForResource",
        _ => return format!("{method} {path}"),
    };
    name.to_string()
}

#[test]
fn the_fault_roll_is_deterministic_and_spread() {
    let rolls: Vec<f64> = (0..1000).map(|n| unit(7, "ecs.CreateService", n)).collect();
    let again: Vec<f64> = (0..1000).map(|n| unit(7, "ecs.CreateService", n)).collect();
    assert_eq!(rolls, again);
    let low = rolls.iter().filter(|r| **r < 0.1).count();
    assert!((60..=140).contains(&low), "{low} of 1000 below 0.1");
    assert_ne!(unit(8, "ecs.CreateService", 0), rolls[0]);
}
