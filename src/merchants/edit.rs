//! An issuer's edit of a merchant applied: its row and redirect URIs replaced in one
//! transaction with an audit entry naming what changed (never a secret).

use serde_json::{json, Value};
use url::Url;

use super::fields::{unknown_merchant, MerchantEdit};
use super::{Merchant, Merchants};
use crate::audit::{url_detail, Action, Actor, Entry};
use crate::error::Result;
use crate::store::{self, MerchantRowEdit};

/// The fields this edit changes on `current`, each `{"from", "to"}` (URLs without their
/// query, where a token could ride).
fn changes(edit: &MerchantEdit, current: &Merchant) -> serde_json::Map<String, Value> {
    let mut changed = serde_json::Map::new();
    let mut note = |field: &str, from: Value, to: Value| {
        if from != to {
            changed.insert(field.to_string(), json!({ "from": from, "to": to }));
        }
    };
    note("name", json!(current.name), json!(edit.name));
    note("domain", json!(current.domain), json!(edit.domain));
    let mut before: Vec<String> = current.redirect_uris.clone();
    let mut after: Vec<String> = edit.redirect_uris.iter().map(Url::to_string).collect();
    before.sort();
    after.sort();
    note("redirect_uris", json!(before), json!(after));
    let shown = |u: Option<&str>| u.and_then(|u| Url::parse(u).ok()).map(|u| url_detail(&u));
    note(
        "webhook_url",
        json!(shown(current.webhook_url.as_deref())),
        json!(shown(edit.webhook_url.as_ref().map(Url::as_str))),
    );
    changed
}

impl Merchants {
    /// Applies `edit` to the merchant: its row and redirect URIs replaced, with an audit entry
    /// naming the changed fields, in one transaction. An edit that changes nothing writes
    /// nothing. Gives the merchant as it now is.
    pub async fn update(
        &self,
        client_id: &str,
        edit: MerchantEdit,
        by: &Actor,
        now: i64,
    ) -> Result<Merchant> {
        let current = self.find(client_id).await?.ok_or_else(unknown_merchant)?;
        let changes = changes(&edit, &current);
        if changes.is_empty() {
            return Ok(current);
        }
        let mut audit = Entry::new(by, Action::MerchantUpdated, client_id);
        for (field, change) in changes {
            audit = audit.with(&field, change);
        }
        let uris: Vec<String> = edit.redirect_uris.iter().map(Url::to_string).collect();
        self.store
            .update_merchant(
                &MerchantRowEdit {
                    client_id,
                    name: &edit.name,
                    domain: &edit.domain,
                    webhook_url: edit.webhook_url.as_ref().map(Url::as_str),
                    redirect_uris: &uris,
                },
                &audit.record(now),
            )
            .await
            .map_err(|e| match e {
                store::Error::NotFound => unknown_merchant(),
                other => other.into(),
            })?;
        tracing::info!(client_id = %client_id, "merchant updated");
        self.find(client_id).await?.ok_or_else(unknown_merchant)
    }
}
