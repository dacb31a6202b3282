//! Extraction of Meta's verification code from what Twilio heard: a `SpeechResult`, a recording transcription or
//! keypad `Digits`, in the language the call was listened to in ([`CodeLanguage`]).
//!
//! # Rule
//!
//! 1. **Tokenise**: the text is split into words at every character that is not alphanumeric (spaces,
//!    punctuation, hyphens, commas, periods...). Separators never matter, so `"123-456"`, `"123 456"` and
//!    `"1, 2, 3. 4, 5, 6."` read the same; the one separator that does is `+` (below).
//! 2. **Map** each word (any case) to digits: an ASCII numeral gives each of its digits, in every language; the
//!    language's digit words give one digit each ([`CodeLanguage`] lists them: English `zero`, `oh`, `o`,
//!    `one`..`nine`; Portuguese `zero`, `um`/`uma`, `dois`/`duas`, `três`, ..., `meia` for six; Spanish `cero`,
//!    `uno`, `dos`, `tres`, ...), with the common mishearings of a speech recogniser; in English `double X` /
//!    `triple X`, where `X` is a single digit (word or numeral), give `X` two / three times. Every other word
//!    (including `and`/`e`/`y`, `double` not followed by a single digit, and numerals mixed with letters such as
//!    `1st`) is not a digit.
//! 3. **Weak words**: a digit word that is also an everyday word (`to`, `for`, `won`, `ate` in English; `um`,
//!    `uma`, `sei`, `novo` in Portuguese; `un`, `una`, `nueva` in Spanish...) is read as a separator first; only
//!    when that reading finds no candidate at all is the text read again with them as digits.
//! 4. **Runs**: consecutive digit words form a run; any non-digit word ends the run.
//! 5. **Candidates**: a run of exactly `len` digits is a candidate; so is a run made of the same `len` digits
//!    repeated, with at least two whole repetitions (a trailing partial repetition, as when the recording is cut
//!    off, is allowed: `123456 123456 12`).
//! 6. **Decision**: runs shorter than `len` are fragments and are ignored. A run longer than `len` that is not a
//!    repetition (a phone number, `1234567`), or any run introduced by `+` (`+55 11 ...`, an international phone
//!    number), is conflicting evidence and makes the result `None`, as do two candidates that disagree: a
//!    phone-number-like run is never taken as the code. Otherwise the (agreeing) candidate is the code; no
//!    candidate gives `None`.
//!
//! Never panics, on any input; runs in time linear in the input's length, allocating only the code's digits.

/// Length of the code Meta reads out for WhatsApp phone-number verification.
pub const META_CODE_LEN: usize = 6;

/// The language a verification call is listened to in: which number words count as digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeLanguage {
    /// `en`: `zero`, `oh`, `o`, `one`..`nine`, `double`/`triple`.
    #[default]
    English,
    /// `pt` (Brazil and Portugal): `zero`, `um`, `dois`, `três`, `quatro`, `cinco`, `seis`/`meia`, `sete`, `oito`, `nove`.
    Portuguese,
    /// `es`: `cero`, `uno`, `dos`, `tres`, `cuatro`, `cinco`, `seis`, `siete`, `ocho`, `nueve`.
    Spanish,
    /// Any other language: numerals only (speech recognisers write digit sequences as numerals).
    NumeralsOnly,
}

impl CodeLanguage {
    /// The language of a BCP-47 tag (Twilio's `pt-BR`) or a Meta locale (`pt_BR`), by its primary subtag.
    pub fn from_tag(tag: &str) -> Self {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("en") {
            Self::English
        } else if primary.eq_ignore_ascii_case("pt") {
            Self::Portuguese
        } else if primary.eq_ignore_ascii_case("es") {
            Self::Spanish
        } else {
            Self::NumeralsOnly
        }
    }

    /// What `word` (already lower-cased) stands for in this language.
    fn classify(self, word: &str) -> Word {
        if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            return Word::Numeral;
        }
        match self {
            Self::English => english(word),
            Self::Portuguese => portuguese(word),
            Self::Spanish => spanish(word),
            Self::NumeralsOnly => Word::Other,
        }
    }
}

/// What one word stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    /// ASCII digits: each is a digit.
    Numeral,
    /// One digit, unambiguously.
    Digit(u8),
    /// One digit, but also an everyday word (rule 3).
    Weak(u8),
    /// `double` / `triple`: the next single digit, this many times.
    Repeat(usize),
    Other,
}

fn english(word: &str) -> Word {
    Word::Digit(match word {
        "zero" | "oh" | "o" | "nought" | "naught" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" | "fife" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" | "niner" => 9,
        "double" => return Word::Repeat(2),
        "triple" => return Word::Repeat(3),
        // Homophones a recogniser writes for digits, which are also everyday words.
        "won" => return Word::Weak(1),
        "to" | "too" => return Word::Weak(2),
        "tree" | "free" => return Word::Weak(3),
        "for" | "fore" => return Word::Weak(4),
        "ate" => return Word::Weak(8),
        _ => return Word::Other,
    })
}

fn portuguese(word: &str) -> Word {
    Word::Digit(match word {
        "zero" | "zéro" => 0,
        "dois" | "duas" | "doís" => 2,
        "três" | "tres" | "treis" | "trêis" => 3,
        "quatro" | "cuatro" => 4,
        "cinco" | "cinko" => 5,
        // "meia" (half a dozen) is how Brazilians read a six in a number.
        "seis" | "meia" | "seys" => 6,
        "sete" | "séte" => 7,
        "oito" | "oitu" => 8,
        "nove" | "novi" => 9,
        // Everyday words: the article "um"/"uma", "hum", "sei" (I know), "dos" (of the), "quarto" (room),
        // "novo" (new).
        "um" | "uma" | "hum" | "un" => return Word::Weak(1),
        "dos" | "doze" => return Word::Weak(2),
        "quarto" => return Word::Weak(4),
        "sei" => return Word::Weak(6),
        "novo" => return Word::Weak(9),
        _ => return Word::Other,
    })
}

fn spanish(word: &str) -> Word {
    Word::Digit(match word {
        "cero" | "sero" | "zero" => 0,
        "uno" => 1,
        "dos" => 2,
        "tres" | "trés" => 3,
        "cuatro" | "quatro" => 4,
        "cinco" => 5,
        "seis" | "séis" => 6,
        "siete" | "siette" => 7,
        "ocho" => 8,
        "nueve" | "nuebe" => 9,
        // Everyday words: the articles "un"/"una", "cuarto" (room, fourth), "siente" (feels), "nueva" (new).
        "un" | "una" => return Word::Weak(1),
        "cuarto" => return Word::Weak(4),
        "siente" => return Word::Weak(7),
        "nueva" => return Word::Weak(9),
        _ => return Word::Other,
    })
}

/// The `len`-digit code in `text` (speech result, transcription or digits) heard in English, following the
/// module's rule.
pub fn extract_code(text: &str, len: usize) -> Option<String> {
    extract_code_in(text, len, CodeLanguage::English)
}

/// The `len`-digit code in `text` heard in `language`, following the module's rule.
pub fn extract_code_in(text: &str, len: usize, language: CodeLanguage) -> Option<String> {
    if len == 0 {
        return None;
    }
    match scan(text, len, language, false) {
        Scan::Code(code) => Some(code),
        Scan::Conflict => None,
        Scan::Nothing => match scan(text, len, language, true) {
            Scan::Code(code) => Some(code),
            Scan::Conflict | Scan::Nothing => None,
        },
    }
}

/// The outcome of one reading of the text.
enum Scan {
    Code(String),
    Conflict,
    Nothing,
}

/// The run being read: its first `len` digits, its length, whether it repeats them, whether `+` introduced it.
struct Run {
    head: Vec<u8>,
    count: usize,
    periodic: bool,
    phone: bool,
}

impl Run {
    fn new(len: usize) -> Self {
        Self {
            head: Vec::with_capacity(len.min(META_CODE_LEN * 2)),
            count: 0,
            periodic: true,
            phone: false,
        }
    }

    fn push(&mut self, digit: u8, len: usize) {
        if self.count < len {
            self.head.push(digit);
        } else if self.head.get(self.count % len) != Some(&digit) {
            self.periodic = false;
        }
        self.count = self.count.saturating_add(1);
    }

    fn clear(&mut self) {
        self.head.clear();
        self.count = 0;
        self.periodic = true;
        self.phone = false;
    }
}

/// The code decided so far, over finished runs.
struct Decision {
    code: Option<Vec<u8>>,
    conflict: bool,
}

impl Decision {
    /// Takes a finished run into account (rules 5 and 6), then clears it.
    fn finish(&mut self, run: &mut Run, len: usize) {
        if run.count == 0 {
            return;
        }
        if run.phone {
            self.conflict = true;
        } else if run.count >= len {
            let whole = run.count == len || (run.count >= len.saturating_mul(2) && run.periodic);
            if !whole {
                self.conflict = true;
            } else {
                match &self.code {
                    Some(code) if *code != run.head => self.conflict = true,
                    Some(_) => {}
                    None => self.code = Some(run.head.clone()),
                }
            }
        }
        run.clear();
    }
}

/// One reading of `text`; `weak_as_digits`: rule 3's second reading.
fn scan(text: &str, len: usize, language: CodeLanguage, weak_as_digits: bool) -> Scan {
    let mut run = Run::new(len);
    let mut decision = Decision {
        code: None,
        conflict: false,
    };
    let mut words = Words::new(text).peekable();
    while let Some((word, after_plus)) = words.next() {
        let mut buffer = [0u8; MAX_WORD_BYTES];
        let class = if word.bytes().all(|b| b.is_ascii_digit()) {
            Word::Numeral
        } else {
            fold(word, &mut buffer).map_or(Word::Other, |folded| language.classify(folded))
        };
        let digit = match class {
            Word::Numeral => None,
            Word::Digit(digit) => Some(digit),
            Word::Weak(digit) if weak_as_digits => Some(digit),
            Word::Repeat(times) => {
                let next = words.peek().and_then(|(next, _)| {
                    let mut buffer = [0u8; MAX_WORD_BYTES];
                    fold(next, &mut buffer).and_then(|folded| single_digit(folded, language))
                });
                if let Some(digit) = next {
                    if after_plus {
                        run.phone = true;
                    }
                    for _ in 0..times {
                        run.push(digit, len);
                    }
                    words.next();
                    continue;
                }
                decision.finish(&mut run, len);
                continue;
            }
            Word::Weak(_) | Word::Other => {
                decision.finish(&mut run, len);
                continue;
            }
        };
        if after_plus {
            run.phone = true;
        }
        match digit {
            Some(digit) => run.push(digit, len),
            None => word.bytes().for_each(|b| run.push(b - b'0', len)),
        }
        if decision.conflict {
            return Scan::Conflict;
        }
    }
    decision.finish(&mut run, len);
    match decision {
        Decision { conflict: true, .. } => Scan::Conflict,
        Decision { code: Some(code), .. } => Scan::Code(code.iter().map(|d| char::from(b'0' + d)).collect()),
        Decision { code: None, .. } => Scan::Nothing,
    }
}

/// The digit a word stands for when it stands for exactly one digit (`"7"`, `"seven"`, `"oh"`): what may follow
/// `double` / `triple`.
fn single_digit(word: &str, language: CodeLanguage) -> Option<u8> {
    match (word.as_bytes(), language.classify(word)) {
        ([b], _) if b.is_ascii_digit() => Some(b - b'0'),
        (_, Word::Digit(digit)) => Some(digit),
        _ => None,
    }
}

/// Longer words are never digit words (and are not lower-cased).
const MAX_WORD_BYTES: usize = 16;

/// `word` lower-cased into `buffer`, or `None` when it does not fit (then it is not a digit word; a numeral is
/// recognised before folding).
fn fold<'b>(word: &str, buffer: &'b mut [u8; MAX_WORD_BYTES]) -> Option<&'b str> {
    let mut used = 0usize;
    for lower in word.chars().flat_map(char::to_lowercase) {
        let mut utf8 = [0u8; 4];
        let encoded = lower.encode_utf8(&mut utf8).as_bytes();
        let end = used.checked_add(encoded.len()).filter(|end| *end <= MAX_WORD_BYTES)?;
        buffer.get_mut(used..end)?.copy_from_slice(encoded);
        used = end;
    }
    std::str::from_utf8(buffer.get(..used)?).ok()
}

/// The words of a text (rule 1), each with whether a `+` came right before it (spaces allowed in between).
struct Words<'t> {
    rest: &'t str,
}

impl<'t> Words<'t> {
    fn new(text: &'t str) -> Self {
        Self { rest: text }
    }
}

impl<'t> Iterator for Words<'t> {
    type Item = (&'t str, bool);

    fn next(&mut self) -> Option<Self::Item> {
        let mut after_plus = false;
        let start = loop {
            let mut chars = self.rest.char_indices();
            match chars.next() {
                None => return None,
                Some((_, c)) if c.is_alphanumeric() => break 0,
                Some((_, c)) => {
                    if c == '+' {
                        after_plus = true;
                    } else if !c.is_whitespace() {
                        after_plus = false;
                    }
                    self.rest = self.rest.get(c.len_utf8()..).unwrap_or_default();
                }
            }
        };
        let word_and_rest = self.rest.get(start..).unwrap_or_default();
        let end = word_and_rest
            .char_indices()
            .find(|(_, c)| !c.is_alphanumeric())
            .map_or(word_and_rest.len(), |(at, _)| at);
        let (word, rest) = word_and_rest.split_at(end);
        self.rest = rest;
        Some((word, after_plus))
    }
}

/// The `len`-digit code typed on the keypad: `#` and `*` (and whitespace) are ignored; what remains must be
/// exactly `len` digits, or the same `len` digits repeated a whole number of times.
pub fn from_digits(digits: &str, len: usize) -> Option<String> {
    if len == 0 {
        return None;
    }
    let mut run = Run::new(len);
    for c in digits.chars() {
        match c {
            '#' | '*' => {}
            c if c.is_whitespace() => {}
            c if c.is_ascii_digit() => run.push(c as u8 - b'0', len),
            _ => return None,
        }
    }
    let whole = run.count == len || (run.count.is_multiple_of(len) && run.count >= len && run.periodic);
    whole.then(|| run.head.iter().map(|d| char::from(b'0' + d)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<String> {
        extract_code(text, META_CODE_LEN)
    }

    #[test]
    fn speech_results_table() {
        let table: &[(&str, Option<&str>)] = &[
            // Plain forms.
            ("1 2 3 4 5 6", Some("123456")),
            ("123456", Some("123456")),
            ("123 456", Some("123456")),
            ("123-456", Some("123456")),
            ("one two three four five six", Some("123456")),
            ("One, two, three. Four, five, six.", Some("123456")),
            ("1, 2, 3, 4, 5, 6.", Some("123456")),
            ("one 2 three 4 five 6", Some("123456")),
            // Zero spoken three ways.
            ("oh four zero nine o 1", Some("040901")),
            ("Zero zero seven, one oh two.", Some("007102")),
            // Double / triple.
            ("double five 1 triple seven", Some("551777")),
            ("Your code is 3 double 8 triple 0.", Some("388000")),
            ("double 5 double 6 double 7", Some("556677")),
            // Surrounding words and repetitions.
            ("Your WhatsApp code is 4 8 1 5 2 9.", Some("481529")),
            (
                "Your verification code is 4 8 1 5 2 9. Once again, 4 8 1 5 2 9.",
                Some("481529"),
            ),
            (
                "your code is 1 2 3 4 5 6. Again, your code is 1 2 3 4 5 6",
                Some("123456"),
            ),
            ("123456 123456", Some("123456")),
            ("123456 123456 123456", Some("123456")),
            ("1 2 3 4 5 6 1 2 3 4 5 6 1 2 3 4 5 6.", Some("123456")),
            (
                "Hello. This is WhatsApp. Your code is 9 0 2 7 1 3. 9 0 2 7 1 3. 9 0 2 7 1 3.",
                Some("902713"),
            ),
            (
                "Your WhatsApp code is 772 041. Your WhatsApp code is 772 041.",
                Some("772041"),
            ),
            ("Your code is 5 5 5 1 2 3. Again, 5 5 5.", Some("555123")), // trailing fragment ignored
            ("code 6 1 8 2 0 4 6 1 8 2 0 4 6 1", Some("618204")),        // cut-off third repetition
            ("Your code is: Seven. Seven. Three. Eight. One. Nine.", Some("773819")),
            ("WhatsApp. Your code is 2 0 0 9 1 7, and again 200917.", Some("200917")),
            ("YOUR CODE IS ONE TWO THREE FOUR FIVE SIX", Some("123456")),
            ("123456#", Some("123456")),
            ("Your code is 1 2 3. 4 5 6.", Some("123456")), // punctuation does not end a run
            // No code.
            ("", None),
            ("hello", None),
            ("Hello, this is WhatsApp calling.", None),
            ("12345", None),
            ("1 2 3 4 5", None),
            ("1234567", None),
            ("123456 654321", None),
            ("Your code is 1 2 3 4 5 6. Again, your code is 1 2 3 4 5 7.", None),
            ("call me at 415 555 0123", None),
            ("one two three and four five six", None),
            ("1st 2nd 3rd 4th 5th 6th", None),
            ("double", None),
            ("triple double", None),
            ("Your code is 1234561.", None),
            ("Your code is 123456. Call 415 555 0123 for help.", None),
        ];
        let mut none_count = 0;
        for (text, expected) in table {
            assert_eq!(code(text).as_deref(), *expected, "{text:?}");
            if expected.is_none() {
                none_count += 1;
            }
        }
        assert!(table.len() >= 25);
        assert!(none_count >= 8);
    }

    #[test]
    fn other_lengths() {
        assert_eq!(extract_code("1 2 3 4", 4).as_deref(), Some("1234"));
        assert_eq!(extract_code("your code is 12345678", 8).as_deref(), Some("12345678"));
        assert_eq!(extract_code("123456", 4), None);
        assert_eq!(extract_code("123456", 0), None);
        assert_eq!(extract_code("", 0), None);
        assert_eq!(extract_code("1", 1).as_deref(), Some("1"));
        assert_eq!(extract_code("12", usize::MAX), None);
    }

    #[test]
    fn keypad_digits() {
        assert_eq!(from_digits("123456", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("123456#", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("*123456#", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("123456123456", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("123 456", 6).as_deref(), Some("123456"));
        assert_eq!(from_digits("12345", 6), None);
        assert_eq!(from_digits("1234567", 6), None);
        assert_eq!(from_digits("123456654321", 6), None);
        assert_eq!(from_digits("12345612", 6), None);
        assert_eq!(from_digits("12a456", 6), None);
        assert_eq!(from_digits("", 6), None);
        assert_eq!(from_digits("#", 6), None);
        assert_eq!(from_digits("123456", 0), None);
        assert_eq!(from_digits("١٢٣٤٥٦", 6), None);
    }

    /// Twilio-style `SpeechResult`s (as its recognisers write them: numerals, words, punctuation, mishearings)
    /// for each language, with the code expected.
    fn check(language: CodeLanguage, table: &[(&str, Option<&str>)]) {
        for (text, expected) in table {
            assert_eq!(
                extract_code_in(text, META_CODE_LEN, language).as_deref(),
                *expected,
                "{language:?}: {text:?}"
            );
        }
        assert!(table.iter().filter(|(_, expected)| expected.is_none()).count() >= 4);
        assert!(table.iter().filter(|(_, expected)| expected.is_some()).count() >= 8);
    }

    #[test]
    fn english_transcriptions_and_mishearings() {
        check(
            CodeLanguage::English,
            &[
                ("Your WhatsApp code is 4 8 2 9 1 7. Again, 4 8 2 9 1 7.", Some("482917")),
                ("your whatsapp code is four eight two nine one seven", Some("482917")),
                // Homophones: "to" for two, "for" for four, "won" for one, "ate" for eight, "tree" for three.
                ("your code is one to three for five six", Some("123456")),
                ("won two tree four five six", Some("123456")),
                ("Your code is 3 ate 1 to 9 0.", Some("381290")),
                ("nine niner 0 nought 5 fife", Some("990055")),
                // An everyday "for"/"to" next to the code is not taken as a digit.
                ("The code for WhatsApp is 4 8 2 9 1 7", Some("482917")),
                ("Your code is 4 8 2 9 1 7 to verify your number", Some("482917")),
                (
                    "Your code is 4 8 2 9 1 7 for WhatsApp. Again 4 8 2 9 1 7",
                    Some("482917"),
                ),
                // Phone-number-like runs are never the code.
                ("Call +1 415 555 0123", None),
                ("Your code is 482917. Call +44 20 7946 0958.", None),
                ("+482917", None),
                ("please call 1 800 555 0199 for help", None),
                ("call 555 555 5555", None),
                ("one to three", None),
                ("for to too", None),
            ],
        );
    }

    #[test]
    fn portuguese_transcriptions_and_mishearings() {
        check(
            CodeLanguage::Portuguese,
            &[
                (
                    "O seu código do WhatsApp é 4 8 2 9 1 7. Repetindo, 4 8 2 9 1 7.",
                    Some("482917"),
                ),
                (
                    "o seu código do whatsapp é quatro oito dois nove um sete",
                    Some("482917"),
                ),
                ("Seu código é um dois três quatro cinco seis", Some("123456")),
                ("Seu código é UM DOIS TRÊS QUATRO CINCO SEIS", Some("123456")),
                // "meia" is how a six is read in Brazil; "tres" without its accent; "duas" for two.
                ("código meia meia tres duas zero nove", Some("663209")),
                ("Seu código é 4 8 2. 9 1 7. Um abraço", Some("482917")),
                // Mishearings: "sei" for seis, "novo" for nove, "treis".
                ("seu código é 4 sei 2 novo 1 treis", Some("462913")),
                (
                    "Seu código do WhatsApp é 772 041. Seu código do WhatsApp é 772 041.",
                    Some("772041"),
                ),
                ("o código é quatro oito dois e nove um sete", None),
                ("Ligue para +55 11 98765 4321", None),
                ("ligue para 11 98765 4321", None),
                ("Olá, aqui é o WhatsApp", None),
                // English digit words are not Portuguese: "o" is the article here.
                ("o o o o o o", None),
            ],
        );
    }

    #[test]
    fn spanish_transcriptions_and_mishearings() {
        check(
            CodeLanguage::Spanish,
            &[
                (
                    "Su código de WhatsApp es 4 8 2 9 1 7. Repito, 4 8 2 9 1 7.",
                    Some("482917"),
                ),
                (
                    "su código de whatsapp es cuatro ocho dos nueve uno siete",
                    Some("482917"),
                ),
                ("Tu código es cero cero siete, uno cero dos.", Some("007102")),
                ("Tu código es TRES SEIS CINCO OCHO NUEVE CERO", Some("365890")),
                // Mishearings: "sero", "nuebe", "nueva", "siente"; the article "un" for uno.
                ("código sero nuebe 3 siente 2 1", Some("093721")),
                ("tu código es un dos tres cuatro cinco seis", Some("123456")),
                ("código 4 8 2 9 1 nueva", Some("482919")),
                ("Su código es 482917. Un saludo.", Some("482917")),
                ("cuatro ocho dos y nueve uno siete", None),
                ("Llame al +34 912 345 678", None),
                ("llame al 912 345 678", None),
                ("Hola, le llamamos de WhatsApp", None),
            ],
        );
    }

    #[test]
    fn other_languages_read_numerals_only() {
        assert_eq!(
            extract_code_in("Ihr WhatsApp-Code lautet 4 8 2 9 1 7", 6, CodeLanguage::NumeralsOnly).as_deref(),
            Some("482917")
        );
        assert_eq!(
            extract_code_in("one two three four five six", 6, CodeLanguage::NumeralsOnly),
            None
        );
        assert_eq!(CodeLanguage::from_tag("pt-BR"), CodeLanguage::Portuguese);
        assert_eq!(CodeLanguage::from_tag("pt_PT"), CodeLanguage::Portuguese);
        assert_eq!(CodeLanguage::from_tag("es-MX"), CodeLanguage::Spanish);
        assert_eq!(CodeLanguage::from_tag("ES"), CodeLanguage::Spanish);
        assert_eq!(CodeLanguage::from_tag("en_US"), CodeLanguage::English);
        assert_eq!(CodeLanguage::from_tag("de-DE"), CodeLanguage::NumeralsOnly);
        assert_eq!(CodeLanguage::from_tag(""), CodeLanguage::NumeralsOnly);
        assert_eq!(CodeLanguage::from_tag("-"), CodeLanguage::NumeralsOnly);
    }

    #[test]
    fn never_panics_in_any_language() {
        for language in [
            CodeLanguage::English,
            CodeLanguage::Portuguese,
            CodeLanguage::Spanish,
            CodeLanguage::NumeralsOnly,
        ] {
            for text in [
                "",
                "+",
                "++++",
                "+ + 1",
                "TRÊS",
                "ÇÃO",
                "İİİİİİİİİİİİİİİİİİ",
                "ﬃﬃﬃﬃﬃﬃﬃﬃ",
                "double +",
                "+double 5",
                "\u{0}",
                "1+2+3+4+5+6",
                "meia\u{301}",
            ] {
                let _ = extract_code_in(text, META_CODE_LEN, language);
                let _ = extract_code_in(text, 1, language);
                let _ = extract_code_in(text, usize::MAX, language);
            }
            let long = "um dois to for sei ".repeat(20_000);
            let _ = extract_code_in(&long, META_CODE_LEN, language);
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let long_digits = "1 2 3 4 5 6 ".repeat(20_000);
        assert_eq!(code(&long_digits).as_deref(), Some("123456"));
        let long_words = "your code is 😀 ".repeat(50_000);
        assert_eq!(code(&long_words), None);
        let long_numeral = "9".repeat(200_000);
        assert_eq!(code(&long_numeral).as_deref(), Some("999999"));
        let long_mixed = "7".repeat(100_001);
        assert_eq!(from_digits(&long_mixed, 6), None);
        for text in [
            "😀😀😀",
            "1😀2😀3😀4😀5😀6",
            "١٢٣٤٥٦",
            "１２３４５６",
            "İstanbul ǅ ß ﬃ",
            "\u{0}\u{1}\u{7f}",
            "\u{feff}123456",
            "double 😀",
            "triple",
            "o o o o o o",
            "ＯＮＥ",
        ] {
            let _ = code(text);
            let _ = from_digits(text, META_CODE_LEN);
            let _ = extract_code(text, 1);
        }
        assert_eq!(code("1😀2😀3😀4😀5😀6").as_deref(), Some("123456"));
        assert_eq!(code("\u{feff}123456").as_deref(), Some("123456"));
        assert_eq!(code("o o o o o o").as_deref(), Some("000000"));
        assert_eq!(code("１２３４５６"), None);
    }
}
