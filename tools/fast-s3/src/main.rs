//! A fast local S3-compatible server for the copier benchmark (`make bench-copy`), so that
//! the copier can be measured against an S3 that is not the bottleneck: `s3s-fs` stores
//! objects as files, and this adds what it lacks and the copier uses, object tags (on
//! `PutObject`'s `x-amz-tagging` and `PutObjectTagging`, read by `GetObjectTagging`), kept in
//! memory. Every other operation is `s3s-fs`'s own.
//!
//! `callvault-fast-s3 <port> <root>`: serves `root` on 127.0.0.1 only, to clients signing with
//! the test kit's dummy credentials (`test`/`test`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::dto::*;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use s3s::{S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;
use tokio::net::TcpListener;

/// `s3s-fs` with object tags.
struct Tagged {
    fs: FileSystem,
    /// Tags by bucket and key.
    tags: Mutex<HashMap<(String, String), TagSet>>,
}

impl Tagged {
    fn set(&self, bucket: &str, key: &str, tags: TagSet) {
        if let Ok(mut all) = self.tags.lock() {
            all.insert((bucket.to_owned(), key.to_owned()), tags);
        }
    }
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
        self.fs.upload_part(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
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
    let root = PathBuf::from(root);
    std::fs::create_dir_all(&root)?;
    let mut service = S3ServiceBuilder::new(Tagged {
        fs: FileSystem::new(root).map_err(|e| format!("{e:?}"))?,
        tags: Mutex::new(HashMap::new()),
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
