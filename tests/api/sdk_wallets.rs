//! The SDK's `Wallets` against the real wallet: discovery and dynamic registration (RFC 7591)
//! once per wallet, RFC 7592 update and delete, and a wallet closed to new shops.

use std::sync::Arc;

use saifu::audit::Actor;
use saifu::merchants::MerchantStatus;
use saifu_sdk::{
    DiscoveryError, Error, MemoryRegistrations, Mode, PaymentDetails, RegistrationStore,
    ShopMetadata, Url, Wallets,
};

use crate::helpers::{spawn_app, TestApp};

fn shop(name: &str) -> ShopMetadata {
    let mut shop = ShopMetadata::new(name, Url::parse("https://kissa.example/callback").unwrap());
    shop.client_uri = Some(Url::parse("https://kissa.example/").unwrap());
    shop.webhook_url = Some(Url::parse("https://kissa.example/webhooks/saifu/{wallet}").unwrap());
    shop
}

/// `localhost:PORT`, as a shopper would type the test wallet's address.
fn address(app: &TestApp) -> String {
    format!("localhost:{}", app.base.port().unwrap())
}

fn payment() -> PaymentDetails {
    serde_json::from_value(serde_json::json!({
        "type": "payment",
        "instructed_amount": {"currency": "JPY", "amount": "1200"},
        "order_reference": "K-1",
    }))
    .unwrap()
}

#[tokio::test]
async fn the_sdk_registers_a_shop_at_a_real_wallet_once_and_reuses_it() {
    let app = spawn_app().await;
    let store = Arc::new(MemoryRegistrations::new());
    let wallets =
        Wallets::with_mode(shop("Kissa Tanuki"), store.clone(), Mode::Development).unwrap();

    let client = wallets
        .connect(&format!("alice@{}", address(&app)))
        .await
        .unwrap();
    assert_eq!(client.metadata().issuer, app.base.as_str());
    let merchants = app.state.checkout.merchants.list().await.unwrap();
    assert_eq!(merchants.len(), 1, "{merchants:?}");
    let merchant = &merchants[0];
    assert_eq!(merchant.name, "Kissa Tanuki");
    assert_eq!(merchant.status, MerchantStatus::Pending);
    assert_eq!(merchant.redirect_uris, ["https://kissa.example/callback"]);
    assert_eq!(
        merchant.webhook_url.as_deref(),
        Some(
            format!(
                "https://kissa.example/webhooks/saifu/localhost-{}",
                app.base.port().unwrap()
            )
            .as_str()
        )
    );
    let registration = store.get(&app.base).unwrap().unwrap();
    assert_eq!(registration.client_id, merchant.client_id);
    assert_eq!(registration.status, "pending");
    assert!(registration.webhook_secret.is_some());

    // The registered credentials work: the wallet takes the shop's pushed request.
    let (authorize, _pending) = client.start_checkout(&payment()).await.unwrap();
    assert!(authorize
        .as_str()
        .starts_with(app.base.join("oauth/authorize").unwrap().as_str()));

    // Another process with the same store: no second registration.
    let restarted =
        Wallets::with_mode(shop("Kissa Tanuki"), store.clone(), Mode::Development).unwrap();
    restarted.connect(&address(&app)).await.unwrap();
    assert_eq!(app.state.checkout.merchants.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_sdk_updates_and_deletes_its_registration_at_a_real_wallet() {
    let app = spawn_app().await;
    let store = Arc::new(MemoryRegistrations::new());
    let wallets =
        Wallets::with_mode(shop("Kissa Tanuki"), store.clone(), Mode::Development).unwrap();
    let client = wallets.connect(&address(&app)).await.unwrap();
    let client_id = store.get(&app.base).unwrap().unwrap().client_id;

    // The shop's new name, sent with RFC 7592 PUT under the same store.
    let renamed =
        Wallets::with_mode(shop("Kissa Tanuki Kyoto"), store.clone(), Mode::Development).unwrap();
    let updated = renamed.update(&app.base).await.unwrap();
    assert_eq!(updated.client_id, client_id);
    assert_eq!(updated.status, "pending");
    let merchant = app
        .state
        .checkout
        .merchants
        .find(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merchant.name, "Kissa Tanuki Kyoto");
    // The secret is unchanged: the old client still authenticates.
    client.start_checkout(&payment()).await.unwrap();

    renamed.delete(&app.base).await.unwrap();
    assert!(store.get(&app.base).unwrap().is_none());
    match client.start_checkout(&payment()).await.unwrap_err() {
        Error::OAuth { status, error, .. } => {
            assert_eq!((status, error.as_str()), (401, "invalid_client"))
        }
        other => panic!("{other:?}"),
    }
    // Deleted: a delete again has no registration to use.
    assert!(renamed.delete(&app.base).await.is_err());
}

#[tokio::test]
async fn a_wallet_closed_to_new_shops_is_reported_and_a_private_address_refused() {
    let app = spawn_app().await;
    app.state
        .registrations
        .set_open(false, &Actor::Cli, saifu::clock::unix_now())
        .await
        .unwrap();
    let store = Arc::new(MemoryRegistrations::new());
    let wallets =
        Wallets::with_mode(shop("Kissa Tanuki"), store.clone(), Mode::Development).unwrap();
    let err = wallets.connect(&address(&app)).await.unwrap_err();
    assert!(
        matches!(err, DiscoveryError::RegistrationClosed(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not take new shops"), "{err}");
    assert!(app
        .state
        .checkout
        .merchants
        .list()
        .await
        .unwrap()
        .is_empty());

    // Outside development the same wallet, on loopback, is refused before any request.
    let production = Wallets::new(shop("Kissa Tanuki"), store).unwrap();
    let err = production
        .connect_issuer(
            &Url::parse(&format!("https://localhost:{}/", app.base.port().unwrap())).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiscoveryError::PrivateAddress { .. }),
        "{err:?}"
    );
}
