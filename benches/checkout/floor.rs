//! The floor: what one checkout cannot avoid, timed on this machine in the same run.
//! Cryptography: one ES256 verification (the passkey assertion), one ES256 signature and one
//! verification (the grant), one AES-256-GCM unwrap and one decrypt (the card), one HMAC (the
//! pairwise subject) and the SHA-256 digests of the secrets presented (client secret three
//! times, the request URI, the code). Database: the six write transactions a checkout needs at
//! least (push, open consent, ceremony, approve, code→grant, grant→payment with points and
//! outbox), with plain sqlx on the same engine, files and settings as the wallet.

use std::time::Instant;

use anyhow::Context;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use sqlx::Connection;

use crate::wallet::process_cpu_seconds;

/// The floor's tables, with `int` the engine's 64-bit integer type.
pub fn tables(int: &str) -> [String; 7] {
    [
        format!("CREATE TABLE fl_requests (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, data TEXT NOT NULL, used {int} NOT NULL DEFAULT 0, expires_at {int} NOT NULL)"),
        format!("CREATE TABLE fl_consents (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, status TEXT NOT NULL, user_id TEXT, card_id TEXT, code_hash TEXT UNIQUE, expires_at {int} NOT NULL)"),
        format!("CREATE TABLE fl_ceremonies (id TEXT PRIMARY KEY, state TEXT NOT NULL, expires_at {int} NOT NULL)"),
        format!("CREATE TABLE fl_grants (jti TEXT PRIMARY KEY, code_hash TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, card_id TEXT NOT NULL, amount {int} NOT NULL, used_at {int})"),
        format!("CREATE TABLE fl_payments (id TEXT PRIMARY KEY, grant_jti TEXT NOT NULL UNIQUE, amount {int} NOT NULL, status TEXT NOT NULL, created_at {int} NOT NULL)"),
        format!("CREATE TABLE fl_ledger (id TEXT PRIMARY KEY, payment_id TEXT NOT NULL, account TEXT NOT NULL, points {int} NOT NULL)"),
        format!("CREATE TABLE fl_outbox (id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at {int} NOT NULL)"),
    ]
}

macro_rules! create_tables {
    ($conn:ident, $int:literal) => {
        for sql in tables($int) {
            sqlx::query(&sql).execute(&mut $conn).await?;
        }
    };
}

/// The statements of the six transactions, in the order a checkout runs them, shared by the
/// sqlx floor and the engine's floor (`engine_floor.rs`) so that both measure the same work.
/// Parameters are `$N`: PostgreSQL's form, which SQLite reads as named parameters (sqlx) and
/// the engine floor rewrites to `?N`.
pub mod sql {
    /// A typical pushed request's authorization details (the ceremony stores them too).
    pub const DETAILS: &str = r#"[{"type":"payment","instructed_amount":{"currency":"JPY","amount":"1280"},"order_reference":"bench","line_items":[{"name":"Tea","quantity":1,"unit_amount":"1280"}]}]"#;
    /// 1. PAR (on its own): id, client id, details, expiry.
    pub const PUSH: &str =
        "INSERT INTO fl_requests (id, client_id, data, expires_at) VALUES ($1, $2, $3, $4)";
    /// 2. Authorize: consume the request once (id), open the consent (id, request, expiry).
    pub const CONSUME: &str = "UPDATE fl_requests SET used = 1 WHERE id = $1 AND used = 0";
    pub const OPEN_CONSENT: &str = "INSERT INTO fl_consents (id, request_id, status, expires_at) VALUES ($1, $2, 'pending', $3)";
    /// 3. Begin (on its own): the ceremony (id, state, expiry).
    pub const CEREMONY: &str =
        "INSERT INTO fl_ceremonies (id, state, expires_at) VALUES ($1, $2, $3)";
    /// 4. Approve: take the ceremony once (id), approve the consent with a code (consent, user,
    ///    card, code).
    pub const TAKE_CEREMONY: &str = "DELETE FROM fl_ceremonies WHERE id = $1 RETURNING state";
    pub const APPROVE: &str = "UPDATE fl_consents SET status = 'approved', user_id = $2, card_id = $3, code_hash = $4 WHERE id = $1 AND status = 'pending'";
    /// 5. Token: take the code once (code), record the grant (jti, code).
    pub const TAKE_CODE: &str = "UPDATE fl_consents SET status = 'exchanged' WHERE code_hash = $1 AND status = 'approved' RETURNING user_id, card_id";
    pub const GRANT: &str = "INSERT INTO fl_grants (jti, code_hash, user_id, card_id, amount) VALUES ($1, $2, 'user', 'card', 1280)";
    /// 6. Pay with capture: use the grant once (jti, time), the payment (id, jti, time), two
    ///    ledger entries (id, payment, account, points) and the webhook (id, payload, time).
    pub const USE_GRANT: &str =
        "UPDATE fl_grants SET used_at = $2 WHERE jti = $1 AND used_at IS NULL";
    pub const PAYMENT: &str = "INSERT INTO fl_payments (id, grant_jti, amount, status, created_at) VALUES ($1, $2, 1280, 'captured', $3)";
    pub const LEDGER: &str =
        "INSERT INTO fl_ledger (id, payment_id, account, points) VALUES ($1, $2, $3, $4)";
    pub const OUTBOX: &str = "INSERT INTO fl_outbox (id, payload, created_at) VALUES ($1, $2, $3)";
    /// The ledger's two entries per payment.
    pub const ENTRIES: [(&str, i64); 2] = [("user", 12), ("issuer", -12)];
    pub const EVENT: &str = r#"{"type":"payment.captured"}"#;
}

/// One checkout's six write transactions, each a conditional write where the wallet needs one.
macro_rules! one_checkout {
    ($conn:ident, $i:expr) => {{
        let i = i64::from($i);
        let id = |what: &str| format!("{what}-{i}-{}", uuid::Uuid::new_v4().simple());
        let (request, consent, ceremony, code, jti, payment) = (
            id("req"),
            id("con"),
            id("cer"),
            id("code"),
            id("jti"),
            id("pay"),
        );
        // 1. PAR: store the pushed request.
        sqlx::query(sql::PUSH)
            .bind(&request)
            .bind("mch_bench")
            .bind(sql::DETAILS)
            .bind(i + 600)
            .execute(&mut $conn)
            .await?;
        // 2. Authorize: consume it once, open the consent.
        let mut tx = $conn.begin().await?;
        let used = sqlx::query(sql::CONSUME)
            .bind(&request)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        anyhow::ensure!(used == 1, "request consumed twice");
        sqlx::query(sql::OPEN_CONSENT)
            .bind(&consent)
            .bind(&request)
            .bind(i + 600)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // 3. Begin: the ceremony state.
        sqlx::query(sql::CEREMONY)
            .bind(&ceremony)
            .bind(sql::DETAILS)
            .bind(i + 300)
            .execute(&mut $conn)
            .await?;
        // 4. Approve: take the ceremony once, approve the consent with a code.
        let mut tx = $conn.begin().await?;
        let taken = sqlx::query(sql::TAKE_CEREMONY)
            .bind(&ceremony)
            .fetch_optional(&mut *tx)
            .await?;
        anyhow::ensure!(taken.is_some(), "ceremony missing");
        sqlx::query(sql::APPROVE)
            .bind(&consent)
            .bind("user")
            .bind("card")
            .bind(&code)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // 5. Token: take the code once, record the grant.
        let mut tx = $conn.begin().await?;
        let exchanged = sqlx::query(sql::TAKE_CODE)
            .bind(&code)
            .fetch_optional(&mut *tx)
            .await?;
        anyhow::ensure!(exchanged.is_some(), "code missing");
        sqlx::query(sql::GRANT)
            .bind(&jti)
            .bind(&code)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // 6. Pay with capture: use the grant once, the payment, the points, the webhook.
        let mut tx = $conn.begin().await?;
        let redeemed = sqlx::query(sql::USE_GRANT)
            .bind(&jti)
            .bind(i)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        anyhow::ensure!(redeemed == 1, "grant used twice");
        sqlx::query(sql::PAYMENT)
            .bind(&payment)
            .bind(&jti)
            .bind(i)
            .execute(&mut *tx)
            .await?;
        for (account, points) in sql::ENTRIES {
            sqlx::query(sql::LEDGER)
                .bind(format!("{payment}-{account}"))
                .bind(&payment)
                .bind(account)
                .bind(points)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(sql::OUTBOX)
            .bind(format!("evt-{payment}"))
            .bind(sql::EVENT)
            .bind(i)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }};
}

pub struct Item {
    pub name: &'static str,
    pub per_op_us: f64,
    pub per_checkout: u32,
}

pub struct Floor {
    pub crypto: Vec<Item>,
    pub crypto_us: f64,
    /// Process CPU per checkout's six transactions (the client side; for SQLite that is the
    /// whole engine, which runs in-process, as it does in the wallet).
    pub db_cpu_us: f64,
    /// Wall time of the six transactions one after another (includes waiting for fsync).
    pub db_wall_us: f64,
    pub db_iterations: u32,
    pub total_us: f64,
    /// The same transactions without sqlx.
    pub engine: crate::engine_floor::EngineFloor,
}

impl Floor {
    /// Cryptography plus the engine's own transactions, CPU per checkout, when measured.
    pub fn engine_total_us(&self) -> Option<f64> {
        self.engine.cpu_us().map(|db| self.crypto_us + db)
    }

    pub fn json(&self) -> Value {
        json!({
            "crypto": self.crypto.iter().map(|i| json!({
                "operation": i.name,
                "per_op_us": crate::stats::round3(i.per_op_us),
                "per_checkout": i.per_checkout,
            })).collect::<Vec<_>>(),
            "crypto_us_per_checkout": crate::stats::round3(self.crypto_us),
            "db_transactions_per_checkout": 6,
            "db_cpu_us_per_checkout": crate::stats::round3(self.db_cpu_us),
            "db_wall_us_per_checkout": crate::stats::round3(self.db_wall_us),
            "db_iterations": self.db_iterations,
            "total_cpu_us_per_checkout": crate::stats::round3(self.total_us),
            "engine": self.engine.json(),
            "engine_cpu_us_per_checkout": self.engine.cpu_us().map(crate::stats::round3),
            "engine_wall_us_per_checkout": self.engine.measured.as_ref().map(|m| crate::stats::round3(m.wall_us)),
            "engine_total_cpu_us_per_checkout": self.engine_total_us().map(crate::stats::round3),
            "sqlx_over_engine_db_cpu": self.engine.cpu_us().map(|e| crate::stats::round3(self.db_cpu_us / e.max(1e-9))),
        })
    }
}

fn ring_err<E>(_: E) -> anyhow::Error {
    anyhow::anyhow!("ring refused a benchmark key or input")
}

/// Mean time of `op`, best of five rounds (the floor is what the machine can do).
fn time_op(iterations: u32, mut op: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 + 1 {
        op();
    }
    let per_round = iterations / 5 + 1;
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_round {
                op();
            }
            t.elapsed().as_secs_f64() * 1e6 / per_round as f64
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn crypto(iterations: u32) -> anyhow::Result<Vec<Item>> {
    let rng = SystemRandom::new();

    // The passkey assertion: ASN.1 ECDSA over authenticator data + SHA-256(clientDataJSON).
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).map_err(ring_err)?;
    let passkey = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(ring_err)?;
    let client_data = vec![b'c'; 220];
    let mut signed = vec![0u8; 37];
    signed.extend_from_slice(ring::digest::digest(&ring::digest::SHA256, &client_data).as_ref());
    let assertion = passkey.sign(&rng, &signed).map_err(ring_err)?;
    let passkey_public = UnparsedPublicKey::new(
        &ECDSA_P256_SHA256_ASN1,
        passkey.public_key().as_ref().to_vec(),
    );

    // The grant: JWS ES256 (fixed-length signature) over a typical header.claims.
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(ring_err)?;
    let signer = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(ring_err)?;
    let jws_input = vec![b'j'; 620];
    let jws = signer.sign(&rng, &jws_input).map_err(ring_err)?;
    let grant_public = UnparsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        signer.public_key().as_ref().to_vec(),
    );

    // The card: a wrapped 32-byte data key and a 16-digit number, each with its AAD.
    let kek = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).map_err(ring_err)?);
    let seal = |key: &LessSafeKey, plain: &[u8], aad: &[u8]| -> anyhow::Result<Vec<u8>> {
        let mut buf = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key([1u8; 12]),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(ring_err)?;
        Ok(buf)
    };
    let wrapped = seal(
        &kek,
        &[9u8; 32],
        b"saifu/cards/00000000-0000-0000-0000-000000000000",
    )?;
    let data_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9u8; 32]).map_err(ring_err)?);
    let number = seal(
        &data_key,
        b"4242424242424242",
        b"card:00000000-0000-0000-0000-000000000000:user",
    )?;
    let open = |key: &LessSafeKey, sealed: &[u8], aad: &[u8]| {
        let mut buf = sealed.to_vec();
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key([1u8; 12]),
                Aad::from(aad),
                &mut buf,
            )
            .expect("opens");
        std::hint::black_box(plain.len());
    };

    let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[3u8; 32]);
    let subject_input = b"00000000-0000-0000-0000-000000000000:mch_abcdefghijklmnop";
    let secret = b"saifu_sk_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    Ok(vec![
        Item {
            name: "ES256 verify (passkey assertion)",
            per_op_us: time_op(iterations, || {
                passkey_public
                    .verify(&signed, assertion.as_ref())
                    .expect("verifies");
            }),
            per_checkout: 1,
        },
        Item {
            name: "ES256 sign (grant)",
            per_op_us: time_op(iterations, || {
                std::hint::black_box(signer.sign(&rng, &jws_input).expect("signs"));
            }),
            per_checkout: 1,
        },
        Item {
            name: "ES256 verify (grant)",
            per_op_us: time_op(iterations, || {
                grant_public
                    .verify(&jws_input, jws.as_ref())
                    .expect("verifies");
            }),
            per_checkout: 1,
        },
        Item {
            name: "AES-256-GCM unwrap (data key)",
            per_op_us: time_op(iterations * 10, || {
                open(
                    &kek,
                    &wrapped,
                    b"saifu/cards/00000000-0000-0000-0000-000000000000",
                )
            }),
            per_checkout: 1,
        },
        Item {
            name: "AES-256-GCM decrypt (card number)",
            per_op_us: time_op(iterations * 10, || {
                open(
                    &data_key,
                    &number,
                    b"card:00000000-0000-0000-0000-000000000000:user",
                )
            }),
            per_checkout: 1,
        },
        Item {
            name: "HMAC-SHA256 (pairwise subject)",
            per_op_us: time_op(iterations * 10, || {
                std::hint::black_box(ring::hmac::sign(&hmac_key, subject_input));
            }),
            per_checkout: 1,
        },
        Item {
            name: "SHA-256 (client secret x3, request URI, code)",
            per_op_us: time_op(iterations * 10, || {
                std::hint::black_box(ring::digest::digest(&ring::digest::SHA256, secret));
            }),
            per_checkout: 5,
        },
    ])
}

/// The minimal transactions, `iterations` checkouts' worth, on a sibling database: a file next
/// to the wallet's SQLite file with the same pragmas, or a database on the same PostgreSQL
/// server. Returns (CPU µs, wall µs) per checkout.
pub async fn database(
    wallet_database_url: &str,
    sqlite_synchronous: &str,
    iterations: u32,
) -> anyhow::Result<(f64, f64)> {
    if let Some(file) = crate::wallet::sqlite_file(wallet_database_url) {
        let path = file.with_file_name("floor.db");
        let _ = std::fs::remove_file(&path);
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await
                .context("opening the floor database")?;
        for pragma in [
            "PRAGMA busy_timeout = 10000".to_string(),
            "PRAGMA journal_mode = WAL".to_string(),
            format!("PRAGMA synchronous = {sqlite_synchronous}"),
            "PRAGMA foreign_keys = ON".to_string(),
        ] {
            sqlx::query(&pragma).execute(&mut conn).await?;
        }
        create_tables!(conn, "INTEGER");
        let started = Started::now()?;
        for i in 0..iterations {
            one_checkout!(conn, i);
        }
        started.per(iterations)
    } else {
        let mut url = url::Url::parse(wallet_database_url)?;
        let name = format!("{}_floor", url.path().trim_start_matches('/'));
        url.set_path(&format!("/{name}"));
        crate::wallet::recreate_postgres(url.as_str()).await?;
        let mut conn = sqlx::PgConnection::connect(url.as_str()).await?;
        create_tables!(conn, "BIGINT");
        let started = Started::now()?;
        for i in 0..iterations {
            one_checkout!(conn, i);
        }
        started.per(iterations)
    }
}

/// Process CPU and wall clock at the start of a measurement.
struct Started {
    cpu: f64,
    wall: Instant,
}

impl Started {
    fn now() -> anyhow::Result<Self> {
        Ok(Self {
            cpu: process_cpu_seconds("/proc/self/stat")?,
            wall: Instant::now(),
        })
    }

    /// (CPU µs, wall µs) per iteration since `now`.
    fn per(self, iterations: u32) -> anyhow::Result<(f64, f64)> {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds("/proc/self/stat")? - self.cpu;
        let n = f64::from(iterations.max(1));
        Ok((cpu * 1e6 / n, wall * 1e6 / n))
    }
}
