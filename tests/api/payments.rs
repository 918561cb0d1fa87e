//! The payments API through the SDK: redeeming grants exactly once, capture, void, refunds,
//! declines, idempotency keys and merchant isolation.

use reqwest::StatusCode;
use saifu::merchants::MerchantStatus;
use saifu_sdk::checkout::{Amount, MerchantCredentials};
use saifu_sdk::SaifuClient;
use serde_json::{json, Value};

use crate::helpers::{
    count_rows, grant, jpy, merchant, paid, problem, sdk, set_merchant_status, shopper, spawn_app,
    Shopper, TestApp,
};

struct Setup {
    app: TestApp,
    creds: MerchantCredentials,
    client: SaifuClient,
    shopper: Shopper,
}

async fn setup(email: &str) -> Setup {
    let app = spawn_app().await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let shopper = shopper(&app, email).await;
    Setup {
        app,
        creds,
        client,
        shopper,
    }
}

#[tokio::test]
async fn capture_partial_capture_void_and_refunds_through_the_sdk() {
    let mut s = setup("flows@example.com").await;

    // A full capture.
    let g = grant(&s.client, &mut s.shopper).await;
    let paid = s.client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    assert_eq!(
        (
            paid.status.as_str(),
            paid.captured_amount.as_str(),
            paid.currency.as_str()
        ),
        ("captured", "12800", "JPY")
    );
    assert_eq!(
        (paid.card.brand.as_str(), paid.card.last4.as_str()),
        ("visa", "4242")
    );
    assert_eq!(paid.order_reference, "A-1001");
    assert_eq!(s.client.get_payment(&paid.id).await.unwrap(), paid);
    assert_eq!(
        s.client.payment_by_order("A-1001").await.unwrap().id,
        paid.id
    );

    // Multiple partial refunds up to the total, then one more is refused.
    let after = s.client.refund(&paid.id, &jpy("2800"), None).await.unwrap();
    assert_eq!(after.refunded_amount, "2800");
    let after = s
        .client
        .refund(&paid.id, &jpy("10000"), None)
        .await
        .unwrap();
    assert_eq!(after.refunded_amount, "12800");
    let (status, code, _) = problem(
        s.client
            .refund(&paid.id, &jpy("1"), None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (422, "refund_exceeds_captured"));

    // Authorize, then a partial capture, once.
    let g = grant(&s.client, &mut s.shopper).await;
    let authorized = s.client.pay(&g, &jpy("12800"), false, None).await.unwrap();
    assert_eq!(
        (
            authorized.status.as_str(),
            authorized.captured_amount.as_str()
        ),
        ("authorized", "0")
    );
    let (status, code, _) = problem(
        s.client
            .capture(&authorized.id, Some(&jpy("12801")), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, code.as_str()),
        (422, "amount_exceeds_authorization")
    );
    let captured = s
        .client
        .capture(&authorized.id, Some(&jpy("9000")), None)
        .await
        .unwrap();
    assert_eq!(
        (
            captured.status.as_str(),
            captured.captured_amount.as_str(),
            captured.amount.as_str()
        ),
        ("captured", "9000", "12800")
    );
    let (status, code, _) = problem(
        s.client
            .capture(&authorized.id, None, None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (409, "payment_not_capturable"));
    let (status, code, _) = problem(
        s.client
            .refund(&authorized.id, &jpy("9001"), None)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, code.as_str()),
        (422, "refund_exceeds_captured"),
        "refunds are bounded by the captured amount"
    );

    // Void an authorization; it can then be neither captured nor refunded.
    let g = grant(&s.client, &mut s.shopper).await;
    let authorized = s.client.pay(&g, &jpy("5000"), false, None).await.unwrap();
    let voided = s.client.void(&authorized.id, None).await.unwrap();
    assert_eq!(voided.status, "voided");
    assert_eq!(
        problem(
            s.client
                .capture(&authorized.id, None, None)
                .await
                .unwrap_err()
        )
        .1,
        "payment_not_capturable"
    );
    assert_eq!(
        problem(
            s.client
                .refund(&authorized.id, &jpy("1"), None)
                .await
                .unwrap_err()
        )
        .1,
        "payment_not_refundable"
    );
}

#[tokio::test]
async fn a_grant_is_spent_once_within_its_amount_and_currency() {
    let mut s = setup("grants@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let (status, code, _) = problem(
        s.client
            .pay(&g, &jpy("12801"), true, None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (422, "amount_exceeds_grant"));
    let usd = Amount {
        currency: "USD".into(),
        amount: "12.00".into(),
    };
    assert_eq!(
        problem(s.client.pay(&g, &usd, true, None).await.unwrap_err()).1,
        "currency_mismatch"
    );
    let (status, code, _) = problem(
        s.client
            .pay("not.a.grant", &jpy("1"), true, None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (400, "invalid_grant"));

    let less = s.client.pay(&g, &jpy("10000"), true, None).await.unwrap();
    assert_eq!(less.amount, "10000", "less than granted is fine");
    let (status, code, _) = problem(s.client.pay(&g, &jpy("100"), true, None).await.unwrap_err());
    assert_eq!((status, code.as_str()), (409, "grant_already_used"));

    // Another merchant can neither redeem this merchant's grants nor see its payments.
    let other_creds = merchant(&s.app, "Tea House", true).await;
    let other = sdk(&s.app, &other_creds).await;
    let g2 = grant(&s.client, &mut s.shopper).await;
    assert_eq!(
        problem(other.pay(&g2, &jpy("100"), true, None).await.unwrap_err()).1,
        "invalid_grant"
    );
    for err in [
        other.get_payment(&less.id).await.unwrap_err(),
        other.refund(&less.id, &jpy("1"), None).await.unwrap_err(),
        other.payment_by_order("A-1001").await.unwrap_err(),
    ] {
        assert_eq!(problem(err).0, 404);
    }

    // A suspended merchant's outstanding grants are refused.
    set_merchant_status(&s.app, &s.creds.client_id, MerchantStatus::Suspended).await;
    assert_eq!(
        problem(
            s.client
                .pay(&g2, &jpy("100"), true, None)
                .await
                .unwrap_err()
        )
        .1,
        "merchant_suspended"
    );
}

/// A raw POST to the payments API.
async fn post(s: &Setup, path: &str, key: &str, body: &Value) -> (StatusCode, Vec<u8>) {
    let r = reqwest::Client::new()
        .post(s.app.base.join(path).unwrap())
        .basic_auth(&s.creds.client_id, Some(&s.creds.client_secret))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn fifty_parallel_redemptions_of_one_grant_make_one_payment() {
    let mut s = setup("race@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let body =
        json!({ "grant": g, "amount": { "currency": "JPY", "amount": "12800" }, "capture": true });
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (s, body) = (s.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            post(&s, "/v1/payments", &format!("race-{i}"), &body).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        let (status, bytes) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                let problem: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(problem["code"], "grant_already_used");
            }
            other => panic!("unexpected {other}: {}", String::from_utf8_lossy(&bytes)),
        }
    }
    assert_eq!(created, 1, "exactly one payment");
}

#[tokio::test]
async fn idempotency_keys_replay_byte_for_byte_refuse_changes_and_serialise_parallel_use() {
    let mut s = setup("idem@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let body =
        json!({ "grant": g, "amount": { "currency": "JPY", "amount": "12800" }, "capture": false });

    let (first_status, first) = post(&s, "/v1/payments", "order-1", &body).await;
    assert_eq!(first_status, StatusCode::CREATED);
    let (again_status, again) = post(&s, "/v1/payments", "order-1", &body).await;
    assert_eq!(
        (again_status, &again),
        (StatusCode::CREATED, &first),
        "a replay is byte-identical"
    );
    let mut changed = body.clone();
    changed["amount"]["amount"] = json!("100");
    let (status, bytes) = post(&s, "/v1/payments", "order-1", &changed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap()["code"],
        "idempotency_key_reused"
    );

    // Errors are replayed too: the same key and body give the same 409.
    let (s1, b1) = post(&s, "/v1/payments", "order-1b", &body).await;
    let (s2, b2) = post(&s, "/v1/payments", "order-1b", &body).await;
    assert_eq!(s1, StatusCode::CONFLICT);
    assert_eq!((s1, &b1), (s2, &b2));

    // Parallel captures with one key: one execution; the others wait out (409) or replay it.
    let id = serde_json::from_slice::<Value>(&first).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (s, path) = (s.clone(), format!("/v1/payments/{id}/capture"));
        tasks.push(tokio::spawn(async move {
            post(&s, &path, "capture-once", &json!({})).await
        }));
    }
    let mut bodies = Vec::new();
    for task in tasks {
        let (status, bytes) = task.await.unwrap();
        match status {
            StatusCode::OK => bodies.push(bytes),
            StatusCode::CONFLICT => {
                assert_eq!(
                    serde_json::from_slice::<Value>(&bytes).unwrap()["code"],
                    "idempotency_key_in_use"
                );
            }
            other => panic!("unexpected {other}: {}", String::from_utf8_lossy(&bytes)),
        }
    }
    assert!(!bodies.is_empty());
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every success is the same response"
    );
    let payment = s.client.get_payment(&id).await.unwrap();
    assert_eq!(
        (payment.status.as_str(), payment.captured_amount.as_str()),
        ("captured", "12800")
    );

    // A POST without a key is refused; keys are per endpoint.
    let r = reqwest::Client::new()
        .post(
            s.app
                .base
                .join(&format!("/v1/payments/{id}/refunds"))
                .unwrap(),
        )
        .basic_auth(&s.creds.client_id, Some(&s.creds.client_secret))
        .json(&json!({ "amount": { "currency": "JPY", "amount": "1" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &s,
        &format!("/v1/payments/{id}/refunds"),
        "capture-once",
        &json!({ "amount": { "currency": "JPY", "amount": "100" } }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the same key on another endpoint is another key"
    );
}

#[tokio::test]
async fn captures_and_refunds_take_the_amount_as_currency_and_amount_and_refuse_a_bare_string() {
    let mut s = setup("shape@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let id = s
        .client
        .pay(&g, &jpy("12800"), false, None)
        .await
        .unwrap()
        .id;
    let capture = format!("/v1/payments/{id}/capture");
    let refunds = format!("/v1/payments/{id}/refunds");
    let refused = |(status, bytes): (StatusCode, Vec<u8>)| {
        let problem: Value = serde_json::from_slice(&bytes).unwrap();
        (status.as_u16(), problem)
    };

    for (path, key) in [(&capture, "bare-capture"), (&refunds, "bare-refund")] {
        let (status, problem) = refused(post(&s, path, key, &json!({ "amount": "100" })).await);
        assert_eq!(
            (status, problem["code"].as_str(), problem["field"].as_str()),
            (400, Some("invalid_amount"), Some("amount")),
            "{path}: {problem}"
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(r#"{"currency": "JPY", "amount": "12800"}"#),
            "the refusal shows the shape to use: {detail}"
        );
        let usd = json!({ "amount": { "currency": "USD", "amount": "1.00" } });
        let (status, problem) = refused(post(&s, path, &format!("{key}-usd"), &usd).await);
        assert_eq!(
            (status, problem["code"].as_str()),
            (422, Some("currency_mismatch")),
            "{path}: {problem}"
        );
    }

    let nine = json!({ "amount": { "currency": "JPY", "amount": "9000" } });
    let (status, bytes) = post(&s, &capture, "capture-9000", &nine).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let one = json!({ "amount": { "currency": "JPY", "amount": "1000" } });
    let (status, bytes) = post(&s, &refunds, "refund-1000", &one).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let payment = s.client.get_payment(&id).await.unwrap();
    assert_eq!(
        (
            payment.captured_amount.as_str(),
            payment.refunded_amount.as_str()
        ),
        ("9000", "1000")
    );
}

#[tokio::test]
async fn the_payments_api_needs_the_merchants_credentials() {
    let s = setup("auth@example.com").await;
    let r = reqwest::Client::new()
        .get(s.app.base.join("/v1/payments/pay_x").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"saifu\"");
    let r = reqwest::Client::new()
        .get(s.app.base.join("/v1/payments/pay_x").unwrap())
        .basic_auth(&s.creds.client_id, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_shoppers_activity_lists_payments_and_refunds() {
    let mut s = setup("activity@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let paid = s.client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    s.client.refund(&paid.id, &jpy("2800"), None).await.unwrap();
    let html = s.shopper.browser.html("/activity").await;
    for shown in [
        "Frame Shop",
        "¥12,800",
        "Visa •••• 4242",
        "Partly refunded",
        "¥2,800 refunded",
        "A-1001",
    ] {
        assert!(html.contains(shown), "activity shows {shown}");
    }
    // Another shopper sees none of it.
    let other = shopper(&s.app, "someone-else@example.com").await;
    let html = other.browser.html("/activity").await;
    assert!(!html.contains("A-1001") && html.contains("No payments yet"));
}

#[tokio::test]
async fn expired_and_revoked_grants_are_refused_with_clear_codes() {
    // Revoked: the merchant's code was presented twice, which revokes the grant it gave.
    let mut s = setup("revoked@example.com").await;
    let (callback, pending) = paid(&s.client, &mut s.shopper).await;
    let first = s
        .client
        .complete_checkout(&callback, &pending)
        .await
        .unwrap();
    assert!(s
        .client
        .complete_checkout(&callback, &pending)
        .await
        .is_err());
    let (status, code, _) = problem(
        s.client
            .pay(&first.token, &jpy("12800"), true, None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (409, "grant_revoked"));

    // Expired: grants live at most their configured lifetime.
    let app = crate::helpers::spawn_app_with(|c| c.grant_ttl_secs = 1).await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut shopper = shopper(&app, "expired@example.com").await;
    let token = grant(&client, &mut shopper).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, code, _) = problem(
        client
            .pay(&token, &jpy("12800"), true, None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (400, "grant_expired"));
}

#[tokio::test]
async fn a_capture_failing_after_the_approvals_authorization_gives_the_grant_back_to_retry() {
    let mut s = setup("half@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let before = s.app.state.simulator.effects().await.unwrap();
    s.app.state.simulator.set_faulty_operation(Some("capture"));
    s.app.state.simulator.set_fault_rate(1.0);
    let err = s
        .client
        .pay(&g, &jpy("12800"), true, Some("order-9"))
        .await
        .unwrap_err();
    let (status, code, _) = problem(err);
    assert_eq!((status, code.as_str()), (502, "processor_error"));
    s.app.state.simulator.set_fault_rate(0.0);
    s.app.state.simulator.set_faulty_operation(None);
    // Nothing recorded: the grant and the authorization made when the shopper approved are
    // back where they were, for the retry.
    assert_eq!(
        problem(s.client.payment_by_order("A-1001").await.unwrap_err()).1,
        "payment_not_found"
    );
    assert_eq!(
        count_rows(&s.app, "approval_authorizations WHERE state = 'approved'").await,
        1
    );
    let captured = s
        .client
        .pay(&g, &jpy("12800"), true, Some("order-9"))
        .await
        .unwrap();
    assert_eq!(
        (captured.status.as_str(), captured.captured_amount.as_str()),
        ("captured", "12800")
    );
    assert_eq!(captured.points_earned, 128);
    assert_eq!(
        s.app.state.simulator.effects().await.unwrap(),
        before + 1,
        "one capture"
    );
}

#[tokio::test]
async fn a_processor_failure_is_a_retry_safe_502_that_never_charges_twice() {
    let mut s = setup("flaky@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let before = s.app.state.simulator.effects().await.unwrap();

    s.app.state.simulator.set_fault_rate(1.0);
    let (status, code, _) = problem(
        s.client
            .pay(&g, &jpy("12800"), true, Some("order-77"))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (502, "processor_error"));
    assert_eq!(
        s.app.state.simulator.effects().await.unwrap(),
        before,
        "nothing happened at the processor"
    );

    // The same request again, once the network is back: it runs (a 5xx is not kept) and the
    // grant, given back after the failure, pays exactly once.
    s.app.state.simulator.set_fault_rate(0.0);
    let paid = s
        .client
        .pay(&g, &jpy("12800"), true, Some("order-77"))
        .await
        .unwrap();
    assert_eq!(paid.status, "captured");
    assert_eq!(
        s.app.state.simulator.effects().await.unwrap(),
        before + 1,
        "one capture, of the authorization made when the shopper approved"
    );
    let replay = s
        .client
        .pay(&g, &jpy("12800"), true, Some("order-77"))
        .await
        .unwrap();
    assert_eq!(replay, paid, "the success is replayed, not repeated");
    assert_eq!(s.app.state.simulator.effects().await.unwrap(), before + 1);
    assert_eq!(
        problem(
            s.client
                .pay(&g, &jpy("12800"), true, None)
                .await
                .unwrap_err()
        )
        .1,
        "grant_already_used"
    );
}

/// A pay-and-capture keeps its answer for its key in the capture's transaction: requests
/// with the key while it runs are refused (409) or replay it, the answer replayed afterwards
/// is the one sent, byte for byte, and another body under the key is still refused.
#[tokio::test]
async fn a_pay_and_capture_keeps_its_answer_with_the_capture_and_replays_it() {
    let mut s = setup("inline@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let body =
        json!({ "grant": g, "amount": { "currency": "JPY", "amount": "12800" }, "capture": true });
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, body) = (s.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            post(&s, "/v1/payments", "pay-once", &body).await
        }));
    }
    let mut bodies = Vec::new();
    for task in tasks {
        let (status, bytes) = task.await.unwrap();
        match status {
            StatusCode::CREATED => bodies.push(bytes),
            StatusCode::CONFLICT => assert_eq!(
                serde_json::from_slice::<Value>(&bytes).unwrap()["code"],
                "idempotency_key_in_use"
            ),
            other => panic!("unexpected {other}: {}", String::from_utf8_lossy(&bytes)),
        }
    }
    assert!(!bodies.is_empty());
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every success is the same answer"
    );
    let first: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(first["status"], "captured");
    assert_eq!(count_rows(&s.app, "payments").await, 1, "one payment");
    assert_eq!(
        count_rows(
            &s.app,
            "idempotency_keys WHERE idem_key = 'pay-once' AND status = 201 \
             AND content_type = 'application/json'"
        )
        .await,
        1,
        "the answer is kept for the key"
    );

    let again = reqwest::Client::new()
        .post(s.app.base.join("/v1/payments").unwrap())
        .basic_auth(&s.creds.client_id, Some(&s.creds.client_secret))
        .header("Idempotency-Key", "pay-once")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.bytes().await.unwrap(), bodies[0], "byte for byte");

    let mut changed = body.clone();
    changed["amount"]["amount"] = json!("100");
    let (status, bytes) = post(&s, "/v1/payments", "pay-once", &changed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap()["code"],
        "idempotency_key_reused"
    );
}

#[tokio::test]
async fn the_same_json_with_other_whitespace_and_key_order_replays_under_its_key() {
    let mut s = setup("layout@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let send = |body: String| {
        reqwest::Client::new()
            .post(s.app.base.join("/v1/payments").unwrap())
            .basic_auth(&s.creds.client_id, Some(&s.creds.client_secret))
            .header("Idempotency-Key", "layout-1")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let compact = format!(
        r#"{{"grant":"{g}","amount":{{"currency":"JPY","amount":"12800"}},"capture":false}}"#
    );
    let first = send(compact).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = first.bytes().await.unwrap();
    let reformatted = format!(
        "{{\n  \"capture\" : false,\n  \"amount\" : {{ \"amount\": \"12800\", \"currency\": \"JPY\" }},\n  \"grant\": \"{g}\"\n}}\n"
    );
    let again = send(reformatted).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED, "a replay, not 422");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first, "byte for byte");
    let other = format!(
        r#"{{"capture":false,"amount":{{"amount":"12700","currency":"JPY"}},"grant":"{g}"}}"#
    );
    let (status, body) = {
        let r = send(other).await.unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "idempotency_key_reused");
}

#[tokio::test]
async fn amounts_past_64_bits_are_a_clear_422_on_payments_captures_and_refunds() {
    let mut s = setup("overflow@example.com").await;
    let g = grant(&s.client, &mut s.shopper).await;
    let huge = jpy("9223372036854775808");
    let refused = s.client.pay(&g, &huge, false, None).await.unwrap_err();
    assert_eq!(problem(refused), (422, "amount_too_large".into(), None));
    // Nothing was spent: the grant still pays.
    let payment = s.client.pay(&g, &jpy("12800"), false, None).await.unwrap();
    let refused = s
        .client
        .capture(&payment.id, Some(&huge), None)
        .await
        .unwrap_err();
    assert_eq!(problem(refused), (422, "amount_too_large".into(), None));
    let captured = s.client.capture(&payment.id, None, None).await.unwrap();
    assert_eq!(captured.status, "captured");
    let refused = s.client.refund(&payment.id, &huge, None).await.unwrap_err();
    assert_eq!(problem(refused), (422, "amount_too_large".into(), None));
    let refunded = s.client.get_payment(&payment.id).await.unwrap();
    assert_eq!(refunded.refunded_amount, "0");
    assert_eq!(
        count_rows(&s.app, "payments WHERE operation IS NOT NULL").await,
        0
    );
}
