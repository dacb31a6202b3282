//! Meta's verification call: what is recorded when a code is captured, and the email about it.

use chrono::{DateTime, SecondsFormat, Utc};

use super::email::Email;
use super::ids::CallSid;

/// The locales Meta's `request_code` takes for `language` (the codes of Meta's "Supported Languages" page, to
/// which the `request_code` reference links): the language the robot reads the code in.
pub const META_LOCALES: &[&str] = &[
    "af", "sq", "ar", "ar_EG", "ar_AE", "ar_LB", "ar_MA", "ar_QA", "az", "be_BY", "bn", "bn_IN", "bg", "ca", "zh_CN",
    "zh_HK", "zh_TW", "hr", "cs", "da", "prs_AF", "nl", "nl_BE", "en", "en_GB", "en_US", "en_AE", "en_AU", "en_CA",
    "en_GH", "en_IE", "en_IN", "en_JM", "en_MY", "en_NZ", "en_QA", "en_SG", "en_UG", "en_ZA", "et", "fil", "fi", "fr",
    "fr_BE", "fr_CA", "fr_CH", "fr_CI", "fr_MA", "ka", "de", "de_AT", "de_CH", "el", "gu", "ha", "he", "hi", "hu",
    "id", "ga", "it", "ja", "kn", "kk", "rw_RW", "ko", "ky_KG", "lo", "lv", "lt", "mk", "ms", "ml", "mr", "nb", "fa",
    "pl", "pt_BR", "pt_PT", "pa", "ro", "ru", "sr", "sk", "sl", "es", "es_AR", "es_ES", "es_MX", "sw", "sv", "ta",
    "te", "th", "tr", "uk", "ur", "uz", "vi", "zu",
];

/// The Meta locale for a language tag in either spelling (`pt-BR`, `pt_br`, `PT_BR` → `pt_BR`): the exact
/// locale when Meta lists it, else the bare language when Meta lists that (`de-DE` → `de`).
pub fn meta_locale(tag: &str) -> Option<&'static str> {
    let tag = tag.trim();
    let (language, region) = match tag.split_once(['-', '_']) {
        Some((language, region)) => (language, Some(region)),
        None => (tag, None),
    };
    let same = |locale: &&&str| match (locale.split_once('_'), region) {
        (Some((l, r)), Some(region)) => l.eq_ignore_ascii_case(language) && r.eq_ignore_ascii_case(region),
        (None, None) => locale.eq_ignore_ascii_case(language),
        _ => false,
    };
    META_LOCALES
        .iter()
        .find(same)
        .or_else(|| META_LOCALES.iter().find(|locale| locale.eq_ignore_ascii_case(language)))
        .copied()
}

/// How a code reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMethod {
    /// Twilio's speech recognition of Meta's robot reading the code.
    Speech,
    /// Keypad digits (a human tester).
    Keypad,
    /// The transcription of the fallback recording.
    Transcription,
}

impl CaptureMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMethod::Speech => "speech",
            CaptureMethod::Keypad => "dtmf",
            CaptureMethod::Transcription => "transcription",
        }
    }
}

/// A code captured during a call.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedCode {
    pub call_sid: CallSid,
    pub code: String,
    pub method: CaptureMethod,
    /// Twilio's speech confidence (0–1), when spoken.
    pub confidence: Option<f64>,
    /// What was heard, for the owner to double-check.
    pub heard: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// A fresh name for one request's claim of an email (see `VerificationStore::claim_email`).
pub fn email_claimant(call_sid: &str) -> String {
    format!("claim_{}", &crate::domain::outbound::fresh_digest(call_sid)[..16])
}

/// Prefix of the index key (`gsi1pk` of the `by_contact` index) listing the codes captured
/// for one called number, so a client can wait for "the next code for this number".
pub const CODE_INDEX_PREFIX: &str = "VERIFICATION#";

/// The index key of the codes captured for `number` (the called number, `To`): its digits
/// only, so `+1 (555) 010-1234` and `15550101234` name the same list. `None` without digits.
pub fn code_index_key(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("{CODE_INDEX_PREFIX}{digits}"))
}

/// The index sort key of a code: capture time (RFC 3339, milliseconds, UTC) then call SID,
/// so the codes of a number list in capture order and a time bound is a key condition.
pub fn code_index_sort_key(received_at: DateTime<Utc>, call_sid: &str) -> String {
    format!(
        "{}#{call_sid}",
        received_at.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

/// A code as stored, read back (by the command-line companion waiting for it).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCode {
    pub call_sid: CallSid,
    pub code: String,
    /// `speech`, `dtmf` or `transcription`.
    pub captured_by: String,
    pub confidence: Option<f64>,
    pub heard: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// RFC 3339.
    pub received_at: String,
}

impl CapturedCode {
    /// The code as the store gives it back.
    pub fn stored(&self) -> StoredCode {
        StoredCode {
            call_sid: self.call_sid.clone(),
            code: self.code.clone(),
            captured_by: self.method.as_str().to_owned(),
            confidence: self.confidence,
            heard: self.heard.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            received_at: self.received_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }

    /// The sort key of its item: one item per call and code.
    pub fn item(&self) -> String {
        format!("CODE#{}", self.code)
    }

    /// `(gsi1pk, gsi1sk)` listing this code under the called number, when `To` is known.
    pub fn index_keys(&self) -> Option<(String, String)> {
        let key = code_index_key(self.to.as_deref()?)?;
        Some((key, code_index_sort_key(self.received_at, &self.call_sid)))
    }

    pub fn email(&self, from: &str, to: &[String]) -> Email {
        let mut body = format!(
            "WhatsApp verification code: {}\n\nCaptured by: {}\n",
            self.code,
            self.method.as_str()
        );
        if let Some(confidence) = self.confidence {
            body.push_str(&format!("Speech confidence: {confidence:.2}\n"));
        }
        if let Some(heard) = &self.heard {
            body.push_str(&format!("Heard: {heard}\n"));
        }
        body.push_str(&format!(
            "From: {}\nTo: {}\nReceived: {}\nCall SID: {}\n",
            self.from.as_deref().unwrap_or("unknown"),
            self.to.as_deref().unwrap_or("unknown"),
            self.received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.call_sid
        ));
        Email {
            from: from.to_owned(),
            to: to.to_vec(),
            subject: format!("WhatsApp verification code {}", self.code),
            body,
        }
    }
}

/// What became of an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    Sent { message_id: String },
    Failed { error: String },
}

/// The fallback recording of a call, or its transcription.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub call_sid: CallSid,
    pub recording_sid: String,
    /// `recording` (status callback) or `transcription`.
    pub event: String,
    pub url: Option<String>,
    pub duration_seconds: Option<u32>,
    pub transcription: Option<String>,
    pub transcription_status: Option<String>,
    pub code: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub received_at: DateTime<Utc>,
}

impl Recording {
    pub fn item(&self) -> String {
        format!("RECORDING#{}#{}", self.recording_sid, self.event)
    }

    pub fn email(&self, from: &str, to: &[String]) -> Email {
        let subject = match &self.code {
            Some(code) => format!("WhatsApp verification code {code} (from the call recording)"),
            None => "WhatsApp verification call recorded: no code recognised".to_owned(),
        };
        let mut body = String::new();
        if let Some(code) = &self.code {
            body.push_str(&format!("Code found in the transcription: {code}\n\n"));
        } else {
            body.push_str("No code could be read from the transcription; listen to the recording.\n\n");
        }
        body.push_str(&format!(
            "Recording: {}\nDuration: {} s\nTranscription ({}): {}\nFrom: {}\nTo: {}\nReceived: {}\nCall SID: {}\n",
            self.url.as_deref().unwrap_or("unavailable"),
            self.duration_seconds
                .map(|d| d.to_string())
                .unwrap_or_else(|| "unknown".to_owned()),
            self.transcription_status.as_deref().unwrap_or("unknown"),
            self.transcription.as_deref().unwrap_or(""),
            self.from.as_deref().unwrap_or("unknown"),
            self.to.as_deref().unwrap_or("unknown"),
            self.received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.call_sid
        ));
        Email {
            from: from.to_owned(),
            to: to.to_vec(),
            subject,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_email_carries_the_code_numbers_time_and_call() {
        let code = CapturedCode {
            call_sid: CallSid::new("CA123"),
            code: "481529".into(),
            method: CaptureMethod::Speech,
            confidence: Some(0.91),
            heard: Some("4 8 1 5 2 9".into()),
            from: Some("+16505550100".into()),
            to: Some("+14155550123".into()),
            received_at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).single().expect("valid"),
        };
        let email = code.email("verify@example.com", &["owner@example.com".to_owned()]);
        assert_eq!(email.subject, "WhatsApp verification code 481529");
        for part in [
            "481529",
            "speech",
            "0.91",
            "+16505550100",
            "+14155550123",
            "2026-11-22T10:00:00Z",
            "CA123",
        ] {
            assert!(email.body.contains(part), "{part} missing from {}", email.body);
        }
        assert_eq!(email.to, vec!["owner@example.com".to_owned()]);
    }

    #[test]
    fn codes_are_indexed_by_the_digits_of_the_called_number_in_time_order() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).single().expect("valid");
        let mut code = CapturedCode {
            call_sid: CallSid::new("CA9"),
            code: "123456".into(),
            method: CaptureMethod::Speech,
            confidence: None,
            heard: None,
            from: None,
            to: Some("+1 (555) 010-1234".into()),
            received_at: at,
        };
        assert_eq!(
            code.index_keys(),
            Some((
                "VERIFICATION#15550101234".to_owned(),
                "2026-11-22T10:00:00.000Z#CA9".to_owned()
            ))
        );
        assert_eq!(
            code_index_key("15550101234").as_deref(),
            Some("VERIFICATION#15550101234")
        );
        assert!(code_index_sort_key(at, "CA1") < code_index_sort_key(at + chrono::Duration::milliseconds(1), "CA0"));
        code.to = Some("anonymous".into());
        assert_eq!(code.index_keys(), None);
        code.to = None;
        assert_eq!(code.index_keys(), None);
    }

    #[test]
    fn the_recording_email_says_whether_a_code_was_found() {
        let mut recording = Recording {
            call_sid: CallSid::new("CA1"),
            recording_sid: "RE1".into(),
            event: "transcription".into(),
            url: Some("https://api.twilio.com/rec/RE1".into()),
            duration_seconds: Some(42),
            transcription: Some("your code is 1 2 3 4 5 6".into()),
            transcription_status: Some("completed".into()),
            code: Some("123456".into()),
            from: None,
            to: None,
            received_at: Utc::now(),
        };
        let email = recording.email("a@example.com", &["b@example.com".to_owned()]);
        assert!(email.subject.contains("123456"));
        assert!(email.body.contains("https://api.twilio.com/rec/RE1") && email.body.contains("42 s"));
        recording.code = None;
        assert!(recording.email("a@example.com", &[]).subject.contains("no code"));
    }
}

#[cfg(test)]
mod locale_tests {
    use super::*;

    #[test]
    fn meta_locales_in_either_spelling() {
        assert_eq!(meta_locale("pt_BR"), Some("pt_BR"));
        assert_eq!(meta_locale("pt-BR"), Some("pt_BR"));
        assert_eq!(meta_locale(" pt-br "), Some("pt_BR"));
        assert_eq!(meta_locale("es-MX"), Some("es_MX"));
        assert_eq!(meta_locale("es-CO"), Some("es"));
        assert_eq!(meta_locale("de-DE"), Some("de"));
        assert_eq!(meta_locale("en"), Some("en"));
        assert_eq!(meta_locale("pt"), None);
        assert_eq!(meta_locale("xx-YY"), None);
        assert_eq!(meta_locale(""), None);
        assert_eq!(meta_locale("-"), None);
        assert!(META_LOCALES.iter().all(|locale| meta_locale(locale) == Some(*locale)));
    }
}
