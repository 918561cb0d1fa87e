//! The simulated processor against the test-card table, replays, faults and the money rules.

use std::sync::Arc;

use time::macros::date;

use super::*;
use crate::card::{CardNumber, Expiry};
use crate::money::Currency;

/// A database of its own, migrated, in a folder kept until the tests end.
pub(super) async fn store() -> Store {
    static DIR: std::sync::LazyLock<tempfile::TempDir> =
        std::sync::LazyLock::new(|| tempfile::tempdir().expect("a temporary folder"));
    let options = crate::store::StoreOptions {
        max_connections: 1,
        sqlite_synchronous: "NORMAL".into(),
    };
    let path = DIR.path().join(format!("{}.db", uuid::Uuid::new_v4()));
    let store = Store::connect(&format!("sqlite://{}", path.display()), &options)
        .await
        .expect("a database");
    store.migrate().await.expect("migrations");
    store
}

pub(super) async fn with_options(options: SimulatedOptions) -> SimulatedProcessor {
    SimulatedProcessor::new(store().await, options)
}

pub(super) async fn processor() -> SimulatedProcessor {
    with_options(SimulatedOptions::default()).await
}

pub(super) fn expiry() -> Expiry {
    Expiry::parse("12/30", date!(2026 - 01 - 01)).expect("future expiry")
}

pub(super) fn details(number: &CardNumber) -> CardDetails<'_> {
    CardDetails {
        number,
        expiry: expiry(),
        holder: "Hanako Yamada",
    }
}

pub(super) fn cvc_for(number: &CardNumber) -> Cvc {
    Cvc::parse(&"1234"[..number.brand().cvc_len()], number.brand()).expect("right length")
}

pub(super) fn jpy(minor: i64) -> Money {
    Money {
        currency: Currency::Jpy,
        minor,
    }
}

pub(super) fn approved_reference(result: Result<Outcome, ProcessorError>) -> String {
    match result {
        Ok(Outcome::Approved { reference }) => reference,
        other => panic!("expected approval, got {other:?}"),
    }
}

pub(super) fn decline_code(result: Result<Outcome, ProcessorError>) -> String {
    match result {
        Ok(Outcome::Declined { decline_code }) => decline_code,
        other => panic!("expected a decline, got {other:?}"),
    }
}

/// What the table itself says a stage answers, read from the raw JSON rather than through
/// the processor's own parsing.
#[derive(Debug, PartialEq)]
enum Expected {
    Approved,
    Declined(String),
    ProcessingError,
}

fn expected(card: &serde_json::Value, at_verification: bool) -> Expected {
    let code = || {
        card["decline_code"]
            .as_str()
            .expect("decline_code")
            .to_string()
    };
    match (card["outcome"].as_str(), card["when"].as_str()) {
        (Some("approved"), _) => Expected::Approved,
        (Some("error"), _) => Expected::ProcessingError,
        (Some("declined"), None) => Expected::Declined(code()),
        (Some("declined"), Some("card verification")) if at_verification => {
            Expected::Declined(code())
        }
        (Some("declined"), Some("card verification")) => Expected::Approved,
        (Some("declined"), Some(when)) if when.starts_with("authorize only") => {
            if at_verification {
                Expected::Approved
            } else {
                Expected::Declined(code())
            }
        }
        other => panic!("the table has a case these tests don't know: {other:?}"),
    }
}

fn observed(result: Result<Outcome, ProcessorError>, prefix: &str) -> Expected {
    match result {
        Ok(Outcome::Approved { reference }) => {
            assert!(reference.starts_with(prefix), "{reference}");
            Expected::Approved
        }
        Ok(Outcome::Declined { decline_code }) => Expected::Declined(decline_code),
        Err(ProcessorError::Processing) => Expected::ProcessingError,
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test]
async fn every_table_card_answers_verification_and_authorization_as_listed() {
    let table: serde_json::Value = serde_json::from_str(TEST_CARDS).expect("valid JSON");
    let cards = table["cards"].as_array().expect("cards is a list");
    assert!(cards.len() >= 15);
    let processor = processor().await;
    for card in cards {
        let raw = card["number"].as_str().expect("number");
        let number = CardNumber::parse(raw).expect("table numbers are valid");
        let verified = processor
            .verify_card(
                &IdempotencyKey::random(),
                details(&number),
                &cvc_for(&number),
            )
            .await;
        assert_eq!(
            observed(verified, "sim_ver_"),
            expected(card, true),
            "verify {number}"
        );
        let authorized = processor
            .authorize(&IdempotencyKey::random(), details(&number), jpy(12800))
            .await;
        assert_eq!(
            observed(authorized, "sim_auth_"),
            expected(card, false),
            "authorize {number}"
        );
    }
}

#[test]
fn every_table_entry_is_understood() {
    let table: Table = serde_json::from_str(TEST_CARDS).expect("valid table");
    for card in &table.cards {
        card.rule().expect("known outcome and when");
    }
    assert_eq!(
        parse_table(TEST_CARDS).expect("parses").len(),
        table.cards.len()
    );
}

#[test]
fn embedded_table_matches_shared_testdata_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/test-cards.json"
    );
    match std::fs::read(path) {
        Ok(shared) => assert!(
            shared == TEST_CARDS.as_bytes(),
            "src/processor/test-cards.json differs from {path}: copy it again"
        ),
        Err(e) => eprintln!("skipped: {path} not readable ({e})"),
    }
}

#[tokio::test]
async fn numbers_outside_the_table_are_approved() {
    let processor = processor().await;
    let number = CardNumber::parse("4111111111111111").expect("valid");
    let verified = processor
        .verify_card(
            &IdempotencyKey::random(),
            details(&number),
            &cvc_for(&number),
        )
        .await;
    assert!(approved_reference(verified).starts_with("sim_ver_"));
    let authorized = processor
        .authorize(&IdempotencyKey::random(), details(&number), jpy(1))
        .await;
    assert!(approved_reference(authorized).starts_with("sim_auth_"));
}

#[tokio::test]
async fn a_cvc_of_another_brands_length_fails_verification() {
    let processor = processor().await;
    let amex = CardNumber::parse("378282246310005").expect("valid");
    let three_digits = Cvc::parse("123", crate::card::Brand::Visa).expect("valid");
    let result = processor
        .verify_card(&IdempotencyKey::random(), details(&amex), &three_digits)
        .await;
    assert_eq!(decline_code(result), "incorrect_cvc");
}

#[tokio::test]
async fn same_key_replays_the_result_without_a_second_effect() {
    let processor = processor().await;
    let number = CardNumber::parse("4242424242424242").expect("valid");
    let key = IdempotencyKey::new("payment-1:authorize");
    let first = processor
        .authorize(&key, details(&number), jpy(12800))
        .await;
    assert_eq!(processor.effects().await.unwrap(), 1);
    let again = processor
        .authorize(&key, details(&number), jpy(99999))
        .await;
    assert_eq!(first, again);
    assert_eq!(processor.effects().await.unwrap(), 1);

    let auth = approved_reference(first);
    let capture_key = IdempotencyKey::new("payment-1:capture");
    let captured = processor.capture(&capture_key, &auth, jpy(12800)).await;
    let replayed = processor.capture(&capture_key, &auth, jpy(12800)).await;
    assert_eq!(captured, replayed);
    assert_eq!(processor.effects().await.unwrap(), 2);

    let other_key = processor
        .capture(&IdempotencyKey::random(), &auth, jpy(12800))
        .await;
    assert_eq!(decline_code(other_key), "already_captured");
    assert_eq!(processor.effects().await.unwrap(), 2);
}

#[tokio::test]
async fn declines_and_processing_errors_replay_too() {
    let processor = processor().await;
    for (raw, expect) in [
        ("4000000000000002", Ok("generic_decline")),
        ("4000000000000119", Err(ProcessorError::Processing)),
    ] {
        let number = CardNumber::parse(raw).expect("valid");
        let key = IdempotencyKey::random();
        let first = processor.authorize(&key, details(&number), jpy(500)).await;
        let again = processor.authorize(&key, details(&number), jpy(500)).await;
        assert_eq!(first, again);
        match expect {
            Ok(code) => assert_eq!(decline_code(first), code),
            Err(err) => assert_eq!(first, Err(err)),
        }
    }
    assert_eq!(processor.effects().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_take_effect_once() {
    let processor = Arc::new(processor().await);
    let key = IdempotencyKey::random();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let processor = Arc::clone(&processor);
            let key = key.clone();
            tokio::spawn(async move {
                let number = CardNumber::parse("5555555555554444").expect("valid");
                processor.authorize(&key, details(&number), jpy(700)).await
            })
        })
        .collect();
    let mut references = Vec::new();
    for task in tasks {
        references.push(approved_reference(task.await.expect("task ran")));
    }
    references.dedup();
    assert_eq!(references.len(), 1);
    assert_eq!(processor.effects().await.unwrap(), 1);
}

#[tokio::test]
async fn fault_rate_one_always_fails_and_a_retry_can_then_succeed() {
    let failing = with_options(SimulatedOptions {
        latency: Duration::ZERO,
        fault_rate: 1.0,
    })
    .await;
    let number = CardNumber::parse("4242424242424242").expect("valid");
    let key = IdempotencyKey::random();
    for _ in 0..50 {
        let result = failing.authorize(&key, details(&number), jpy(100)).await;
        assert_eq!(result, Err(ProcessorError::Unavailable));
    }
    assert_eq!(failing.effects().await.unwrap(), 0);
    // The fault was not saved: the same key succeeds once the outage is over.
    let healthy = processor().await;
    let first = healthy.authorize(&key, details(&number), jpy(100)).await;
    assert!(approved_reference(first).starts_with("sim_auth_"));
}

#[tokio::test]
async fn faults_are_not_saved_for_replay() {
    let flaky = with_options(SimulatedOptions {
        latency: Duration::ZERO,
        fault_rate: 0.5,
    })
    .await;
    let number = CardNumber::parse("4242424242424242").expect("valid");
    let key = IdempotencyKey::random();
    let mut faults = 0;
    let mut approvals = Vec::new();
    for _ in 0..200 {
        match flaky.authorize(&key, details(&number), jpy(100)).await {
            Err(ProcessorError::Unavailable) => faults += 1,
            other => approvals.push(approved_reference(other)),
        }
    }
    assert!(faults > 0 && !approvals.is_empty(), "{faults} faults");
    approvals.dedup();
    assert_eq!(approvals.len(), 1);
    assert_eq!(flaky.effects().await.unwrap(), 1);
}

#[tokio::test]
async fn fault_rate_zero_never_fails() {
    let processor = processor().await;
    let number = CardNumber::parse("4242424242424242").expect("valid");
    for _ in 0..200 {
        let result = processor
            .verify_card(
                &IdempotencyKey::random(),
                details(&number),
                &cvc_for(&number),
            )
            .await;
        approved_reference(result);
    }
    assert_eq!(processor.effects().await.unwrap(), 200);
}

#[tokio::test]
async fn latency_is_added_to_each_call() {
    let latency = Duration::from_millis(30);
    let slow = with_options(SimulatedOptions {
        latency,
        fault_rate: 0.0,
    })
    .await;
    let number = CardNumber::parse("4242424242424242").expect("valid");
    let started = std::time::Instant::now();
    let result = slow
        .authorize(&IdempotencyKey::random(), details(&number), jpy(100))
        .await;
    approved_reference(result);
    assert!(started.elapsed() >= latency);
}

#[tokio::test]
async fn reports_itself_as_test_mode() {
    let processor = processor().await;
    assert!(processor.test_mode());
    assert_eq!(processor.name(), "simulated");
    let shown = format!("{processor:?}");
    assert!(!shown.contains("4242"), "{shown}");
}

#[test]
fn idempotency_keys() {
    let a = IdempotencyKey::random();
    assert_ne!(a, IdempotencyKey::random());
    assert!(uuid::Uuid::parse_str(a.as_str()).is_ok());
    assert_eq!(IdempotencyKey::new("k-1").as_str(), "k-1");
}
