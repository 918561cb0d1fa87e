//! The OpenAPI document of the merchant-facing JSON APIs, at `/openapi.json`: the `/oauth`
//! endpoints and the payments API (`/v1`), derived from the handlers' annotations and the SDK's
//! wire types. `codes` holds every code the wallet answers with; the document lists them.

mod codes;
/// Below both this module and the OAuth handlers that name them.
pub(super) mod forms;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

pub use codes::{CLI_CODES, OAUTH_ERRORS, PROBLEM_CODES};

use crate::error::Result;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Saifu",
        description = "A personal commerce wallet. Merchants start a checkout with OAuth 2.0 (pushed authorization requests, PKCE, rich authorization details of type `payment`), receive a one-time payment grant, and redeem it with the payments API. Every `amount` in a request is `{\"currency\": \"JPY\", \"amount\": \"12800\"}`. Errors of the payments API are `application/problem+json` with a stable `code`; errors of the OAuth endpoints are RFC 6749 JSON.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        super::oauth::metadata,
        super::oauth::jwks,
        super::oauth::par,
        super::checkout::authorize,
        super::oauth::token,
        super::registration::register,
        super::registration::read,
        super::registration::update,
        super::registration::delete,
        super::payments::create,
        super::payments::by_order,
        super::payments::show,
        super::payments::capture,
        super::payments::void,
        super::payments::refund,
        super::receipts::merchant_receipt,
        super::disputes::list,
        super::disputes::show,
        super::disputes::respond,
        super::statements::statement,
    ),
    modifiers(&Contract),
    tags(
        (name = "oauth", description = "Checkout: discovery, pushed requests, the shopper's consent, the code exchange"),
        (name = "registration", description = "Dynamic registration: a shop registers itself (RFC 7591) and manages its registration (RFC 7592); it is pending until the issuer vets it"),
        (name = "payments", description = "The payments API: redeem a grant, capture, void, refund, read"),
        (name = "disputes", description = "Disputes shoppers opened on your payments: read them, and accept or contest each by its respond_by"),
        (name = "points", description = "Points statements: each month, the points issued at your shop that you fund and the points redeemed there that the programme reimburses"),
    ),
)]
pub struct ApiDoc;

/// What the derive can't say: the merchants' HTTP Basic scheme, and the codes as enums.
struct Contract;

impl Modify for Contract {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "merchant",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The merchant's client id and secret (`client_secret_basic`, RFC 6749 §2.3.1).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "registration",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The registration access token given once at registration (RFC 7592).",
                    ))
                    .build(),
            ),
        );
        enumerate(
            components.schemas.get_mut("Problem"),
            "code",
            PROBLEM_CODES,
            "Stable, for programs: what went wrong.",
        );
        enumerate(
            components.schemas.get_mut("OAuthErrorBody"),
            "error",
            OAUTH_ERRORS,
            "The RFC 6749 error code.",
        );
    }
}

/// Makes `property` of an object schema a string enum of `values`.
fn enumerate(
    schema: Option<&mut RefOr<Schema>>,
    property: &str,
    values: &[&str],
    description: &str,
) {
    if let Some(RefOr::T(Schema::Object(object))) = schema {
        object.properties.insert(
            property.to_string(),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
                .enum_values(Some(values.iter().copied()))
                .into(),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(document))
}

async fn document() -> Result<impl IntoResponse> {
    let json = ApiDoc::openapi().to_pretty_json()?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json))
}
