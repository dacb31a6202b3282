//! TwiML responses built as strings. Every attribute value and text node goes through [`escape`].

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Twilio caps transcription at 120 seconds of recording.
pub const MAX_RECORD_SECONDS: u32 = 120;

/// Default `hints` for `<Gather>`: Google's class token for digit sequences.
pub const DEFAULT_HINTS: &str = "$OOV_CLASS_DIGIT_SEQUENCE";

/// Options of a `<Gather input="speech dtmf">`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatherOptions {
    /// Where Twilio POSTs the result (`SpeechResult` / `Digits`).
    pub action_url: String,
    /// Said inside the `<Gather>`; omitted when `None` or empty.
    pub prompt: Option<String>,
    /// `voice` of the `<Say>`; omitted when `None` or empty.
    pub voice: Option<String>,
    /// Speech recognition language, e.g. `en-US`.
    pub language: String,
    /// `"auto"` or a number of seconds.
    pub speech_timeout: String,
    /// Seconds to wait for the caller to start.
    pub timeout_seconds: u32,
    /// Speech hints; the attribute is omitted when empty. Default [`DEFAULT_HINTS`].
    pub hints: String,
    /// `numDigits` for keypad input; omitted when `None`.
    pub num_digits: Option<u32>,
}

impl GatherOptions {
    /// Options with defaults: no prompt, no voice, `en-US`, `speechTimeout="auto"`, `timeout="10"`,
    /// [`DEFAULT_HINTS`], no `numDigits`.
    pub fn new(action_url: impl Into<String>) -> Self {
        Self {
            action_url: action_url.into(),
            prompt: None,
            voice: None,
            language: "en-US".to_owned(),
            speech_timeout: "auto".to_owned(),
            timeout_seconds: 10,
            hints: DEFAULT_HINTS.to_owned(),
            num_digits: None,
        }
    }
}

/// Escapes `& < > " '` and the whitespace characters XML parsers normalise (tab, line feed, carriage return, as
/// character references, so that they round-trip exactly inside attributes too). Characters XML 1.0 forbids
/// (other C0 controls, U+FFFE, U+FFFF) are dropped, so the output is always well-formed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `<Gather input="speech dtmf" ...>` with an optional `<Say>` inside, then an optional `<Redirect>` taken when
/// the caller says nothing (Twilio falls through to the next verb when the gather times out).
pub fn gather(options: &GatherOptions, redirect_url_on_silence: Option<&str>) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<Response><Gather input=\"speech dtmf\"");
    push_attr(&mut out, "action", &options.action_url);
    push_attr(&mut out, "method", "POST");
    push_attr(&mut out, "language", &options.language);
    push_attr(&mut out, "speechTimeout", &options.speech_timeout);
    push_attr(&mut out, "timeout", &options.timeout_seconds.to_string());
    if let Some(num_digits) = options.num_digits {
        push_attr(&mut out, "numDigits", &num_digits.to_string());
    }
    if !options.hints.is_empty() {
        push_attr(&mut out, "hints", &options.hints);
    }
    push_attr(&mut out, "actionOnEmptyResult", "true");
    out.push('>');
    push_say(&mut out, options.prompt.as_deref(), options.voice.as_deref());
    out.push_str("</Gather>");
    if let Some(url) = redirect_url_on_silence {
        out.push_str("<Redirect method=\"POST\">");
        out.push_str(&escape(url));
        out.push_str("</Redirect>");
    }
    out.push_str("</Response>");
    out
}

/// An optional `<Say>`, then `<Record>` with transcription, then `<Hangup/>`. `max_length_seconds` is clamped to
/// `1..=`[`MAX_RECORD_SECONDS`].
pub fn record(
    action_url: &str,
    transcribe_callback_url: &str,
    recording_status_callback_url: &str,
    max_length_seconds: u32,
    prompt: Option<&str>,
    voice: Option<&str>,
) -> String {
    let max_length = max_length_seconds.clamp(1, MAX_RECORD_SECONDS);
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<Response>");
    push_say(&mut out, prompt, voice);
    out.push_str("<Record");
    push_attr(&mut out, "transcribe", "true");
    push_attr(&mut out, "transcribeCallback", transcribe_callback_url);
    push_attr(&mut out, "recordingStatusCallback", recording_status_callback_url);
    push_attr(&mut out, "recordingStatusCallbackMethod", "POST");
    push_attr(&mut out, "maxLength", &max_length.to_string());
    push_attr(&mut out, "playBeep", "false");
    push_attr(&mut out, "method", "POST");
    push_attr(&mut out, "action", action_url);
    out.push_str("/><Hangup/></Response>");
    out
}

/// `<Say>` the message (omitted when empty), then `<Hangup/>`.
pub fn say_and_hangup(message: &str, voice: Option<&str>) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<Response>");
    push_say(&mut out, Some(message), voice);
    out.push_str("<Hangup/></Response>");
    out
}

/// An empty response: Twilio does nothing more (and hangs up a call with nothing left to do).
pub fn empty() -> String {
    format!("{XML_DECLARATION}<Response/>")
}

fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    out.push_str(&escape(value));
    out.push('"');
}

fn push_say(out: &mut String, text: Option<&str>, voice: Option<&str>) {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return;
    };
    out.push_str("<Say");
    if let Some(voice) = voice.filter(|v| !v.is_empty()) {
        push_attr(out, "voice", voice);
    }
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</Say>");
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRICKY: &str = "Tom & Jerry's \"<code>\"";

    fn parse(xml: &str) -> roxmltree::Document<'_> {
        assert!(xml.starts_with(XML_DECLARATION), "{xml}");
        let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        assert_eq!(doc.root_element().tag_name().name(), "Response");
        doc
    }

    fn children<'a>(node: roxmltree::Node<'a, 'a>) -> Vec<roxmltree::Node<'a, 'a>> {
        node.children().filter(|n| n.is_element()).collect()
    }

    fn names(node: roxmltree::Node<'_, '_>) -> Vec<String> {
        children(node).iter().map(|n| n.tag_name().name().to_owned()).collect()
    }

    fn options() -> GatherOptions {
        GatherOptions {
            action_url: "https://example.com/voice/gather?attempt=1&call=CA&x='\"<>".to_owned(),
            prompt: Some(TRICKY.to_owned()),
            voice: Some("Polly.Joanna-\"Neural\" & <co>".to_owned()),
            language: "en-US".to_owned(),
            speech_timeout: "auto".to_owned(),
            timeout_seconds: 7,
            hints: DEFAULT_HINTS.to_owned(),
            num_digits: Some(6),
        }
    }

    #[test]
    fn escape_all_special_characters() {
        assert_eq!(escape(TRICKY), "Tom &amp; Jerry&apos;s &quot;&lt;code&gt;&quot;");
        assert_eq!(escape("plain é 😀"), "plain é 😀");
        assert_eq!(escape("a\tb\nc\rd\u{0}e\u{1b}f\u{fffe}"), "a&#9;b&#10;c&#13;def");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn gather_round_trips() {
        let opts = options();
        let xml = gather(&opts, Some("https://example.com/voice/silence?a=1&b='2'"));
        let doc = parse(&xml);
        let response = doc.root_element();
        assert_eq!(names(response), ["Gather", "Redirect"]);
        let kids = children(response);
        let g = kids[0];
        assert_eq!(g.attribute("input"), Some("speech dtmf"));
        assert_eq!(g.attribute("action"), Some(opts.action_url.as_str()));
        assert_eq!(g.attribute("method"), Some("POST"));
        assert_eq!(g.attribute("language"), Some("en-US"));
        assert_eq!(g.attribute("speechTimeout"), Some("auto"));
        assert_eq!(g.attribute("timeout"), Some("7"));
        assert_eq!(g.attribute("numDigits"), Some("6"));
        assert_eq!(g.attribute("hints"), Some("$OOV_CLASS_DIGIT_SEQUENCE"));
        assert_eq!(g.attribute("actionOnEmptyResult"), Some("true"));
        assert_eq!(g.attributes().count(), 9);
        assert_eq!(names(g), ["Say"]);
        let say = children(g)[0];
        assert_eq!(say.text(), Some(TRICKY));
        assert_eq!(say.attribute("voice"), opts.voice.as_deref());
        let redirect = kids[1];
        assert_eq!(redirect.attribute("method"), Some("POST"));
        assert_eq!(redirect.text(), Some("https://example.com/voice/silence?a=1&b='2'"));
    }

    #[test]
    fn gather_exact_shape_with_defaults() {
        let xml = gather(&GatherOptions::new("https://h/g"), None);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Gather input=\"speech dtmf\" action=\"https://h/g\" \
             method=\"POST\" language=\"en-US\" speechTimeout=\"auto\" timeout=\"10\" \
             hints=\"$OOV_CLASS_DIGIT_SEQUENCE\" actionOnEmptyResult=\"true\"></Gather></Response>"
        );
        parse(&xml);
    }

    #[test]
    fn gather_omits_say_for_none_and_empty_prompt_and_optional_attributes() {
        for prompt in [None, Some(String::new())] {
            let opts = GatherOptions {
                prompt,
                hints: String::new(),
                num_digits: None,
                ..options()
            };
            let xml = gather(&opts, None);
            let doc = parse(&xml);
            let response = doc.root_element();
            assert_eq!(names(response), ["Gather"]);
            let g = children(response)[0];
            assert!(names(g).is_empty(), "{xml}");
            assert_eq!(g.attribute("hints"), None);
            assert_eq!(g.attribute("numDigits"), None);
            assert!(!xml.contains("<Say"));
        }
    }

    #[test]
    fn say_without_voice_has_no_voice_attribute() {
        for voice in [None, Some(String::new())] {
            let opts = GatherOptions { voice, ..options() };
            let doc_xml = gather(&opts, None);
            let doc = parse(&doc_xml);
            let say = children(children(doc.root_element())[0])[0];
            assert_eq!(say.tag_name().name(), "Say");
            assert_eq!(say.attributes().count(), 0);
            assert_eq!(say.text(), Some(TRICKY));
        }
    }

    #[test]
    fn multiline_prompt_round_trips() {
        let prompt = "Line one,\n\tline two\r\nend & 'quotes'";
        let opts = GatherOptions {
            prompt: Some(prompt.to_owned()),
            action_url: "a\nb\tc".to_owned(),
            ..options()
        };
        let xml = gather(&opts, None);
        let doc = parse(&xml);
        let g = children(doc.root_element())[0];
        assert_eq!(g.attribute("action"), Some("a\nb\tc"));
        assert_eq!(children(g)[0].text(), Some(prompt));
    }

    #[test]
    fn record_round_trips() {
        let xml = record(
            "https://h/rec?a=1&b=2",
            "https://h/transcribed?x=<y>",
            "https://h/status?q=\"1\"",
            60,
            Some(TRICKY),
            Some("alice"),
        );
        let doc = parse(&xml);
        let response = doc.root_element();
        assert_eq!(names(response), ["Say", "Record", "Hangup"]);
        let kids = children(response);
        assert_eq!(kids[0].text(), Some(TRICKY));
        assert_eq!(kids[0].attribute("voice"), Some("alice"));
        let r = kids[1];
        assert_eq!(r.attribute("transcribe"), Some("true"));
        assert_eq!(r.attribute("transcribeCallback"), Some("https://h/transcribed?x=<y>"));
        assert_eq!(r.attribute("recordingStatusCallback"), Some("https://h/status?q=\"1\""));
        assert_eq!(r.attribute("recordingStatusCallbackMethod"), Some("POST"));
        assert_eq!(r.attribute("maxLength"), Some("60"));
        assert_eq!(r.attribute("playBeep"), Some("false"));
        assert_eq!(r.attribute("method"), Some("POST"));
        assert_eq!(r.attribute("action"), Some("https://h/rec?a=1&b=2"));
        assert_eq!(r.attributes().count(), 8);
        assert!(children(r).is_empty());
        assert!(children(kids[2]).is_empty());
    }

    #[test]
    fn record_caps_max_length() {
        for (given, expected) in [
            (121, "120"),
            (120, "120"),
            (3600, "120"),
            (u32::MAX, "120"),
            (0, "1"),
            (30, "30"),
        ] {
            let xml = record("a", "b", "c", given, None, None);
            let doc = parse(&xml);
            assert_eq!(names(doc.root_element()), ["Record", "Hangup"]);
            let r = children(doc.root_element())[0];
            assert_eq!(r.attribute("maxLength"), Some(expected), "{given}");
        }
        let xml = record("a", "b", "c", 10, Some(""), Some("alice"));
        assert_eq!(names(parse(&xml).root_element()), ["Record", "Hangup"]);
    }

    #[test]
    fn say_and_hangup_round_trips() {
        let xml = say_and_hangup(TRICKY, Some("Polly.Amy"));
        let doc = parse(&xml);
        assert_eq!(names(doc.root_element()), ["Say", "Hangup"]);
        let say = children(doc.root_element())[0];
        assert_eq!(say.text(), Some(TRICKY));
        assert_eq!(say.attribute("voice"), Some("Polly.Amy"));

        let xml = say_and_hangup("", None);
        assert_eq!(names(parse(&xml).root_element()), ["Hangup"]);
    }

    #[test]
    fn empty_response() {
        let xml = empty();
        assert_eq!(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
        let doc = parse(&xml);
        assert!(children(doc.root_element()).is_empty());
    }

    #[test]
    fn hostile_text_stays_well_formed() {
        let hostile = "]]></Say><Hangup/><!-- \u{0}\u{8}\u{ffff} &amp; &#x26; 😀";
        let opts = GatherOptions {
            prompt: Some(hostile.to_owned()),
            voice: Some(hostile.to_owned()),
            language: hostile.to_owned(),
            speech_timeout: hostile.to_owned(),
            hints: hostile.to_owned(),
            action_url: hostile.to_owned(),
            ..options()
        };
        let cleaned = "]]></Say><Hangup/><!--  &amp; &#x26; 😀";
        let xml = gather(&opts, Some(hostile));
        let doc = parse(&xml);
        let kids = children(doc.root_element());
        assert_eq!(names(doc.root_element()), ["Gather", "Redirect"]);
        assert_eq!(kids[0].attribute("action"), Some(cleaned));
        assert_eq!(kids[0].attribute("hints"), Some(cleaned));
        assert_eq!(children(kids[0])[0].text(), Some(cleaned));
        assert_eq!(kids[1].text(), Some(cleaned));
        parse(&record(hostile, hostile, hostile, 5, Some(hostile), Some(hostile)));
        parse(&say_and_hangup(hostile, Some(hostile)));
    }
}
