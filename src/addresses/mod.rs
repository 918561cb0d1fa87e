//! Shipping addresses: the shopper keeps them in the wallet (one is the default), and chooses
//! one at a checkout whose merchant asks for it. The merchant receives a copy made at approval
//! (`snapshot`), whose digest the passkey signs with the payment.

pub mod address;

use saifu_sdk::checkout::ShippingAddress;
use uuid::Uuid;

pub use self::address::{Address, AddressInput, SavedAddress, PREFECTURES};
use crate::error::{Error, Result};
use crate::store::addresses::{AddressFields, StoredAddress};
use crate::store::Store;

#[derive(Clone)]
pub struct Addresses {
    store: Store,
}

fn fields(a: &Address) -> AddressFields<'_> {
    AddressFields {
        name: &a.name,
        postal_code: &a.postal_code,
        prefecture: &a.prefecture,
        city: &a.city,
        line1: &a.line1,
        line2: a.line2.as_deref(),
        phone: &a.phone,
        country: &a.country,
    }
}

fn saved(a: StoredAddress) -> SavedAddress {
    SavedAddress {
        id: a.id,
        name: a.name,
        postal_code: a.postal_code,
        prefecture: a.prefecture,
        city: a.city,
        line1: a.line1,
        line2: a.line2,
        phone: a.phone,
        country: a.country,
        is_default: a.is_default,
    }
}

impl Addresses {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The shopper's addresses, the default first.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<SavedAddress>> {
        let stored = self.store.list_addresses(user_id).await?;
        Ok(stored.into_iter().map(saved).collect())
    }

    /// One of the shopper's addresses; another shopper's is not found.
    pub async fn find(&self, user_id: Uuid, id: Uuid) -> Result<SavedAddress> {
        Ok(saved(self.store.find_address(user_id, id).await?))
    }

    /// Adds a checked address; the first one (or one the shopper asks for) is the default.
    pub async fn add(
        &self,
        user_id: Uuid,
        address: &Address,
        make_default: bool,
        now: i64,
    ) -> Result<SavedAddress> {
        let stored = self
            .store
            .insert_address(user_id, fields(address), make_default, now)
            .await?;
        tracing::info!(user_id = %user_id, address_id = %stored.id, "address added");
        Ok(saved(stored))
    }

    /// Changes an address. Payments already approved keep the copy they were made with.
    pub async fn update(
        &self,
        user_id: Uuid,
        id: Uuid,
        address: &Address,
        now: i64,
    ) -> Result<SavedAddress> {
        let stored = self
            .store
            .update_address(user_id, id, fields(address), now)
            .await?;
        Ok(saved(stored))
    }

    pub async fn remove(&self, user_id: Uuid, id: Uuid, now: i64) -> Result<()> {
        Ok(self.store.delete_address(user_id, id, now).await?)
    }

    pub async fn set_default(&self, user_id: Uuid, id: Uuid, now: i64) -> Result<()> {
        Ok(self.store.set_default_address(user_id, id, now).await?)
    }

    /// The address the shopper chose at a checkout, if it is theirs.
    pub async fn chosen(&self, user_id: Uuid, id: Uuid) -> Result<SavedAddress> {
        self.find(user_id, id).await.map_err(|e| match e.code() {
            "not_found" => unknown_address(),
            _ => e,
        })
    }
}

/// The address as the merchant receives it: its fields copied, not a reference.
pub fn snapshot(stored: &SavedAddress) -> ShippingAddress {
    ShippingAddress {
        name: stored.name.clone(),
        postal_code: stored.postal_code.clone(),
        prefecture: stored.prefecture.clone(),
        city: stored.city.clone(),
        line1: stored.line1.clone(),
        line2: stored.line2.clone(),
        phone: stored.phone.clone(),
        country: stored.country.clone(),
    }
}

/// SHA-256 (hex) over the snapshot's fields, each length-prefixed, in a fixed order: what the
/// payment's passkey challenge includes, so that the assertion signs this exact address.
pub fn digest(address: &ShippingAddress) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let fields = [
        "saifu/shipping-address/v1",
        &address.name,
        &address.postal_code,
        &address.prefecture,
        &address.city,
        &address.line1,
        address.line2.as_deref().unwrap_or(""),
        if address.line2.is_some() { "1" } else { "0" },
        &address.phone,
        &address.country,
    ];
    for field in fields {
        ctx.update(&(field.len() as u32).to_be_bytes());
        ctx.update(field.as_bytes());
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The merchant asked for a shipping address and none was chosen.
pub fn address_required() -> Error {
    Error::invalid(
        "address_required",
        "This shop needs a shipping address. Choose one, or add an address.",
    )
    .on_field("address_id")
}

/// The chosen address is not one of the shopper's.
pub fn unknown_address() -> Error {
    Error::invalid("unknown_address", "Choose one of your addresses.").on_field("address_id")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo() -> ShippingAddress {
        ShippingAddress {
            name: "Mika Sato".into(),
            postal_code: "100-0001".into(),
            prefecture: "Tokyo".into(),
            city: "Chiyoda-ku".into(),
            line1: "1-1 Chiyoda".into(),
            line2: None,
            phone: "09012345678".into(),
            country: "JP".into(),
        }
    }

    #[test]
    fn the_digest_changes_with_every_field() {
        let base = digest(&tokyo());
        assert_eq!(base.len(), 64);
        assert_eq!(base, digest(&tokyo()));
        let changes: [fn(&mut ShippingAddress); 6] = [
            |a| a.name.push('x'),
            |a| a.postal_code = "100-0002".into(),
            |a| a.line1.push('2'),
            |a| a.line2 = Some(String::new()),
            |a| a.phone.push('9'),
            |a| a.city = "Chiyoda-k".into(),
        ];
        for change in changes {
            let mut a = tokyo();
            change(&mut a);
            assert_ne!(digest(&a), base, "{a:?}");
        }
    }
}
