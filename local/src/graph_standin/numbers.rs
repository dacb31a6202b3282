//! A number's blocklist and its calling settings, and the app's webhook fields, as Meta plays them:
//! `POST`/`DELETE`/`GET /{version}/{phone-number-id}/block_users`, `GET`/`POST
//! /{version}/{phone-number-id}/settings`, `GET /{version}/{app-id}/subscriptions` (an app token).
//! Every block, unblock and settings change is kept in the request log
//! (`/_standin/block-requests`, `/_standin/settings-requests`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use hyper::Method;
use serde_json::{Map, Value, json};

use super::answers::{Answer, GraphError, invalid, json_answer, success};

/// Users whose digits start with this did not write in the last 24 hours: Meta refuses to block them
/// (131047), as it refuses sends to them (`9991310470`, the send route's re-engagement recipient).
pub const NOT_WRITTEN_PREFIX: &str = "9991310470";
/// Meta's bound on the users of one block or unblock.
pub const MAX_USERS_PER_REQUEST: usize = 1000;
/// Entries of one blocklist page when `limit` is not given.
const DEFAULT_PAGE: usize = 100;

/// The blocklists and calling settings of every number, and the log of their changes.
#[derive(Default)]
pub struct Numbers {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// (phone number id, user).
    blocked: BTreeSet<(String, String)>,
    /// phone number id → its `calling` object.
    calling: HashMap<String, Map<String, Value>>,
    /// `{"phone_number_id", "method", "users"}` of every block and unblock.
    block_requests: Vec<Value>,
    /// `{"phone_number_id", "calling"}` of every settings change taken.
    settings_requests: Vec<Value>,
}

/// A number's calling settings before any change: calling is not enabled by default.
fn default_calling() -> Map<String, Value> {
    let Value::Object(calling) = json!({
        "status": "DISABLED",
        "call_icon_visibility": "DEFAULT",
        "callback_permission_status": "DISABLED",
        "sip": {"status": "DISABLED"}
    }) else {
        return Map::new();
    };
    calling
}

impl Numbers {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn block_requests_json(&self) -> Value {
        Value::Array(self.lock().block_requests.clone())
    }

    pub fn settings_requests_json(&self) -> Value {
        Value::Array(self.lock().settings_requests.clone())
    }

    /// `block_users`. `business`: the number's own digits (it cannot block itself); `page_url`: this
    /// request's URL without its query (a page's `paging.next`); `query`: its `limit` and `after`.
    pub fn block_users(
        &self,
        method: &Method,
        phone_number_id: &str,
        body: &Value,
        business: &str,
        page_url: &str,
        query: &[(String, String)],
    ) -> Answer {
        if method == Method::GET {
            return self.blocklist_page(phone_number_id, page_url, query);
        }
        if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
            return invalid("messaging_product must be \"whatsapp\"").answer();
        }
        let users: Vec<&str> = match body.get("block_users").and_then(Value::as_array) {
            Some(users) if !users.is_empty() => users
                .iter()
                .map(|entry| entry.get("user").and_then(Value::as_str).unwrap_or_default())
                .collect(),
            _ => return invalid("block_users must be a non-empty array of {\"user\": …}").answer(),
        };
        if users.iter().any(|user| user.trim().is_empty()) {
            return invalid("every block_users entry needs a user").answer();
        }
        if users.len() > MAX_USERS_PER_REQUEST {
            return GraphError::new(
                400,
                130429,
                "Rate limit hit",
                format!("at most {MAX_USERS_PER_REQUEST} users per request"),
            )
            .answer();
        }
        let block = method == Method::POST;
        let mut state = self.lock();
        state.block_requests.push(json!({
            "phone_number_id": phone_number_id, "method": method.as_str(), "users": users,
        }));
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for input in users {
            let wa_id = id_of(input);
            let refusal = if !block {
                None
            } else if wa_id.starts_with(NOT_WRITTEN_PREFIX) {
                Some((
                    131047,
                    "Re-engagement required",
                    "User has not messaged in the last 24 hours",
                ))
            } else if wa_id == business {
                Some((131021, "Self Block", "Failed to block self phone number"))
            } else {
                None
            };
            match refusal {
                Some((code, message, details)) => failed.push(json!({
                    "input": input, "wa_id": wa_id,
                    "errors": [{"message": message, "code": code, "error_data": {"details": details}}],
                })),
                None => {
                    let key = (phone_number_id.to_owned(), wa_id.clone());
                    if block {
                        state.blocked.insert(key);
                    } else {
                        state.blocked.remove(&key);
                    }
                    done.push(json!({"input": input, "wa_id": wa_id}));
                }
            }
        }
        let list = if block { "added_users" } else { "removed_users" };
        tracing::info!(phone_number_id, method = %method, done = done.len(), failed = failed.len(), "graph stand-in: block_users");
        if failed.is_empty() {
            return json_answer(
                200,
                &json!({"messaging_product": "whatsapp", "block_users": {list: done}}),
            );
        }
        json_answer(
            400,
            &json!({
                "messaging_product": "whatsapp",
                "block_users": {list: done, "failed_users": failed},
                "error": {
                    "message": "(#139100) Failed to block/unblock users", "type": "OAuthException", "code": 139100,
                    "error_data": {"details": "Failed to block some users, see the block_users response list for details"},
                    "fbtrace_id": super::ids::fbtrace_id(),
                }
            }),
        )
    }

    /// One page of the blocklist: `data[]` (`wa_id`, or `user_id` for a business-scoped user id),
    /// `paging.cursors`, and `paging.next` while more remain.
    fn blocklist_page(&self, phone_number_id: &str, page_url: &str, query: &[(String, String)]) -> Answer {
        let param = |name: &str| {
            query
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let limit = match param("limit").map(str::parse::<usize>) {
            None => DEFAULT_PAGE,
            Some(Ok(limit)) if (1..=MAX_USERS_PER_REQUEST).contains(&limit) => limit,
            Some(_) => return invalid(format!("limit must be 1 to {MAX_USERS_PER_REQUEST}")).answer(),
        };
        let start = match param("after").map(str::parse::<usize>) {
            None => 0,
            Some(Ok(after)) => after,
            Some(Err(_)) => return invalid("after is not a cursor of this list").answer(),
        };
        let state = self.lock();
        let listed: Vec<&String> = state
            .blocked
            .iter()
            .filter(|(number, _)| number == phone_number_id)
            .map(|(_, user)| user)
            .collect();
        let data: Vec<Value> = listed
            .iter()
            .skip(start)
            .take(limit)
            .map(|user| {
                let field = if user.chars().any(|c| c.is_ascii_alphabetic()) {
                    "user_id"
                } else {
                    "wa_id"
                };
                json!({"messaging_product": "whatsapp", field: user})
            })
            .collect();
        let end = start + data.len();
        let mut paging = json!({"cursors": {"before": start.to_string(), "after": end.to_string()}});
        if end < listed.len() {
            paging["next"] = Value::from(format!("{page_url}?limit={limit}&after={end}"));
        }
        json_answer(200, &json!({"data": data, "paging": paging}))
    }

    /// `GET`/`POST /{version}/{phone-number-id}/settings`: the `calling` object; a change replaces the
    /// fields it names (`call_hours` whole), after Meta's checks (400 code 100 naming the field).
    pub fn settings(&self, method: &Method, phone_number_id: &str, body: &Value) -> Answer {
        let mut state = self.lock();
        if method == Method::GET {
            let calling = state
                .calling
                .get(phone_number_id)
                .cloned()
                .unwrap_or_else(default_calling);
            return json_answer(200, &json!({"calling": calling}));
        }
        let Some(change) = body.get("calling").and_then(Value::as_object) else {
            return invalid("calling is required (an object)").answer();
        };
        if let Err(problem) = check_calling(change) {
            return invalid(problem).answer();
        }
        let calling = state
            .calling
            .entry(phone_number_id.to_owned())
            .or_insert_with(default_calling);
        for (key, value) in change {
            calling.insert(key.clone(), value.clone());
        }
        state
            .settings_requests
            .push(json!({"phone_number_id": phone_number_id, "calling": change}));
        tracing::info!(phone_number_id, "graph stand-in: calling settings changed");
        success()
    }
}

/// A user's digits as Meta writes its `wa_id` (a business-scoped user id as it is).
fn id_of(input: &str) -> String {
    if input.chars().any(|c| c.is_ascii_alphabetic()) {
        return input.to_owned();
    }
    input.chars().filter(char::is_ascii_digit).collect()
}

const DAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// Meta's checks of a `calling` change.
fn check_calling(calling: &Map<String, Value>) -> Result<(), String> {
    let one_of = |name: &str, value: Option<&Value>, allowed: &[&str]| match value {
        None => Ok(()),
        Some(Value::String(text)) if allowed.contains(&text.as_str()) => Ok(()),
        Some(_) => Err(format!("{name} must be one of {}", allowed.join(", "))),
    };
    one_of("calling.status", calling.get("status"), &["ENABLED", "DISABLED"])?;
    one_of(
        "calling.call_icon_visibility",
        calling.get("call_icon_visibility"),
        &["DEFAULT", "DISABLE_ALL"],
    )?;
    one_of(
        "calling.callback_permission_status",
        calling.get("callback_permission_status"),
        &["ENABLED", "DISABLED"],
    )?;
    let Some(hours) = calling.get("call_hours") else {
        return Ok(());
    };
    one_of(
        "calling.call_hours.status",
        hours.get("status"),
        &["ENABLED", "DISABLED"],
    )?;
    if hours.get("status").and_then(Value::as_str) != Some("ENABLED") {
        return Ok(());
    }
    if hours
        .get("timezone_id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("calling.call_hours.timezone_id is required when call_hours is ENABLED".to_owned());
    }
    let weekly = hours
        .get("weekly_operating_hours")
        .and_then(Value::as_array)
        .filter(|weekly| !weekly.is_empty())
        .ok_or("calling.call_hours.weekly_operating_hours is required when call_hours is ENABLED")?;
    for entry in weekly {
        let text = |name: &str| entry.get(name).and_then(Value::as_str).unwrap_or_default();
        if !DAYS.contains(&text("day_of_week")) {
            return Err("calling.call_hours.weekly_operating_hours[].day_of_week must be MONDAY … SUNDAY".to_owned());
        }
        let (open, close) = (text("open_time"), text("close_time"));
        let hhmm = |time: &str| {
            time.len() == 4 && time.bytes().all(|b| b.is_ascii_digit()) && time[..2] < *"24" && time[2..] < *"60"
        };
        if !hhmm(open) || !hhmm(close) || open >= close {
            return Err(
                "calling.call_hours.weekly_operating_hours[]: open_time and close_time are HHMM, open before close"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// `GET /{version}/{app-id}/subscriptions` with the app's token (`{app-id}|{app-secret}`): the
/// `whatsapp_business_account` object's callback and fields. Another token: Meta's code 15.
pub fn app_subscriptions(
    presented: Option<&str>,
    app_id: &str,
    app_secret: &str,
    callback: &str,
    fields: &[String],
) -> Answer {
    let app_token = format!("{app_id}|{app_secret}");
    if !presented.is_some_and(|presented| bridge::domain::verify_token::tokens_equal(&app_token, presented)) {
        return GraphError::new(
            400,
            15,
            "This method must be called with an app access_token.",
            "use the app's token: {app-id}|{app-secret}",
        )
        .answer();
    }
    let fields: Vec<Value> = fields
        .iter()
        .map(|name| json!({"name": name, "version": bridge::config::DEFAULT_GRAPH_API_VERSION}))
        .collect();
    json_answer(
        200,
        &json!({"data": [{"object": "whatsapp_business_account", "callback_url": callback, "active": true, "fields": fields}]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(answer: Answer) -> (u16, Value) {
        use http_body_util::BodyExt;
        let status = answer.status().as_u16();
        let bytes = futures_executor(answer.into_body().collect())
            .map(http_body_util::Collected::to_bytes)
            .unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    fn block(numbers: &Numbers, method: Method, users: &[&str]) -> (u16, Value) {
        let users: Vec<Value> = users.iter().map(|user| json!({"user": user})).collect();
        let request = json!({"messaging_product": "whatsapp", "block_users": users});
        let query = Vec::new();
        body(numbers.block_users(
            &method,
            "1",
            &request,
            "15550783881",
            "http://g/v26.0/1/block_users",
            &query,
        ))
    }

    fn page(numbers: &Numbers, query: &[(&str, &str)]) -> (u16, Value) {
        let query: Vec<(String, String)> = query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        body(numbers.block_users(
            &Method::GET,
            "1",
            &Value::Null,
            "15550783881",
            "http://g/v26.0/1/block_users",
            &query,
        ))
    }

    #[test]
    fn block_list_and_unblock_with_meta_s_refusals() {
        let numbers = Numbers::default();
        let (status, answer) = block(&numbers, Method::POST, &["+1 555 000 1111", "US.1349"]);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["block_users"]["added_users"][0],
            json!({"input": "+1 555 000 1111", "wa_id": "15550001111"})
        );
        let (status, answer) = block(
            &numbers,
            Method::POST,
            &["99913104700001", "15550783881", "15550002222"],
        );
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["code"], 139100);
        assert_eq!(answer["block_users"]["failed_users"][0]["errors"][0]["code"], 131047);
        assert_eq!(answer["block_users"]["failed_users"][1]["errors"][0]["code"], 131021);
        assert_eq!(answer["block_users"]["added_users"][0]["wa_id"], "15550002222");
        let (_, listed) = page(&numbers, &[("limit", "2")]);
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(listed["paging"]["next"], "http://g/v26.0/1/block_users?limit=2&after=2");
        let (_, rest) = page(&numbers, &[("limit", "2"), ("after", "2")]);
        assert_eq!(
            rest["data"],
            json!([{"messaging_product": "whatsapp", "user_id": "US.1349"}])
        );
        assert!(rest["paging"].get("next").is_none());
        let (status, answer) = block(&numbers, Method::DELETE, &["15550001111"]);
        assert_eq!(
            (status, &answer["block_users"]["removed_users"][0]["wa_id"]),
            (200, &json!("15550001111"))
        );
        let (_, all) = page(&numbers, &[]);
        assert_eq!(all["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(numbers.block_requests_json().as_array().map(Vec::len), Some(3));
        let (status, _) = page(&numbers, &[("limit", "0")]);
        assert_eq!(status, 400);
        let too_many: Vec<String> = (0..=MAX_USERS_PER_REQUEST).map(|n| format!("1555{n:07}")).collect();
        let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
        let (status, answer) = block(&numbers, Method::POST, &too_many);
        assert_eq!((status, &answer["error"]["code"]), (400, &json!(130429)));
        let (status, _) = body(numbers.block_users(&Method::POST, "1", &json!({"block_users": []}), "", "", &[]));
        assert_eq!(status, 400);
    }

    #[test]
    fn calling_settings_start_disabled_and_change_as_meta_checks() {
        let numbers = Numbers::default();
        let (_, settings) = body(numbers.settings(&Method::GET, "1", &Value::Null));
        assert_eq!(settings["calling"]["status"], "DISABLED");
        let change = json!({"calling": {"status": "ENABLED", "callback_permission_status": "ENABLED",
            "call_hours": {"status": "ENABLED", "timezone_id": "Europe/Lisbon",
                "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "0900", "close_time": "1700"}]}}});
        assert_eq!(body(numbers.settings(&Method::POST, "1", &change)).0, 200);
        let (_, settings) = body(numbers.settings(&Method::GET, "1", &Value::Null));
        assert_eq!(settings["calling"]["status"], "ENABLED");
        assert_eq!(settings["calling"]["call_hours"]["timezone_id"], "Europe/Lisbon");
        assert_eq!(settings["calling"]["sip"]["status"], "DISABLED");
        for bad in [
            json!({}),
            json!({"calling": {"status": "ON"}}),
            json!({"calling": {"call_hours": {"status": "ENABLED", "weekly_operating_hours": []}}}),
            json!({"calling": {"call_hours": {"status": "ENABLED", "timezone_id": "UTC",
                "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "1700", "close_time": "0900"}]}}}),
        ] {
            let (status, answer) = body(numbers.settings(&Method::POST, "1", &bad));
            assert_eq!((status, &answer["error"]["code"]), (400, &json!(100)), "{bad}");
        }
        assert_eq!(numbers.settings_requests_json().as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn app_subscriptions_need_the_app_token() {
        let fields = vec!["messages".to_owned()];
        let (status, answer) = body(app_subscriptions(Some("1|s"), "1", "s", "http://cb", &fields));
        assert_eq!(status, 200);
        assert_eq!(answer["data"][0]["fields"][0]["name"], "messages");
        let (status, answer) = body(app_subscriptions(Some("user-token"), "1", "s", "http://cb", &fields));
        assert_eq!((status, &answer["error"]["code"]), (400, &json!(15)));
    }
}
