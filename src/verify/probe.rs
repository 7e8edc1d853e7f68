//! The HTTP requests of a stack's `probe` nodes, through the HTTPS client the AWS SDK already
//! uses (rustls), each within its timeout.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::byte_stream::ByteStream;

/// At most this much of a body is searched for `expect-body` (and kept).
const BODY_LIMIT: usize = 1 << 20;

/// What a probe's request got.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The status and (the start of) the body.
    Got { status: u16, body: String },
    /// No answer: the connection failed, or the timeout ran out (in words).
    Failed(String),
}

/// GETs `url`, giving up after `timeout`.
pub async fn get(url: &str, timeout: Duration) -> Answer {
    let connector = aws_smithy_http_client::Connector::builder()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build();
    let request = match HttpRequest::get(url) {
        Ok(r) => r,
        Err(e) => return Answer::Failed(format!("`{url}` is not a URL infra can request: {e}")),
    };
    let call = async {
        let response = connector
            .call(request)
            .await
            .map_err(|e| format!("no answer: {}", source_chain(&e)))?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| format!("the body could not be read: {e}"))?
            .into_bytes();
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_LIMIT)]).into_owned();
        Ok::<_, String>(Answer::Got { status, body })
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(why)) => Answer::Failed(why),
        Err(_) => Answer::Failed(format!("no answer within {}s", timeout.as_secs_f64())),
    }
}

/// An error and its causes, joined: connection errors say what went wrong only in a cause.
fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
