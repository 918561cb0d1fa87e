//! Static files embedded in the binary. Each is served with a content hash in its URL and a
//! Subresource Integrity digest in the page, so the scripts a payment page runs are exactly
//! the inventoried ones (PCI DSS 6.4.3).

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::{engine::general_purpose::STANDARD, Engine};

use crate::error::Error;

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// `sha384-…`, for the `integrity` attribute.
    pub integrity: String,
    /// `/static/NAME?v=HASH`.
    pub href: String,
}

/// Immutable: derived at first use from files compiled into the binary.
pub static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "saifu.css",
            "text/css; charset=utf-8",
            include_bytes!("../../web/static/saifu.css").as_slice(),
        ),
        (
            "saifu.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../web/static/saifu.js").as_slice(),
        ),
        (
            "card-form.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../web/static/card-form.js").as_slice(),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, body)| {
        let digest = ring::digest::digest(&ring::digest::SHA384, body);
        let version: String = digest.as_ref()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Asset {
            name,
            content_type,
            body,
            integrity: format!("sha384-{}", STANDARD.encode(digest.as_ref())),
            href: format!("/static/{name}?v={version}"),
        }
    })
    .collect()
});

pub fn asset(name: &str) -> &'static Asset {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .expect("asset is embedded")
}

pub async fn serve(Path(name): Path<String>) -> Result<Response, Error> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(Error::not_found)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        asset.body,
    )
        .into_response())
}
