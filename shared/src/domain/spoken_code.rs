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
mod tests;
