//! What the commands print for a person (without `--json`): each command's result on stdout, the
//! problems beside it on stderr. Under `--json` none of this is printed; the envelope is.

use serde_json::Value;
use whatsapp_bridge_cli::doctor::Check;
use whatsapp_bridge_cli::onboarding::OnboardReport;
use whatsapp_bridge_cli::redrive::RedriveReport;
use whatsapp_bridge_cli::webhook_signing::{Answer, SignedRequest};

/// `onboard`: one line per step, then the registered number.
pub fn onboard_report(report: &OnboardReport) {
    for step in &report.steps {
        println!("{:<13} {:<8} {}", step.step, step.outcome, step.detail);
    }
    println!(
        "{} ({}) is registered with the WhatsApp Cloud API.",
        report.number, report.phone_number_id
    );
}

/// `send`, `status`: a message's view (id, wamid, recipient, status, Meta's errors).
pub fn status(view: &Value) {
    let field = |n: &str| view.get(n).and_then(Value::as_str).unwrap_or("-").to_owned();
    println!(
        "id      {}\nwamid   {}\nto      {}\nstatus  {}",
        field("id"),
        field("wamid"),
        field("to"),
        field("status")
    );
    if let Some(errors) = view.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
        for error in errors {
            println!("error   {}", error);
        }
    }
}

/// `history`: one conversation entry on one line: time, direction, type, status, what it says, its media link.
pub fn history_entry(entry: &Value) {
    let field = |n: &str| entry.get(n).and_then(Value::as_str).unwrap_or("-").to_owned();
    let arrow = if field("direction") == "inbound" { "<-" } else { "->" };
    let content = entry.get("content").cloned().unwrap_or(Value::Null);
    let said = ["body", "caption", "reply_title", "emoji", "name", "filename"]
        .iter()
        .find_map(|name| content.get(*name).and_then(Value::as_str))
        .unwrap_or("");
    let link = entry
        .pointer("/media/url")
        .and_then(Value::as_str)
        .map(|url| format!("  {url}"))
        .unwrap_or_default();
    println!(
        "{}  {arrow} {:<11} {:<10} {said}{link}",
        field("timestamp"),
        field("type"),
        field("status")
    );
}

/// `webhook --print`: the signed request as it would be sent.
pub fn webhook_request(request: &SignedRequest) {
    println!("POST {}", request.url);
    for (name, value) in &request.headers {
        println!("{name}: {value}");
    }
    println!("\n{}", String::from_utf8_lossy(&request.body));
}

/// `webhook`: where it went and what came back.
pub fn webhook_answer(request: &SignedRequest, answer: &Answer) {
    println!("POST {} → HTTP {}\n{}", request.url, answer.status, answer.body);
}

/// `redrive`: one line per dead letter, what was moved, and what was not (on stderr).
pub fn redrive_report(report: &RedriveReport, dlq_url: &str, queue_url: &str) {
    for message in &report.messages {
        println!(
            "{}  receives {}  {} bytes  {}  {}",
            message.message_id,
            message.receive_count.as_deref().unwrap_or("?"),
            message.bytes,
            message.kind.as_deref().unwrap_or("-"),
            message.preview
        );
    }
    if report.dry_run {
        println!(
            "{} message(s) in {dlq_url}; nothing moved (dry run)",
            report.messages.len()
        );
    } else {
        println!("moved {} message(s) from {dlq_url} to {queue_url}", report.moved);
    }
    for failure in &report.failed {
        eprintln!("not moved: {failure}");
    }
}

/// `doctor`: a table of the checks, each failed one followed by its fix.
pub fn doctor_checks(checks: &[Check]) {
    println!("{:<22} {:<6} DETAIL", "CHECK", "RESULT");
    for check in checks {
        println!("{:<22} {:<6} {}", check.name, check.outcome.as_str(), check.detail);
        if let Some(fix) = &check.fix {
            println!("{:<22} {:<6} fix: {fix}", "", "");
        }
    }
}

/// `templates list`: the table; `templates show`: Meta's objects as they are.
pub fn templates(found: &[Value], show: bool) {
    if show {
        println!("{}", serde_json::to_string_pretty(found).unwrap_or_default());
    } else {
        print!("{}", whatsapp_bridge_cli::templates::table(found));
    }
}
