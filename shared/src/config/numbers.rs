//! The business phone numbers: the ones sent from, and the ones whose webhook events are served.

use super::Env;
use crate::domain::records::BusinessNumbers;

/// The business phone number ids served: `WHATSAPP_PHONE_NUMBER_ID` (alone: a one-number
/// deployment) first, then `WHATSAPP_PHONE_NUMBER_IDS` (comma-separated).
pub fn business_numbers<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> BusinessNumbers {
    BusinessNumbers::new(
        env.optional("WHATSAPP_PHONE_NUMBER_ID")
            .into_iter()
            .chain(env.list("WHATSAPP_PHONE_NUMBER_IDS")),
    )
}
