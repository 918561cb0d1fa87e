//! The database connections a request takes: on PostgreSQL each request keeps one connection
//! between its statements and starts its transactions on it (`store::keeping_connection`), so
//! that a request never waits for a second connection while holding an idle one. With a pool
//! of one connection, a request that waited for a second would wait until the pool's timeout
//! and fail.

use std::time::{Duration, Instant};

use crate::helpers::{grant, jpy, merchant, sdk, shopper, spawn_app_with};

#[tokio::test]
async fn checkouts_run_on_a_one_connection_pool() {
    let app = spawn_app_with(|c| c.db_max_connections = 1).await;
    let creds = merchant(&app, "Frame Shop", true).await;
    let client = sdk(&app, &creds).await;
    let mut first = shopper(&app, "one-connection@example.com").await;

    let started = Instant::now();
    for _ in 0..3 {
        // Every step of the checkout: reads, single writes and transactions, page by page.
        let g = grant(&client, &mut first).await;
        let paid = client.pay(&g, &jpy("12800"), true, None).await.unwrap();
        assert_eq!(paid.status, "captured");
    }
    // A request that waited for a second connection would have waited the pool's 10 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "three checkouts took {:?}",
        started.elapsed()
    );

    // Concurrent requests (three sign-ups, each several pages) take the one connection in turn.
    let (a, b, c) = tokio::join!(
        shopper(&app, "queue-a@example.com"),
        shopper(&app, "queue-b@example.com"),
        shopper(&app, "queue-c@example.com"),
    );
    let started = Instant::now();
    let (mut a, mut b) = (a, b);
    let (ga, gb) = tokio::join!(grant(&client, &mut a), grant(&client, &mut b));
    assert_ne!(ga, gb);
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(c);
}
