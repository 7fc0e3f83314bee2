//! Opening a provider-hosted file over HTTP(S) under the SSRF policy.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::Resolve;
use reqwest::redirect;
use url::{Host, Url};

use crate::guard::{AddressPolicy, GuardedResolver, Refusal};
use crate::CopyError;

/// Limits and rules for fetching a source file.
#[derive(Debug, Clone)]
pub struct SourcePolicy {
    /// Which addresses may be contacted.
    pub addresses: AddressPolicy,
    /// If set, only these hosts (exact, or `.example.com` for a domain and its subdomains).
    pub allowed_hosts: Option<Vec<String>>,
    /// Largest file copied, in bytes.
    pub max_bytes: u64,
    /// Time allowed for the whole download.
    pub total_timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Longest pause between two reads before the source counts as stalled.
    pub read_timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
}

impl Default for SourcePolicy {
    fn default() -> Self {
        Self {
            addresses: AddressPolicy::default(),
            allowed_hosts: None,
            max_bytes: 2 * 1024 * 1024 * 1024,
            total_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_redirects: 5,
        }
    }
}

impl SourcePolicy {
    /// Checks a URL before any request: scheme, host, IP literals, allowlist.
    pub fn check_url(&self, url: &Url) -> Result<(), CopyError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CopyError::Refused(format!(
                "scheme `{}` is not http(s)",
                url.scheme()
            )));
        }
        let host = url
            .host()
            .ok_or_else(|| CopyError::Refused("URL has no host".into()))?;
        let literal: Option<IpAddr> = match &host {
            Host::Ipv4(ip) => Some((*ip).into()),
            Host::Ipv6(ip) => Some((*ip).into()),
            Host::Domain(_) => None,
        };
        if let Some(ip) = literal {
            self.addresses
                .check_ip(ip)
                .map_err(|r| CopyError::Refused(r.to_string()))?;
        }
        if let Some(allowed) = &self.allowed_hosts {
            let name = host.to_string().to_ascii_lowercase();
            let ok = allowed.iter().any(|a| {
                let a = a.to_ascii_lowercase();
                match a.strip_prefix('.') {
                    Some(domain) => name == domain || name.ends_with(&a),
                    None => name == a,
                }
            });
            if !ok {
                return Err(CopyError::Refused(format!(
                    "host {name} is not in the allowlist"
                )));
            }
        }
        Ok(())
    }
}

/// An opened download: the response, not yet read.
#[derive(Debug)]
pub struct Download {
    /// The response whose body is streamed.
    pub response: reqwest::Response,
    /// Declared length, if any.
    pub content_length: Option<u64>,
    /// Declared content type, or `application/octet-stream`.
    pub content_type: String,
}

/// Fetches source files under a [`SourcePolicy`].
#[derive(Debug, Clone)]
pub struct HttpSource {
    client: reqwest::Client,
    policy: Arc<SourcePolicy>,
}

fn refusal_in(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<Refusal>() {
            return Some(r.to_string());
        }
        if let Some(CopyError::Refused(r)) = e.downcast_ref::<CopyError>() {
            return Some(r.clone());
        }
        current = e.source();
    }
    None
}

impl HttpSource {
    /// A source using `resolver` for names (guarded by the policy) and no proxies.
    pub fn new(policy: SourcePolicy, resolver: Arc<dyn Resolve>) -> Result<Self, CopyError> {
        let policy = Arc::new(policy);
        let for_redirects = Arc::clone(&policy);
        let redirects = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= for_redirects.max_redirects {
                return attempt.error(CopyError::Refused("too many redirects".into()));
            }
            match for_redirects.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(resolver, policy.addresses)))
            .redirect(redirects)
            .no_proxy()
            .connect_timeout(policy.connect_timeout)
            .read_timeout(policy.read_timeout)
            .timeout(policy.total_timeout)
            .build()
            .map_err(CopyError::Network)?;
        Ok(Self { client, policy })
    }

    /// The policy in force.
    pub fn policy(&self) -> &SourcePolicy {
        &self.policy
    }

    /// Classifies a request or body error: refusals are permanent, the rest transient. The
    /// description never carries the URL (its query string may hold the provider's access
    /// token).
    pub(crate) fn classify(err: reqwest::Error) -> CopyError {
        if let Some(refusal) = refusal_in(&err) {
            return CopyError::Refused(refusal);
        }
        if err.is_timeout() {
            return CopyError::Timeout;
        }
        CopyError::Network(err.without_url())
    }

    /// Sends the GET and checks status and declared size; the body is not read yet. The
    /// whole download (connect to last byte) must finish within `timeout` (and the policy's
    /// total timeout).
    pub async fn open(&self, source_url: &str, timeout: Duration) -> Result<Download, CopyError> {
        let url = Url::parse(source_url).map_err(CopyError::InvalidUrl)?;
        self.policy.check_url(&url)?;
        let response = self
            .client
            .get(url)
            .timeout(timeout.min(self.policy.total_timeout))
            .send()
            .await
            .map_err(Self::classify)?;
        let status = response.status();
        if status.is_redirection() {
            // A redirect the client did not follow (for example to a non-http scheme).
            return Err(CopyError::Refused(format!(
                "redirect (HTTP {}) not followed",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(CopyError::Status(status.as_u16()));
        }
        let content_length = response.content_length();
        if content_length.is_some_and(|n| n > self.policy.max_bytes) {
            return Err(CopyError::TooLarge {
                limit: self.policy.max_bytes,
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        Ok(Download {
            response,
            content_length,
            content_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &SourcePolicy, url: &str) -> Result<(), CopyError> {
        policy.check_url(&Url::parse(url).expect("url"))
    }

    #[test]
    fn urls_are_checked_before_any_request() {
        let policy = SourcePolicy::default();
        assert!(check(&policy, "https://recordings.voiceinfra.ai/a.mp3").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.com/a",
            "gopher://example.com/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://127.0.0.1/",
            "http://10.0.0.7/x",
            "http://[::ffff:192.168.0.1]/",
            "http://0x7f000001/",
            "http://2130706433/",
        ] {
            assert!(
                matches!(check(&policy, bad), Err(CopyError::Refused(_))),
                "{bad}"
            );
        }
    }

    /// Network errors name no URL: a provider's link may carry its access token in the query.
    #[tokio::test]
    async fn errors_never_carry_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let policy = SourcePolicy {
            addresses: AddressPolicy {
                allow_loopback: true,
            },
            ..SourcePolicy::default()
        };
        let source =
            HttpSource::new(policy, Arc::new(crate::guard::SystemResolver)).expect("client");
        let url = format!("http://127.0.0.1:{port}/r.mp3?X-Amz-Signature=secret-token");
        let err = source
            .open(&url, Duration::from_secs(5))
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, CopyError::Network(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            !text.contains("secret-token") && !text.contains("r.mp3"),
            "{text}"
        );
    }

    #[test]
    fn host_allowlist_matches_exact_names_and_domains() {
        let policy = SourcePolicy {
            allowed_hosts: Some(vec![
                "recordings.voiceinfra.ai".into(),
                ".storage.example.com".into(),
            ]),
            ..SourcePolicy::default()
        };
        assert!(check(&policy, "https://recordings.voiceinfra.ai/a").is_ok());
        assert!(check(&policy, "https://storage.example.com/a").is_ok());
        assert!(check(&policy, "https://eu.storage.example.com/a").is_ok());
        assert!(check(&policy, "https://evilstorage.example.com/a").is_err());
        assert!(check(&policy, "https://voiceinfra.ai/a").is_err());
    }
}
