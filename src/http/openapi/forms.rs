//! The form-encoded bodies of `POST /oauth/par` and `POST /oauth/token` as the document shows
//! them. The handlers read the raw form themselves (every parameter optional, so that a missing
//! one gets an RFC 6749 error); these say what a merchant must send.

use utoipa::ToSchema;

/// `POST /oauth/par` (RFC 9126), with PKCE (RFC 7636) and payment details (RFC 9396).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ParForm {
    #[schema(inline)]
    response_type: ResponseType,
    /// Required with `client_secret_post`; with HTTP Basic, the same id or nothing.
    client_id: Option<String>,
    /// `client_secret_post` only: never together with HTTP Basic.
    client_secret: Option<String>,
    /// Exactly one of the merchant's registered redirect URIs.
    redirect_uri: String,
    state: String,
    /// BASE64URL(SHA-256(code_verifier)).
    code_challenge: String,
    #[schema(inline)]
    code_challenge_method: CodeChallengeMethod,
    /// A JSON array with one entry of type `payment` (the `PaymentDetails` schema).
    #[schema(example = json!(r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"12800"},"order_reference":"A-1001"}]"#))]
    authorization_details: String,
}

/// `POST /oauth/token`: an authorization code for the payment grant.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TokenForm {
    #[schema(inline)]
    grant_type: GrantType,
    code: String,
    /// The `redirect_uri` of the pushed request.
    redirect_uri: String,
    /// The PKCE verifier of the checkout's `code_challenge`.
    code_verifier: String,
    /// Required with `client_secret_post`.
    client_id: Option<String>,
    /// `client_secret_post` only.
    client_secret: Option<String>,
}

#[allow(dead_code, non_camel_case_types)]
#[derive(ToSchema)]
enum ResponseType {
    code,
}

#[allow(dead_code)]
#[derive(ToSchema)]
enum CodeChallengeMethod {
    S256,
}

#[allow(dead_code, non_camel_case_types)]
#[derive(ToSchema)]
enum GrantType {
    authorization_code,
}
