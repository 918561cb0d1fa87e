//! `saifu keys`: rotating, re-wrapping and retiring key-encryption key versions, and rotating
//! the grant-signing key.

use anyhow::Context;
use clap::Subcommand;

use crate::audit::{Action, Actor, Audit, Entry};
use crate::checkout::signing::GrantSigner;
use crate::config::Config;
use crate::keys::{
    add_version_to_file, retire_version_in_file, rewrap_all, KeyEncryptionKey, LocalKeyring,
};
use crate::open_store;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new key version to the keyring file and re-wrap every card's data key with it.
    /// Safe while servers run: they pick up the new version from the file.
    Rotate {
        /// Cards re-wrapped per batch.
        #[arg(long, default_value_t = 200)]
        batch: i64,
    },
    /// Re-wrap data keys still under an older version (resumes an interrupted rotation).
    Rewrap {
        #[arg(long, default_value_t = 200)]
        batch: i64,
    },
    /// Retire an old version: its key material is deleted and it can no longer decrypt.
    /// Refused while any card still uses it.
    Retire {
        #[arg(long)]
        version: u32,
    },
    /// Show the key versions and how many keys each wraps.
    Status,
    /// Generate a new grant-signing key; the old one stays published until its grants expire.
    RotateSigning,
}

pub(super) async fn keys(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let keyring = LocalKeyring::load(&crate::key_settings(config))?;
    let store = open_store(config).await?;
    store.migrate().await?;
    let audit = Audit::new(store.clone());
    // Changes to the keyring file are recorded on their own, right after the file changed.
    let record = |entry: Entry| {
        let audit = audit.clone();
        async move {
            audit
                .record(&entry, crate::clock::unix_now())
                .await
                .map_err(|e| anyhow::anyhow!("recording the change in the audit log: {e:#}"))
        }
    };
    let keyring_file = || {
        keyring.file().map(std::path::Path::to_path_buf).context(
            "the keys come from SAIFU_KEK: add a version to that value yourself (v1:…,v2:…), restart, then run `saifu keys rewrap`",
        )
    };
    match command {
        KeysCommand::Rotate { batch } => {
            let version = add_version_to_file(&keyring_file()?)?;
            record(
                Entry::new(&Actor::Cli, Action::KekRotated, format!("v{version}"))
                    .with("version", version),
            )
            .await?;
            println!("added key version v{version}");
            let done = rewrap_all(&store, &keyring, batch.max(1)).await?;
            println!("re-wrapped {done} data keys with v{version}");
        }
        KeysCommand::Rewrap { batch } => {
            let done = rewrap_all(&store, &keyring, batch.max(1)).await?;
            let active = keyring.active_version().await?;
            record(
                Entry::new(&Actor::Cli, Action::KekRewrapped, format!("v{active}"))
                    .with("rewrapped", done),
            )
            .await?;
            println!("re-wrapped {done} data keys");
        }
        KeysCommand::Retire { version } => {
            let in_use = store
                .wrapped_per_key_version()
                .await?
                .into_iter()
                .find(|(v, _)| *v == i64::from(version))
                .map_or(0, |(_, n)| n);
            if in_use > 0 {
                anyhow::bail!(
                    "v{version} still wraps {in_use} data keys: run `saifu keys rewrap` first"
                );
            }
            retire_version_in_file(&keyring_file()?, version)?;
            record(
                Entry::new(&Actor::Cli, Action::KekRetired, format!("v{version}"))
                    .with("version", version),
            )
            .await?;
            println!("retired v{version}: its key material is gone");
        }
        KeysCommand::RotateSigning => {
            let signer = GrantSigner::new(store.clone(), std::sync::Arc::new(keyring));
            // Retired keys stay published for the longest grant lifetime plus the nodes' cache time.
            let kid = signer
                .rotate(crate::clock::unix_now(), 600 + 120, &Actor::Cli)
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            println!("new grant-signing key {kid}; older keys stop signing and stay published for 12 minutes");
            return Ok(());
        }
        KeysCommand::Status => {
            let counts = store.wrapped_per_key_version().await?;
            let active = keyring.active_version().await?;
            for (version, retired) in keyring.versions() {
                let cards = counts
                    .iter()
                    .find(|(v, _)| *v == i64::from(version))
                    .map_or(0, |(_, n)| *n);
                let state = if retired {
                    "retired"
                } else if version == active {
                    "active"
                } else {
                    "live"
                };
                println!("v{version}\t{state}\t{cards} wrapped keys");
            }
        }
    }
    Ok(())
}
