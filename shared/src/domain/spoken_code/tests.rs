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
