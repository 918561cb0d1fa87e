//! Every stable code the wallet answers with, in one place: the problem codes of its JSON
//! answers, the codes only the CLI prints, and the RFC 6749 errors of the OAuth endpoints. The
//! OpenAPI document lists them as enums; a test fails when a code in `src/` is missing here.

/// The `code` of an `application/problem+json` answer (RFC 9457).
pub const PROBLEM_CODES: &[&str] = &[
    // The request itself.
    "bad_request",
    "invalid_json",
    "invalid_form",
    "method_not_allowed",
    "not_found",
    "payload_too_large",
    "unsupported_media_type",
    "request_timeout",
    "csrf_failed",
    "internal_error",
    // Shoppers' accounts and passkeys.
    "unauthenticated",
    "invalid_email",
    "invalid_display_name",
    "invalid_passkey_name",
    "email_taken",
    "ceremony_not_found",
    "ceremony_expired",
    "webauthn_wrong_origin",
    "user_verification_required",
    "webauthn_challenge_mismatch",
    "webauthn_failed",
    "passkey_not_accepted",
    "passkey_already_registered",
    "unknown_passkey",
    "possible_cloned_authenticator",
    "last_passkey",
    "too_many_attempts",
    // Cards.
    "invalid_card_number",
    "unsupported_brand",
    "invalid_expiry",
    "card_expired",
    "invalid_cvc",
    "invalid_holder_name",
    "duplicate_card",
    "card_declined",
    "processing_error",
    "processor_unavailable",
    // Checkout and consent.
    "invalid_request",
    "invalid_request_uri",
    "merchant_suspended",
    "consent_closed",
    "consent_expired",
    "unknown_card",
    "invalid_points",
    "insufficient_points",
    "invalid_credential",
    // The payments API.
    "invalid_client",
    "idempotency_key_required",
    "idempotency_key_in_use",
    "idempotency_key_reused",
    "invalid_amount",
    "invalid_grant",
    "grant_expired",
    "grant_already_used",
    "grant_revoked",
    "card_unavailable",
    "amount_exceeds_grant",
    "amount_exceeds_authorization",
    "amount_below_points",
    "currency_mismatch",
    "amount_too_large",
    "payment_in_progress",
    "order_reference_required",
    "payment_not_found",
    "payment_not_capturable",
    "payment_not_voidable",
    "payment_not_refundable",
    "refund_exceeds_captured",
    "processor_error",
];

/// Codes only `saifu` subcommands print (merchant and webhook administration).
pub const CLI_CODES: &[&str] = &[
    "client_id_taken",
    "invalid_merchant_name",
    "invalid_domain",
    "invalid_redirect_uri",
    "invalid_webhook_url",
    "merchant_not_found",
    "webhook_event_busy",
    "webhook_event_not_found",
    // Merchants' vetting and campaigns (the CLI and the issuer console).
    "invalid_status_reason",
    "status_reason_required",
    "invalid_points_multiplier",
];

/// The `error` of the OAuth endpoints' RFC 6749 answers.
pub const OAUTH_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_response_type",
    "invalid_authorization_details",
    "server_error",
];
