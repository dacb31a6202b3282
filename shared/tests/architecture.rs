//! The import rules of docs/architecture.md, checked from the sources: every path the non-test
//! code of `bridge` names (`use` lines and inline paths alike) is resolved to a module, and
//!
//! - `domain` names no port, adapter, handler, composition root or configuration, and no SDK;
//! - `handlers` name no adapter and no composition root;
//! - `adapters` name no handler, composition root or configuration;
//! - no module imports one that (through others) imports it back (a child naming its own
//!   ancestor, `super::…`, is how it reaches its parent's items and does not count).
//!
//! A failure names the file, the line and the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path (`adapters::dynamodb::outbound`) and where it is.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap_or(&path).with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|last| last == "mod" || last == "lib") {
                parts.pop();
            }
            found.insert(parts.join("::"), path);
        }
    }
    found
}

/// Whether a module is test code only (its own tests, the handlers' test folders).
fn test_only(module: &str) -> bool {
    module.split("::").any(|part| part == "tests")
}

/// The file's lines that are not test code nor comments: `#[cfg(test)]` items are skipped whole.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut skip_depth: Option<i64> = None;
    let mut pending_cfg_test = false;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(depth) = skip_depth.as_mut() {
            *depth += brace_balance(line);
            if *depth <= 0 && line.contains('}') {
                skip_depth = None;
            }
            continue;
        }
        if line.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test {
            pending_cfg_test = false;
            let balance = brace_balance(line);
            if balance > 0 {
                skip_depth = Some(balance);
            }
            continue;
        }
        if line.starts_with("//") {
            continue;
        }
        let code = line.split("//").next().unwrap_or_default().to_owned();
        lines.push((number + 1, code));
    }
    lines
}

fn brace_balance(line: &str) -> i64 {
    line.chars().fold(0, |sum, c| match c {
        '{' => sum + 1,
        '}' => sum - 1,
        _ => sum,
    })
}

/// Every `crate::…`, `super::…` and `self::…` path a line names, resolved to a known module of
/// `bridge` (the longest prefix that is one), and the external crates it names.
fn named(module: &str, line: &str, known: &BTreeMap<String, PathBuf>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut internal = BTreeSet::new();
    let mut external = BTreeSet::new();
    for (index, _) in line.match_indices("::") {
        // The path this `::` belongs to, from its start.
        let start = line[..index]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |at| at + 1);
        if line[..start].ends_with("::") || line[start..index].contains("::") {
            continue;
        }
        let path: String = line[start..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        let Some(first) = parts.first().copied() else {
            continue;
        };
        let mut base: Vec<String> = match first {
            "crate" => Vec::new(),
            "self" => module.split("::").map(str::to_owned).collect(),
            "super" => {
                let mut base: Vec<String> = module.split("::").map(str::to_owned).collect();
                while parts.first() == Some(&"super") {
                    base.pop();
                    parts.remove(0);
                }
                parts.insert(0, "super");
                base
            }
            other => {
                external.insert(other.to_owned());
                continue;
            }
        };
        for part in parts.iter().skip(1) {
            base.push((*part).to_owned());
        }
        // A `{` group after the path: each member too (one level).
        let after = &line[start + path.len()..];
        let mut candidates = vec![base.clone()];
        if let Some(group) = after.strip_prefix('{') {
            for member in group.split([',', '}']).map(str::trim) {
                if member.is_empty() || member == "self" {
                    continue;
                }
                let mut full = base.clone();
                full.extend(member.split("::").map(str::to_owned));
                candidates.push(full);
            }
        }
        for mut candidate in candidates {
            while !candidate.is_empty() {
                let joined = candidate.join("::");
                if known.contains_key(&joined) {
                    internal.insert(joined);
                    break;
                }
                candidate.pop();
            }
        }
    }
    (internal, external)
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

/// What a module of `layer` may not name: modules by their first segment, and external crates.
fn forbidden(layer: &str) -> (&'static [&'static str], &'static [&'static str]) {
    const SDKS: &[&str] = &[
        "aws_sdk_dynamodb",
        "aws_sdk_sqs",
        "aws_sdk_s3",
        "aws_sdk_sesv2",
        "aws_sdk_eventbridge",
        "aws_sdk_ssm",
        "aws_config",
        "aws_smithy_runtime_api",
        "aws_smithy_types",
        "aws_sigv4",
        "reqwest",
        "lambda_http",
        "lambda_runtime",
    ];
    match layer {
        "domain" => (
            &["ports", "adapters", "handlers", "compose", "config", "sends", "testing"],
            SDKS,
        ),
        "handlers" => (&["adapters", "compose"], &[]),
        "adapters" => (&["handlers", "compose", "config"], &[]),
        _ => (&[], &[]),
    }
}

fn is_ancestor(ancestor: &str, module: &str) -> bool {
    ancestor.is_empty() || module.starts_with(&format!("{ancestor}::"))
}

#[test]
fn the_layers_import_as_the_architecture_says_and_nothing_imports_itself_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    let mut violations = Vec::new();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (module, path) in &known {
        if test_only(module) || module.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let shown = path
            .strip_prefix(src.parent().unwrap_or(&src))
            .unwrap_or(path)
            .display()
            .to_string();
        let (modules_out, crates_out) = forbidden(layer(module));
        for (number, line) in code_lines(&text) {
            let (internal, external) = named(module, &line, &known);
            for target in &internal {
                if modules_out.contains(&layer(target)) {
                    violations.push(format!(
                        "{shown}:{number}: {} names {target} (`{}`)",
                        layer(module),
                        line.trim()
                    ));
                }
                if target != module && !is_ancestor(target, module) && !test_only(target) && layer(target) != "testing"
                {
                    edges
                        .entry(module.clone())
                        .or_default()
                        .entry(target.clone())
                        .or_insert_with(|| format!("{shown}:{number}: `{}`", line.trim()));
                }
            }
            for name in &external {
                if crates_out.contains(&name.as_str()) {
                    violations.push(format!(
                        "{shown}:{number}: {} names the crate {name} (`{}`)",
                        layer(module),
                        line.trim()
                    ));
                }
            }
        }
    }
    // Circles: a module reaching itself back through the modules it names.
    for start in edges.keys() {
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, trail)) = stack.pop() {
            for next in edges
                .get(&at)
                .map(|e| e.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                if next == *start {
                    let mut lines = Vec::new();
                    let mut hops = trail.clone();
                    hops.push(next.clone());
                    for pair in hops.windows(2) {
                        lines.push(edges[&pair[0]][&pair[1]].clone());
                    }
                    violations.push(format!("circle {}: {}", hops.join(" -> "), lines.join("; ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "docs/architecture.md's import rules are broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_a_handler_naming_an_adapter() {
    let mut known = BTreeMap::new();
    for module in ["handlers::send_api", "adapters::graph", "domain::ids"] {
        known.insert(module.to_owned(), PathBuf::new());
    }
    let (internal, _) = named("handlers::send_api", "use crate::adapters::graph::GraphClient;", &known);
    assert!(internal.contains("adapters::graph"));
    assert!(forbidden("handlers").0.contains(&"adapters"));
    let (grouped, _) = named(
        "handlers::send_api",
        "use crate::{adapters::graph, domain::ids::MessageId};",
        &known,
    );
    assert!(
        grouped.contains("adapters::graph") && grouped.contains("domain::ids"),
        "{grouped:?}"
    );
    let (relative, _) = named("adapters::graph", "use super::super::domain::ids::Wamid;", &known);
    assert!(relative.contains("domain::ids"), "{relative:?}");
    let lines = code_lines("use a::b;\n#[cfg(test)]\nmod tests {\n    use crate::adapters::x;\n}\nuse c::d;\n");
    assert_eq!(lines.len(), 2, "{lines:?}");
}
