//! Media the bundle uploads to Meta (`POST /media`): the MIME types Meta's upload takes and each
//! one's size limit, checked before anything is sent (Meta's supported media types: image jpeg/png
//! 5 MB, video mp4/3gpp 16 MB, audio aac/amr/mpeg/mp4/ogg 16 MB, documents 100 MB, stickers webp
//! 100 KB static / 500 KB animated).

use std::fmt;

const KB: u64 = 1024;
const MB: u64 = 1024 * 1024;

/// What kind of message a media type can be sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
    Sticker,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }
}

/// The MIME types Meta's upload takes, with the kind and the size limit in bytes (a webp
/// sticker's is the animated one; a static one is held to [`STATIC_STICKER_BYTES`]).
pub const SUPPORTED: &[(&str, MediaKind, u64)] = &[
    ("image/jpeg", MediaKind::Image, 5 * MB),
    ("image/png", MediaKind::Image, 5 * MB),
    ("image/webp", MediaKind::Sticker, 500 * KB),
    ("video/mp4", MediaKind::Video, 16 * MB),
    ("video/3gpp", MediaKind::Video, 16 * MB),
    ("audio/aac", MediaKind::Audio, 16 * MB),
    ("audio/amr", MediaKind::Audio, 16 * MB),
    ("audio/mpeg", MediaKind::Audio, 16 * MB),
    ("audio/mp4", MediaKind::Audio, 16 * MB),
    ("audio/ogg", MediaKind::Audio, 16 * MB),
    ("text/plain", MediaKind::Document, 100 * MB),
    ("application/pdf", MediaKind::Document, 100 * MB),
    ("application/msword", MediaKind::Document, 100 * MB),
    ("application/vnd.ms-excel", MediaKind::Document, 100 * MB),
    ("application/vnd.ms-powerpoint", MediaKind::Document, 100 * MB),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        MediaKind::Document,
        100 * MB,
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        MediaKind::Document,
        100 * MB,
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        MediaKind::Document,
        100 * MB,
    ),
];

/// A static (not animated) webp sticker's limit.
pub const STATIC_STICKER_BYTES: u64 = 100 * KB;

/// How many leading bytes [`check`] needs to tell an animated webp from a static one.
pub const HEAD_BYTES: usize = 32;

/// A file Meta would take: its bare MIME type (parameters dropped), kind and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub mime: &'static str,
    pub kind: MediaKind,
    pub size: u64,
}

/// Why a file would be refused, in words naming the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error(
        "type: {0:?} is not a media type WhatsApp takes (image/jpeg, image/png, image/webp, video/mp4, video/3gpp, audio/aac, audio/amr, audio/mpeg, audio/mp4, audio/ogg, text/plain, application/pdf and the Office document types)"
    )]
    UnsupportedType(String),
    #[error("file: empty")]
    Empty,
    #[error("file: {size} bytes is over WhatsApp's limit for {what} ({limit} bytes, {})", Human(*limit))]
    TooLarge { what: String, size: u64, limit: u64 },
}

struct Human(u64);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= MB {
            write!(f, "{} MB", self.0 / MB)
        } else {
            write!(f, "{} KB", self.0 / KB)
        }
    }
}

/// The bare, lowercased MIME type of a `Content-Type` value (`audio/ogg; codecs=opus` → `audio/ogg`).
pub fn bare_mime(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a webp file's first bytes announce an animation (`RIFF….WEBPVP8X` with the animation flag).
pub fn is_animated_webp(head: &[u8]) -> bool {
    head.len() > 20 && &head[..4] == b"RIFF" && &head[8..16] == b"WEBPVP8X" && head[20] & 0x02 != 0
}

/// Checks a file of `size` bytes whose `Content-Type` is `content_type` against Meta's limits;
/// `head` is its first bytes (at least [`HEAD_BYTES`] when there are that many).
pub fn check(content_type: &str, size: u64, head: &[u8]) -> Result<MediaFile, MediaError> {
    let mime = bare_mime(content_type);
    let Some(&(mime, kind, limit)) = SUPPORTED.iter().find(|(supported, _, _)| *supported == mime) else {
        return Err(MediaError::UnsupportedType(mime));
    };
    if size == 0 {
        return Err(MediaError::Empty);
    }
    let (what, limit) = match kind {
        MediaKind::Sticker if is_animated_webp(head) => ("an animated sticker (image/webp)".to_owned(), limit),
        MediaKind::Sticker => ("a static sticker (image/webp)".to_owned(), STATIC_STICKER_BYTES),
        _ => (format!("{} ({mime})", kind.as_str()), limit),
    };
    if size > limit {
        return Err(MediaError::TooLarge { what, size, limit });
    }
    Ok(MediaFile { mime, kind, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webp(animated: bool) -> Vec<u8> {
        let mut head = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0".to_vec();
        head.push(if animated { 0x12 } else { 0x10 });
        head.resize(HEAD_BYTES, 0);
        head
    }

    #[test]
    fn each_type_at_its_limit_is_taken_and_one_byte_over_is_refused_naming_the_limit() {
        for (content_type, limit) in [
            ("image/jpeg", 5 * MB),
            ("image/png", 5 * MB),
            ("video/mp4", 16 * MB),
            ("video/3gpp", 16 * MB),
            ("audio/aac", 16 * MB),
            ("audio/amr", 16 * MB),
            ("audio/mpeg", 16 * MB),
            ("audio/mp4", 16 * MB),
            ("audio/ogg; codecs=opus", 16 * MB),
            ("application/pdf", 100 * MB),
            ("text/plain; charset=utf-8", 100 * MB),
        ] {
            let file = check(content_type, limit, b"").unwrap_or_else(|e| panic!("{content_type}: {e}"));
            assert_eq!(file.mime, bare_mime(content_type));
            let error = check(content_type, limit + 1, b"").expect_err(content_type).to_string();
            assert!(error.contains(&format!("({limit} bytes")), "{error}");
            assert!(error.starts_with("file: "), "{error}");
        }
    }

    #[test]
    fn stickers_static_100_kb_animated_500_kb() {
        assert_eq!(
            check("image/webp", 100 * KB, &webp(false)).map(|f| f.kind),
            Ok(MediaKind::Sticker)
        );
        let error = check("image/webp", 100 * KB + 1, &webp(false)).expect_err("static over");
        assert!(
            error
                .to_string()
                .contains("static sticker (image/webp) (102400 bytes, 100 KB)"),
            "{error}"
        );
        assert!(check("image/webp", 500 * KB, &webp(true)).is_ok());
        let error = check("image/webp", 500 * KB + 1, &webp(true)).expect_err("animated over");
        assert!(error.to_string().contains("animated sticker"), "{error}");
        // Bytes that are not a webp header count as static.
        assert!(check("image/webp", 200 * KB, b"not a webp at all, not at all...").is_err());
    }

    #[test]
    fn other_types_and_empty_files_are_refused() {
        for content_type in [
            "image/gif",
            "application/zip",
            "",
            "video/quicktime",
            "application/octet-stream",
        ] {
            assert!(
                matches!(check(content_type, 10, b""), Err(MediaError::UnsupportedType(_))),
                "{content_type}"
            );
        }
        assert_eq!(check("image/png", 0, b""), Err(MediaError::Empty));
        assert_eq!(check("IMAGE/PNG", 10, b"").map(|f| f.mime), Ok("image/png"));
    }
}
