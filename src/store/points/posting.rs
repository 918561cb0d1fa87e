//! Writing a balanced posting: its entries, and the balances of the accounts it moves.

use sqlx::Row;
use uuid::Uuid;

use crate::points::ledger::{PointsRefusal, Posting};
use crate::store::error::{Error, Result};
use crate::store::Tx;

fn is_check_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_check_violation())
}

/// Writes one balanced posting: its legs sum to zero, and no shopper balance may go negative
/// (the database refuses it, and the whole transaction with it). Its entries are written by
/// one statement, and its balances by one when they all exist or no shopper's is debited.
pub async fn post(tx: &mut Tx, posting: &Posting, now: i64) -> Result<()> {
    tx.lock_points().await?;
    let kind = posting.kind.as_str();
    if !posting.is_balanced() {
        return Err(Error::Corrupt(format!("unbalanced {kind} posting")));
    }
    let legs: Vec<(String, i64)> = posting
        .legs
        .iter()
        .filter(|(_, a)| *a != 0)
        .map(|(account, amount)| (account.key(), *amount))
        .collect();
    if legs.is_empty() {
        return Ok(());
    }
    insert_entries(tx, posting, &legs, now).await?;
    let distinct = legs
        .iter()
        .map(|(account, _)| account)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let balanced = if distinct < legs.len() {
        // Two legs on one account: one balance change each, in order.
        let mut each = Ok(());
        for leg in &legs {
            each = update_balances(tx, std::slice::from_ref(leg)).await;
            if each.is_err() {
                break;
            }
        }
        each
    } else {
        update_balances(tx, &legs).await
    };
    match balanced {
        Err(e) if is_check_violation(&e) => Err(PointsRefusal::Insufficient.into()),
        other => Ok(other?),
    }
}

/// `$first, $first + 1, …` for `count` parameters, as one row of a `VALUES`.
fn placeholders(first: usize, count: usize) -> String {
    let params: Vec<String> = (first..first + count).map(|n| format!("${n}")).collect();
    format!("({})", params.join(", "))
}

/// The entries of a posting's (non-zero) `legs`, in their order, in one statement.
async fn insert_entries(
    tx: &mut Tx,
    posting: &Posting,
    legs: &[(String, i64)],
    now: i64,
) -> Result<()> {
    let posting_id = Uuid::new_v4().to_string();
    let rows: Vec<String> = (0..legs.len())
        .map(|i| placeholders(i * 7 + 1, 7))
        .collect();
    let sql = format!(
        "INSERT INTO points_entries (id, posting_id, account, amount, kind, payment_id, created_at)
         VALUES {}",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (account, amount) in legs {
        query = query
            .bind(Uuid::new_v4().to_string())
            .bind(posting_id.clone())
            .bind(account.clone())
            .bind(*amount)
            .bind(posting.kind.as_str())
            .bind(posting.payment_id.clone())
            .bind(now);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Whether `account` is a shopper's, whose balance may not go negative (the table's check).
fn is_shoppers(account: &str) -> bool {
    account.starts_with("shopper:")
}

/// Adds each amount to its account's balance (the accounts distinct), creating a balance that
/// does not exist yet. Without a shopper's debit, one upsert does it all. A shopper's debit
/// must not go through `INSERT … ON CONFLICT` (SQLite and PostgreSQL check the proposed row's
/// constraints before they see the conflict): the existing balances are updated in one
/// statement, and only those missing are inserted.
async fn update_balances(tx: &mut Tx, legs: &[(String, i64)]) -> sqlx::Result<()> {
    let debits_a_shopper = legs.iter().any(|(a, amount)| *amount < 0 && is_shoppers(a));
    let missing: Vec<&(String, i64)> = if debits_a_shopper {
        let cases: String = (0..legs.len())
            .map(|i| format!(" WHEN ${} THEN ${}", i * 2 + 1, i * 2 + 2))
            .collect();
        let accounts: Vec<String> = (0..legs.len()).map(|i| format!("${}", i * 2 + 1)).collect();
        let sql = format!(
            "UPDATE points_balances SET balance = balance + CASE account{cases} END
             WHERE account IN ({}) RETURNING account",
            accounts.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (account, amount) in legs {
            query = query.bind(account.as_str()).bind(*amount);
        }
        let updated = query.fetch_all(&mut **tx).await?;
        let updated = updated
            .iter()
            .map(|r| r.try_get::<String, _>("account"))
            .collect::<sqlx::Result<std::collections::HashSet<_>>>()?;
        legs.iter().filter(|(a, _)| !updated.contains(a)).collect()
    } else {
        legs.iter().collect()
    };
    if missing.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..missing.len())
        .map(|i| placeholders(i * 2 + 1, 2))
        .collect();
    let sql = format!(
        "INSERT INTO points_balances (account, balance) VALUES {}
         ON CONFLICT (account) DO UPDATE SET balance = points_balances.balance + excluded.balance",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (account, amount) in missing {
        query = query.bind(account.as_str()).bind(*amount);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
