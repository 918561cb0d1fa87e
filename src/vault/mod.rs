//! The card vault: adding a card (parse, verify with the processor using the CVC once, then
//! encrypt), listing, removing and choosing the default, decrypting a number only for a
//! processor call. Card inputs live in `card`, key material in `keys`.

pub mod stored;

use std::sync::Arc;

use uuid::Uuid;
use zeroize::Zeroizing;

pub use self::stored::StoredCard;
use crate::card::{CardNumber, Cvc, Expiry, HolderName};
use crate::error::{Error, Kind, Result};
use crate::keys::{self, aes_key, DataKey, FingerprintKey, KeyEncryptionKey, WrappedKey};
use crate::processor::{CardDetails, IdempotencyKey, Outcome, Processor, ProcessorError};
use crate::store::{NewCardRow, Refusal, SealedNumber, Store};

/// A card as the shopper typed it, parsed. The CVC is dropped (and zeroized) once the
/// processor has verified the card.
/// A card as its owner sees it, with its number as the vault keeps it (encrypted under a
/// wrapped key): opened only by [`Vault::open_number`].
pub struct SealedCard {
    pub card: StoredCard,
    sealed: SealedNumber,
}

impl From<(StoredCard, SealedNumber)> for SealedCard {
    /// A card the store read with its sealed number.
    fn from((card, sealed): (StoredCard, SealedNumber)) -> Self {
        Self { card, sealed }
    }
}

// Shows the card only: never the sealed number.
impl std::fmt::Debug for SealedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedCard")
            .field("card", &self.card)
            .finish_non_exhaustive()
    }
}

pub struct NewCard {
    pub number: CardNumber,
    pub expiry: Expiry,
    pub cvc: Cvc,
    pub holder: HolderName,
}

#[derive(Clone)]
pub struct Vault {
    store: Store,
    kek: Arc<dyn KeyEncryptionKey>,
    fingerprints: Arc<FingerprintKey>,
    processor: Arc<dyn Processor>,
}

impl Vault {
    pub fn new(
        store: Store,
        kek: Arc<dyn KeyEncryptionKey>,
        fingerprints: Arc<FingerprintKey>,
        processor: Arc<dyn Processor>,
    ) -> Self {
        Self {
            store,
            kek,
            fingerprints,
            processor,
        }
    }

    pub fn processor(&self) -> &Arc<dyn Processor> {
        &self.processor
    }

    /// Verifies the card with the processor (the CVC's only use), then stores it encrypted.
    pub async fn add_card(&self, user_id: Uuid, card: NewCard, now: i64) -> Result<StoredCard> {
        let NewCard {
            number,
            expiry,
            cvc,
            holder,
        } = card;
        let fingerprint = self
            .fingerprints
            .fingerprint(&user_id.to_string(), number.expose());
        if self
            .store
            .card_fingerprint_exists(user_id, &fingerprint)
            .await?
        {
            return Err(duplicate_card());
        }
        let details = CardDetails {
            number: &number,
            expiry,
            holder: holder.as_str(),
        };
        let verified = self
            .processor
            .verify_card(&IdempotencyKey::random(), details, &cvc)
            .await;
        drop(cvc);
        match verified {
            Ok(Outcome::Approved { .. }) => {}
            Ok(Outcome::Declined { decline_code }) => return Err(declined(&decline_code)),
            Err(err) => return Err(processor_failed(err)),
        }
        let id = Uuid::new_v4();
        let sealed = self.seal(id, user_id, &number).await?;
        let stored = self
            .store
            .insert_card(
                NewCardRow {
                    id,
                    user_id,
                    brand: number.brand().as_str(),
                    last4: number.last4(),
                    exp_month: i64::from(expiry.month()),
                    exp_year: i64::from(expiry.year()),
                    holder: holder.as_str(),
                    fingerprint: &fingerprint,
                    sealed,
                },
                now,
            )
            .await
            .map_err(|e| match e.refusal() {
                Some(Refusal::DuplicateCard) => duplicate_card(),
                _ => e.into(),
            })?;
        tracing::info!(card_id = %stored.id, user_id = %user_id, brand = %stored.brand, "card added");
        Ok(stored)
    }

    pub async fn cards(&self, user_id: Uuid) -> Result<Vec<StoredCard>> {
        Ok(self.store.list_cards(user_id).await?)
    }

    pub async fn remove_card(&self, user_id: Uuid, card_id: Uuid, now: i64) -> Result<()> {
        self.store.delete_card(user_id, card_id, now).await?;
        tracing::info!(card_id = %card_id, user_id = %user_id, "card removed");
        Ok(())
    }

    pub async fn set_default(&self, user_id: Uuid, card_id: Uuid) -> Result<()> {
        Ok(self.store.set_default_card(user_id, card_id).await?)
    }

    /// Decrypts one of the shopper's cards. Only the processor call sites use this.
    pub async fn card_number(
        &self,
        user_id: Uuid,
        card_id: Uuid,
    ) -> Result<(StoredCard, CardNumber)> {
        let (card, sealed) = self.store.sealed_card(user_id, card_id).await?;
        let sealed = SealedCard { card, sealed };
        let number = self.open_number(&sealed).await?;
        Ok((sealed.card, number))
    }

    /// One of the shopper's cards with its number still sealed, in one read (another
    /// shopper's card is not found): for a step that checks the card first and may call the
    /// card network with it later, without reading it again.
    pub async fn sealed_card(&self, user_id: Uuid, card_id: Uuid) -> Result<Option<SealedCard>> {
        match self.store.sealed_card(user_id, card_id).await {
            Ok((card, sealed)) => Ok(Some(SealedCard { card, sealed })),
            Err(crate::store::Error::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Decrypts a card read with [`Vault::sealed_card`]. Only the processor call sites use
    /// this.
    pub async fn open_number(&self, sealed: &SealedCard) -> Result<CardNumber> {
        let (card_id, user_id) = (sealed.card.id, sealed.card.user_id);
        let wrapped = WrappedKey {
            version: u32::try_from(sealed.sealed.kek_version).map_err(Error::internal)?,
            bytes: sealed.sealed.wrapped_key.clone(),
        };
        let data_key = self
            .kek
            .unwrap(&wrapped, card_id.as_bytes())
            .await
            .map_err(Error::internal)?;
        let plain = keys::open(
            &aes_key(data_key.expose()),
            &sealed.sealed.number_ciphertext,
            &number_aad(card_id, user_id),
        )
        .map_err(Error::internal)?;
        let digits = Zeroizing::new(String::from_utf8(plain.to_vec()).map_err(Error::internal)?);
        CardNumber::parse(&digits)
            .map_err(|_| Error::internal(anyhow::anyhow!("a stored card number no longer parses")))
    }

    async fn seal(
        &self,
        card_id: Uuid,
        user_id: Uuid,
        number: &CardNumber,
    ) -> Result<SealedNumber> {
        let data_key = DataKey::generate().map_err(Error::internal)?;
        let number_ciphertext = keys::seal(
            &aes_key(data_key.expose()),
            number.expose().as_bytes(),
            &number_aad(card_id, user_id),
        )
        .map_err(Error::internal)?;
        let wrapped = self
            .kek
            .wrap(&data_key, card_id.as_bytes())
            .await
            .map_err(Error::internal)?;
        Ok(SealedNumber {
            number_ciphertext,
            wrapped_key: wrapped.bytes,
            kek_version: i64::from(wrapped.version),
        })
    }
}

/// The card's id and owner bind the ciphertext to its row.
fn number_aad(card_id: Uuid, user_id: Uuid) -> Vec<u8> {
    format!("saifu/card-number/v1/{card_id}/{user_id}").into_bytes()
}

/// What the shopper reads when the processor declines a new card, and which field it concerns.
fn declined(decline_code: &str) -> Error {
    let (field, message) = match decline_code {
        "incorrect_cvc" => (
            "cvc",
            "The security code is incorrect. Check the 3 or 4 digits on your card.",
        ),
        "expired_card" => ("expiry", "The card issuer says this card has expired."),
        "insufficient_funds" => ("number", "The card was declined for insufficient funds."),
        "lost_card" => (
            "number",
            "The card was declined: it has been reported lost. Use another card.",
        ),
        "stolen_card" => (
            "number",
            "The card was declined: it has been reported stolen. Use another card.",
        ),
        "fraudulent" => (
            "number",
            "The card was declined by its issuer's fraud checks. Contact your card issuer.",
        ),
        _ => (
            "number",
            "The card was declined by its issuer. Use another card or contact your card issuer.",
        ),
    };
    Error::new(Kind::Unprocessable, "card_declined", message)
        .on_field(field)
        .with_decline_code(decline_code.to_string())
}

fn processor_failed(err: ProcessorError) -> Error {
    tracing::warn!(error = %err, "card verification failed at the processor");
    match err {
        ProcessorError::Processing => Error::new(
            Kind::Upstream,
            "processing_error",
            "The card network could not check this card right now. Please try again in a moment.",
        )
        .with_decline_code("processing_error"),
        _ => Error::new(
            Kind::Upstream,
            "processor_unavailable",
            "The card network is not answering right now. Please try again in a moment.",
        ),
    }
}

fn duplicate_card() -> Error {
    Error::conflict("duplicate_card", "This card is already in your wallet.").on_field("number")
}
