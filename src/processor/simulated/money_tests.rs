//! The simulated processor's money rules (capture at most the authorization once, void only
//! what is uncaptured, refunds within the capture) and its state shared by every node on one
//! database.

use super::tests::{approved_reference, decline_code, details, jpy, processor, store};
use super::*;
use crate::card::CardNumber;
use crate::money::Currency;

async fn authorized(processor: &SimulatedProcessor, minor: i64) -> String {
    let number = CardNumber::parse("4242424242424242").expect("valid");
    let result = processor
        .authorize(&IdempotencyKey::random(), details(&number), jpy(minor))
        .await;
    approved_reference(result)
}

#[tokio::test]
async fn capture_takes_at_most_the_authorized_amount_once() {
    let processor = processor().await;
    let auth = authorized(&processor, 1000).await;
    let too_much = processor
        .capture(&IdempotencyKey::random(), &auth, jpy(1001))
        .await;
    assert_eq!(too_much, Err(ProcessorError::AmountTooLarge));
    let partial = processor
        .capture(&IdempotencyKey::random(), &auth, jpy(600))
        .await;
    assert!(approved_reference(partial).starts_with("sim_cap_"));
    let second = processor
        .capture(&IdempotencyKey::random(), &auth, jpy(400))
        .await;
    assert_eq!(decline_code(second), "already_captured");
    let unknown = processor
        .capture(&IdempotencyKey::random(), "sim_auth_nope", jpy(1))
        .await;
    assert_eq!(unknown, Err(ProcessorError::UnknownReference));
}

#[tokio::test]
async fn a_refused_capture_is_not_saved_so_the_key_can_be_retried() {
    let processor = processor().await;
    let auth = authorized(&processor, 1000).await;
    let key = IdempotencyKey::random();
    let refused = processor.capture(&key, &auth, jpy(5000)).await;
    assert_eq!(refused, Err(ProcessorError::AmountTooLarge));
    let retried = processor.capture(&key, &auth, jpy(1000)).await;
    assert!(approved_reference(retried).starts_with("sim_cap_"));
}

#[tokio::test]
async fn capture_refuses_other_currencies_and_non_positive_amounts() {
    let processor = processor().await;
    let auth = authorized(&processor, 1000).await;
    let usd = Money {
        currency: Currency::Usd,
        minor: 100,
    };
    let result = processor
        .capture(&IdempotencyKey::random(), &auth, usd)
        .await;
    assert_eq!(decline_code(result), "currency_mismatch");
    let result = processor
        .capture(&IdempotencyKey::random(), &auth, jpy(0))
        .await;
    assert_eq!(decline_code(result), "invalid_amount");
}

#[tokio::test]
async fn void_releases_only_an_uncaptured_authorization() {
    let processor = processor().await;
    let open = authorized(&processor, 1000).await;
    let voided = processor.void(&IdempotencyKey::random(), &open).await;
    assert!(approved_reference(voided).starts_with("sim_void_"));
    let again = processor.void(&IdempotencyKey::random(), &open).await;
    assert_eq!(decline_code(again), "already_voided");
    let capture = processor
        .capture(&IdempotencyKey::random(), &open, jpy(1000))
        .await;
    assert_eq!(decline_code(capture), "authorization_voided");

    let captured = authorized(&processor, 1000).await;
    approved_reference(
        processor
            .capture(&IdempotencyKey::random(), &captured, jpy(1000))
            .await,
    );
    let void = processor.void(&IdempotencyKey::random(), &captured).await;
    assert_eq!(decline_code(void), "already_captured");
    let unknown = processor
        .void(&IdempotencyKey::random(), "sim_auth_x")
        .await;
    assert_eq!(unknown, Err(ProcessorError::UnknownReference));
}

#[tokio::test]
async fn refunds_together_stay_within_the_captured_amount() {
    let processor = processor().await;
    let auth = authorized(&processor, 1000).await;
    let capture = approved_reference(
        processor
            .capture(&IdempotencyKey::random(), &auth, jpy(800))
            .await,
    );
    let first = processor
        .refund(&IdempotencyKey::random(), &capture, jpy(500))
        .await;
    assert!(approved_reference(first).starts_with("sim_ref_"));
    let too_much = processor
        .refund(&IdempotencyKey::random(), &capture, jpy(301))
        .await;
    assert_eq!(too_much, Err(ProcessorError::AmountTooLarge));
    let rest = processor
        .refund(&IdempotencyKey::random(), &capture, jpy(300))
        .await;
    approved_reference(rest);
    let nothing_left = processor
        .refund(&IdempotencyKey::random(), &capture, jpy(1))
        .await;
    assert_eq!(nothing_left, Err(ProcessorError::AmountTooLarge));
    let overflow = processor
        .refund(&IdempotencyKey::random(), &capture, jpy(i64::MAX))
        .await;
    assert_eq!(overflow, Err(ProcessorError::AmountTooLarge));
    // An authorization reference is not a capture reference.
    let wrong = processor
        .refund(&IdempotencyKey::random(), &auth, jpy(1))
        .await;
    assert_eq!(wrong, Err(ProcessorError::UnknownReference));
}

#[tokio::test]
async fn a_refund_replayed_with_its_key_is_not_counted_twice() {
    let processor = processor().await;
    let auth = authorized(&processor, 1000).await;
    let capture = approved_reference(
        processor
            .capture(&IdempotencyKey::random(), &auth, jpy(1000))
            .await,
    );
    let key = IdempotencyKey::random();
    for _ in 0..5 {
        approved_reference(processor.refund(&key, &capture, jpy(1000)).await);
    }
    assert_eq!(processor.effects().await.unwrap(), 3);
}

#[tokio::test]
async fn another_node_on_the_same_database_captures_voids_and_refunds_what_one_authorized() {
    let shared = store().await;
    let node1 = SimulatedProcessor::new(shared.clone(), SimulatedOptions::default());
    let node2 = SimulatedProcessor::new(shared.clone(), SimulatedOptions::default());
    let number = CardNumber::parse("4242424242424242").expect("valid");
    let authorization = approved_reference(
        node1
            .authorize(&IdempotencyKey::random(), details(&number), jpy(1000))
            .await,
    );
    let capture = approved_reference(
        node2
            .capture(&IdempotencyKey::new("c1"), &authorization, jpy(1000))
            .await,
    );
    // The same key on the first node replays the second node's capture.
    assert_eq!(
        approved_reference(
            node1
                .capture(&IdempotencyKey::new("c1"), &authorization, jpy(1000))
                .await
        ),
        capture
    );
    assert_eq!(
        decline_code(node1.void(&IdempotencyKey::random(), &authorization).await),
        "already_captured"
    );
    approved_reference(
        node1
            .refund(&IdempotencyKey::new("r1"), &capture, jpy(600))
            .await,
    );
    assert_eq!(
        node2
            .refund(&IdempotencyKey::new("r2"), &capture, jpy(600))
            .await,
        Err(ProcessorError::AmountTooLarge)
    );
    // A processor made afresh on the database (a restart) forgets nothing.
    let restarted = SimulatedProcessor::new(shared, SimulatedOptions::default());
    approved_reference(
        restarted
            .refund(&IdempotencyKey::new("r3"), &capture, jpy(400))
            .await,
    );
    assert_eq!(restarted.effects().await.unwrap(), 4);
}
