//! A local HTTP stand-in for the send endpoint of Meta's WhatsApp Cloud API (Graph API).
//!
//! It answers `POST /{version}/{phone_number_id}/messages` the way Meta does (same answer and error shapes),
//! records every send request, and — for accepted messages — posts signed status webhooks (`sent`,
//! `delivered`, `read`) to a configured receiver, like Meta's webhook delivery.
//!
//! # Routes
//!
//! | method and path | answer |
//! | --- | --- |
//! | `POST /{version}/{phone_number_id}/messages` (`version` = `v` + digits and dots, e.g. `v21.0`) | the send endpoint |
//! | `GET /_standin/requests` | JSON array of every send request received so far, in order (see [`RecordedRequest`]) |
//! | `POST /_standin/reset` | forgets the requests received so far: `{"success":true}` |
//! | `POST /_standin/access-token/expire` | the accepted token now gets `401` code 190 on every route, as an expired one: `{"success":true}` |
//! | `POST /_standin/access-token` `{"token":"…"}` | that token is accepted from now on (and not expired): `{"success":true}`; no non-empty `token`: `400` code 100 |
//! | `GET /_standin/access-token` | `{"expired":bool}` (never the token) |
//! | `POST /_standin/echo` `{"phone_number_id","to","text"}` | as the owner typing `text` to `to` in the WhatsApp Business app: a signed `smb_message_echoes` webhook to the receiver, then its `sent`, `delivered`, `read` statuses; `{"success":true,"wamid":"…"}` once the receiver took the echo (`502` if it did not) |
//! | `POST /{version}/{phone_number_id}/smb_app_data` `{"messaging_product":"whatsapp","sync_type":"smb_app_state_sync"\|"history"}` | `{"success":true}`, then the synced data as a signed webhook: one address-book contact (`smb_app_state_sync`), or one history chunk (`history`, progress 100) with the demo customer `14155550123` |
//! | `POST /{version}/{phone_number_id}/calls` `{"messaging_product":"whatsapp","call_id","action"}` | Meta's Calling API: `{"success":true}` for `pre_accept`, `accept`, `reject`, `terminate`, logged with the call id |
//! | `GET /_standin/call-actions` | JSON array of every call action: `{"phone_number_id", "call_id", "action"}` |
//! | `POST /_standin/call` `{"phone_number_id","from"}` | a signed `calls` webhook: a user-initiated call from `from`, ringing (`connect`); `{"success":true,"call_id":"wacid.…"}` |
//! | `GET /_standin/smb-app-data-requests` | JSON array of every `smb_app_data` request: `{"phone_number_id", "sync_type"}` |
//! | `POST /_standin/history` `{"phone_number_id","contact","progress"?}` | a signed `history` chunk with that customer (a message from them and the business's answer, ids derived from the contact: the same call twice is the same chunk); `{"success":true,"wamids":[…]}` |
//! | `POST /_standin/state-sync` `{"phone_number_id","contact","name"?,"action"?}` | a signed `smb_app_state_sync` change: `add` (default, with `name`) or `remove` |
//! | `POST /_standin/inbound` `{"phone_number_id","from"?,"user_id"?,"username"?,"name"?,"text"?}` | a signed `messages` webhook: a customer writes `text`; with `user_id` and no `from`, a username-only sender (`contacts[].user_id`, `profile.username`, `messages[].from_user_id`, no `wa_id`); `{"success":true,"wamid":"…"}` |
//! | `POST`/`DELETE /{version}/{phone_number_id}/block_users` `{"messaging_product":"whatsapp","block_users":[{"user"}]}` | Meta's Block Users API: `block_users.added_users`/`removed_users` (`input`, `wa_id`); a user whose digits start with [`NOT_WRITTEN_PREFIX`] (not written in 24 h: 131047) or the number's own (131021) is in `failed_users`, and the answer is `400` code 139100; more than [`MAX_USERS_PER_REQUEST`] users: `400` code 130429 |
//! | `GET /{version}/{phone_number_id}/block_users?limit=&after=` | the blocklist: `data[]` (`wa_id`, or `user_id`), `paging.cursors`, `paging.next` while more remain |
//! | `GET /_standin/block-requests` | JSON array of every block and unblock: `{"phone_number_id", "method", "users"}` |
//! | `GET`/`POST /{version}/{phone_number_id}/settings` | the number's `calling` settings (`DISABLED` until changed); a `POST` `{"calling":{…}}` replaces the fields it names after Meta's checks (`400` code 100 naming the field): `{"success":true}` |
//! | `GET /_standin/settings-requests` | JSON array of every settings change taken: `{"phone_number_id", "calling"}` |
//! | `GET /{version}/{app_id}/subscriptions` (the app token `{app_id}|{app_secret}` only, else `400` code 15) | the app's `whatsapp_business_account` subscription: `callback_url`, `active`, `fields[]` ([`OnboardingConfig::webhook_fields`]) |
//! | `GET /_standin/code-requests` | JSON array of every `request_code` accepted so far, in order: `{"phone_number_id", "code_method", "language"}` |
//! | anything else | `404` with a Graph-style `GraphMethodException` error (code 100, subcode 33) |
//!
//! # Checks of a send, in this order
//!
//! 1. `Authorization: Bearer <token>` must equal the accepted token ([`StandinConfig::access_token`] until
//!    `POST /_standin/access-token` rotates it) and that token must not be expired, else `401`, code 190
//!    (`OAuthException`, `error_subcode` 463, "Error validating access token: Session has expired ...").
//! 2. The body must be valid JSON (at most 4 MiB) and a JSON object, else `400`, code 100.
//! 3. Meta-like validation, else `400` `(#100) Invalid parameter` whose `error_data.details` names the field:
//!    `messaging_product` must be `"whatsapp"`; `to` (or `recipient`; if both, `to` wins) must be a string of
//!    digits, optionally with a leading `+` and the separators space, `-`, `.`, `(`, `)`; `type` (default `text`)
//!    must be one of `text`, `template`, `image`, `document`, `audio`, `video`, `sticker`, `reaction`,
//!    `interactive`, `location`, `contacts`; the member named by `type` must be present (a JSON object, or a
//!    non-empty array for `contacts`); `text.body` must be a string of 1..=4096 characters; `template.name`
//!    and `template.language.code` must be non-empty strings; media (`image`, `document`, `audio`, `video`,
//!    `sticker`) must carry exactly one of `link` / `id`, as a non-empty string; `biz_opaque_callback_data`,
//!    when present, must be a string of at most 512 characters.
//! 4. The recipient's digits (with `+` and separators removed) select an outcome:
//!
//! | recipient digits start with | HTTP | answer |
//! | --- | --- | --- |
//! | `9991304` | 400 | code 130429 `(#130429) Rate limit hit` (throughput) |
//! | `9991310560` | 400 | code 131056 `(#131056) (Business Account, Consumer Account) pair rate limit hit` |
//! | `9991310000` | 500 | code 131000 `(#131000) Something went wrong` |
//! | `9991310260` | 400 | code 131026 `(#131026) Message Undeliverable.` |
//! | `9991310470` | 400 | code 131047 `(#131047) Re-engagement message` |
//! | `9991320000` | 400 | code 132000 `(#132000) Number of parameters does not match the expected number of params` |
//! | `9991000000` | 400 | code 100 `(#100) Invalid parameter` |
//! | `9991900000` | 401 | code 190, expired access token (as for a wrong token) |
//! | `9995000000` | 503 | empty body |
//! | `9984290` | 429, then 200 | flaky: the first send to each distinct recipient answers 429 code 130429; every later send to it succeeds |
//! | `9970` | 200 | accepted, but the status webhooks are `sent` then `failed` (error 131026 "Message undeliverable") |
//! | `9993` | 200, no body | accepted (recorded with its wamid, status webhooks as usual), but the connection closes after the status line and headers (`Content-Length` of the real answer): the client gets a body read error |
//! | `9994` | 200, late | accepted (recorded, status webhooks as usual, sent right away), answered only after [`AmbiguityTimings::slow_answer`] (`GRAPH_STANDIN_SLOW_MS`, default 12000 ms): longer than the sender's timeout |
//! | `99960` | 200 | accepted, but the first status webhook waits [`AmbiguityTimings::late_statuses`] (`GRAPH_STANDIN_STATUS_DELAY_MS`, default 5000 ms) |
//! | `9992504` | 504 | accepted (recorded with its wamid, status webhooks as usual), then answered `504` with an empty body, as Meta's edge timing out after the request went in |
//! | `9992131000` | 500 | accepted (recorded with its wamid, status webhooks as usual), then answered `500` code 131000 `(#131000) Something went wrong` |
//! | anything else | 200 | accepted; status webhooks `sent`, `delivered`, `read` |
//!
//! Every error body except the empty 503 and 504 ones is
//! `{"error":{"message":..,"type":"OAuthException","code":..,"error_data":{"messaging_product":"whatsapp","details":..},"fbtrace_id":..}}`
//! (the 401 has `error_subcode` 463 and no `error_data`). Every answer of the send route, error or not, comes
//! after [`StandinConfig::latency`].
//!
//! A mark-as-read call (`{"messaging_product":"whatsapp","status":"read","message_id":..}`) is answered
//! `200 {"success":true}`; with Meta's typing indicator (`"typing_indicator":{"type":"text"}`) too, and with
//! another `typing_indicator` `400` code 100.
//!
//! # Success and status webhooks
//!
//! A success is `200 {"messaging_product":"whatsapp","contacts":[{"input":<to as sent>,"wa_id":<digits>}],
//! "messages":[{"id":"wamid.<base64>","message_status":"accepted"}]}`; wamids are unique within the process.
//!
//! If [`StandinConfig::send_status_webhooks`] is set, a spawned task then POSTs one webhook per status to
//! [`StandinConfig::webhook_url`] (plain `http://` only), one after another, [`StandinConfig::status_delay`]
//! apart (the first one right away, so — as with Meta — the `sent` webhook may reach the receiver before the
//! send's answer reaches the sender). Each body is a complete `whatsapp_business_account` webhook with
//! one entry (id [`WABA_ID`]), one change (`field` `messages`) and one status; `sent` and `delivered` carry
//! `conversation` (origin `service`) and `pricing` (`PMP`, category `service`), `read` carries neither, `failed`
//! carries `errors`; every status carries the send's `biz_opaque_callback_data` when it had one. The body is serialized the way Meta does it: compact, non-ASCII characters as `\uXXXX` and
//! `/` as `\/`, so a receiver that re-serializes the JSON before checking the signature fails, as it would in
//! production. Headers: `Content-Type: application/json` and
//! `X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256(app_secret, exact body bytes)>`.
//! A webhook POST answered with anything but 200, or failing, is retried up to 4 times (backoff 100 ms,
//! doubling; 5 s timeout per try), then logged and dropped; later statuses of that message are still sent.
//!
//! # Number onboarding and the doctor's reads
//!
//! With an [`OnboardingConfig`] ([`Standin::with_onboarding`]) the stand-in also serves, Meta's shapes and
//! error format, for any phone number id (each one's state kept in memory):
//!
//! | method and path | answer |
//! | --- | --- |
//! | `POST /{version}/{phone_number_id}/request_code` (`code_method` `SMS`/`VOICE`, `language`) | `{"success":true}`; with `VOICE` a new 6-digit code is read aloud, in `language`, by a call from Meta's robot to [`OnboardingConfig::display_phone_number`], placed through the attached Twilio stand-in ([`crate::twilio_standin::TwilioStandin::call`]) after [`OnboardingConfig::call_delay`]. `language` missing, or not one of Meta's supported locales ([`REQUEST_CODE_LANGUAGES`]: `en_US`, `pt_BR`, `es`, `es_MX`, …; `pt-BR` is not one): `400` code 100. Already verified: `400` code 136024 (Request code error); more than [`OnboardingConfig::max_code_requests`] requests: `400` code 136024, rate limited |
//! | `POST /{version}/{phone_number_id}/verify_code` (`code`) | `{"success":true}` for the last code requested; anything else `400` code 136025 (Verify code error) |
//! | `POST /{version}/{phone_number_id}/register` (`messaging_product`=`whatsapp`, 6-digit `pin`) | `{"success":true}` (again with the same PIN); not verified: `400` code 133006 (re-verification needed); another PIN than the registered one: `400` code 133005 (PIN mismatch) |
//! | `GET /{version}/{phone_number_id}?fields=…` | `id`, `display_phone_number`, `verified_name`, `quality_rating`, `code_verification_status` (`NOT_VERIFIED`/`VERIFIED`), `name_status`, `platform_type` (`NOT_APPLICABLE`, `CLOUD_API` once registered), `status` (`PENDING`, `CONNECTED` once registered), `throughput` (`level`: [`OnboardingConfig::throughput_level`]), `whatsapp_business_manager_messaging_limit` ([`OnboardingConfig::messaging_limit`]): the fields asked for, all without `fields` |
//! | `GET /{version}/debug_token?input_token=…` | `{"data":{app_id, type, application, expires_at, data_access_expires_at, is_valid, issued_at, scopes, granular_scopes, user_id}}`; another token than the configured one: `is_valid` false with `data.error` code 190 |
//! | `GET /{version}/{waba_id}/subscribed_apps` | `{"data":[{"whatsapp_business_api_data":{id, link, name}}]}`, or `{"data":[]}` when [`OnboardingConfig::subscribed`] is false |
//!
//! Parameters are read from the query string, a JSON body or a form body, as the Graph API does. Every one of
//! these routes needs the access token (`Authorization: Bearer` or `access_token=`), else `401` code 190.
//! [`OnboardingConfig::spoken_code`] can make the robot read a wrong code (a misheard call).
//!
//! # Media
//!
//! Meta's media endpoints, same shapes and error format; every one needs the access token (`Authorization:
//! Bearer`, or `access_token=` on the Graph routes; the download URL takes the bearer header only), else `401`
//! code 190. Uploaded files stream to a temporary directory (removed with the stand-in), not into memory.
//!
//! | method and path | answer |
//! | --- | --- |
//! | `POST /{version}/{phone_number_id}/media` (`multipart/form-data`: `messaging_product`=`whatsapp`, `type` = the MIME type, `file`) | `{"id":"77…"}` (16 digits starting with [`MEDIA_ID_PREFIX`]); a missing part or not multipart: `400` code 100 naming it; a type Meta does not take or a file over its limit (image 5 MB, video/audio 16 MB, document 100 MB, `image/webp` 500 KB) or empty: `400` code 131053 |
//! | `GET /{version}/{media_id}` (optional `phone_number_id=` must be the uploader) | `{"messaging_product":"whatsapp","url":…,"mime_type":…,"sha256":<hex>,"file_size":<bytes>,"id":…}`; the `url` (`http://<Host>/whatsapp_business/attachments/?mid=…&ext=…&hash=…`) is valid 5 minutes |
//! | `GET /whatsapp_business/attachments/?mid=…` (the `url`) | the bytes, streamed, with the upload's `Content-Type` and `Content-Length`; unknown, deleted or expired: `404` |
//! | `DELETE /{version}/{media_id}` (optional `phone_number_id=`) | `{"success":true}` |
//!
//! An unknown (or deleted) media id — any id of the media shape that was not uploaded, so a webhook's
//! made-up `77…` id is refused — answers `400` code 100, subcode 33, `GraphMethodException` ("Unsupported get
//! request. Object with ID '…' does not exist…"), as the Graph API does for an object it cannot load. Other
//! `GET /{version}/{id}` reads remain the phone number's.
//!
//! # Recording
//!
//! Every request to the send route is recorded, whatever its answer (including 401s and malformed
//! bodies): the parsed JSON body, or — when the body is not valid JSON — the body as a JSON string
//! (lossy UTF-8), or `null` when it could not be read (too large, connection error). Each entry of
//! `GET /_standin/requests` also names the `recipient` (`to`, else `recipient`, as sent), whether the message
//! was `accepted` (it got a wamid: count these to count accepted sends, `9993`/`9994` included), and its
//! `biz_opaque_callback_data` (`null` when absent).

mod answers;
mod coexistence;
mod ids;
mod media;
mod messages;
mod numbers;
mod onboarding;
mod status_webhooks;
mod templates;
mod validation;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bridge::domain::verify_token::tokens_equal;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request};
use serde_json::Value;
use tokio::net::TcpListener;

use answers::{
    Answer, MAX_BODY_BYTES, bearer_token, expired_token, invalid, is_version, json_answer, not_found, obj, success,
};
use coexistence::{Calls, Coexistence};
pub use ids::WABA_ID;
pub use media::MEDIA_ID_PREFIX;
use media::{Media, MediaRoute};
use messages::Messages;
pub use messages::{AmbiguityTimings, RecordedRequest};
use numbers::Numbers;
pub use numbers::{MAX_USERS_PER_REQUEST, NOT_WRITTEN_PREFIX};
pub use onboarding::{CodeRequest, OnboardingConfig, REQUEST_CODE_LANGUAGES, SpokenCode};
use onboarding::{Onboarding, Params, Route};
use status_webhooks::StatusWebhooks;

/// Configuration of a [`Standin`].
#[derive(Debug, Clone)]
pub struct StandinConfig {
    /// Expected Bearer token.
    pub access_token: String,
    /// Signs the status webhooks (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Where status webhooks are POSTed, e.g. `http://127.0.0.1:3000/webhooks/whatsapp` (plain http only).
    pub webhook_url: String,
    /// `metadata.display_phone_number` of the webhooks, e.g. `15550783881`.
    pub phone_number_id_display: String,
    /// Simulated latency before answering each send.
    pub latency: Duration,
    /// Delay between the status webhooks of one message (zero: as fast as possible).
    pub status_delay: Duration,
    /// Whether accepted messages get status webhooks.
    pub send_status_webhooks: bool,
}

/// The access token every route accepts (`/_standin/access-token` changes it).
struct AccessToken {
    accepted: String,
    expired: bool,
}

/// The stand-in server; share it as `Arc<Standin>`.
pub struct Standin {
    token: Mutex<AccessToken>,
    messages: Messages,
    onboarding: Onboarding,
    media: Media,
    coexistence: Coexistence,
    calls: Calls,
    numbers: Numbers,
    /// The app's secret (its app token is `{app-id}|{app-secret}`) and its webhook's callback URL.
    app_secret: String,
    webhook_url: String,
}

impl Standin {
    /// Builds a stand-in; serve it with [`Standin::serve`].
    pub fn new(config: StandinConfig) -> Arc<Self> {
        Self::with_onboarding(config, OnboardingConfig::default())
    }

    /// A stand-in whose onboarding routes describe `onboarding`, with [`AmbiguityTimings::from_env`].
    pub fn with_onboarding(config: StandinConfig, onboarding: OnboardingConfig) -> Arc<Self> {
        Self::with_timings(config, onboarding, AmbiguityTimings::from_env())
    }

    /// A stand-in with explicit [`AmbiguityTimings`] (tests: short ones, without touching the environment).
    pub fn with_timings(config: StandinConfig, onboarding: OnboardingConfig, timings: AmbiguityTimings) -> Arc<Self> {
        let (app_secret, webhook_url) = (config.app_secret.clone(), config.webhook_url.clone());
        let webhooks = StatusWebhooks::new(
            &config.app_secret,
            &config.webhook_url,
            &config.phone_number_id_display,
            config.status_delay,
            config.send_status_webhooks,
        );
        Arc::new(Self {
            token: Mutex::new(AccessToken {
                accepted: config.access_token,
                expired: false,
            }),
            messages: Messages::new(config.latency, timings, webhooks),
            onboarding: Onboarding::new(onboarding),
            media: Media::new(),
            coexistence: Coexistence::default(),
            calls: Calls::default(),
            numbers: Numbers::default(),
            app_secret,
            webhook_url,
        })
    }

    /// Accepts connections forever, one spawned HTTP/1 connection task per accepted socket.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        crate::http_server::serve(listener, "graph stand-in", move |request| {
            let me = Arc::clone(&self);
            async move { messages::to_wire(me.handle(request).await) }
        })
        .await
    }

    /// Every send request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.messages.requests()
    }

    /// When each of [`Self::requests`] arrived, in the same order.
    pub fn arrivals(&self) -> Vec<std::time::Instant> {
        self.messages.arrivals()
    }

    /// The `name` filter of every `message_templates` page served so far (`None`: all), in order.
    pub fn template_reads(&self) -> Vec<Option<String>> {
        self.onboarding.template_reads()
    }

    /// Every `request_code` accepted so far, in order (its language included).
    pub fn code_requests(&self) -> Vec<CodeRequest> {
        self.onboarding.code_requests()
    }

    fn token(&self) -> MutexGuard<'_, AccessToken> {
        // A poisoned lock only means another task panicked mid-update; the data is still usable.
        self.token.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `presented` is the accepted access token and it has not been expired.
    fn token_accepted(&self, presented: Option<&str>) -> bool {
        let token = self.token();
        !token.expired && presented.is_some_and(|presented| tokens_equal(&token.accepted, presented))
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Answer {
        let path = req.uri().path().to_owned();
        let trimmed = path.strip_prefix('/').unwrap_or(&path);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let segments: Vec<&str> = trimmed.split('/').collect();
        if let ["_standin", control @ ..] = segments.as_slice() {
            let (method, control) = (req.method().clone(), control.join("/"));
            return self
                .control(req, &control)
                .await
                .unwrap_or_else(|| not_found(&method, &path));
        }
        if let [version, phone_number_id, "messages"] = segments.as_slice()
            && is_version(version)
            && !phone_number_id.is_empty()
            && req.method() == Method::POST
        {
            let (version, phone_number_id) = ((*version).to_owned(), (*phone_number_id).to_owned());
            let presented = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(bearer_token);
            let authorized = self.token_accepted(presented);
            return self.messages.send(req, version, phone_number_id, authorized).await;
        }
        if let [version, phone_number_id, edge @ ("smb_app_data" | "calls")] = segments.as_slice()
            && is_version(version)
            && req.method() == Method::POST
        {
            let phone_number_id = (*phone_number_id).to_owned();
            let presented = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(bearer_token)
                .map(str::to_owned);
            if !self.token_accepted(presented.as_deref()) {
                return expired_token();
            }
            let body = read_json(req).await;
            if *edge == "calls" {
                return self.calls.action(&phone_number_id, &body);
            }
            return self
                .coexistence
                .request(self.messages.webhooks(), &phone_number_id, &body);
        }
        let req = match self.numbers_route(req, &segments).await {
            Ok(answer) => return answer,
            Err(req) => req,
        };
        if let Some(route) = MediaRoute::parse(&segments, req.method(), |id| self.media.knows(id)) {
            // The download URL takes the bearer header only; the Graph routes also `access_token=`.
            let header_token = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(bearer_token)
                .map(str::to_owned);
            let query_token = (!matches!(route, MediaRoute::Download))
                .then(|| query_param(req.uri().query(), "access_token"))
                .flatten();
            let authorized = self.token_accepted(header_token.or(query_token).as_deref());
            return self.media.answer(route, req, authorized).await;
        }
        let Some(route) = Route::parse(&segments, req.method()) else {
            return not_found(req.method(), &path);
        };
        let params = match Params::read(req).await {
            Ok(params) => params,
            Err(answer) => return answer,
        };
        if !self.token_accepted(params.access_token().as_deref()) {
            return expired_token();
        }
        let input_token_valid = self.token_accepted(params.get("input_token").as_deref());
        self.onboarding.answer(route, &params, input_token_valid)
    }

    /// `block_users`, `settings` and the app's `subscriptions` (see [`numbers`]); `Err`: not one of
    /// them (the request, untouched).
    async fn numbers_route(&self, req: Request<Incoming>, segments: &[&str]) -> Result<Answer, Request<Incoming>> {
        let method = req.method().clone();
        let (id, edge) = match segments {
            [version, id, edge @ ("block_users" | "settings" | "subscriptions")] if is_version(version) => (*id, *edge),
            _ => return Err(req),
        };
        let allowed = match edge {
            "block_users" => [Method::POST, Method::DELETE, Method::GET].contains(&method),
            "settings" => [Method::POST, Method::GET].contains(&method),
            _ => method == Method::GET && id == self.onboarding.config().app_id,
        };
        if !allowed {
            return Err(req);
        }
        let query = bridge::domain::form::parse(req.uri().query().unwrap_or_default().as_bytes()).unwrap_or_default();
        let presented = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .map(str::to_owned)
            .or_else(|| bridge::domain::form::first(&query, "access_token").map(str::to_owned));
        if edge == "subscriptions" {
            let config = self.onboarding.config();
            return Ok(numbers::app_subscriptions(
                presented.as_deref(),
                &config.app_id,
                &self.app_secret,
                &self.webhook_url,
                &config.webhook_fields,
            ));
        }
        if !self.token_accepted(presented.as_deref()) {
            return Ok(expired_token());
        }
        let host = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned();
        let page_url = format!("http://{host}{}", req.uri().path().trim_end_matches('/'));
        let body = read_json(req).await;
        if edge == "settings" {
            return Ok(self.numbers.settings(&method, id, &body));
        }
        let business: String = self
            .onboarding
            .config()
            .display_phone_number
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        Ok(self
            .numbers
            .block_users(&method, id, &body, &business, &page_url, &query))
    }

    /// The `/_standin/…` routes (`control` is the path after `/_standin/`); `None`: not one of them.
    async fn control(&self, req: Request<Incoming>, control: &str) -> Option<Answer> {
        let answer = match (req.method(), control) {
            (&Method::GET, "requests") => json_answer(200, &self.messages.requests_json()),
            (&Method::POST, "reset") => {
                self.messages.clear_requests();
                success()
            }
            (&Method::GET, "code-requests") => json_answer(200, &self.onboarding.code_requests_json()),
            (&Method::GET, "smb-app-data-requests") => json_answer(200, &self.coexistence.requests_json()),
            (&Method::GET, "call-actions") => json_answer(200, &self.calls.actions_json()),
            (&Method::GET, "block-requests") => json_answer(200, &self.numbers.block_requests_json()),
            (&Method::GET, "settings-requests") => json_answer(200, &self.numbers.settings_requests_json()),
            (&Method::POST, "call") => {
                let body = read_json(req).await;
                let field = |name: &str| body.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
                let (Some(phone_number_id), Some(caller)) = (field("phone_number_id"), field("from")) else {
                    return Some(invalid("phone_number_id and from (the caller's digits) are required").answer());
                };
                match coexistence::send_call(self.messages.webhooks(), phone_number_id, caller).await {
                    Ok(call_id) => json_answer(200, &serde_json::json!({"success": true, "call_id": call_id})),
                    Err(reason) => json_answer(502, &obj([("error", Value::from(reason))])),
                }
            }
            (&Method::POST, "inbound") => {
                let body = read_json(req).await;
                let field = |name: &str| body.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
                let sender = coexistence::Sender {
                    phone: field("from"),
                    user_id: field("user_id"),
                    username: field("username"),
                    name: field("name").unwrap_or("Dana Demo"),
                };
                let Some(phone_number_id) = field("phone_number_id") else {
                    return Some(invalid("phone_number_id is required").answer());
                };
                if sender.phone.is_none() && sender.user_id.is_none() {
                    return Some(
                        invalid("from (the customer's digits) or user_id (their business-scoped user id) is required")
                            .answer(),
                    );
                }
                if sender
                    .phone
                    .is_some_and(|phone| !phone.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Some(invalid("from must be the customer's phone number, digits only").answer());
                }
                let text = field("text").unwrap_or("Hello from the stand-in");
                match coexistence::send_inbound(self.messages.webhooks(), phone_number_id, &sender, text).await {
                    Ok(wamid) => json_answer(200, &serde_json::json!({"success": true, "wamid": wamid})),
                    Err(reason) => json_answer(502, &obj([("error", Value::from(reason))])),
                }
            }
            (&Method::POST, "history") => {
                let body = read_json(req).await;
                let field = |name: &str| body.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
                let (Some(phone_number_id), Some(contact)) = (field("phone_number_id"), field("contact")) else {
                    return Some(invalid("phone_number_id and contact (the customer's digits) are required").answer());
                };
                let progress = body.get("progress").and_then(Value::as_i64).unwrap_or(100);
                match coexistence::send_history(self.messages.webhooks(), phone_number_id, contact, progress).await {
                    Ok(wamids) => json_answer(200, &serde_json::json!({"success": true, "wamids": wamids})),
                    Err(reason) => json_answer(502, &obj([("error", Value::from(reason))])),
                }
            }
            (&Method::POST, "state-sync") => {
                let body = read_json(req).await;
                let field = |name: &str| body.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
                let (Some(phone_number_id), Some(contact)) = (field("phone_number_id"), field("contact")) else {
                    return Some(invalid("phone_number_id and contact (the customer's digits) are required").answer());
                };
                let name = if field("action") == Some("remove") {
                    None
                } else {
                    Some(field("name").unwrap_or("Dana Demo"))
                };
                match coexistence::send_state_sync(self.messages.webhooks(), phone_number_id, contact, name).await {
                    Ok(()) => success(),
                    Err(reason) => json_answer(502, &obj([("error", Value::from(reason))])),
                }
            }
            (&Method::POST, "echo") => {
                let body = Limited::new(req.into_body(), MAX_BODY_BYTES)
                    .collect()
                    .await
                    .map(|collected| collected.to_bytes())
                    .unwrap_or_default();
                let body = serde_json::from_slice::<Value>(&body).unwrap_or_default();
                let field = |name: &str| body.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
                let (Some(phone_number_id), Some(to)) = (field("phone_number_id"), field("to")) else {
                    return Some(invalid("phone_number_id and to (the customer's digits) are required").answer());
                };
                if !to.bytes().all(|b| b.is_ascii_digit()) {
                    return Some(invalid("to must be the customer's phone number, digits only").answer());
                }
                let text = field("text").unwrap_or("Sent from the WhatsApp Business app");
                match self.messages.webhooks().echo(phone_number_id, to, text).await {
                    Ok(wamid) => json_answer(
                        200,
                        &obj([("success", Value::Bool(true)), ("wamid", Value::from(wamid))]),
                    ),
                    Err(reason) => json_answer(502, &obj([("error", Value::from(reason))])),
                }
            }
            (&Method::GET, "access-token") => json_answer(200, &obj([("expired", Value::Bool(self.token().expired))])),
            (&Method::POST, "access-token/expire") => {
                self.token().expired = true;
                success()
            }
            (&Method::POST, "access-token") => {
                let body = Limited::new(req.into_body(), MAX_BODY_BYTES)
                    .collect()
                    .await
                    .map(|collected| collected.to_bytes())
                    .unwrap_or_default();
                let token = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|body| body.get("token").and_then(Value::as_str).map(str::to_owned))
                    .filter(|token| !token.is_empty());
                let Some(token) = token else {
                    return Some(invalid("The parameter token is required (a non-empty string).").answer());
                };
                *self.token() = AccessToken {
                    accepted: token,
                    expired: false,
                };
                success()
            }
            _ => return None,
        };
        Some(answer)
    }
}

/// A request body as JSON (`null` when it is not).
async fn read_json(req: Request<Incoming>) -> Value {
    let body = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    serde_json::from_slice(&body).unwrap_or_default()
}

/// The first value of `name` in a query string (not percent-decoded: the values read here are tokens).
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}
