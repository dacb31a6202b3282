//! The business phone numbers: the ones sent from, and the ones whose webhook events are served.

use super::Env;
use crate::domain::records::{BusinessNumbers, PhoneNumberFilter};

/// The business phone number ids served: `WHATSAPP_PHONE_NUMBER_ID` (alone: a one-number
/// deployment) first, then `WHATSAPP_PHONE_NUMBER_IDS` (comma-separated).
pub fn business_numbers<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> BusinessNumbers {
    BusinessNumbers::new(
        env.optional("WHATSAPP_PHONE_NUMBER_ID")
            .into_iter()
            .chain(env.list("WHATSAPP_PHONE_NUMBER_IDS")),
    )
}

/// The phone number ids whose webhook events the worker records: the business numbers it sends from
/// and `ALLOWED_PHONE_NUMBER_IDS` (comma-separated) besides. A number it sends from is always served:
/// skipping its status webhooks would leave its sends unresolved (an unknown outcome would then be
/// resent). A change for another number is acknowledged, logged and skipped.
///
/// Naming none of them is refused: Meta sends each app of a business the events of all its numbers,
/// so a worker that knew no number of its own would record other apps' messages. The filter is
/// therefore never empty (an empty [`PhoneNumberFilter`] serves every number).
pub(super) fn inbound_filter<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> PhoneNumberFilter {
    let allowed = env.list("ALLOWED_PHONE_NUMBER_IDS");
    let sending = business_numbers(env);
    let filter = BusinessNumbers::new(sending.ids().iter().cloned().chain(allowed)).filter();
    if filter == PhoneNumberFilter::default() {
        env.problem(
            "none of ALLOWED_PHONE_NUMBER_IDS, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_PHONE_NUMBER_IDS is set: \
             name the phone number ids this deployment serves (Meta sends each app of a business the events \
             of all its numbers; the worker records only its own)"
                .to_owned(),
        );
    }
    filter
}
