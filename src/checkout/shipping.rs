//! The shipping address at a checkout whose merchant asks for one: the shopper's addresses on
//! the consent page, and the copy of the one chosen that the passkey signs and the merchant
//! receives.

use saifu_sdk::checkout::ShippingAddress;
use uuid::Uuid;

use super::consent::ConsentView;
use super::Checkout;
use crate::accounts::user::User;
use crate::addresses::{address_required, snapshot, Addresses, SavedAddress};
use crate::error::Result;

impl Checkout {
    fn addresses(&self) -> Addresses {
        Addresses::new(self.store.clone())
    }

    /// The addresses the consent page offers: the shopper's, when the merchant asks for one.
    pub async fn shipping_options(
        &self,
        user: Option<&User>,
        view: &ConsentView,
    ) -> Result<Vec<SavedAddress>> {
        match user {
            Some(user) if view.payment.shipping_required => self.addresses().list(user.id).await,
            _ => Ok(Vec::new()),
        }
    }

    /// A copy of the address the shopper chose, when the merchant asks for one (without one
    /// the approval is refused, `address_required`); nothing when it does not.
    pub(super) async fn shipping_choice(
        &self,
        user: &User,
        view: &ConsentView,
        address_id: Option<Uuid>,
    ) -> Result<Option<ShippingAddress>> {
        if !view.payment.shipping_required {
            return Ok(None);
        }
        let id = address_id.ok_or_else(address_required)?;
        let chosen = self.addresses().chosen(user.id, id).await?;
        Ok(Some(snapshot(&chosen)))
    }
}
