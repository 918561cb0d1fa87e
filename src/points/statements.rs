//! The statements service: a month of the ledger summed per merchant, currency and programme
//! version by the store, valued here at each version's point value, for the merchant's API and
//! the console (its page and CSV).

use std::collections::BTreeMap;

use super::programmes::Programmes;
use super::statement::{Lines, Statement, StatementMonth};
use crate::error::{Error, Result};
use crate::money::Currency;
use crate::store::statements::StatementRow;
use crate::store::Store;

#[derive(Clone)]
pub struct Statements {
    store: Store,
    programmes: Programmes,
}

impl Statements {
    pub fn new(store: Store, programmes: Programmes) -> Self {
        Self { store, programmes }
    }

    /// One merchant's statement for `month` (no lines when nothing happened at its shop).
    pub async fn of_merchant(&self, client_id: &str, month: StatementMonth) -> Result<Statement> {
        let rows = self
            .store
            .points_statement_rows(month.from, month.to, Some(client_id))
            .await?;
        let mut statements = self.value(rows, month).await?;
        Ok(statements.pop().unwrap_or_else(|| Statement {
            client_id: client_id.to_string(),
            merchant_name: String::new(),
            month,
            lines: Vec::new(),
        }))
    }

    /// The statement of every merchant with activity in `month`, by merchant name.
    pub async fn of_month(&self, month: StatementMonth) -> Result<Vec<Statement>> {
        let rows = self
            .store
            .points_statement_rows(month.from, month.to, None)
            .await?;
        self.value(rows, month).await
    }

    /// Rows become one statement per merchant (by name, then client id), each version's
    /// points valued at that version's point value.
    async fn value(
        &self,
        rows: Vec<StatementRow>,
        month: StatementMonth,
    ) -> Result<Vec<Statement>> {
        let mut order: Vec<(String, String)> = Vec::new();
        let mut lines: BTreeMap<String, Lines> = BTreeMap::new();
        for row in rows {
            let currency = Currency::parse(&row.currency).ok_or_else(|| {
                Error::internal(anyhow::anyhow!(
                    "a payment in an unknown currency: {:?}",
                    row.currency
                ))
            })?;
            let programme = self.programmes.version(row.programme_version).await?;
            let value = programme.rules.rates.point_value(currency);
            if !lines.contains_key(&row.client_id) {
                order.push((row.client_id.clone(), row.merchant_name.clone()));
            }
            lines.entry(row.client_id).or_default().add(
                currency,
                value,
                row.points_issued,
                row.points_redeemed,
            )?;
        }
        order.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        Ok(order
            .into_iter()
            .map(|(client_id, merchant_name)| Statement {
                lines: lines.remove(&client_id).unwrap_or_default().finish(),
                client_id,
                merchant_name,
                month,
            })
            .collect())
    }
}
