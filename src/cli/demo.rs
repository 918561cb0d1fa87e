//! `saifu demo`: the wallet (or, with `--wallets 2`, two wallets) and the demo shop together,
//! with the shop registered as a verified merchant at the first wallet.

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

/// The second wallet of `saifu demo --wallets 2`: the first's configuration on the next port,
/// with a data directory (and so an SQLite database and development keys) of its own.
fn second_wallet(config: &Config) -> anyhow::Result<Config> {
    let mut second = config.clone();
    let port = config
        .issuer
        .port_or_known_default()
        .context("the issuer has no port")?;
    let next = port
        .checked_add(1)
        .context("the issuer's port has no next port")?;
    second
        .issuer
        .set_port(Some(next))
        .map_err(|()| anyhow::anyhow!("the issuer {} cannot take a port", config.issuer))?;
    let (host, listen_port) = config
        .listen
        .rsplit_once(':')
        .context("the listen address has no port")?;
    let listen_port: u16 = listen_port
        .parse()
        .context("the listen address's port is not a number")?;
    second.listen = format!(
        "{host}:{}",
        listen_port
            .checked_add(1)
            .context("the listen port has no next port")?
    );
    second.data_dir = config.data_dir.join("wallet-2");
    second.database_url = None;
    std::fs::create_dir_all(&second.data_dir)
        .with_context(|| format!("creating {}", second.data_dir.display()))?;
    Ok(second)
}

pub(super) async fn demo(
    config: Config,
    shop_listen: &str,
    shop_url: &str,
    wallets: u8,
) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    let shop_base = url::Url::parse(shop_url).context("--shop-url must be a URL")?;
    let issuer = config.issuer.clone();
    let second = match wallets {
        2 => Some(second_wallet(&config)?),
        _ => None,
    };
    let registrations_file = config.data_dir.join("demo-shop-registrations.json");
    let app = Application::build(config).await?;
    let DemoShopCredentials {
        client_id,
        client_secret,
        webhook_secret,
    } = register_demo_shop(app.state(), &shop_base).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |rx: &tokio::sync::watch::Receiver<bool>| {
        let mut rx = rx.clone();
        async move {
            let _ = rx.changed().await;
        }
    };
    let wallet = tokio::spawn(app.run_until(stopped(&stop_rx)));
    let second = match second {
        Some(config) => {
            let issuer = config.issuer.clone();
            let app = Application::build(config)
                .await
                .context("starting the second wallet")?;
            Some((issuer, tokio::spawn(app.run_until(stopped(&stop_rx)))))
        }
        None => None,
    };
    // The shop asks for the shopper's wallet when there is more than one; its registrations
    // at other wallets are kept next to the first wallet's data. Development mode: the
    // wallets are on localhost, over plain HTTP.
    let chooser = second.as_ref().map(|_| saifu_demo_shop::WalletChooser {
        store: std::sync::Arc::new(saifu_sdk::FileRegistrations::new(&registrations_file)),
        mode: saifu_sdk::Mode::Development,
    });
    let shop = saifu_demo_shop::router_with_wallets(
        saifu_demo_shop::DemoShopConfig {
            wallet_issuer: issuer.clone(),
            client_id,
            client_secret: client_secret.into(),
            shop_base: shop_base.clone(),
            webhook_secret: Some(webhook_secret.into()),
        },
        chooser,
    )
    .await
    .map_err(|e| anyhow::anyhow!("starting the demo shop: {e}"))?;
    let listener = tokio::net::TcpListener::bind(shop_listen)
        .await
        .with_context(|| format!("binding {shop_listen}"))?;
    println!("Saifu wallet:    {issuer}");
    if let Some((second, _)) = &second {
        println!("Saifu wallet 2:  {second}");
    }
    println!("Saifu Demo Shop: {shop_base}");
    match &second {
        None => println!(
            "Open the shop, put something in the cart and press \"Pay with Saifu\". Ctrl-C stops both."
        ),
        Some((second, _)) => {
            let address = format!(
                "{}:{}",
                second.host_str().unwrap_or("localhost"),
                second.port_or_known_default().unwrap_or(80)
            );
            println!(
                "Open the shop, put something in the cart and press \"Pay with Saifu\".\n\
                 - Leave \"Your wallet\" empty to pay with the first wallet ({issuer}), where the shop is verified.\n\
                 - Type {address} to pay with the second wallet ({second}): the shop registers itself there on first use, as a shop that is not verified yet.\n\
                 Each wallet has its own shoppers: create your wallet at the one you pay with. Ctrl-C stops all three."
            );
        }
    }
    let shop_task = tokio::spawn(saifu_demo_shop::serve(listener, shop, stopped(&stop_rx)));
    shutdown.await;
    let _ = stop_tx.send(true);
    shop_task
        .await
        .context("demo shop task")?
        .context("serving the demo shop")?;
    if let Some((_, task)) = second {
        task.await.context("second wallet task")??;
    }
    wallet.await.context("wallet task")?
}
