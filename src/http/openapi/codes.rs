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
    // The shopper's language and time zone.
    "unsupported_language",
    "unknown_time_zone",
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
    "account_frozen",
    // Account recovery: recovery codes and recovery links.
    "invalid_recovery_code",
    "recovery_link_invalid",
    "recovery_not_ready",
    // The issuer console: admins, invitations, roles.
    "role_forbidden",
    "not_an_admin",
    "admin_exists",
    "invalid_role",
    "invite_not_found",
    "invite_used",
    "invite_expired",
    "last_owner",
    "invalid_date",
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
    "points_below_minimum",
    "points_above_maximum",
    "invalid_credential",
    // Shipping addresses: kept in the wallet, chosen at a consent.
    "invalid_address",
    "address_required",
    "unknown_address",
    // Risk limits: at the consent and approval, and again at `POST /v1/payments`.
    "limit_per_payment",
    "limit_unverified_merchant",
    "limit_daily_total",
    "limit_hourly_count",
    // Connected shops: the shopper's block and monthly caps, at the consent and approval.
    "shop_blocked",
    "shop_cap_exceeded",
    "invalid_shop_cap",
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
    "shopper_frozen",
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
    // Points statements (the API and the console).
    "invalid_month",
    // Disputes and the guarantee.
    "not_disputable",
    "dispute_window_closed",
    "dispute_exists",
    "invalid_dispute_reason",
    "invalid_dispute_description",
    "invalid_dispute_amount",
    "dispute_closed",
    "response_window_closed",
    "invalid_evidence",
    "invalid_decision_reason",
    // The issuer console: frozen shoppers.
    "invalid_freeze_reason",
    "already_frozen",
    "not_frozen",
    // The issuer console: risk limits.
    "invalid_risk_limit",
    // The issuer console: dispute decisions.
    "invalid_decision",
    // The issuer console and the CLI: the points programme and merchants' campaigns.
    "invalid_points_programme",
    "invalid_points_campaign",
    "campaign_overlaps",
    "campaign_not_found",
    "campaign_ended",
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
    // Merchants' vetting (the CLI and the issuer console).
    "invalid_status",
    "invalid_status_reason",
    "status_reason_required",
    // The issuer console: the switch for shops registering themselves.
    "invalid_registration_switch",
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
    // Dynamic registration (RFC 7591 §3.2.2, RFC 7592 with RFC 6750's `invalid_token`).
    "invalid_client_metadata",
    "invalid_redirect_uri",
    "invalid_token",
    "registration_disabled",
    "too_many_requests",
];
