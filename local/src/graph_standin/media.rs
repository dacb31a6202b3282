//! Meta's media endpoints: upload (`POST /{version}/{phone_number_id}/media`, multipart), retrieve
//! (`GET /{version}/{media_id}`), download (the retrieved `url`, bearer token only) and delete
//! (`DELETE /{version}/{media_id}`). Uploaded files are spooled to a temporary directory of the process
//! while they stream in (never held whole in memory) and streamed back from it on download; the directory
//! is removed when the stand-in is dropped.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use super::answers::{Answer, GraphError, invalid, json_answer, not_found, obj, success};
use super::ids::{fbtrace_id, random_hex, random_u64};

/// Every media id the stand-in hands out: 16 digits starting with this prefix. A `GET /{version}/{id}` for
/// an id of this shape is a media retrieval (unknown ids answer Meta's error); other ids are phone numbers.
pub const MEDIA_ID_PREFIX: &str = "77";
const MEDIA_ID_DIGITS: usize = 16;

/// How long a retrieved download URL stays valid (Meta: 5 minutes).
const URL_LIFETIME_SECONDS: u64 = 300;

/// The download URLs' path, like Meta's `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=…`.
const DOWNLOAD_PATH: [&str; 2] = ["whatsapp_business", "attachments"];

/// Largest upload body (the largest file Meta takes, 100 MB documents, plus room for the other parts).
const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024 + 64 * 1024;
/// Largest non-file part (`messaging_product`, `type`) and largest part header block.
const MAX_FIELD_BYTES: usize = 4 * 1024;

/// The MIME types Meta's upload takes, with each one's size limit in bytes (Meta's supported media types).
const SUPPORTED: &[(&str, u64)] = &[
    ("image/jpeg", 5 * MB),
    ("image/png", 5 * MB),
    ("image/webp", 500 * KB),
    ("video/mp4", 16 * MB),
    ("video/3gpp", 16 * MB),
    ("audio/aac", 16 * MB),
    ("audio/amr", 16 * MB),
    ("audio/mpeg", 16 * MB),
    ("audio/mp4", 16 * MB),
    ("audio/ogg", 16 * MB),
    ("text/plain", 100 * MB),
    ("application/pdf", 100 * MB),
    ("application/msword", 100 * MB),
    ("application/vnd.ms-excel", 100 * MB),
    ("application/vnd.ms-powerpoint", 100 * MB),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        100 * MB,
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        100 * MB,
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        100 * MB,
    ),
];
const KB: u64 = 1024;
const MB: u64 = 1024 * 1024;

/// A media route of a request, if it is one.
pub enum MediaRoute {
    Upload { phone_number_id: String },
    Retrieve { media_id: String },
    Delete { media_id: String },
    Download,
}

impl MediaRoute {
    /// `known` says whether an id is a stored media id (so `GET /{version}/{id}` for one is a retrieval).
    pub fn parse(segments: &[&str], method: &Method, known: impl Fn(&str) -> bool) -> Option<Self> {
        use super::answers::is_version;
        match segments {
            [version, phone_number_id, "media"]
                if is_version(version) && !phone_number_id.is_empty() && method == Method::POST =>
            {
                Some(Self::Upload {
                    phone_number_id: (*phone_number_id).to_owned(),
                })
            }
            [version, id] if is_version(version) && method == Method::GET && (is_media_id(id) || known(id)) => {
                Some(Self::Retrieve {
                    media_id: (*id).to_owned(),
                })
            }
            [version, id] if is_version(version) && !id.is_empty() && method == Method::DELETE => Some(Self::Delete {
                media_id: (*id).to_owned(),
            }),
            [first, second] if [*first, *second] == DOWNLOAD_PATH && method == Method::GET => Some(Self::Download),
            _ => None,
        }
    }
}

/// Whether `id` has the shape of the stand-in's media ids.
pub fn is_media_id(id: &str) -> bool {
    id.len() == MEDIA_ID_DIGITS && id.starts_with(MEDIA_ID_PREFIX) && id.bytes().all(|b| b.is_ascii_digit())
}

/// One stored file.
#[derive(Debug, Clone)]
struct Stored {
    phone_number_id: String,
    mime_type: String,
    /// Lowercase hex SHA-256 of the bytes.
    sha256: String,
    size: u64,
    path: PathBuf,
}

/// The media store.
pub struct Media {
    dir: PathBuf,
    next_file: AtomicU64,
    stored: Mutex<HashMap<String, Stored>>,
}

/// Marks a download answer: its body is the file at this path, streamed ([`FileBody`]).
#[derive(Debug, Clone)]
pub struct Download {
    pub path: PathBuf,
    pub size: u64,
}

impl Default for Media {
    fn default() -> Self {
        Self::new()
    }
}

impl Media {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("graph-standin-media-{}-{}", std::process::id(), random_hex(12)));
        Self {
            dir,
            next_file: AtomicU64::new(0),
            stored: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Stored>> {
        self.stored.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `id` is a stored media id.
    pub fn knows(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Answers a media route; `authorized` says whether the request presented the accepted token.
    pub async fn answer(&self, route: MediaRoute, req: Request<Incoming>, authorized: bool) -> Answer {
        if !authorized {
            return invalid_token();
        }
        match route {
            MediaRoute::Upload { phone_number_id } => self.upload(req, phone_number_id).await,
            MediaRoute::Retrieve { media_id } => self.retrieve(&req, &media_id),
            MediaRoute::Delete { media_id } => self.delete(&req, &media_id).await,
            MediaRoute::Download => self.download(&req),
        }
    }

    async fn upload(&self, req: Request<Incoming>, phone_number_id: String) -> Answer {
        let Some(boundary) = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(multipart_boundary)
        else {
            return invalid("The request must be multipart/form-data with a boundary.").answer();
        };
        if let Err(error) = tokio::fs::create_dir_all(&self.dir).await {
            tracing::warn!(%error, "graph stand-in: cannot create the media directory");
            return GraphError::new(500, 1, "An unknown error occurred", "media storage unavailable").answer();
        }
        let path = self
            .dir
            .join(format!("upload-{}", self.next_file.fetch_add(1, Ordering::Relaxed)));
        let outcome = read_upload(req.into_body(), &boundary, &path).await;
        let upload = match outcome {
            Ok(upload) => upload,
            Err(error) => {
                let _ = tokio::fs::remove_file(&path).await;
                return error.answer();
            }
        };
        let checked = check_upload(&upload);
        let Some(file) = upload.file.filter(|_| checked.is_ok()) else {
            let _ = tokio::fs::remove_file(&path).await;
            return checked
                .err()
                .unwrap_or_else(|| invalid("The parameter file is required."))
                .answer();
        };
        let id = new_media_id();
        let stored = Stored {
            phone_number_id,
            mime_type: upload.mime_type.unwrap_or_default(),
            sha256: file.sha256,
            size: file.size,
            path,
        };
        self.lock().insert(id.clone(), stored);
        json_answer(200, &obj([("id", Value::from(id))]))
    }

    fn retrieve(&self, req: &Request<Incoming>, media_id: &str) -> Answer {
        let Some(stored) = self.owned(req, media_id) else {
            return unknown_object(req.method(), media_id);
        };
        let host = req
            .headers()
            .get(HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("127.0.0.1");
        let expires = unix_now() + URL_LIFETIME_SECONDS;
        let url = format!(
            "http://{host}/{}/{}/?mid={media_id}&ext={expires}&hash={}",
            DOWNLOAD_PATH[0],
            DOWNLOAD_PATH[1],
            random_hex(24)
        );
        json_answer(
            200,
            &obj([
                ("messaging_product", Value::from("whatsapp")),
                ("url", Value::from(url)),
                ("mime_type", Value::from(stored.mime_type)),
                ("sha256", Value::from(stored.sha256)),
                ("file_size", Value::from(stored.size)),
                ("id", Value::from(media_id)),
            ]),
        )
    }

    async fn delete(&self, req: &Request<Incoming>, media_id: &str) -> Answer {
        if self.owned(req, media_id).is_none() {
            return unknown_object(req.method(), media_id);
        }
        let removed = self.lock().remove(media_id);
        if let Some(stored) = removed {
            let _ = tokio::fs::remove_file(&stored.path).await;
        }
        success()
    }

    fn download(&self, req: &Request<Incoming>) -> Answer {
        let query = req.uri().query().unwrap_or("");
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        };
        let expired = param("ext")
            .and_then(|ext| ext.parse::<u64>().ok())
            .is_none_or(|expires| expires < unix_now());
        let stored = param("mid").and_then(|id| self.lock().get(&id).cloned());
        let (Some(stored), false) = (stored, expired) else {
            return not_found(req.method(), req.uri().path());
        };
        let mut answer = hyper::Response::new(http_body_util::Full::new(Bytes::new()));
        let content_type =
            HeaderValue::from_str(&stored.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
        answer.headers_mut().insert(CONTENT_TYPE, content_type);
        answer
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(stored.size));
        answer.extensions_mut().insert(Download {
            path: stored.path,
            size: stored.size,
        });
        answer
    }

    /// The stored media `media_id`, if it exists and — when the request names a `phone_number_id` — was
    /// uploaded by that number (Meta's optional check).
    fn owned(&self, req: &Request<Incoming>, media_id: &str) -> Option<Stored> {
        let wanted = req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("phone_number_id=").map(str::to_owned));
        let stored = self.lock().get(media_id).cloned()?;
        wanted
            .is_none_or(|wanted| wanted == stored.phone_number_id)
            .then_some(stored)
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn new_media_id() -> String {
    let digits = MEDIA_ID_DIGITS - MEDIA_ID_PREFIX.len();
    let modulus = 10u64.pow(u32::try_from(digits).unwrap_or(14));
    format!("{MEDIA_ID_PREFIX}{:0digits$}", random_u64() % modulus)
}

/// `400`, code 100 subcode 33 (`GraphMethodException`): what the Graph API answers for an object id that
/// does not exist (or not for this caller).
fn unknown_object(method: &Method, id: &str) -> Answer {
    let mut answer = not_found(method, id);
    *answer.status_mut() = StatusCode::BAD_REQUEST;
    answer
}

/// `401`, code 190: no access token, or not the accepted one.
pub fn invalid_token() -> Answer {
    let error = obj([
        (
            "message",
            Value::from("Invalid OAuth access token - Cannot parse access token"),
        ),
        ("type", Value::from("OAuthException")),
        ("code", Value::from(190)),
        ("fbtrace_id", Value::from(fbtrace_id())),
    ]);
    json_answer(401, &obj([("error", error)]))
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let essence = parts.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (name.trim().eq_ignore_ascii_case("boundary") && !value.is_empty() && value.len() <= 70)
            .then(|| value.to_owned())
    })
}

/// What an upload carried.
#[derive(Debug, Default)]
struct Upload {
    messaging_product: Option<String>,
    mime_type: Option<String>,
    file: Option<SpooledFile>,
}

#[derive(Debug)]
struct SpooledFile {
    size: u64,
    sha256: String,
}

fn check_upload(upload: &Upload) -> Result<(), GraphError> {
    if upload.messaging_product.as_deref() != Some("whatsapp") {
        return Err(invalid(
            "The parameter messaging_product is required and must be \"whatsapp\".",
        ));
    }
    let Some(mime_type) = upload.mime_type.as_deref() else {
        return Err(invalid("The parameter type is required."));
    };
    let Some(file) = upload.file.as_ref() else {
        return Err(invalid("The parameter file is required."));
    };
    let Some((_, limit)) = SUPPORTED.iter().find(|(supported, _)| *supported == mime_type) else {
        return Err(upload_error(format!(
            "Param type {mime_type} is not a supported media type."
        )));
    };
    if file.size == 0 {
        return Err(upload_error("The file is empty.".to_owned()));
    }
    if file.size > *limit {
        return Err(upload_error(format!(
            "The file is {} bytes; {mime_type} media may be at most {limit} bytes.",
            file.size
        )));
    }
    Ok(())
}

/// Code 131053, Meta's media upload error.
fn upload_error(details: String) -> GraphError {
    GraphError::new(400, 131_053, "Media upload error", details)
}

/// Reads a multipart body as it streams in: the small fields into memory, the `file` part into `path`
/// (hashing it on the way).
async fn read_upload(mut body: Incoming, boundary: &str, path: &Path) -> Result<Upload, GraphError> {
    let mut parser = Multipart::new(boundary);
    let mut upload = Upload::default();
    let mut current: Option<Part> = None;
    let mut total = 0u64;
    loop {
        while let Some(event) = parser.next_event()? {
            match event {
                Event::Start(headers) => current = Some(Part::start(headers, path).await?),
                Event::Data(bytes) => match current.as_mut() {
                    Some(part) => part.write(&bytes).await?,
                    None => return Err(malformed()),
                },
                Event::End => match current.take() {
                    Some(part) => part.finish(&mut upload).await?,
                    None => return Err(malformed()),
                },
            }
        }
        if parser.done {
            return Ok(upload);
        }
        let Some(frame) = body.frame().await else {
            return Err(malformed());
        };
        let frame = frame.map_err(|_| invalid("The request body could not be read."))?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > MAX_UPLOAD_BYTES {
                return Err(upload_error(format!("The upload exceeds {MAX_UPLOAD_BYTES} bytes.")));
            }
            parser.push(&data);
        }
    }
}

fn malformed() -> GraphError {
    invalid("The multipart/form-data body is malformed.")
}

/// The part being read.
enum Part {
    Field {
        name: String,
        value: Vec<u8>,
    },
    File {
        file: tokio::fs::File,
        hasher: Sha256,
        size: u64,
    },
    Ignored,
}

impl Part {
    async fn start(headers: PartHeaders, path: &Path) -> Result<Self, GraphError> {
        Ok(match headers.name.as_str() {
            "file" => {
                let file = tokio::fs::File::create(path)
                    .await
                    .map_err(|_| GraphError::new(500, 1, "An unknown error occurred", "media storage unavailable"))?;
                Self::File {
                    file,
                    hasher: Sha256::new(),
                    size: 0,
                }
            }
            "messaging_product" | "type" => Self::Field {
                name: headers.name,
                value: Vec::new(),
            },
            _ => Self::Ignored,
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), GraphError> {
        match self {
            Self::Field { name, value } => {
                if value.len() + bytes.len() > MAX_FIELD_BYTES {
                    return Err(invalid(format!("The parameter {name} is too long.")));
                }
                value.extend_from_slice(bytes);
            }
            Self::File { file, hasher, size } => {
                hasher.update(bytes);
                *size += bytes.len() as u64;
                file.write_all(bytes)
                    .await
                    .map_err(|_| GraphError::new(500, 1, "An unknown error occurred", "media storage unavailable"))?;
            }
            Self::Ignored => {}
        }
        Ok(())
    }

    async fn finish(self, upload: &mut Upload) -> Result<(), GraphError> {
        match self {
            Self::Field { name, value } => {
                let value =
                    String::from_utf8(value).map_err(|_| invalid(format!("The parameter {name} is not UTF-8.")))?;
                if name == "type" {
                    upload.mime_type = Some(value.trim().to_owned());
                } else {
                    upload.messaging_product = Some(value.trim().to_owned());
                }
            }
            Self::File {
                mut file, hasher, size, ..
            } => {
                if upload.file.is_some() {
                    return Err(invalid("Only one file may be uploaded."));
                }
                file.flush()
                    .await
                    .map_err(|_| GraphError::new(500, 1, "An unknown error occurred", "media storage unavailable"))?;
                upload.file = Some(SpooledFile {
                    size,
                    sha256: hex::encode(hasher.finalize()),
                });
            }
            Self::Ignored => {}
        }
        Ok(())
    }
}

/// The headers of a part that matter.
#[derive(Debug, PartialEq)]
struct PartHeaders {
    name: String,
}

#[derive(Debug, PartialEq)]
enum Event {
    Start(PartHeaders),
    Data(Vec<u8>),
    End,
}

#[derive(Debug, PartialEq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Right after a delimiter: `--` (the end) or CRLF (a part follows).
    AfterDelimiter,
    Headers,
    Body,
}

/// A push parser of `multipart/form-data` (RFC 7578): bytes go in with [`Multipart::push`], events come out
/// of [`Multipart::next_event`]; it holds at most one delimiter's length of a part's data, or one header
/// block, between calls.
struct Multipart {
    /// `CRLF--boundary`.
    delimiter: Vec<u8>,
    buffer: Vec<u8>,
    state: State,
    done: bool,
}

impl Multipart {
    fn new(boundary: &str) -> Self {
        Self {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            // The first delimiter has no CRLF before it: pretend it has.
            buffer: b"\r\n".to_vec(),
            state: State::Preamble,
            done: false,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if !self.done {
            self.buffer.extend_from_slice(bytes);
        }
    }

    fn next_event(&mut self) -> Result<Option<Event>, GraphError> {
        loop {
            if self.done {
                return Ok(None);
            }
            match self.state {
                State::Preamble => match find(&self.buffer, &self.delimiter) {
                    Some(at) => {
                        self.buffer.drain(..at + self.delimiter.len());
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        self.keep_tail();
                        return Ok(None);
                    }
                },
                State::AfterDelimiter => {
                    // Transport padding (spaces, tabs) may follow a delimiter.
                    let padding = self.buffer.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
                    let rest = self.buffer.get(padding..padding + 2);
                    match rest {
                        None => {
                            if self.buffer.len() > MAX_FIELD_BYTES {
                                return Err(malformed());
                            }
                            return Ok(None);
                        }
                        Some(b"--") => {
                            self.done = true;
                            self.buffer = Vec::new();
                            return Ok(None);
                        }
                        Some(b"\r\n") => {
                            self.buffer.drain(..padding + 2);
                            self.state = State::Headers;
                        }
                        Some(_) => return Err(malformed()),
                    }
                }
                State::Headers => {
                    let Some(end) = find(&self.buffer, b"\r\n\r\n") else {
                        if self.buffer.len() > MAX_FIELD_BYTES {
                            return Err(malformed());
                        }
                        return Ok(None);
                    };
                    let block = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                    self.buffer.drain(..end + 4);
                    self.state = State::Body;
                    return Ok(Some(Event::Start(part_headers(&block)?)));
                }
                State::Body => {
                    if let Some(at) = find(&self.buffer, &self.delimiter) {
                        if at > 0 {
                            let data = self.buffer.drain(..at).collect();
                            return Ok(Some(Event::Data(data)));
                        }
                        self.buffer.drain(..self.delimiter.len());
                        self.state = State::AfterDelimiter;
                        return Ok(Some(Event::End));
                    }
                    let keep = self.delimiter.len() - 1;
                    if self.buffer.len() <= keep {
                        return Ok(None);
                    }
                    let data = self.buffer.drain(..self.buffer.len() - keep).collect();
                    return Ok(Some(Event::Data(data)));
                }
            }
        }
    }

    /// Keeps only what could be the start of a delimiter.
    fn keep_tail(&mut self) {
        let keep = self.delimiter.len() - 1;
        if self.buffer.len() > keep {
            self.buffer.drain(..self.buffer.len() - keep);
        }
    }
}

/// The `name` of a part's `Content-Disposition: form-data; name="…"` header.
fn part_headers(block: &str) -> Result<PartHeaders, GraphError> {
    let disposition = block
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, value)| value)
        .ok_or_else(malformed)?;
    let mut params = disposition.split(';');
    if !params
        .next()
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(malformed());
    }
    let name = params
        .filter_map(|param| param.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("name"))
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .ok_or_else(malformed)?;
    Ok(PartHeaders { name })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The body of a download: the stored file, read in 64 KiB chunks as hyper writes them.
pub struct FileBody {
    state: FileState,
    remaining: u64,
    buffer: Vec<u8>,
}

type Opening = Pin<Box<dyn Future<Output = io::Result<tokio::fs::File>> + Send>>;

enum FileState {
    Opening(Opening),
    Reading(Pin<Box<tokio::fs::File>>),
}

impl FileBody {
    pub fn new(download: Download) -> Self {
        Self {
            state: FileState::Opening(Box::pin(tokio::fs::File::open(download.path))),
            remaining: download.size,
            buffer: vec![0; 64 * 1024],
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        if let FileState::Opening(opening) = &mut this.state {
            let file = ready!(opening.as_mut().poll(cx))?;
            this.state = FileState::Reading(Box::pin(file));
        }
        let FileState::Reading(file) = &mut this.state else {
            return Poll::Ready(None);
        };
        let mut read = ReadBuf::new(&mut this.buffer);
        ready!(file.as_mut().poll_read(cx, &mut read))?;
        let filled = read.filled();
        if filled.is_empty() {
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "graph stand-in: stored media shorter than recorded",
            ))));
        }
        let length = (filled.len() as u64).min(this.remaining);
        let chunk = Bytes::copy_from_slice(&filled[..usize::try_from(length).unwrap_or(filled.len())]);
        this.remaining -= length;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(boundary: &str, chunks: &[&[u8]]) -> Vec<Event> {
        let mut parser = Multipart::new(boundary);
        let mut events = Vec::new();
        for chunk in chunks {
            parser.push(chunk);
            while let Some(event) = parser.next_event().unwrap_or_else(|e| panic!("{}", e.details)) {
                events.push(event);
            }
        }
        assert!(parser.done, "the closing delimiter was seen");
        // Data events may be split anywhere: join consecutive ones.
        let mut joined: Vec<Event> = Vec::new();
        for event in events {
            match (joined.last_mut(), event) {
                (Some(Event::Data(previous)), Event::Data(more)) => previous.extend(more),
                (_, event) => joined.push(event),
            }
        }
        joined
    }

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--Xy\r\n-\xff\r\n--XyZ--\r\nepilogue";

    fn expected() -> Vec<Event> {
        vec![
            Event::Start(PartHeaders {
                name: "messaging_product".into(),
            }),
            Event::Data(b"whatsapp".to_vec()),
            Event::End,
            Event::Start(PartHeaders { name: "file".into() }),
            Event::Data(b"\xff\xd8\r\n--Xy\r\n-\xff".to_vec()),
            Event::End,
        ]
    }

    #[test]
    fn parses_in_one_piece_and_byte_by_byte() {
        assert_eq!(parse_all("XyZ", &[BODY]), expected());
        let bytes: Vec<&[u8]> = BODY.chunks(1).collect();
        assert_eq!(parse_all("XyZ", &bytes), expected());
        let sevens: Vec<&[u8]> = BODY.chunks(7).collect();
        assert_eq!(parse_all("XyZ", &sevens), expected());
    }

    #[test]
    fn a_part_without_a_name_is_malformed() {
        let mut parser = Multipart::new("b");
        parser.push(b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--");
        assert!(parser.next_event().is_err());
    }

    #[test]
    fn boundaries_from_the_content_type() {
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"abc 1\"").as_deref(),
            Some("abc 1")
        );
        assert_eq!(
            multipart_boundary("Multipart/Form-Data;boundary=x").as_deref(),
            Some("x")
        );
        assert_eq!(multipart_boundary("application/json; boundary=x"), None);
        assert_eq!(multipart_boundary("multipart/form-data"), None);
    }

    #[test]
    fn media_ids_have_their_own_shape() {
        let id = new_media_id();
        assert!(is_media_id(&id), "{id}");
        assert!(!is_media_id("106540352242922"));
        assert!(!is_media_id("77abc00000000000"));
    }
}
