//! `saifu demo`: the wallet and the demo shop together, with the shop registered as a
//! verified merchant.

use anyhow::Context;

use crate::audit::Actor;
use crate::config::Config;
use crate::merchants::{parse_redirect_uri, MerchantStatus, NewMerchant};
use crate::{shutdown_signal, AppState, Application};

const DEMO_SHOP_NAME: &str = "Saifu Demo Shop";

/// The demo shop's credentials at the wallet.
pub struct DemoShopCredentials {
    pub client_id: String,
    pub client_secret: String,
    /// The `whsec_…` secret its webhooks are signed with.
    pub webhook_secret: String,
}

/// Registers the demo shop as a verified merchant whose webhooks go to
/// `{shop_base}webhooks/saifu`, or gives the existing one a fresh client secret.
pub async fn register_demo_shop(
    state: &AppState,
    shop_base: &url::Url,
) -> anyhow::Result<DemoShopCredentials> {
    let redirect = shop_base.join("callback").context("demo shop URL")?;
    let webhook_url = shop_base.join("webhooks/saifu").context("demo shop URL")?;
    let merchants = &state.checkout.merchants;
    let existing = merchants
        .list()
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .into_iter()
        .find(|m| m.name == DEMO_SHOP_NAME && m.redirect_uris.contains(&redirect.to_string()));
    if let Some(m) = existing {
        let client_secret = merchants
            .rotate_secret(&m.client_id, &Actor::Cli)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        merchants
            .set_status(
                &m.client_id,
                MerchantStatus::Verified,
                None,
                &Actor::Cli,
                crate::clock::unix_now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        state
            .webhooks
            .set_url(&m.client_id, Some(webhook_url.as_str()), &Actor::Cli)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        state
            .webhooks
            .enable(&m.client_id, &Actor::Cli)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let webhook_secret = state
            .webhooks
            .current_secret(&m.client_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        return Ok(DemoShopCredentials {
            client_id: m.client_id,
            client_secret,
            webhook_secret,
        });
    }
    let created = merchants
        .create(
            NewMerchant {
                name: DEMO_SHOP_NAME.into(),
                redirect_uris: vec![
                    parse_redirect_uri(redirect.as_str()).map_err(anyhow::Error::msg)?
                ],
                webhook_url: Some(webhook_url),
                domain: Some(shop_base.host_str().unwrap_or("localhost").to_string()),
                verified: true,
            },
            crate::clock::unix_now(),
            &Actor::Cli,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    Ok(DemoShopCredentials {
        client_id: created.client_id,
        client_secret: created.client_secret,
        webhook_secret: created.webhook_secret,
    })
}

pub(super) async fn demo(config: Config, shop_listen: &str, shop_url: &str) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    let shop_base = url::Url::parse(shop_url).context("--shop-url must be a URL")?;
    let issuer = config.issuer.clone();
    let app = Application::build(config).await?;
    let DemoShopCredentials {
        client_id,
        client_secret,
        webhook_secret,
    } = register_demo_shop(app.state(), &shop_base).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wallet_stop = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.changed().await;
        }
    };
    let wallet = tokio::spawn(app.run_until(wallet_stop));
    let shop = saifu_demo_shop::router(saifu_demo_shop::DemoShopConfig {
        wallet_issuer: issuer.clone(),
        client_id,
        client_secret: client_secret.into(),
        shop_base: shop_base.clone(),
        webhook_secret: Some(webhook_secret.into()),
    })
    .await
    .map_err(|e| anyhow::anyhow!("starting the demo shop: {e}"))?;
    let listener = tokio::net::TcpListener::bind(shop_listen)
        .await
        .with_context(|| format!("binding {shop_listen}"))?;
    println!("Saifu wallet:    {issuer}");
    println!("Saifu Demo Shop: {shop_base}");
    println!(
        "Open the shop, put something in the cart and press \"Pay with Saifu\". Ctrl-C stops both."
    );
    let shop_stop = {
        let mut rx = stop_rx;
        async move {
            let _ = rx.changed().await;
        }
    };
    let shop_task = tokio::spawn(saifu_demo_shop::serve(listener, shop, shop_stop));
    shutdown.await;
    let _ = stop_tx.send(true);
    shop_task
        .await
        .context("demo shop task")?
        .context("serving the demo shop")?;
    wallet.await.context("wallet task")?
}
