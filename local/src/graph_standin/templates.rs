//! `GET /{version}/{waba_id}/message_templates`: the WABA's message templates in Meta's shape, paged
//! as Meta pages them (`limit`, default 25; `after` = the previous page's `paging.cursors.after`;
//! `paging.next` while more remain), filtered by `name` when given.

use serde_json::{Value, json};

use super::answers::{Answer, json_answer};

/// The templates the stand-in serves (docs/local-standins.md lists them).
pub fn templates() -> Vec<Value> {
    vec![
        json!({"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
               "id": "1192339204654487", "parameter_format": "POSITIONAL", "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta."},
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}]}),
        json!({"name": "shipping_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
               "id": "1192339204654488", "parameter_format": "POSITIONAL", "components": [
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.", "example": {"body_text": [["Ayala", "#1042"]]}}]}),
        json!({"name": "shipping_update", "language": "es", "status": "APPROVED", "category": "UTILITY",
               "id": "1192339204654489", "parameter_format": "POSITIONAL", "components": [
            {"type": "BODY", "text": "Hola {{1}}, tu pedido {{2}} ya salió.", "example": {"body_text": [["Ayala", "#1042"]]}}]}),
        json!({"name": "appointment_reminder", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
               "id": "1192339204654490", "parameter_format": "POSITIONAL", "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvcG5n:ARb"]}},
            {"type": "BODY", "text": "Hi {{1}}, see you on {{2}}.", "example": {"body_text": [["Ayala", "May 1"]]}},
            {"type": "FOOTER", "text": "Reply to change it"},
            {"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": "Cancel"},
                {"type": "URL", "text": "Details", "url": "https://example.com/a/{{1}}", "example": ["https://example.com/a/42"]}]}]}),
        json!({"name": "summer_sale", "language": "en_US", "status": "PENDING", "category": "MARKETING",
               "id": "1192339204654491", "parameter_format": "POSITIONAL", "components": [
            {"type": "BODY", "text": "Our summer sale starts {{1}}!", "example": {"body_text": [["tomorrow"]]}}]}),
    ]
}

/// The page of the WABA's templates asked for; `url` is the request's own URL (without query), for `next`.
pub fn page(name: Option<&str>, limit: Option<&str>, after: Option<&str>, url: &str) -> Answer {
    let all: Vec<Value> = templates()
        .into_iter()
        .filter(|template| name.is_none_or(|name| template["name"] == name))
        .collect();
    let limit = limit
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(25)
        .min(100);
    // A cursor is the index of the page's first template, as text (Meta's are opaque strings).
    let start = after
        .and_then(|a| a.strip_prefix("c").and_then(|i| i.parse::<usize>().ok()))
        .unwrap_or(0);
    let data: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let end = start + data.len();
    let mut paging = json!({"cursors": {"before": format!("c{start}"), "after": format!("c{end}")}});
    if end < all.len() {
        let filter = name.map(|name| format!("&name={name}")).unwrap_or_default();
        paging["next"] = json!(format!("{url}?limit={limit}&after=c{end}{filter}"));
    }
    json_answer(200, &json!({"data": data, "paging": paging}))
}
