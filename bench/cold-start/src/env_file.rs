//! `local.env`: `KEY=VALUE` lines, `#` comments and blank lines, as `make run` reads it.

use std::path::Path;

/// The variables of an env file, in file order. Empty values (`ALLOWED_PHONE_NUMBER_IDS=`)
/// are kept: the variable is set, to the empty string, as a shell `source` would.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines().filter_map(parse_line).collect()
}

/// Reads and parses an env file.
pub fn read(path: &Path) -> std::io::Result<Vec<(String, String)>> {
    std::fs::read_to_string(path).map(|text| parse(&text))
}

fn parse_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((key.to_owned(), unquote(value.trim()).to_owned()))
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(quote).and_then(|rest| rest.strip_suffix(quote)) {
            return inner;
        }
    }
    value
}

/// The value of `key` (the last assignment wins, as in a shell).
pub fn get<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
    vars.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_assignments_and_skips_comments() {
        let vars = parse(
            "# comment\n\nAWS_REGION=us-east-1\n  export A = \"quoted value\" \nEMPTY=\nB='x=y'\nnot a line\n=nokey\n",
        );
        assert_eq!(
            vars,
            vec![
                ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
                ("A".to_owned(), "quoted value".to_owned()),
                ("EMPTY".to_owned(), String::new()),
                ("B".to_owned(), "x=y".to_owned()),
            ]
        );
    }

    #[test]
    fn last_assignment_wins() {
        let vars = parse("A=1\nA=2\n");
        assert_eq!(get(&vars, "A"), Some("2"));
        assert_eq!(get(&vars, "B"), None);
    }
}
