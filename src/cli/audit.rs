//! `saifu audit`: checking the audit log's hash chain, printing its head as a checkpoint, and
//! listing entries.

use anyhow::Context;
use clap::Subcommand;

use crate::audit::Query as AuditFilter;
use crate::audit::{Audit, Head, Verdict};
use crate::config::Config;
use crate::open_store;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk the chain from the first entry; exit non-zero naming the first broken entry.
    Verify {
        /// A checkpoint recorded earlier with `saifu audit head`, as SEQ:HASH: the entry at SEQ
        /// must still have HASH, so history up to it was not rewritten or cut.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The latest entry's sequence number and hash, to record elsewhere as a checkpoint.
    Head {
        #[arg(long)]
        json: bool,
    },
    /// The latest entries, oldest first, filtered by actor, action, target or time.
    List {
        /// `cli`, `system` or `admin:ID`.
        #[arg(long)]
        actor: Option<String>,
        /// e.g. `merchant.status_changed`.
        #[arg(long)]
        action: Option<String>,
        /// e.g. a merchant's client id.
        #[arg(long)]
        target: Option<String>,
        /// Only entries made at or after this Unix time (seconds).
        #[arg(long)]
        since: Option<i64>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn audit(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    store.migrate().await?;
    let audit = Audit::new(store);
    match command {
        AuditCommand::Verify { expect_head, json } => {
            let checkpoint = expect_head
                .map(|text| {
                    Head::parse(&text)
                        .context("--expect-head must be SEQ:HASH (a hash of 64 hex digits)")
                })
                .transpose()?;
            let verdict = audit
                .verify(checkpoint.as_ref())
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            match verdict {
                Verdict::Whole { head } => {
                    if json {
                        let out = serde_json::json!({ "ok": true, "head": head });
                        println!("{out}");
                    } else {
                        println!(
                            "audit log intact: {} entries; head {}:{}",
                            head.sequence, head.sequence, head.hash
                        );
                    }
                }
                Verdict::Broken(broken) => {
                    if json {
                        let out = serde_json::json!({
                            "ok": false,
                            "sequence": broken.sequence,
                            "reason": broken.reason.code(),
                            "message": broken.to_string(),
                        });
                        println!("{out}");
                    }
                    anyhow::bail!("audit log broken: {broken}");
                }
            }
        }
        AuditCommand::Head { json } => {
            let head = audit.head().await.map_err(|e| anyhow::anyhow!("{e:#}"))?;
            if json {
                println!("{}", serde_json::to_string(&head)?);
            } else {
                println!("{}:{}", head.sequence, head.hash);
            }
        }
        AuditCommand::List {
            actor,
            action,
            target,
            since,
            limit,
            json,
        } => {
            anyhow::ensure!(limit >= 1, "--limit must be at least 1");
            let filter = AuditFilter {
                actor,
                action,
                target,
                since,
                until: None,
            };
            let entries = audit
                .list(&filter, limit)
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            if json {
                let rows: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "sequence": e.sequence, "at": e.at, "actor": e.actor,
                            "action": e.action, "target": e.target,
                            "details": serde_json::from_str::<serde_json::Value>(&e.details)
                                .unwrap_or(serde_json::Value::String(e.details.clone())),
                            "prev_hash": e.prev_hash, "hash": e.hash,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string(&rows)?);
            } else {
                for e in entries {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        e.sequence, e.at, e.actor, e.action, e.target, e.details
                    );
                }
            }
        }
    }
    Ok(())
}
