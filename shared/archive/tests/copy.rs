//! The copier against the emulator's S3 and a local source server: content, metadata,
//! multipart, every fault the issue lists, SSRF refusals, idempotence and healing.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use callvault_archive::guard::{AddressPolicy, SystemResolver};
use callvault_archive::source::{HttpSource, SourcePolicy};
use callvault_archive::upload::{stream_to_s3, Target, UploadConfig, Written};
use callvault_archive::{Copier, CopyError, RetryPolicy, Sources};
use callvault_testkit::{Emulator, SourceServer};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

/// A resolver the test controls: fixed answers, and a count of lookups.
#[derive(Default)]
struct StaticResolver {
    answers: HashMap<String, IpAddr>,
    lookups: std::sync::atomic::AtomicUsize,
}

impl Resolve for StaticResolver {
    fn resolve(&self, name: Name) -> Resolving {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer = self.answers.get(name.as_str()).copied();
        Box::pin(async move {
            let ip = answer.ok_or("unknown test name")?;
            Ok(Box::new(std::iter::once(SocketAddr::new(ip, 0))) as Addrs)
        })
    }
}

fn policy(allow_loopback: bool) -> SourcePolicy {
    SourcePolicy {
        addresses: AddressPolicy { allow_loopback },
        max_bytes: 64 * MIB as u64,
        // Generous: a busy test machine must not look like a stalled source. The stall test
        // sets its own short timeout.
        read_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(20),
        ..SourcePolicy::default()
    }
}

struct Setup {
    _emulator: Emulator,
    s3: aws_sdk_s3::Client,
    server: SourceServer,
}

async fn setup() -> anyhow::Result<Setup> {
    let emulator = Emulator::start()?;
    let s3 = aws_sdk_s3::Client::new(&emulator.sdk_config().await);
    callvault_store::schema::create_bucket(&s3, "archive").await?;
    let server = SourceServer::start().await?;
    Ok(Setup {
        _emulator: emulator,
        s3,
        server,
    })
}

fn copier(s3: &aws_sdk_s3::Client, source: HttpSource) -> Copier {
    let upload = UploadConfig {
        part_size: 5 * MIB,
        max_in_flight: 2,
    };
    Copier::new(
        Sources::uniform(source),
        s3.clone(),
        "archive",
        upload,
        RetryPolicy {
            tries: 3,
            base_delay: Duration::from_millis(10),
        },
    )
}

fn loopback_copier(s3: &aws_sdk_s3::Client) -> Copier {
    copier(
        s3,
        HttpSource::new(policy(true), Arc::new(SystemResolver)).expect("client"),
    )
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn object(
    s3: &aws_sdk_s3::Client,
    key: &str,
) -> anyhow::Result<Option<(Vec<u8>, HashMap<String, String>, Option<String>)>> {
    match s3.get_object().bucket("archive").key(key).send().await {
        Ok(out) => {
            let meta = out.metadata.clone().unwrap_or_default();
            let ct = out.content_type.clone();
            Ok(Some((
                out.body.collect().await?.into_bytes().to_vec(),
                meta,
                ct,
            )))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The object's tags.
async fn tags(s3: &aws_sdk_s3::Client, key: &str) -> anyhow::Result<HashMap<String, String>> {
    let out = s3
        .get_object_tagging()
        .bucket("archive")
        .key(key)
        .send()
        .await?;
    Ok(out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}

/// How many versions the (versioned) bucket holds of `key`.
async fn versions(s3: &aws_sdk_s3::Client, key: &str) -> anyhow::Result<usize> {
    let out = s3
        .list_object_versions()
        .bucket("archive")
        .prefix(key)
        .send()
        .await?;
    Ok(out
        .versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .count())
}

async fn assert_nothing_left(s3: &aws_sdk_s3::Client, key: &str) -> anyhow::Result<()> {
    assert!(object(s3, key).await?.is_none(), "no object at {key}");
    let uploads = s3.list_multipart_uploads().bucket("archive").send().await?;
    assert!(
        uploads.uploads.unwrap_or_default().is_empty(),
        "no incomplete multipart upload left"
    );
    Ok(())
}

#[tokio::test]
async fn small_file_is_one_put_byte_identical_with_metadata() -> anyhow::Result<()> {
    let s = setup().await?;
    let body = content(300 * 1024);
    s.server.add("a.mp3", body.clone(), "audio/mpeg");
    let url = s.server.url("/files/a.mp3");
    let up = loopback_copier(&s.s3)
        .copy("voki", &url, "voki/2026/11/23/c1/recording.mp3")
        .await?;
    let sha = hex::encode(Sha256::digest(&body));
    assert_eq!(
        (
            up.size,
            up.sha256.as_str(),
            up.parts,
            up.content_type.as_str()
        ),
        (body.len() as u64, sha.as_str(), 1, "audio/mpeg")
    );
    let (stored, meta, ct) = object(&s.s3, "voki/2026/11/23/c1/recording.mp3")
        .await?
        .expect("object");
    assert_eq!(stored, body);
    assert_eq!(ct.as_deref(), Some("audio/mpeg"));
    let tags = tags(&s.s3, "voki/2026/11/23/c1/recording.mp3").await?;
    assert_eq!(tags.get("sha256"), Some(&sha));
    assert_eq!(tags.get("size"), Some(&body.len().to_string()));
    assert_eq!(
        meta.get("source-sha256"),
        Some(&hex::encode(Sha256::digest(url.as_bytes()))),
        "the source is named by its digest, never by the link itself"
    );
    assert!(meta.values().all(|v| !v.contains("127.0.0.1")), "{meta:?}");
    assert_eq!(
        versions(&s.s3, "voki/2026/11/23/c1/recording.mp3").await?,
        1
    );
    // Sent without payload signing, the body still carries the CRC32 checksum S3 verifies.
    let head =
        s.s3.head_object()
            .bucket("archive")
            .key("voki/2026/11/23/c1/recording.mp3")
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await?;
    assert_eq!(
        head.checksum_crc32,
        Some(
            base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(&body).to_be_bytes())
        )
    );
    Ok(())
}

#[tokio::test]
async fn large_files_stream_as_multipart_with_the_same_result() -> anyhow::Result<()> {
    let s = setup().await?;
    let body = content(17 * MIB + 12345);
    s.server.add("big.wav", body.clone(), "audio/wav");
    for (route, key) in [
        ("/files/big.wav", "big-declared.wav"),
        ("/chunked/big.wav", "big-chunked.wav"),
    ] {
        let up = loopback_copier(&s.s3)
            .copy("voki", &s.server.url(route), key)
            .await?;
        assert_eq!(up.parts, 4, "{route}");
        let (stored, _, ct) = object(&s.s3, key).await?.expect("object");
        assert!(stored == body, "{route}: byte-identical");
        assert_eq!(
            tags(&s.s3, key).await?.get("sha256"),
            Some(&hex::encode(Sha256::digest(&body)))
        );
        assert_eq!(ct.as_deref(), Some("audio/wav"));
        assert_eq!(versions(&s.s3, key).await?, 1, "{route}: stored once");
    }
    Ok(())
}

#[tokio::test]
async fn permanent_failures_fail_fast_and_leave_nothing() -> anyhow::Result<()> {
    let s = setup().await?;
    let copier = loopback_copier(&s.s3);
    for code in [404, 403, 410] {
        let before = s.server.requests();
        let err = copier
            .copy("voki", &s.server.url(&format!("/status/{code}")), "k")
            .await
            .expect_err("fails");
        assert!(matches!(err, CopyError::Status(c) if c == code), "{err:?}");
        assert_eq!(s.server.requests() - before, 1, "{code} is not retried");
    }
    assert_nothing_left(&s.s3, "k").await
}

#[tokio::test]
async fn server_errors_are_retried() -> anyhow::Result<()> {
    let s = setup().await?;
    let body = content(1000);
    s.server.add("r.ogg", body.clone(), "audio/ogg");
    let up = loopback_copier(&s.s3)
        .copy("voki", &s.server.url("/flaky/2/r.ogg"), "r.ogg")
        .await?;
    assert_eq!(up.size, 1000);
    assert_eq!(object(&s.s3, "r.ogg").await?.expect("object").0, body);
    let err = loopback_copier(&s.s3)
        .copy("voki", &s.server.url("/status/503"), "never")
        .await
        .expect_err("gives up");
    assert!(matches!(err, CopyError::Status(503)), "{err:?}");
    assert_nothing_left(&s.s3, "never").await
}

#[tokio::test]
async fn stalled_and_truncated_sources_fail_without_partial_objects() -> anyhow::Result<()> {
    let s = setup().await?;
    s.server.add("small", content(100_000), "audio/mpeg");
    s.server.add("large", content(12 * MIB), "audio/mpeg");
    let impatient = SourcePolicy {
        read_timeout: Duration::from_millis(500),
        ..policy(true)
    };
    let impatient = copier(&s.s3, HttpSource::new(impatient, Arc::new(SystemResolver))?);
    // The truncation needs no short timeout (on a busy machine, one could fire first).
    let patient = loopback_copier(&s.s3);
    for name in ["small", "large"] {
        let err = impatient
            .copy("voki", &s.server.url(&format!("/stall/{name}")), "stalled")
            .await
            .expect_err("stalls");
        assert!(err.is_transient(), "{name}: {err}");
        assert_nothing_left(&s.s3, "stalled").await?;
        let err = patient
            .copy(
                "voki",
                &s.server.url(&format!("/truncated/{name}")),
                "truncated",
            )
            .await
            .expect_err("short");
        assert!(
            matches!(err, CopyError::Truncated { .. } | CopyError::Network(_)),
            "{name}: a short body is a failure, not a short object: {err}"
        );
        assert_nothing_left(&s.s3, "truncated").await?;
    }
    Ok(())
}

#[tokio::test]
async fn oversized_files_are_refused_declared_or_not() -> anyhow::Result<()> {
    let s = setup().await?;
    s.server.add("huge", content(7 * MIB), "audio/mpeg");
    let small_cap = SourcePolicy {
        max_bytes: 6 * MIB as u64,
        ..policy(true)
    };
    let copier = copier(&s.s3, HttpSource::new(small_cap, Arc::new(SystemResolver))?);
    let before = s.server.requests();
    let result = copier
        .copy("voki", &s.server.url("/files/huge"), "huge")
        .await;
    assert!(
        matches!(result, Err(CopyError::TooLarge { limit }) if limit == 6 * MIB as u64),
        "{result:?}"
    );
    let result = copier
        .copy("voki", &s.server.url("/chunked/huge"), "huge")
        .await;
    assert!(
        matches!(result, Err(CopyError::TooLarge { limit }) if limit == 6 * MIB as u64),
        "{result:?}"
    );
    assert_eq!(
        s.server.requests() - before,
        2,
        "oversized is permanent: no retry"
    );
    assert_nothing_left(&s.s3, "huge").await
}

/// The guard refuses before any connection: the controlled resolver sends `evil.test` to a
/// loopback listener, which must never see a connection.
#[tokio::test]
async fn names_resolving_to_forbidden_addresses_are_refused_before_connecting() -> anyhow::Result<()>
{
    let s = setup().await?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let resolver = Arc::new(StaticResolver {
        answers: [
            ("evil.test".to_owned(), "127.0.0.1".parse()?),
            ("internal.test".to_owned(), "10.20.30.40".parse()?),
            ("meta.test".to_owned(), "169.254.169.254".parse()?),
        ]
        .into(),
        ..StaticResolver::default()
    });
    let copier = copier(&s.s3, HttpSource::new(policy(false), resolver.clone())?);
    for host in ["evil.test", "internal.test", "meta.test"] {
        let err = copier
            .copy("voki", &format!("http://{host}:{port}/x"), "x")
            .await
            .expect_err("refused");
        assert!(matches!(err, CopyError::Refused(_)), "{host}: {err}");
    }
    assert_eq!(
        resolver.lookups.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "refused once each, not retried"
    );
    assert!(
        listener.accept().is_err(),
        "no connection reached the listener"
    );
    assert_nothing_left(&s.s3, "x").await
}

#[tokio::test]
async fn redirects_to_refused_addresses_are_refused() -> anyhow::Result<()> {
    let s = setup().await?;
    // The source itself is allowed (loopback in tests); where it redirects is not.
    let resolver = Arc::new(StaticResolver {
        answers: [("internal.test".to_owned(), "192.168.7.7".parse()?)].into(),
        ..StaticResolver::default()
    });
    let copier = copier(&s.s3, HttpSource::new(policy(true), resolver)?);
    for target in [
        "http://10.0.0.1/rec.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://internal.test/rec.mp3",
        "file:///etc/passwd",
    ] {
        let url = s.server.url(&format!(
            "/redirect?to={}",
            target.replace(':', "%3A").replace('/', "%2F")
        ));
        let err = copier
            .copy("voki", &url, "redir")
            .await
            .expect_err("refused");
        assert!(matches!(err, CopyError::Refused(_)), "{target}: {err}");
    }
    assert_nothing_left(&s.s3, "redir").await
}

#[tokio::test]
async fn copies_are_idempotent_and_heal_without_downloading_again() -> anyhow::Result<()> {
    let s = setup().await?;
    s.server.add("once.mp3", content(2048), "audio/mpeg");
    let copier = loopback_copier(&s.s3);
    let url = s.server.url("/files/once.mp3");
    let first = copier.copy("voki", &url, "once.mp3").await?;
    let requests = s.server.requests();
    let second = copier.copy("voki", &url, "once.mp3").await?;
    assert_eq!(
        s.server.requests(),
        requests,
        "the object is already there: no second download"
    );
    assert_eq!(
        (second.sha256.clone(), second.size),
        (first.sha256.clone(), first.size)
    );
    let listed = s.s3.list_objects_v2().bucket("archive").send().await?;
    assert_eq!(listed.key_count, Some(1));

    // An object whose copier stopped before tagging it is read once and tagged, not copied
    // again.
    s.s3.delete_object_tagging()
        .bucket("archive")
        .key("once.mp3")
        .send()
        .await?;
    let healed = copier.copy("voki", &url, "once.mp3").await?;
    assert_eq!(s.server.requests(), requests);
    assert_eq!((healed.sha256, healed.size), (first.sha256, first.size));
    assert_eq!(versions(&s.s3, "once.mp3").await?, 1);
    Ok(())
}

/// A copier that finds, when it writes, the object another copier of the same file (a
/// stream batch and a sweep at once) wrote meanwhile writes nothing: its conditional PUT, or
/// the completion of its multipart upload (then aborted), is refused, and the bucket keeps one
/// version. (Whether both copiers' requests are ever in flight at once is up to the timing;
/// this drives each path in turn.)
#[tokio::test]
async fn a_copy_that_finds_the_object_written_meanwhile_writes_nothing() -> anyhow::Result<()> {
    let s = setup().await?;
    let source = HttpSource::new(policy(true), Arc::new(SystemResolver))?;
    for (name, len) in [("small.wav", 300 * 1024), ("large.wav", 6 * MIB)] {
        let body = content(len);
        s.server.add(name, body.clone(), "audio/wav");
        let url = s.server.url(&format!("/files/{name}"));
        // The other copier finished first.
        loopback_copier(&s.s3).copy("voki", &url, name).await?;
        let download = source.open(&url, Duration::from_secs(30)).await?;
        let target = Target {
            s3: &s.s3,
            bucket: "archive",
            key: name,
            source_url: &url,
        };
        let upload = UploadConfig {
            part_size: 5 * MIB,
            max_in_flight: 2,
        };
        let written = stream_to_s3(download, &target, upload, u64::MAX).await?;
        assert_eq!(written, Written::AlreadyThere, "{name}");
        assert_eq!(versions(&s.s3, name).await?, 1, "{name}");
        let uploads =
            s.s3.list_multipart_uploads()
                .bucket("archive")
                .send()
                .await?;
        assert!(
            uploads.uploads.unwrap_or_default().is_empty(),
            "{name}: the refused multipart upload is aborted"
        );
    }
    Ok(())
}
