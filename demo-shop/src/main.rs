//! The Saifu Demo Shop, on its own, in front of a running wallet.
//!
//! Register the shop with the wallet once:
//!
//! ```sh
//! saifu merchant create --name "Saifu Demo Shop" \
//!     --redirect-uri http://localhost:3000/callback --verified --json
//! ```
//!
//! then run it with the printed credentials:
//!
//! ```sh
//! DEMO_CLIENT_ID=… DEMO_CLIENT_SECRET=… cargo run -p saifu-demo-shop
//! ```
//!
//! Settings: `SAIFU_ISSUER` (the wallet, default `http://localhost:8080/`), `DEMO_CLIENT_ID`,
//! `DEMO_CLIENT_SECRET`, `DEMO_LISTEN` (default `127.0.0.1:3000`) and `DEMO_BASE` (the shop's
//! public URL, default `http://localhost:3000/`). `saifu demo` does all of this for you.
//!
//! Optionally `DEMO_WEBHOOK_SECRET`: the `whsec_…` secret of a webhook endpoint registered
//! with the wallet at `{DEMO_BASE}webhooks/saifu`. With it the shop takes the wallet's signed
//! webhooks, and its order pages say when the wallet has confirmed a payment; without it the
//! webhook route answers `404`.

use std::error::Error;
use std::process::ExitCode;

use saifu_demo_shop::DemoShopConfig;
use saifu_sdk::{SecretString, Url};

fn setting(name: &str, default: Option<&str>) -> Result<String, String> {
    match (std::env::var(name), default) {
        (Ok(value), _) if !value.is_empty() => Ok(value),
        (_, Some(default)) => Ok(default.to_owned()),
        _ => Err(format!(
            "{name} is not set. Register the shop with `saifu merchant create --name \"Saifu Demo Shop\" \
             --redirect-uri http://localhost:3000/callback --json` and set DEMO_CLIENT_ID and \
             DEMO_CLIENT_SECRET to the printed client_id and client_secret."
        )),
    }
}

fn url(name: &str, default: &str) -> Result<Url, String> {
    let value = setting(name, Some(default))?;
    Url::parse(&value).map_err(|e| format!("{name} ({value:?}) is not a URL: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt().init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("demo_shop: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config = DemoShopConfig {
        wallet_issuer: url("SAIFU_ISSUER", "http://localhost:8080/")?,
        client_id: setting("DEMO_CLIENT_ID", None)?,
        client_secret: SecretString::from(setting("DEMO_CLIENT_SECRET", None)?),
        shop_base: url("DEMO_BASE", "http://localhost:3000/")?,
        webhook_secret: std::env::var("DEMO_WEBHOOK_SECRET")
            .ok()
            .filter(|secret| !secret.is_empty())
            .map(SecretString::from),
    };
    let listen = setting("DEMO_LISTEN", Some("127.0.0.1:3000"))?;
    let shop_url = config.shop_base.clone();
    let wallet = config.wallet_issuer.clone();

    let router = saifu_demo_shop::router(config)
        .await
        .map_err(|e| format!("could not set up the shop against the wallet at {wallet}: {e}"))?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("could not listen on {listen}: {e}"))?;
    println!("Saifu Demo Shop: {shop_url} (wallet: {wallet}). Ctrl-C stops it.");

    let shutdown = async {
        // Without a signal handler, nothing to wait for: run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    saifu_demo_shop::serve(listener, router, shutdown).await?;
    Ok(())
}
