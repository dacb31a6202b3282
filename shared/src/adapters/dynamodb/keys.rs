//! The table's key schema, in one place: every item's partition and sort key.
//!
//! - message (inbound or outbound): `pk = MSG#<wamid>`, `sk = MSG`
//! - contact: `pk = CONTACT#<wa_id or user id>`, `sk = CONTACT`
//! - the contact's 24-hour window with one business number: `pk = CONTACT#<wa_id or user id>`,
//!   `sk = WINDOW#<phone number id>` (`last_inbound_at`)
//! - raw event: `pk = EVENT#<field>`, `sk = <entry id>#<sha256 of the event>`
//! - outbound message (send API): `pk = OUT#<message id>`, `sk = OUT`; its wamid's item carries `message_id`
//! - send pacing of one recipient: `pk = PACE#<recipient>`, `sk = PACE` (`tat`: the next free slot, ms)
//! - a template's send-deciding status (`message_template_status_update`): `pk = TEMPLATE#<WABA id>`,
//!   `sk = <template name>#<language>` (the latest `PAUSED`/`DISABLED`/`REJECTED`/`APPROVED` by Meta's time)
//! - usage: `pk = USAGE#<YYYY-MM>`, `sk = <category>#<type>#billable|free` (`messages`: how many
//!   messages of that month are priced so; kept by the status writes, read by one query per month)
//! - verification call: `pk = CALL#<CallSid>`, `sk = CODE#<code>` or `RECORDING#<RecordingSid>#<event>`
//! - GSI `by_contact`: `gsi1pk = CONTACT#<key>`, `gsi1sk = <time>#<wamid or message id>` lists a
//!   conversation (`GET /contacts/{contact}/messages`): each inbound message's `MSG#` item (its time),
//!   each send's `OUT#` item (its queue time), and the `MSG#` item of a message Meta reports a status
//!   of that the bundle did not send. The `MSG#` item of a bundle send is moved out of the conversation
//!   (`gsi1pk = SENT#<message id>`, never queried) when the send learns its wamid: its `OUT#` item
//!   lists it, so no message is listed twice. Every listed item is the record itself: a redelivered
//!   webhook (a conditional put that does nothing) adds no history entry.
//!   `gsi1pk = VERIFICATION#<called number digits>`, `gsi1sk = <capture time>#<CallSid>` lists the codes
//!   captured for a number.
//!   `gsi1pk = CONTACTS`, `gsi1sk = <last activity time, ms>#<contact key>` lists the contacts by last
//!   activity (`GET /contacts`): the contact item (`CONTACT#<key>`, `CONTACT`) of each contact, its
//!   sort key moved forward by every inbound message, send and echo (a conditional update: never back).

pub const MESSAGE_SK: &str = "MSG";
pub const CONTACT_SK: &str = "CONTACT";
pub const OUTBOUND_SK: &str = "OUT";
pub const PACE_SK: &str = "PACE";

/// Name of the table's global secondary index (`gsi1pk`, `gsi1sk`).
pub const BY_CONTACT_INDEX: &str = "by_contact";

/// The index partition of the contacts list: every contact item, by last activity. One partition for
/// the deployment: a write a message at most, far under a partition's 1,000 writes a second.
pub const CONTACTS_INDEX_PK: &str = "CONTACTS";

/// The index partition of a contact's conversation (the same prefix as its contact item's `pk`).
pub fn conversation_pk(contact: &str) -> String {
    contact_pk(contact)
}

/// The index sort key of one conversation entry: its time (RFC 3339 UTC, always with
/// milliseconds, so a message Meta stamps to the second sorts correctly against a send queued
/// within that second), then its id.
pub fn conversation_sk(time: chrono::DateTime<chrono::Utc>, id: &str) -> String {
    format!("{}#{id}", time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// The time `seconds` since the epoch (Meta's timestamps), else `fallback` (when it was received).
pub fn conversation_time(
    seconds: Option<i64>,
    fallback: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    seconds
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
        .unwrap_or(fallback)
}

/// The index partition a bundle send's `MSG#` item moves to once linked (out of the conversation).
pub fn sent_pk(message_id: &str) -> String {
    format!("SENT#{message_id}")
}

pub fn message_pk(wamid: &str) -> String {
    format!("MSG#{wamid}")
}

pub fn contact_pk(key: &str) -> String {
    format!("CONTACT#{key}")
}

/// The partition of a WhatsApp call (`wacid.…`): one item a step (`connect`, `terminate`, `status#…`).
/// Apart from Twilio's verification calls (`CALL#`).
pub fn wa_call_pk(call_id: &str) -> String {
    format!("WACALL#{call_id}")
}

/// The partition of a business number's coexistence syncs (`smb_app_data`), one item a sync type.
pub fn coexistence_pk(phone_number_id: &str) -> String {
    format!("COEXIST#{phone_number_id}")
}

/// The sort key, in a contact's partition, of another id of the same customer.
pub fn alias_sk(other: &str) -> String {
    format!("{ALIAS_PREFIX}{other}")
}

pub const ALIAS_PREFIX: &str = "ALIAS#";

/// The sort key of a contact's window with the business number `phone_number_id`.
pub fn window_sk(phone_number_id: &str) -> String {
    format!("WINDOW#{phone_number_id}")
}

pub fn call_pk(call_sid: &str) -> String {
    format!("CALL#{call_sid}")
}

pub fn event_pk(field: &str) -> String {
    format!("EVENT#{field}")
}

pub fn pace_pk(recipient: &str) -> String {
    format!("PACE#{recipient}")
}

pub fn outbound_pk(message_id: &str) -> String {
    format!("OUT#{message_id}")
}

/// The sort key of a raw event: its entry and digest, so a redelivered event is the same item.
pub fn event_sk(entry_id: &str, digest: &str) -> String {
    format!("{entry_id}#{digest}")
}

/// The partition of a WABA's template statuses.
pub fn template_pk(waba_id: &str) -> String {
    format!("TEMPLATE#{waba_id}")
}

/// The sort key of one template (a name in one language); names are `[a-z0-9_]`, so `#` cannot collide.
pub fn template_sk(name: &str, language: &str) -> String {
    format!("{name}#{language}")
}

/// The partition of a month's usage counters (`YYYY-MM`, UTC), one item per pricing cell
/// ([`crate::domain::usage::UsageCell::key`]).
pub fn usage_pk(month: &str) -> String {
    format!("USAGE#{month}")
}
