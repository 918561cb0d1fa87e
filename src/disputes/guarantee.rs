//! The guarantee fund: a double-entry ledger (each posting sums to zero). A payout for a
//! dispute moves up to the cap from `fund` to `paid_out`, stating what the cap leaves unpaid; a
//! contribution moves from `issuer` to `fund`. The fund may go below zero (the issuer owes it a
//! top-up): a shopper owed a payout is never left unpaid for lack of funds.

use super::Disputes;
use crate::audit::{Action, Actor, Entry};
use crate::clock::random_token;
use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::store::disputes::{DisputeEvent, StoredDispute};
use crate::store::guarantee::{GuaranteeLine, GuaranteePosting};

/// The fund's balance per currency, and its latest entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guarantee {
    /// (currency, balance in minor units); below zero when the issuer owes a top-up.
    pub balances: Vec<(String, i64)>,
    /// Newest first.
    pub entries: Vec<GuaranteeEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuaranteeEntry {
    pub at: i64,
    /// The dispute a payout was for; `None` for a contribution.
    pub dispute_id: Option<String>,
    /// `fund`, `paid_out` or `issuer`.
    pub account: String,
    pub amount_minor: i64,
    pub currency: String,
    pub memo: String,
}

/// Entries the console shows.
const SHOWN_ENTRIES: i64 = 200;

/// The largest single contribution, in minor units: a typo's guard.
const MAX_CONTRIBUTION_MINOR: i64 = 1_000_000_000_000;

fn ledger_id(prefix: &str) -> Result<String> {
    Ok(format!("{prefix}_{}", &random_token()?[..22]))
}

/// Who decided, from the dispute's `decided_by` (`admin:<id>`; a merchant's acceptance is the
/// wallet's own doing).
fn decider(decided_by: Option<&str>) -> Actor {
    match decided_by.and_then(|by| by.strip_prefix("admin:")) {
        Some(id) => Actor::Admin(id.to_string()),
        None => Actor::System,
    }
}

impl Disputes {
    pub async fn guarantee(&self) -> Result<Guarantee> {
        let balances = self.store.guarantee_balances("fund").await?;
        let entries = self
            .store
            .guarantee_entries(SHOWN_ENTRIES)
            .await?
            .into_iter()
            .map(|e| GuaranteeEntry {
                at: e.at,
                dispute_id: e.dispute_id,
                account: e.account,
                amount_minor: e.amount_minor,
                currency: e.currency,
                memo: e.memo,
            })
            .collect();
        Ok(Guarantee { balances, entries })
    }

    /// Pays `amount_minor` of `currency` into the fund (the issuer's contribution), audited.
    pub async fn fund_guarantee(
        &self,
        currency: &str,
        amount_minor: i64,
        by: &Actor,
        now: i64,
    ) -> Result<()> {
        let currency = Currency::parse(currency).ok_or_else(|| {
            Error::invalid("invalid_amount", "The fund holds JPY and USD.").on_field("currency")
        })?;
        if amount_minor <= 0 || amount_minor > MAX_CONTRIBUTION_MINOR {
            return Err(
                Error::invalid("invalid_amount", "A contribution is a positive amount.")
                    .on_field("amount"),
            );
        }
        let amount = Money::new(currency, amount_minor);
        let posting_id = ledger_id("gp")?;
        let (from, to) = (ledger_id("ge")?, ledger_id("ge")?);
        let posting = GuaranteePosting {
            id: &posting_id,
            dispute_id: None,
            currency: currency.code(),
            memo: "Contribution from the issuer",
            at: now,
            lines: [
                GuaranteeLine {
                    id: &from,
                    account: "issuer",
                    amount_minor: -amount_minor,
                },
                GuaranteeLine {
                    id: &to,
                    account: "fund",
                    amount_minor,
                },
            ],
        };
        let audit = Entry::new(by, Action::GuaranteeFunded, posting_id.as_str())
            .with("amount", amount.to_major_string())
            .with("currency", currency.code())
            .record(now);
        self.store.fund_guarantee(&posting, &audit).await?;
        tracing::info!(posting_id = %posting_id, "guarantee fund topped up");
        Ok(())
    }

    /// Resolves a dispute whose refund failed for good by a payout from the fund, up to the
    /// cap, stating the rest; `None` when another node resolved it first.
    pub(super) async fn pay_from_guarantee(
        &self,
        dispute: &StoredDispute,
        event: &DisputeEvent,
        now: i64,
    ) -> Result<Option<StoredDispute>> {
        let currency = super::view::currency_of(dispute)?;
        let paid = dispute
            .amount_minor
            .min(self.settings.cap.max(currency).minor);
        let unpaid = dispute.amount_minor - paid;
        let posting_id = ledger_id("gp")?;
        let (from, to) = (ledger_id("ge")?, ledger_id("ge")?);
        let memo = format!("Payout for dispute {}", dispute.id);
        let posting = GuaranteePosting {
            id: &posting_id,
            dispute_id: Some(&dispute.id),
            currency: currency.code(),
            memo: &memo,
            at: now,
            lines: [
                GuaranteeLine {
                    id: &from,
                    account: "fund",
                    amount_minor: -paid,
                },
                GuaranteeLine {
                    id: &to,
                    account: "paid_out",
                    amount_minor: paid,
                },
            ],
        };
        let audit = Entry::new(
            &decider(dispute.decided_by.as_deref()),
            Action::GuaranteePaid,
            dispute.id.as_str(),
        )
        .with("payment_id", dispute.payment_id.as_str())
        .with("paid", Money::new(currency, paid).to_major_string())
        .with("unpaid", Money::new(currency, unpaid).to_major_string())
        .with("currency", currency.code())
        .record(now);
        tracing::info!(dispute_id = %dispute.id, "the dispute's refund failed for good: the guarantee pays");
        Ok(self
            .store
            .resolve_dispute(
                &dispute.id,
                None,
                Some((&posting, unpaid, &audit)),
                event,
                now,
            )
            .await?)
    }
}
