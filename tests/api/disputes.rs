//! Disputes and the buyer guarantee: the shopper opens one on a captured payment (through the
//! service the wallet's pages call), the merchant answers through the SDK, the issuer decides
//! (through the service the console calls). Accepting refunds at once; a decision for the
//! shopper refunds, or pays from the guarantee up to its cap where the refund fails for good;
//! racing decisions and answers on two nodes have one winner; webhooks arrive once.

use saifu::accounts::user::User;
use saifu::audit::{Actor, Query};
use saifu::clock::unix_now;
use saifu::config::Config;
use saifu::disputes::{Decision, Dispute, Reason, Status};
use saifu::merchants::{MerchantStatus, NewMerchant};
use saifu_sdk::checkout::MerchantCredentials;
use saifu_sdk::webhooks::{verify_webhook, WebhookSecret};
use saifu_sdk::{DisputeAnswer, DisputeEvidence, Error as SdkError, SaifuClient};

use crate::helpers::{
    count_rows, create_merchant, grant, jpy, merchant, new_merchant, sdk, sdk_on,
    set_merchant_status, shopper, spawn_app_with, spawn_node, user_id_by_email, HookReceiver,
    Shopper, TestApp,
};

const DAY: i64 = 24 * 60 * 60;

struct Case {
    app: TestApp,
    creds: MerchantCredentials,
    client: SaifuClient,
    shopper: Shopper,
    user: User,
    hooks: HookReceiver,
}

/// A wallet with quick webhooks, a merchant with a webhook URL, and a signed-in shopper.
async fn case(email: &str, adjust: impl FnOnce(&mut Config)) -> Case {
    let hooks = HookReceiver::start().await;
    let app = spawn_app_with(|c| {
        c.webhook_poll_ms = 50;
        c.webhook_retry_schedule = "0ms,150ms".into();
        adjust(c);
    })
    .await;
    let merchant = NewMerchant {
        webhook_url: Some(url::Url::parse(&hooks.url).unwrap()),
        ..new_merchant("Frame Shop", true)
    };
    let creds = create_merchant(&app, merchant).await;
    let client = sdk(&app, &creds).await;
    let shopper = shopper(&app, email).await;
    let id = user_id_by_email(&app, email).await;
    let user = app.state.accounts.user(id).await.unwrap().unwrap();
    Case {
        app,
        creds,
        client,
        shopper,
        user,
        hooks,
    }
}

impl Case {
    /// A ¥12,800 payment, captured.
    async fn captured(&mut self) -> saifu_sdk::Payment {
        let g = grant(&self.client, &mut self.shopper).await;
        self.client
            .pay(&g, &jpy("12800"), true, None)
            .await
            .unwrap()
    }

    /// The shopper disputes `amount` (all that is left, if `None`) of the payment "now".
    async fn open_at(&self, payment_id: &str, amount: Option<&str>, now: i64) -> Dispute {
        self.app
            .state
            .disputes
            .open(
                &self.user,
                payment_id,
                Reason::NotReceived,
                "The frames never arrived.",
                amount,
                now,
            )
            .await
            .unwrap()
    }

    async fn open(&self, payment_id: &str, amount: Option<&str>) -> Dispute {
        self.open_at(payment_id, amount, unix_now()).await
    }

    async fn decide(&self, id: &str, decision: Decision) -> saifu::error::Result<Dispute> {
        self.app
            .state
            .disputes
            .decide(id, decision, &admin(), unix_now())
            .await
    }

    fn secret(&self) -> WebhookSecret {
        WebhookSecret::parse(&self.creds.webhook_secret).unwrap()
    }

    async fn points(&self) -> i64 {
        self.app
            .state
            .store
            .points_summary(&self.user.id.to_string(), 0)
            .await
            .unwrap()
            .available
    }

    /// Audit entries of `action` about `target`.
    async fn audited(
        &self,
        action: &str,
        target: &str,
    ) -> Vec<saifu::store::audit::StoredAuditEntry> {
        let query = Query {
            action: Some(action.into()),
            target: Some(target.into()),
            ..Query::default()
        };
        self.app.state.audit.list(&query, 50).await.unwrap()
    }
}

fn admin() -> Actor {
    Actor::Admin("11111111-2222-3333-4444-555555555555".into())
}

fn problem(err: SdkError) -> (u16, String) {
    match err {
        SdkError::Problem { status, code, .. } => (status, code),
        other => panic!("expected a problem, got {other:?}"),
    }
}

fn evidence() -> DisputeAnswer {
    DisputeAnswer::Evidence(DisputeEvidence {
        text: "Delivered to the door, signed for.".into(),
        carrier: Some("Yamato".into()),
        tracking_number: Some("1234-5678-9012".into()),
    })
}

#[tokio::test]
async fn an_accepted_dispute_is_refunded_at_once_reversing_points_and_announced_once() {
    let mut c = case("accept@example.com", |_| {}).await;
    let paid = c.captured().await;
    assert_eq!(c.points().await, 128);

    let opened = c.open(&paid.id, None).await;
    assert_eq!((opened.status, opened.amount_minor), (Status::Open, 12800));
    let delivery = &c.hooks.wait_for("dispute.opened", 1).await[0];
    let event = verify_webhook(&delivery.headers, &delivery.body, &[c.secret()]).unwrap();
    let announced = event.dispute_opened().expect("a dispute.opened event");
    assert_eq!(
        (
            announced.id.as_str(),
            announced.status.as_str(),
            announced.amount.amount.as_str()
        ),
        (opened.id.as_str(), "open", "12800")
    );

    // The merchant's SDK lists and reads it.
    let listed = c.client.disputes(Some("open")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], c.client.dispute(&opened.id).await.unwrap());
    assert_eq!(listed[0].reason, "not_received");
    assert!(c
        .client
        .disputes(Some("resolved"))
        .await
        .unwrap()
        .is_empty());

    let accepted = c
        .client
        .respond_to_dispute(&opened.id, &DisputeAnswer::Accept, Some("accept-1"))
        .await
        .unwrap();
    assert_eq!(
        (
            accepted.status.as_str(),
            accepted.decision.as_deref(),
            accepted.outcome.as_deref()
        ),
        ("resolved", Some("merchant_accepted"), Some("refunded"))
    );
    assert!(accepted.refund_id.is_some());
    // A retry with the same key answers the same; a new answer is refused.
    let replayed = c
        .client
        .respond_to_dispute(&opened.id, &DisputeAnswer::Accept, Some("accept-1"))
        .await
        .unwrap();
    assert_eq!(replayed, accepted);
    let (status, code) = problem(
        c.client
            .respond_to_dispute(&opened.id, &evidence(), None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (409, "dispute_closed"));

    // Refunded like any refund: the card, the earned points, the payment.refunded event.
    let payment = c.client.get_payment(&paid.id).await.unwrap();
    assert_eq!(payment.refunded_amount, "12800");
    assert_eq!(c.points().await, 0, "the earned points are reversed");
    c.hooks.wait_for("payment.refunded", 1).await;
    let resolved = c.hooks.wait_for("dispute.resolved", 1).await;
    let event = verify_webhook(&resolved[0].headers, &resolved[0].body, &[c.secret()]).unwrap();
    assert_eq!(
        event.dispute_resolved().unwrap().outcome.as_deref(),
        Some("refunded")
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(c.hooks.of_type("dispute.opened").len(), 1);
    assert_eq!(c.hooks.of_type("dispute.resolved").len(), 1);
    assert_eq!(
        count_rows(
            &c.app,
            &format!("webhook_events WHERE subject_id = '{}'", opened.id)
        )
        .await,
        2
    );
}

#[tokio::test]
async fn evidence_then_a_decision_for_the_shopper_refunds_the_disputed_part() {
    let mut c = case("evidence@example.com", |_| {}).await;
    let paid = c.captured().await;
    let opened = c.open(&paid.id, Some("3200")).await;

    let answered = c
        .client
        .respond_to_dispute(&opened.id, &evidence(), None)
        .await
        .unwrap();
    assert_eq!(answered.status, "evidence_received");
    assert_eq!(
        answered.evidence.as_ref().unwrap().carrier.as_deref(),
        Some("Yamato")
    );
    let queue = c.app.state.disputes.queue(unix_now()).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert!(queue[0].needs_decision);
    let (status, code) = problem(
        c.client
            .respond_to_dispute(&opened.id, &DisputeAnswer::Accept, None)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (409, "dispute_closed"));

    let decided = c.decide(&opened.id, Decision::ForShopper).await.unwrap();
    assert_eq!(
        (
            decided.status,
            decided.decision.as_deref(),
            decided.outcome.as_deref()
        ),
        (Status::Resolved, Some("for_shopper"), Some("refunded"))
    );
    assert!(decided.refund_id.is_some());
    let payment = c.client.get_payment(&paid.id).await.unwrap();
    assert_eq!(payment.refunded_amount, "3200");
    assert_eq!(c.points().await, 128 - 32, "points reversed pro rata");
    assert!(c
        .app
        .state
        .disputes
        .queue(unix_now())
        .await
        .unwrap()
        .is_empty());

    let entries = c.audited("dispute.decided", &opened.id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, admin().to_string());
    assert!(entries[0].details.contains("for_shopper"));
    c.hooks.wait_for("dispute.resolved", 1).await;
    // Decided once: a second decision is refused.
    let again = c
        .decide(&opened.id, Decision::ForShopper)
        .await
        .unwrap_err();
    assert_eq!(again.code(), "dispute_closed");
}

#[tokio::test]
async fn a_decision_for_the_merchant_needs_a_reason_and_refunds_nothing() {
    let mut c = case("merchant-wins@example.com", |_| {}).await;
    let paid = c.captured().await;
    let opened = c.open(&paid.id, None).await;
    c.client
        .respond_to_dispute(&opened.id, &evidence(), None)
        .await
        .unwrap();
    let blank = Decision::ForMerchant {
        reason: "  ".into(),
    };
    assert_eq!(
        c.decide(&opened.id, blank).await.unwrap_err().code(),
        "invalid_decision_reason"
    );
    let reason = "The carrier's record shows a signed delivery.";
    let decided = c
        .decide(
            &opened.id,
            Decision::ForMerchant {
                reason: reason.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            decided.status,
            decided.outcome.as_deref(),
            decided.decision_reason.as_deref()
        ),
        (Status::Resolved, Some("rejected"), Some(reason))
    );
    let shown = c
        .app
        .state
        .disputes
        .shopper_dispute(c.user.id, &opened.id)
        .await
        .unwrap();
    assert_eq!(shown.decision_reason.as_deref(), Some(reason));
    assert_eq!(
        c.client
            .get_payment(&paid.id)
            .await
            .unwrap()
            .refunded_amount,
        "0"
    );
    assert_eq!(c.points().await, 128);
    assert_eq!(c.audited("dispute.decided", &opened.id).await.len(), 1);
    let resolved = c.hooks.wait_for("dispute.resolved", 1).await;
    let event = verify_webhook(&resolved[0].headers, &resolved[0].body, &[c.secret()]).unwrap();
    assert_eq!(
        event.dispute_resolved().unwrap().outcome.as_deref(),
        Some("rejected")
    );
}

#[tokio::test]
async fn past_respond_by_the_dispute_waits_for_the_issuer_and_the_merchant_is_refused() {
    let mut c = case("late@example.com", |_| {}).await;
    let paid = c.captured().await;
    // Opened eight days ago: the seven days to answer are over.
    let opened = c.open_at(&paid.id, None, unix_now() - 8 * DAY).await;
    let now = unix_now();
    assert!(opened.respond_by < now);
    let queue = c.app.state.disputes.queue(now).await.unwrap();
    assert_eq!(
        queue.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [opened.id.as_str()]
    );
    assert!(queue[0].needs_decision);
    for answer in [DisputeAnswer::Accept, evidence()] {
        let (status, code) = problem(
            c.client
                .respond_to_dispute(&opened.id, &answer, None)
                .await
                .unwrap_err(),
        );
        assert_eq!((status, code.as_str()), (409, "response_window_closed"));
    }
    assert_eq!(
        c.client
            .get_payment(&paid.id)
            .await
            .unwrap()
            .refunded_amount,
        "0"
    );
    let decided = c.decide(&opened.id, Decision::ForShopper).await.unwrap();
    assert_eq!(decided.outcome.as_deref(), Some("refunded"));
}

#[tokio::test]
async fn opening_follows_the_rules_and_one_dispute_per_payment_even_racing() {
    let mut c = case("rules@example.com", |_| {}).await;
    let paid = c.captured().await;
    let disputes = &c.app.state.disputes;
    let now = unix_now();
    let open = |amount: Option<&'static str>, description: &'static str, at: i64| {
        disputes.open(
            &c.user,
            &paid.id,
            Reason::NotAsDescribed,
            description,
            amount,
            at,
        )
    };
    let code = |r: saifu::error::Result<Dispute>| r.unwrap_err().code();
    assert_eq!(
        code(open(Some("12801"), "Broken", now).await),
        "invalid_dispute_amount"
    );
    assert_eq!(
        code(open(Some("12.5"), "Broken", now).await),
        "invalid_dispute_amount"
    );
    assert_eq!(
        code(open(None, "", now).await),
        "invalid_dispute_description"
    );
    assert_eq!(
        code(open(None, "a\u{202E}b", now).await),
        "invalid_dispute_description"
    );
    assert_eq!(
        code(open(None, "Broken", now + 121 * DAY).await),
        "dispute_window_closed"
    );
    assert_eq!(
        disputes
            .disputable(c.user.id, &paid.id, now)
            .await
            .unwrap()
            .max_amount_minor,
        12800
    );
    // Two at once: the unique index lets one in.
    let (a, b) = tokio::join!(open(None, "Broken", now), open(None, "Broken", now));
    let codes: Vec<&str> = [&a, &b]
        .iter()
        .map(|r| r.as_ref().map_or_else(|e| e.code(), |_| "opened"))
        .collect();
    assert!(
        codes == ["opened", "dispute_exists"] || codes == ["dispute_exists", "opened"],
        "{codes:?}"
    );
    assert_eq!(code(open(None, "Again", now).await), "dispute_exists");

    // Only captured payments with something left to refund.
    let g = grant(&c.client, &mut c.shopper).await;
    let authorized = c.client.pay(&g, &jpy("12800"), false, None).await.unwrap();
    let refused = disputes
        .open(
            &c.user,
            &authorized.id,
            Reason::Duplicate,
            "Twice",
            None,
            now,
        )
        .await;
    assert_eq!(code(refused), "not_disputable");
    let g = grant(&c.client, &mut c.shopper).await;
    let refunded = c.client.pay(&g, &jpy("12800"), true, None).await.unwrap();
    c.client
        .refund(&refunded.id, &jpy("12800"), None)
        .await
        .unwrap();
    let refused = disputes
        .open(&c.user, &refunded.id, Reason::Duplicate, "Twice", None, now)
        .await;
    assert_eq!(code(refused), "not_disputable");
    let unknown = disputes
        .open(&c.user, "pay_nope", Reason::Duplicate, "Twice", None, now)
        .await;
    assert_eq!(code(unknown), "not_found");
}

#[tokio::test]
async fn the_guarantee_pays_a_suspended_merchants_disputes_up_to_the_cap() {
    let mut c = case("guarantee@example.com", |conf| {
        conf.guarantee_cap = saifu::money::GuaranteeCap::parse("JPY=5000").unwrap();
    })
    .await;
    let over = c.captured().await;
    let under = c.captured().await;
    let over_cap = c.open(&over.id, None).await;
    let under_cap = c.open(&under.id, Some("3000")).await;
    set_merchant_status(&c.app, &c.creds.client_id, MerchantStatus::Suspended).await;
    let effects = c.app.state.simulator.effects().await.unwrap();

    let paid = c.decide(&over_cap.id, Decision::ForShopper).await.unwrap();
    assert_eq!(
        (
            paid.status,
            paid.outcome.as_deref(),
            paid.guarantee_paid_minor,
            paid.unpaid_minor
        ),
        (
            Status::Resolved,
            Some("guarantee_paid"),
            Some(5000),
            Some(7800)
        )
    );
    let api = paid.to_api();
    assert_eq!(api.guarantee_paid.unwrap().amount, "5000");
    assert_eq!(api.unpaid.unwrap().amount, "7800");
    let paid = c.decide(&under_cap.id, Decision::ForShopper).await.unwrap();
    assert_eq!(
        (
            paid.outcome.as_deref(),
            paid.guarantee_paid_minor,
            paid.unpaid_minor
        ),
        (Some("guarantee_paid"), Some(3000), Some(0))
    );
    assert_eq!(
        c.app.state.simulator.effects().await.unwrap(),
        effects,
        "a suspended merchant's refund is not sent to the processor"
    );
    assert_eq!(c.points().await, 256, "no refund, no points reversed");

    // The ledger: the fund paid 8000 and owes it; a contribution tops it up; postings balance.
    let guarantee = c.app.state.disputes.guarantee().await.unwrap();
    assert_eq!(guarantee.balances, [("JPY".to_string(), -8000)]);
    assert_eq!(guarantee.entries.len(), 4);
    let owner = admin();
    let funded = &c.app.state.disputes;
    funded
        .fund_guarantee("JPY", 100_000, &owner, unix_now())
        .await
        .unwrap();
    assert_eq!(
        funded.guarantee().await.unwrap().balances,
        [("JPY".to_string(), 92_000)]
    );
    assert_eq!(
        funded
            .fund_guarantee("EUR", 1, &owner, unix_now())
            .await
            .unwrap_err()
            .code(),
        "invalid_amount"
    );
    assert_eq!(count_rows(&c.app, "guarantee_entries").await, 6);
    use sqlx::Row;
    let pool = sqlx::AnyPool::connect(&c.app.database_url).await.unwrap();
    let sum: i64 =
        sqlx::query("SELECT CAST(SUM(amount_minor) AS BIGINT) AS s FROM guarantee_entries")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("s");
    assert_eq!(sum, 0, "every posting sums to zero");
    pool.close().await;
    assert_eq!(c.audited("guarantee.paid", &over_cap.id).await.len(), 1);
    let contributions = c.audited("guarantee.funded", "").await;
    assert!(contributions.is_empty(), "targets are postings, not empty");
    let query = Query {
        action: Some("guarantee.funded".into()),
        ..Query::default()
    };
    let contributions = c.app.state.audit.list(&query, 10).await.unwrap();
    assert_eq!(contributions.len(), 1);
    assert_eq!(contributions[0].actor, owner.to_string());
    c.hooks.wait_for("dispute.resolved", 2).await;
}

#[tokio::test]
async fn a_declined_refund_falls_back_to_the_guarantee() {
    let mut c = case("declined@example.com", |_| {}).await;
    let paid = c.captured().await;
    let opened = c.open(&paid.id, Some("4000")).await;
    c.app
        .state
        .simulator
        .set_declined_operation(Some(("refund", "account_closed")));
    let decided = c.decide(&opened.id, Decision::ForShopper).await.unwrap();
    assert_eq!(
        (
            decided.outcome.as_deref(),
            decided.guarantee_paid_minor,
            decided.unpaid_minor
        ),
        (Some("guarantee_paid"), Some(4000), Some(0))
    );
    assert_eq!(
        c.client
            .get_payment(&paid.id)
            .await
            .unwrap()
            .refunded_amount,
        "0"
    );
    assert_eq!(
        count_rows(&c.app, "refunds").await,
        0,
        "the declined refund left nothing"
    );
    assert_eq!(c.points().await, 128);
}

#[tokio::test]
async fn a_failing_processor_leaves_the_dispute_resolving_until_the_reconciler_finishes_it() {
    let mut c = case("resume@example.com", |conf| {
        conf.in_flight_lease_secs = 1;
        conf.reconcile_interval_secs = 3600;
    })
    .await;
    let paid = c.captured().await;
    let opened = c.open(&paid.id, None).await;
    let simulator = &c.app.state.simulator;
    simulator.set_faulty_operation(Some("refund"));
    simulator.set_fault_rate(1.0);
    let decided = c.decide(&opened.id, Decision::ForShopper).await.unwrap();
    assert_eq!((decided.status, decided.outcome), (Status::Resolving, None));
    assert_eq!(
        c.client
            .get_payment(&paid.id)
            .await
            .unwrap()
            .refunded_amount,
        "0"
    );
    // Within the lease nothing is taken over.
    assert_eq!(c.app.state.disputes.resume(unix_now()).await.unwrap(), 0);
    simulator.set_fault_rate(0.0);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = unix_now() + 1;
    assert_eq!(c.app.state.disputes.resume(later).await.unwrap(), 1);
    let done = c.app.state.disputes.get(&opened.id).await.unwrap();
    assert_eq!(
        (done.status, done.outcome.as_deref()),
        (Status::Resolved, Some("refunded"))
    );
    assert_eq!(
        c.client
            .get_payment(&paid.id)
            .await
            .unwrap()
            .refunded_amount,
        "12800"
    );
    assert_eq!(c.points().await, 0);
    assert_eq!(c.app.state.disputes.resume(later + 5).await.unwrap(), 0);
    c.hooks.wait_for("dispute.resolved", 1).await;
}

#[tokio::test]
async fn racing_decisions_and_answers_on_two_nodes_have_one_winner() {
    let mut c = case("race@example.com", |_| {}).await;
    let other = spawn_node(&c.app, |_| {}).await;
    let on_other = sdk_on(&other, &c.creds).await;

    // Two issuer decisions, one on each node.
    let by = admin();
    let paid = c.captured().await;
    let opened = c.open(&paid.id, None).await;
    let (a, b) = tokio::join!(
        c.app
            .state
            .disputes
            .decide(&opened.id, Decision::ForShopper, &by, unix_now()),
        other.state.disputes.decide(
            &opened.id,
            Decision::ForMerchant {
                reason: "Delivered".into()
            },
            &by,
            unix_now()
        ),
    );
    let outcomes = [&a, &b].map(|r| r.as_ref().map_or_else(|e| e.code(), |_| "won"));
    assert!(
        outcomes.contains(&"won") && outcomes.contains(&"dispute_closed"),
        "{outcomes:?}"
    );
    assert_eq!(c.audited("dispute.decided", &opened.id).await.len(), 1);
    let refunded = c
        .client
        .get_payment(&paid.id)
        .await
        .unwrap()
        .refunded_amount;
    assert_eq!(refunded, if a.is_ok() { "12800" } else { "0" });

    // The merchant's acceptance on one node against a decision on the other.
    let paid = c.captured().await;
    let opened = c.open(&paid.id, None).await;
    let (answer, decision) = tokio::join!(
        on_other.respond_to_dispute(&opened.id, &DisputeAnswer::Accept, None),
        c.app.state.disputes.decide(
            &opened.id,
            Decision::ForMerchant {
                reason: "Delivered".into()
            },
            &by,
            unix_now()
        ),
    );
    let answered = answer.is_ok();
    match (&answer, &decision) {
        (Ok(d), Err(e)) => {
            assert_eq!(
                (d.outcome.as_deref(), e.code()),
                (Some("refunded"), "dispute_closed")
            )
        }
        (Err(_), Ok(d)) => {
            assert_eq!(d.outcome.as_deref(), Some("rejected"));
            let (status, code) = problem(answer.unwrap_err());
            assert_eq!((status, code.as_str()), (409, "dispute_closed"));
        }
        other => panic!("exactly one was to win: {other:?}"),
    }
    let refunds = count_rows(&c.app, &format!("refunds WHERE payment_id = '{}'", paid.id)).await;
    assert_eq!(refunds, i64::from(answered));
    for id in [&opened.id] {
        let resolved = count_rows(
            &c.app,
            &format!(
                "webhook_events WHERE subject_id = '{id}' AND event_type = 'dispute.resolved'"
            ),
        )
        .await;
        assert_eq!(resolved, 1);
    }
}

#[tokio::test]
async fn another_merchants_or_shoppers_dispute_and_unknown_ids_are_not_found() {
    let mut c = case("mine@example.com", |_| {}).await;
    let paid = c.captured().await;
    let opened = c.open(&paid.id, None).await;
    let rival = merchant(&c.app, "Rival Shop", true).await;
    let rival = sdk(&c.app, &rival).await;
    for id in [opened.id.as_str(), "dsp_unknown", "%2e%2e"] {
        let (status, code) = problem(rival.dispute(id).await.unwrap_err());
        assert_eq!((status, code.as_str()), (404, "not_found"), "{id}");
        let (status, code) = problem(
            rival
                .respond_to_dispute(id, &DisputeAnswer::Accept, None)
                .await
                .unwrap_err(),
        );
        assert_eq!((status, code.as_str()), (404, "not_found"), "{id}");
    }
    assert!(rival.disputes(None).await.unwrap().is_empty());
    let (status, code) = problem(c.client.disputes(Some("closed")).await.unwrap_err());
    assert_eq!((status, code.as_str()), (400, "bad_request"));
    assert_eq!(c.client.disputes(None).await.unwrap().len(), 1);

    let disputes = &c.app.state.disputes;
    let stranger = uuid::Uuid::new_v4();
    assert_eq!(
        disputes
            .shopper_dispute(stranger, &opened.id)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert!(disputes.of_shopper(stranger).await.unwrap().is_empty());
    assert_eq!(disputes.of_shopper(c.user.id).await.unwrap().len(), 1);
    assert_eq!(
        disputes
            .disputable(stranger, &paid.id, unix_now())
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        disputes.get("dsp_unknown").await.unwrap_err().code(),
        "not_found"
    );
    assert_eq!(
        disputes
            .decide("dsp_unknown", Decision::ForShopper, &admin(), unix_now())
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    // Still untouched.
    assert_eq!(c.client.dispute(&opened.id).await.unwrap().status, "open");
}
