//! Several nodes of one wallet on one database, behind one issuer, as behind a load balancer:
//! grant-signing keys rotated on one node honoured and published by the others, which look
//! for a key they don't know in the database once, not once per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use saifu::clock::unix_now;
use saifu_sdk::checkout::Amount;
use saifu_sdk::Error as SdkError;
use serde_json::Value;

use crate::helpers::{count_rows, merchant, paid, sdk_on, shopper, spawn_app, spawn_node, TestApp};

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

fn kid(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt)
        .unwrap()
        .kid
        .expect("a kid")
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
        .rotate(unix_now(), 720)
        .await
        .unwrap();
    assert_ne!(new_kid, old_kid);
    // A merchant client that has not fetched the JWKS yet, so that it verifies the grant
    // against the keys published now.
    let after = sdk_on(a, &creds)
        .await
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
