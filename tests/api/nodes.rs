//! Several nodes of one wallet on one database, behind one issuer, as behind a load balancer:
//! each step of a checkout on another node, a grant redeemed once however many nodes are
//! asked at once, and grant-signing keys rotated on one node honoured and published by the
//! others, which look for a key they don't know in the database once, not once per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use saifu::clock::unix_now;
use saifu_sdk::checkout::Amount;
use saifu_sdk::{Error as SdkError, SaifuClient};
use serde_json::Value;

use crate::helpers::{
    count_rows, frames, merchant, offered_cards, open_consent, paid, sdk_on, shopper, spawn_app,
    spawn_node, TestApp,
};

/// `n` nodes on one database and one set of keys, all answering as the first node's issuer;
/// each listens on its own port, which `TestApp::routed` reaches.
async fn nodes(n: usize) -> Vec<TestApp> {
    let first = spawn_app().await;
    let issuer = first.base.clone();
    let mut nodes = vec![first];
    for _ in 1..n {
        let issuer = issuer.clone();
        let node = spawn_node(&nodes[0], move |c| c.issuer = issuer).await;
        nodes.push(node);
    }
    nodes
}

fn jpy(amount: &str) -> Amount {
    Amount {
        currency: "JPY".into(),
        amount: amount.into(),
    }
}

fn problem(err: SdkError) -> (u16, String) {
    match err {
        SdkError::Problem { status, code, .. } => (status, code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

/// Operations that took effect at the processor, over all the nodes.
/// Operations that took effect at the card network, which every node shares (asked of each
/// node: they must agree).
async fn processor_effects(nodes: &[TestApp]) -> i64 {
    let mut counts = Vec::new();
    for node in nodes {
        counts.push(node.state.simulator.effects().await.unwrap());
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
    counts[0]
}

fn kid(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt)
        .unwrap()
        .kid
        .expect("a kid")
}

#[tokio::test]
async fn every_step_of_a_checkout_can_land_on_another_node() {
    let nodes = nodes(3).await;
    let creds = merchant(&nodes[0], "Frame Shop", true).await;
    let mut merchant_on = Vec::new();
    for node in &nodes {
        merchant_on.push(sdk_on(node, &creds).await);
    }
    // Signed up, with cards, on node 1.
    let mut shopper = shopper(&nodes[0], "nodes@example.com").await;
    let home = shopper.browser.on(&nodes[0]);

    // The session cookie holds on every node.
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(
            home.on(node).signed_in_as().await.as_deref(),
            Some("Mika"),
            "node {}",
            i + 1
        );
    }
    // So does the passkey: signed out on node 3, it signs in with a ceremony begun on node 2
    // and finished on node 3, and every node knows the new session.
    let r = home.on(&nodes[2]).post_form("/signout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.signed_in_as().await, None);
    let options = home.on(&nodes[1]).begin_sign_in().await;
    let credential = shopper.key.assert(&shopper.origin, options).unwrap();
    let r = home.on(&nodes[2]).finish_sign_in(&credential).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(
            home.on(node).signed_in_as().await.as_deref(),
            Some("Mika"),
            "node {}",
            i + 1
        );
    }

    let effects = processor_effects(&nodes).await;

    // 1. The merchant pushes the request to node 1.
    let (url, pending) = merchant_on[0].start_checkout(&frames()).await.unwrap();
    // 2. The shopper opens the consent on node 2, which also begins the passkey confirmation.
    shopper.browser = home.on(&nodes[1]);
    let consent = open_consent(&shopper.browser, &url).await;
    let card = offered_cards(&shopper.browser, &consent).await.remove(0);
    let options = shopper.begin(&consent, &card).await;
    let assertion =
        serde_json::to_value(shopper.key.assert(&shopper.origin, options).unwrap()).unwrap();
    // 3. The approval lands on node 3.
    shopper.browser = home.on(&nodes[2]);
    let r = shopper.approve(&consent, &card, &assertion).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let callback = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    // 4. The code is exchanged on node 1.
    let grant = merchant_on[0]
        .complete_checkout(&callback, &pending)
        .await
        .expect("node 1 exchanges a code node 3 issued");
    // 5. The payment is authorized on node 2.
    let authorized = merchant_on[1]
        .pay(&grant.token, &jpy("12800"), false, None)
        .await
        .expect("node 2 redeems a grant node 1 signed");
    assert_eq!(
        (
            authorized.status.as_str(),
            authorized.captured_amount.as_str()
        ),
        ("authorized", "0")
    );
    // 6. Captured on node 3.
    let captured = merchant_on[2]
        .capture(&authorized.id, None, None)
        .await
        .expect("node 3 captures what node 2 authorized");
    assert_eq!(
        (captured.status.as_str(), captured.captured_amount.as_str()),
        ("captured", "12800")
    );
    // 7. Refunded on node 1.
    let refunded = merchant_on[0]
        .refund(
            &authorized.id,
            &saifu_sdk::checkout::Amount::new("JPY", "12800"),
            None,
        )
        .await
        .expect("node 1 refunds what node 3 captured");
    assert_eq!(refunded.refunded_amount, "12800");
    for (i, merchant) in merchant_on.iter().enumerate() {
        assert_eq!(
            merchant.get_payment(&authorized.id).await.unwrap(),
            refunded,
            "node {}",
            i + 1
        );
    }
    assert_eq!(
        processor_effects(&nodes).await - effects,
        3,
        "one authorization, one capture, one refund"
    );
}

#[tokio::test]
async fn fifty_redemptions_of_one_grant_over_three_nodes_make_one_payment() {
    let nodes = nodes(3).await;
    let creds = merchant(&nodes[0], "Frame Shop", true).await;
    let mut merchant_on = Vec::new();
    for node in &nodes {
        merchant_on.push(sdk_on(node, &creds).await);
    }
    let mut shopper = shopper(&nodes[0], "race@example.com").await;
    let (callback, pending) = paid(&merchant_on[0], &mut shopper).await;
    let grant = merchant_on[0]
        .complete_checkout(&callback, &pending)
        .await
        .unwrap();
    let before = processor_effects(&nodes).await;

    let merchant_on: Arc<Vec<SaifuClient>> = Arc::new(merchant_on);
    let token: Arc<str> = grant.token.into();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (merchant_on, token) = (merchant_on.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            merchant_on[i % 3]
                .pay(&token, &jpy("12800"), false, None)
                .await
        }));
    }
    let mut created = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(payment) => created.push(payment),
            Err(err) => {
                assert_eq!(problem(err), (409, "grant_already_used".to_string()));
                refused += 1;
            }
        }
    }
    assert_eq!((created.len(), refused), (1, 49), "exactly one payment");
    assert_eq!(created[0].status, "authorized");
    assert_eq!(
        count_rows(
            &nodes[0],
            &format!("payments WHERE grant_jti = '{}'", grant.claims.jti)
        )
        .await,
        1
    );
    assert_eq!(
        processor_effects(&nodes).await - before,
        0,
        "no second authorization: the payment took the one made when the shopper approved"
    );
    assert_eq!(
        count_rows(
            &nodes[0],
            &format!(
                "approval_authorizations WHERE grant_jti = '{}' AND state = 'adopted'",
                grant.claims.jti
            )
        )
        .await,
        1
    );
}

/// A key rotated on node A signs the next grant; node B, which verified a grant by the old
/// key a moment before (and so holds the keys it read then), finds the new one in the
/// database instead of refusing it, and publishes it.
#[tokio::test]
async fn a_signing_key_rotated_on_one_node_is_honoured_and_published_by_another() {
    let nodes = nodes(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let creds = merchant(a, "Frame Shop", true).await;
    let on_a = sdk_on(a, &creds).await;
    let on_b = sdk_on(b, &creds).await;
    let mut shopper = shopper(a, "rotate@example.com").await;
    let (callback, pending) = paid(&on_a, &mut shopper).await;
    let before = on_a.complete_checkout(&callback, &pending).await.unwrap();
    let old_kid = kid(&before.token);
    // Approved; its code waits to be exchanged after the rotation.
    let (callback, pending) = paid(&on_a, &mut shopper).await;

    let paid_on_b = on_b
        .pay(&before.token, &jpy("12800"), true, None)
        .await
        .unwrap();
    assert_eq!(paid_on_b.status, "captured");
    let new_kid = a
        .state
        .checkout
        .signer
        .rotate(unix_now(), 720, &saifu::audit::Actor::Cli)
        .await
        .unwrap();
    assert_ne!(new_kid, old_kid);
    // The same merchant client, whose cached keys predate the rotation: the unknown `kid`
    // makes it fetch the JWKS again (at most once a second), so the grant is not lost.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = on_a
        .complete_checkout(&callback, &pending)
        .await
        .expect("node A signs with the new key");
    assert_eq!(kid(&after.token), new_kid);
    let paid_on_b = on_b
        .pay(&after.token, &jpy("12800"), true, None)
        .await
        .expect("node B verifies a grant by the key node A just made");
    assert_eq!(paid_on_b.status, "captured");

    let jwks: Value = b
        .routed()
        .build()
        .unwrap()
        .get(b.base.join("/oauth/jwks").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "{jwks}");
    assert!(
        kids.contains(&new_kid.as_str()) && kids.contains(&old_kid.as_str()),
        "node B publishes the new key and, until its grants expire, the old one: {jwks}"
    );
}

/// A flood of grants with `kid`s no node knows is refused, after the node looked in the
/// database once for all of them rather than once each; the real grant then still pays.
#[tokio::test]
async fn unknown_kids_send_a_node_to_the_database_once_not_once_each() {
    let nodes = nodes(2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let creds = merchant(a, "Frame Shop", true).await;
    let on_a = sdk_on(a, &creds).await;
    let on_b = Arc::new(sdk_on(b, &creds).await);
    let mut shopper = shopper(a, "flood@example.com").await;
    let (callback, pending) = paid(&on_a, &mut shopper).await;
    let grant = on_a.complete_checkout(&callback, &pending).await.unwrap();
    let parts: Vec<&str> = grant.token.split('.').collect();
    let with_kid = |kid: &str| {
        let mut header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        header["kid"] = kid.into();
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            parts[1],
            parts[2]
        )
    };
    // Node B reads the published keys once to refuse the first unknown kid.
    let err = on_b
        .pay(&with_kid("unknown-0"), &jpy("12800"), true, None)
        .await
        .unwrap_err();
    assert_eq!(problem(err), (400, "invalid_grant".to_string()));
    let signer = &b.state.checkout.signer;
    let reads = signer.published_key_reads();
    assert!(reads >= 1, "node B looked in the database");

    // Later than the interval between reads, fifty unknown kids at once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 1..=50 {
        let (on_b, forged) = (on_b.clone(), with_kid(&format!("unknown-{i}")));
        tasks.push(tokio::spawn(async move {
            on_b.pay(&forged, &jpy("12800"), true, None).await
        }));
    }
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(problem(err), (400, "invalid_grant".to_string()));
    }
    let elapsed = started.elapsed();
    let flood_reads = signer.published_key_reads() - reads;
    assert!(flood_reads >= 1, "the flood's kids were looked for");
    // One read for the kids that came before it began, and one per interval after it for
    // those that came later: here, where all fifty came within moments, two at most.
    assert!(
        flood_reads <= 2 + elapsed.as_secs(),
        "{flood_reads} reads in {elapsed:?}"
    );
    assert_eq!(count_rows(b, "payments").await, 0);

    let paid = on_b
        .pay(&grant.token, &jpy("12800"), true, None)
        .await
        .unwrap();
    assert_eq!(paid.status, "captured");
}
