//! Identifiers the stand-in hands out (wamids, trace ids, conversation ids, verification codes) and the
//! one source of randomness behind them.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// WhatsApp Business Account id used as `entry[].id` in the status webhooks.
pub const WABA_ID: &str = "102290129340398";

/// 64 unpredictable-enough bits for a test stand-in, **not** for cryptography: std's SipHash, keyed at
/// random once per process (`RandomState`), of a process-wide counter. Distinct calls never repeat a
/// counter value, so collisions are as unlikely as for any 64-bit hash.
pub fn random_u64() -> u64 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    KEYS.get_or_init(RandomState::new)
        .hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// `length` lowercase hex characters.
pub fn random_hex(length: usize) -> String {
    let mut out = String::with_capacity(length + 16);
    while out.len() < length {
        out.push_str(&format!("{:016x}", random_u64()));
    }
    out.truncate(length);
    out
}

/// A 6-digit verification code.
pub fn random_code() -> String {
    format!("{:06}", random_u64() % 1_000_000)
}

/// A Graph-like trace id: `A` and 22 alphanumerics.
pub fn fbtrace_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::from("A");
    let mut bits = random_u64();
    for index in 0..22 {
        if index % 10 == 9 {
            bits = random_u64();
        }
        let position = usize::try_from(bits % 62).unwrap_or(0);
        out.push(char::from(ALPHABET.get(position).copied().unwrap_or(b'A')));
        bits /= 62;
    }
    out
}

/// A wamid shaped like Meta's: `wamid.` + base64 of a small binary record holding the recipient and a
/// 18-character message id (process-wide counter + random bits, so unique within the process).
pub fn new_wamid(digits: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF;
    let message_id = format!("{counter:08X}{:010X}", random_u64() & 0xFF_FFFF_FFFF);
    let digits = digits.get(..digits.len().min(32)).unwrap_or("");
    let mut raw = vec![0x1C, 0x18, u8::try_from(digits.len()).unwrap_or(0)];
    raw.extend_from_slice(digits.as_bytes());
    raw.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, 0x12]);
    raw.extend_from_slice(message_id.as_bytes());
    raw.push(0x00);
    format!("wamid.{}", BASE64.encode(raw))
}

pub fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wamids_look_like_meta_and_are_unique() {
        let a = new_wamid("15551234567");
        let b = new_wamid("15551234567");
        assert!(a.starts_with("wamid.HBgL"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn fbtrace_ids_are_alphanumeric() {
        let id = fbtrace_id();
        assert_eq!(id.len(), 23);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(id, fbtrace_id());
    }

    #[test]
    fn random_values_differ_and_have_the_asked_shape() {
        assert_ne!(random_u64(), random_u64());
        let hex = random_hex(32);
        assert_eq!(hex.len(), 32);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
        let code = random_code();
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
    }
}
