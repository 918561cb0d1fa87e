//! `saifu receipt verify FILE [--jwks FILE]`: checks a signed receipt against the wallet's
//! published keys, offline with a saved JWKS, or fetched from the configured issuer's
//! `/oauth/jwks`. Prints the receipt's content and exits 0 when it verifies; otherwise says why
//! and exits non-zero.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use saifu_sdk::checkout::JwkSet;
use saifu_sdk::receipts::verify_receipt;

use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum ReceiptCommand {
    /// Verify a receipt file (a compact JWS, as downloaded from Activity) and print its content.
    Verify {
        /// The receipt file.
        file: PathBuf,
        /// A JWKS file (a saved copy of /oauth/jwks): verify offline. Without it, the keys are
        /// fetched from the configured issuer.
        #[arg(long)]
        jwks: Option<PathBuf>,
    },
}

pub(super) async fn receipt(config: &Config, command: ReceiptCommand) -> anyhow::Result<()> {
    match command {
        ReceiptCommand::Verify { file, jwks } => {
            let jws = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let keys = match jwks {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    serde_json::from_str::<JwkSet>(&text)
                        .with_context(|| format!("{} is not a JWKS", path.display()))?
                }
                None => fetch_jwks(config).await?,
            };
            let claims = verify_receipt(&jws, &keys).context("the receipt does not verify")?;
            println!("{}", serde_json::to_string_pretty(&claims)?);
            eprintln!("the receipt is valid: signed by {}", claims.iss);
            Ok(())
        }
    }
}

/// The issuer's published keys, fetched now.
async fn fetch_jwks(config: &Config) -> anyhow::Result<JwkSet> {
    let url = config
        .issuer
        .join("/oauth/jwks")
        .context("the issuer URL")?;
    let response = reqwest::get(url.clone())
        .await
        .with_context(|| format!("fetching {url}"))?;
    if !response.status().is_success() {
        anyhow::bail!("fetching {url}: HTTP {}", response.status());
    }
    let body = response.bytes().await?;
    serde_json::from_slice(&body).with_context(|| format!("{url} did not answer a JWKS"))
}
