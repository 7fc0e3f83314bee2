//! A fast local S3-compatible server for the copier benchmark (`make bench-copy`), so that
//! the copier can be measured against an S3 that is not the bottleneck: `s3s-fs` stores
//! objects as files, and this adds what it lacks and the copier uses, object tags (on
//! `PutObject`'s `x-amz-tagging` and `PutObjectTagging`, read by `GetObjectTagging`), kept in
//! memory; and a multipart completion that works as S3's does: it takes each part's ETag from
//! the request (checked against what that part's upload returned) rather than hashing every
//! byte again, and joins the part files in the kernel (`copy_file_range`) rather than through a
//! 64 KiB user-space loop. `s3s-fs`'s own completion reads and hashes the whole object a second
//! time, which made the server, not the copier, the thing measured. Every other operation is
//! `s3s-fs`'s own.
//!
//! `callvault-fast-s3 <port> <root>`: serves `root` on 127.0.0.1 only, to clients signing with
//! the test kit's dummy credentials (`test`/`test`).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::crypto::{Checksum, Md5};
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;
use tokio::net::TcpListener;

/// `s3s-fs` with object tags and a faster multipart completion.
struct Tagged {
    fs: FileSystem,
    /// The directory `fs` serves (canonical).
    root: PathBuf,
    /// Tags by bucket and key.
    tags: Mutex<HashMap<(String, String), TagSet>>,
    /// Each uploaded part's ETag (hex MD5) by upload id and part number.
    parts: Mutex<HashMap<(String, i32), String>>,
}

/// Parts other than the last must be at least this large, as in S3.
const MIN_PART: u64 = 5 * 1024 * 1024;

impl Tagged {
    fn set(&self, bucket: &str, key: &str, tags: TagSet) {
        if let Ok(mut all) = self.tags.lock() {
            all.insert((bucket.to_owned(), key.to_owned()), tags);
        }
    }

    /// Drops the part ETags of an upload that was completed or aborted.
    fn forget_parts(&self, upload_id: &str) {
        if let Ok(mut all) = self.parts.lock() {
            all.retain(|(id, _), _| id != upload_id);
        }
    }

    /// Where s3s-fs keeps an object: `<root>/<bucket>/<key>`, refusing keys that would leave it.
    fn object_path(&self, bucket: &str, key: &str) -> S3Result<PathBuf> {
        let relative = Path::new(bucket).join(key);
        if relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            Ok(self.root.join(relative))
        } else {
            Err(s3_error!(InvalidArgument, "bucket or key leaves the root"))
        }
    }
}

/// Concatenates `parts` into `tmp` (in the kernel: `std::io::copy` between files uses
/// `copy_file_range`), then moves it to `object` and removes the parts.
fn join_parts(parts: &[PathBuf], tmp: &Path, object: &Path) -> std::io::Result<()> {
    let mut out = std::fs::File::create(tmp)?;
    for part in parts {
        std::io::copy(&mut std::fs::File::open(part)?, &mut out)?;
    }
    out.sync_data()?;
    if let Some(dir) = object.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::rename(tmp, object)?;
    for part in parts {
        let _ = std::fs::remove_file(part);
    }
    Ok(())
}

/// s3s-fs's encoding of bucket and key in its sidecar file names.
fn b64(text: &str) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(text)
}

/// Tags written as a URL query (`x-amz-tagging`: `k1=v1&k2=v2`).
fn tags_of_query(query: &str) -> TagSet {
    form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| Tag {
            key: Some(key.into_owned()),
            value: Some(value.into_owned()),
        })
        .collect()
}

#[async_trait::async_trait]
impl S3 for Tagged {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.fs.get_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let tags = req.input.tagging.as_deref().map(tags_of_query);
        let out = self.fs.put_object(req).await?;
        if let Some(tags) = tags {
            self.set(&bucket, &key, tags);
        }
        Ok(out)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let (upload_id, number) = (req.input.upload_id.clone(), req.input.part_number);
        let out = self.fs.upload_part(req).await?;
        if let (Some(e_tag), Ok(mut parts)) = (&out.output.e_tag, self.parts.lock()) {
            parts.insert((upload_id, number), e_tag.value().to_owned());
        }
        Ok(out)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let parts = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if parts.is_empty() {
            return Err(s3_error!(InvalidPart, "You must specify at least one part"));
        }
        // s3s-fs names uploads by UUID; anything else cannot name one of its files.
        let upload_id = input.upload_id;
        if !upload_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(s3_error!(NoSuchUpload));
        }
        let upload_info = self.root.join(format!(".upload-{upload_id}.json"));
        if !upload_info.exists() {
            return Err(s3_error!(NoSuchUpload));
        }
        let object = self.object_path(&input.bucket, &input.key)?;
        if input
            .if_none_match
            .as_ref()
            .is_some_and(ETagCondition::is_any)
            && object.exists()
        {
            return Err(s3_error!(PreconditionFailed, "Object already exists"));
        }

        // Check the request's part list against the uploads, as S3 does, and compute the
        // multipart ETag (MD5 of the parts' MD5s) from it.
        let mut part_files = Vec::with_capacity(parts.len());
        let mut e_tag_md5 = Md5::new();
        for (index, part) in parts.iter().enumerate() {
            let number = part.part_number.unwrap_or(0);
            if usize::try_from(number).ok() != Some(index + 1) {
                return Err(s3_error!(InvalidPartOrder));
            }
            let uploaded = self
                .parts
                .lock()
                .ok()
                .and_then(|all| all.get(&(upload_id.clone(), number)).cloned())
                .ok_or_else(|| s3_error!(InvalidPart, "part {number} was not uploaded"))?;
            if part.e_tag.as_ref().map(ETag::value) != Some(uploaded.as_str()) {
                return Err(s3_error!(
                    InvalidPart,
                    "part {number}'s ETag does not match"
                ));
            }
            e_tag_md5.update(
                &hex::decode(&uploaded)
                    .map_err(|_| s3_error!(InvalidPart, "ETag {uploaded} is not hex"))?,
            );
            let file = self
                .root
                .join(format!(".upload_id-{upload_id}.part-{number}"));
            let size = std::fs::metadata(&file)
                .map_err(|_| s3_error!(InvalidPart))?
                .len();
            if index + 1 < parts.len() && size < MIN_PART {
                return Err(s3_error!(EntityTooSmall));
            }
            part_files.push(file);
        }
        let e_tag = format!("{}-{}", hex::encode(e_tag_md5.finalize()), parts.len());

        let tmp = self.root.join(format!(".tmp.fast-s3.{upload_id}"));
        let joined = object.clone();
        tokio::task::spawn_blocking(move || join_parts(&part_files, &tmp, &joined))
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(|e| s3_error!(InternalError, "joining parts: {e}"))?;

        // s3s-fs's sidecar files: the upload's metadata becomes the object's, and the ETag
        // goes where `HeadObject` reads it.
        let (bucket, key) = (b64(&input.bucket), b64(&input.key));
        let metadata = |upload: String| {
            self.root.join(format!(
                ".bucket-{bucket}.object-{key}{upload}.metadata.json"
            ))
        };
        let _ = std::fs::rename(
            metadata(format!(".upload-{upload_id}")),
            metadata(String::new()),
        );
        let internal = self
            .root
            .join(format!(".bucket-{bucket}.object-{key}.internal.json"));
        let mut info: serde_json::Map<String, serde_json::Value> = std::fs::read(&internal)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        info.insert("e_tag".into(), e_tag.clone().into());
        std::fs::write(&internal, serde_json::to_vec(&info).unwrap_or_default())
            .map_err(|e| s3_error!(InternalError, "{e}"))?;
        let _ = std::fs::remove_file(&upload_info);
        self.forget_parts(&upload_id);

        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let upload_id = req.input.upload_id.clone();
        let out = self.fs.abort_multipart_upload(req).await?;
        self.forget_parts(&upload_id);
        Ok(out)
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        self.set(&input.bucket, &input.key, input.tagging.tag_set);
        Ok(S3Response::new(PutObjectTaggingOutput::default()))
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let input = req.input;
        let tag_set = self
            .tags
            .lock()
            .ok()
            .and_then(|all| all.get(&(input.bucket, input.key)).cloned())
            .unwrap_or_default();
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set,
            ..Default::default()
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(root)) = (args.next(), args.next()) else {
        return Err("usage: callvault-fast-s3 <port> <root>".into());
    };
    let port: u16 = port.parse()?;
    std::fs::create_dir_all(&root)?;
    let root = PathBuf::from(root).canonicalize()?;
    let mut service = S3ServiceBuilder::new(Tagged {
        fs: FileSystem::new(&root).map_err(|e| format!("{e:?}"))?,
        root,
        tags: Mutex::new(HashMap::new()),
        parts: Mutex::new(HashMap::new()),
    });
    // The dummy credentials the test kit's clients sign with.
    service.set_auth(SimpleAuth::from_single("test", "test"));
    let service = service.build();
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving on http://127.0.0.1:{port}");
    let http = ConnBuilder::new(TokioExecutor::new());
    loop {
        let (socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        let connection = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}
