//! The engine's own floor: the floor's six transactions (`floor::sql`) straight through the
//! database engine, without sqlx, so the report shows how much of the floor is the driver.
//! SQLite: the C API through `rusqlite`, in this process, with the wallet's pragmas.
//! PostgreSQL: `pgbench` running the same statements as a custom script, one connection.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::floor::{sql, tables};
use crate::stats::round3;
use crate::wallet::process_cpu_seconds;

/// What the engine's floor measured, or why it could not.
pub struct EngineFloor {
    /// What ran the transactions, e.g. `sqlite3 3.46.0 C API (rusqlite)` or `pgbench`.
    pub engine: String,
    pub measured: Option<Measured>,
    /// Why nothing was measured, or what to keep in mind reading the figures.
    pub note: String,
}

pub struct Measured {
    pub iterations: u32,
    /// CPU per checkout: for SQLite the thread that ran the engine (all of its work, fsync
    /// calls included); for PostgreSQL pgbench's own CPU (the client side, as for the wallet
    /// and the sqlx floor: the server's CPU is not counted).
    pub cpu_us: f64,
    pub wall_us: f64,
}

impl EngineFloor {
    pub fn cpu_us(&self) -> Option<f64> {
        self.measured.as_ref().map(|m| m.cpu_us)
    }

    pub fn json(&self) -> Value {
        json!({
            "engine": self.engine,
            "measured": self.measured.is_some(),
            "iterations": self.measured.as_ref().map(|m| m.iterations),
            "cpu_us_per_checkout": self.measured.as_ref().map(|m| round3(m.cpu_us)),
            "wall_us_per_checkout": self.measured.as_ref().map(|m| round3(m.wall_us)),
            "checkouts_per_sec": self.measured.as_ref().map(|m| round3(1e6 / m.wall_us.max(1e-9))),
            "note": self.note,
        })
    }

    /// The report's lines, after the sqlx floor's.
    pub fn print(&self, crypto_us: f64, sqlx_db_cpu_us: f64) {
        println!("\n== the engine's floor: the same 6 transactions without sqlx ==");
        println!("  {}", self.engine);
        match &self.measured {
            Some(m) => {
                println!(
                    "  {:<48} {:>9.2} µs CPU ({:.0} µs wall, {} checkouts)",
                    "6 minimal write transactions (engine)", m.cpu_us, m.wall_us, m.iterations
                );
                println!(
                    "  {:<48} {:>9.2} µs",
                    "engine floor (CPU) per checkout",
                    crypto_us + m.cpu_us
                );
                println!(
                    "  sqlx's database CPU is {:.1}x the engine's ({:+.2} µs per checkout)",
                    sqlx_db_cpu_us / m.cpu_us.max(1e-9),
                    sqlx_db_cpu_us - m.cpu_us
                );
            }
            None => println!("  NOT MEASURED"),
        }
        if !self.note.is_empty() {
            println!("  note: {}", self.note);
        }
    }
}

/// Runs the engine's floor beside the wallet's database: a file next to the wallet's SQLite
/// file, or a sibling database on the same PostgreSQL server.
pub async fn measure(
    wallet_database_url: &str,
    sqlite_synchronous: &str,
    iterations: u32,
) -> anyhow::Result<EngineFloor> {
    if let Some(file) = crate::wallet::sqlite_file(wallet_database_url) {
        let path = file.with_file_name("engine-floor.db");
        let synchronous = sqlite_synchronous.to_string();
        tokio::task::spawn_blocking(move || sqlite(&path, &synchronous, iterations))
            .await
            .context("the SQLite engine floor's thread")?
    } else {
        postgres(wallet_database_url, iterations).await
    }
}

fn sqlite(path: &Path, synchronous: &str, iterations: u32) -> anyhow::Result<EngineFloor> {
    anyhow::ensure!(
        synchronous.chars().all(|c| c.is_ascii_alphanumeric()),
        "synchronous must be a word"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let conn = rusqlite::Connection::open(path).context("opening the engine floor database")?;
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 10000; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
    ))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    anyhow::ensure!(
        mode == "wal",
        "the engine floor's journal mode is {mode}, not WAL"
    );
    let level: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    for table in tables("INTEGER") {
        conn.execute(&table, [])?;
    }
    // Warm-up, not counted: the statements are prepared once, as in a wallet that has run.
    for i in 0..(iterations / 10).clamp(2, 20) {
        sqlite_checkout(&conn, -1 - i64::from(i))?;
    }
    let cpu = ThreadCpu::start();
    let wall = Instant::now();
    for i in 0..iterations {
        sqlite_checkout(&conn, i64::from(i))?;
    }
    let wall_us = wall.elapsed().as_secs_f64() * 1e6;
    let cpu_us = cpu.elapsed_us()?;
    let n = f64::from(iterations.max(1));
    Ok(EngineFloor {
        engine: format!(
            "SQLite {} C API (rusqlite, prepared statements cached), WAL, synchronous={synchronous} ({level}), in this process",
            rusqlite::version()
        ),
        measured: Some(Measured {
            iterations,
            cpu_us: cpu_us / n,
            wall_us: wall_us / n,
        }),
        note: String::new(),
    })
}

/// `$N` (PostgreSQL's parameters, as `floor::sql` writes them) to `?N`, SQLite's numbered form,
/// which binds by position whatever the order of appearance.
fn numbered(statement: &str) -> String {
    statement.replace('$', "?")
}

/// The six transactions of `floor.rs`'s `one_checkout!`, through the C API.
fn sqlite_checkout(conn: &rusqlite::Connection, i: i64) -> anyhow::Result<()> {
    use rusqlite::{params, OptionalExtension, TransactionBehavior};
    let id = |what: &str| format!("{what}-{i}-{}", uuid::Uuid::new_v4().simple());
    let (request, consent, ceremony, code, jti, payment) = (
        id("req"),
        id("con"),
        id("cer"),
        id("code"),
        id("jti"),
        id("pay"),
    );
    let stmt = |sql: &str| conn.prepare_cached(&numbered(sql));
    // A transaction as sqlx begins one on SQLite (`BEGIN`, deferred).
    let begin = || {
        rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Deferred).context("BEGIN")
    };
    // 1. PAR.
    stmt(sql::PUSH)?.execute(params![request, "mch_bench", sql::DETAILS, i + 600])?;
    // 2. Authorize.
    let tx = begin()?;
    let used = stmt(sql::CONSUME)?.execute(params![request])?;
    anyhow::ensure!(used == 1, "request consumed twice");
    stmt(sql::OPEN_CONSENT)?.execute(params![consent, request, i + 600])?;
    tx.commit()?;
    // 3. Begin.
    stmt(sql::CEREMONY)?.execute(params![ceremony, sql::DETAILS, i + 300])?;
    // 4. Approve.
    let tx = begin()?;
    let taken: Option<String> = stmt(sql::TAKE_CEREMONY)?
        .query_row(params![ceremony], |r| r.get(0))
        .optional()?;
    anyhow::ensure!(taken.is_some(), "ceremony missing");
    stmt(sql::APPROVE)?.execute(params![consent, "user", "card", code])?;
    tx.commit()?;
    // 5. Token.
    let tx = begin()?;
    let exchanged: Option<(String, String)> = stmt(sql::TAKE_CODE)?
        .query_row(params![code], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    anyhow::ensure!(exchanged.is_some(), "code missing");
    stmt(sql::GRANT)?.execute(params![jti, code])?;
    tx.commit()?;
    // 6. Pay with capture.
    let tx = begin()?;
    let redeemed = stmt(sql::USE_GRANT)?.execute(params![jti, i])?;
    anyhow::ensure!(redeemed == 1, "grant used twice");
    stmt(sql::PAYMENT)?.execute(params![payment, jti, i])?;
    for (account, points) in sql::ENTRIES {
        stmt(sql::LEDGER)?.execute(params![
            format!("{payment}-{account}"),
            payment,
            account,
            points
        ])?;
    }
    stmt(sql::OUTBOX)?.execute(params![format!("evt-{payment}"), sql::EVENT, i])?;
    tx.commit()?;
    Ok(())
}

/// CPU time of the current thread, in nanoseconds where the kernel keeps them
/// (`schedstat`: a run of a few checkouts is far below the 10 ms tick of `stat`).
struct ThreadCpu(f64);

impl ThreadCpu {
    fn now_us() -> anyhow::Result<f64> {
        if let Ok(text) = std::fs::read_to_string("/proc/thread-self/schedstat") {
            if let Some(ns) = text
                .split_whitespace()
                .next()
                .and_then(|f| f.parse::<f64>().ok())
            {
                return Ok(ns / 1e3);
            }
        }
        Ok(process_cpu_seconds("/proc/thread-self/stat")? * 1e6)
    }

    fn start() -> Self {
        Self(Self::now_us().unwrap_or(f64::NAN))
    }

    fn elapsed_us(&self) -> anyhow::Result<f64> {
        let now = Self::now_us()?;
        anyhow::ensure!(self.0.is_finite(), "no thread CPU clock");
        Ok(now - self.0)
    }
}

/// pgbench, where Debian or `PATH` has it.
fn pgbench() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("pgbench"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin/pgbench"))
            .filter(|p| p.is_file())
            .collect();
        // The newest major version (directories are named 15, 16, …).
        found.sort_by_key(|p| {
            p.components()
                .nth(4)
                .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
        });
        found.pop()
    })
}

/// The six transactions as a pgbench script: `:n`, random per run of the script (one run is one
/// checkout), makes each checkout's ids; each statement is `floor::sql`'s with its parameters written in.
pub fn pgbench_script() -> String {
    let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let id = |what: &str| format!("'{what}-' || :n");
    let details = text(sql::DETAILS);
    let event = text(sql::EVENT);
    let bind = |statement: &str, args: &[&str]| {
        // From the highest number down, so that `$1` does not eat `$10`'s prefix.
        let mut out = statement.to_string();
        for (k, arg) in args.iter().enumerate().rev() {
            out = out.replace(&format!("${}", k + 1), arg);
        }
        out + ";\n"
    };
    let (request, consent, ceremony, code, jti, payment) = (
        id("req"),
        id("con"),
        id("cer"),
        id("code"),
        id("jti"),
        id("pay"),
    );
    // Sums are made by pgbench: a parameter in `$1 + 600` would be typed integer (32 bits).
    let mut script = String::from(
        "\\set n random(1, 1000000000000000)\n\\set n600 :n + 600\n\\set n300 :n + 300\n",
    );
    script += &bind(sql::PUSH, &[&request, "'mch_bench'", &details, ":n600"]);
    script += "BEGIN;\n";
    script += &bind(sql::CONSUME, &[&request]);
    script += &bind(sql::OPEN_CONSENT, &[&consent, &request, ":n600"]);
    script += "COMMIT;\n";
    script += &bind(sql::CEREMONY, &[&ceremony, &details, ":n300"]);
    script += "BEGIN;\n";
    script += &bind(sql::TAKE_CEREMONY, &[&ceremony]);
    script += &bind(sql::APPROVE, &[&consent, "'user'", "'card'", &code]);
    script += "COMMIT;\n";
    script += "BEGIN;\n";
    script += &bind(sql::TAKE_CODE, &[&code]);
    script += &bind(sql::GRANT, &[&jti, &code]);
    script += "COMMIT;\n";
    script += "BEGIN;\n";
    script += &bind(sql::USE_GRANT, &[&jti, ":n"]);
    script += &bind(sql::PAYMENT, &[&payment, &jti, ":n"]);
    for (account, points) in sql::ENTRIES {
        let entry = format!("'pay-' || :n || '-{account}'");
        let points = points.to_string();
        script += &bind(sql::LEDGER, &[&entry, &payment, &text(account), &points]);
    }
    script += &bind(sql::OUTBOX, &["'evt-pay-' || :n", &event, ":n"]);
    script += "COMMIT;\n";
    script
}

async fn postgres(wallet_database_url: &str, iterations: u32) -> anyhow::Result<EngineFloor> {
    let Some(pgbench) = pgbench() else {
        return Ok(EngineFloor {
            engine: "pgbench".into(),
            measured: None,
            note: "pgbench was not found (PATH, /usr/lib/postgresql/*/bin): the engine's floor \
                   was not measured on PostgreSQL (Debian ships it with the server, postgresql-NN)"
                .into(),
        });
    };
    let mut url = url::Url::parse(wallet_database_url)?;
    let name = format!("{}_engine", url.path().trim_start_matches('/'));
    url.set_path(&format!("/{name}"));
    crate::wallet::recreate_postgres(url.as_str()).await?;
    {
        let mut conn = sqlx::PgConnection::connect(url.as_str()).await?;
        for table in tables("BIGINT") {
            sqlx::query(&table).execute(&mut conn).await?;
        }
        conn.close().await?;
    }
    let script =
        std::env::temp_dir().join(format!("saifu-engine-floor-{}.sql", std::process::id()));
    std::fs::write(&script, pgbench_script())?;
    let version = Command::new(&pgbench)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    // pgbench's CPU: this process's waited-for children's, before and after (the wallet, also
    // a child, is still running and so not in it).
    let before = children_cpu_seconds()?;
    let run = Command::new(&pgbench)
        .args(["-n", "-M", "prepared", "-c", "1", "-j", "1", "-t"])
        .arg(iterations.to_string())
        .arg("-f")
        .arg(&script)
        .arg(url.as_str())
        .output()
        .context("running pgbench")?;
    let cpu = children_cpu_seconds()? - before;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let engine = format!(
        "{version}, custom script (-f, -n, -M prepared, -c 1 -j 1), same server, database {name}"
    );
    let processed = pgbench_field(&stdout, "number of transactions actually processed:")
        .and_then(|v| v.split('/').next()?.parse::<u32>().ok());
    let latency_ms = pgbench_field(&stdout, "latency average =")
        .and_then(|v| v.trim_end_matches("ms").trim().parse::<f64>().ok());
    match (run.status.success(), processed, latency_ms) {
        (true, Some(done), Some(latency)) if done == iterations => Ok(EngineFloor {
            engine,
            measured: Some(Measured {
                iterations,
                cpu_us: cpu * 1e6 / f64::from(iterations.max(1)),
                wall_us: latency * 1e3,
            }),
            note: "CPU is pgbench's (10 ms resolution over the whole run); pgbench does not \
                   check rows affected as the sqlx floor does"
                .into(),
        }),
        _ => {
            let stderr = String::from_utf8_lossy(&run.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            Ok(EngineFloor {
                engine,
                measured: None,
                note: format!(
                    "pgbench failed ({}), not measured: {}",
                    run.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
                ),
            })
        }
    }
}

/// The value after `label` on pgbench's summary line that starts with it.
fn pgbench_field<'a>(stdout: &'a str, label: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|rest| rest.trim().split(" (").next().unwrap_or("").trim())
}

/// cutime + cstime of this process (its waited-for children), in seconds.
fn children_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unexpected /proc stat format")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 16 and 17 overall are the 14th and 15th after the name.
    let cutime: f64 = fields.get(13).context("no cutime")?.parse()?;
    let cstime: f64 = fields.get(14).context("no cstime")?.parse()?;
    Ok((cutime + cstime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
