//! Keys wrapped in the database (card data keys, signing keys, webhook secrets): what each is
//! bound to, and re-wrapping them under the keyring's active version after a rotation.

use uuid::Uuid;

use super::{KeyEncryptionKey, WrappedKey};
use crate::store::{Store, WrappedTable};

/// What a wrapped key is bound to: a key copied to another row does not unwrap.
pub fn wrap_context(table: WrappedTable, id: &str) -> anyhow::Result<Vec<u8>> {
    Ok(match table {
        WrappedTable::Cards => Uuid::parse_str(id)?.as_bytes().to_vec(),
        WrappedTable::SigningKeys => format!("signing-key/{id}").into_bytes(),
        // Both of a merchant's webhook secrets are bound to the merchant, so rotation can move
        // the current one to the previous slot as it is.
        WrappedTable::WebhookSecrets | WrappedTable::PreviousWebhookSecrets => {
            format!("webhook-secret/{id}").into_bytes()
        }
    })
}

/// Re-wraps every key (card data keys, signing keys' data keys, webhook secrets) not yet under
/// the keyring's active version, in batches, with a conditional write per key so it can run
/// beside live servers. Returns how many it re-wrapped.
pub async fn rewrap_all(
    store: &Store,
    kek: &dyn KeyEncryptionKey,
    batch: i64,
) -> anyhow::Result<u64> {
    let target = kek.active_version().await?;
    let mut done = 0;
    for table in WrappedTable::ALL {
        loop {
            let candidates = store
                .wrapped_to_rewrap(table, i64::from(target), batch)
                .await?;
            if candidates.is_empty() {
                break;
            }
            for candidate in candidates {
                let context = wrap_context(table, &candidate.id)?;
                let old = WrappedKey {
                    version: u32::try_from(candidate.kek_version)?,
                    bytes: candidate.wrapped_key,
                };
                let data_key = kek.unwrap(&old, &context).await?;
                let new = kek.wrap(&data_key, &context).await?;
                anyhow::ensure!(
                    new.version == target,
                    "the keyring's active version changed during the re-wrap; run it again"
                );
                if store
                    .replace_wrapped(
                        table,
                        &candidate.id,
                        candidate.kek_version,
                        &new.bytes,
                        i64::from(new.version),
                    )
                    .await?
                {
                    done += 1;
                }
            }
            tracing::info!(rewrapped = done, "re-wrapping keys");
        }
    }
    Ok(done)
}
