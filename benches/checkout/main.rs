//! Saifu's checkout benchmark: a load generator that drives a running wallet over HTTP, with
//! the Rust SDK as the merchant and soft passkeys as the shoppers.
//!
//! Set-up: M shoppers sign up (passkey) and add a test card through the wallet's pages; one
//! verified merchant comes from `saifu merchant create --json`. Then: closed-loop runs (C
//! workers repeating the whole checkout for T seconds: PAR, authorize, consent page, passkey
//! begin, approve, token, pay with capture) find the maximum throughput; an open-loop run at a
//! fixed arrival rate measures latency without coordinated omission; passkey sign-ins and
//! token-endpoint grants are measured on their own; and the floor (the cryptography and the
//! minimal transactions one checkout needs, through sqlx and through the engine alone) is timed
//! on this machine in the same run.
//!
//! `cargo bench --bench checkout -- --help` lists the options; BENCHMARKS.md has the commands.

mod engine_floor;
mod floor;
mod flow;
// The soft passkey and the page readers are the integration tests' own.
#[path = "../../tests/api/helpers/pages.rs"]
mod pages;
#[path = "../../tests/api/helpers/passkey.rs"]
mod passkey;
mod stats;
mod wallet;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use saifu_sdk::{MerchantConfig, SaifuClient};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use url::Url;

use crate::flow::{Browser, ReadyCode, Shopper, TokenClient};
use crate::stats::{Recorder, Step, Summary};
use crate::wallet::{SpawnOptions, Wallet, CALLBACK};

#[derive(Parser, Debug, Clone)]
#[command(about = "Saifu checkout load generator")]
struct Args {
    /// Set by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// The wallet's database: a `sqlite://PATH` (default: a file in a fresh temporary data
    /// directory) or a `postgres://…/saifu_bench…` URL; that database is dropped and re-created.
    #[arg(long)]
    database_url: Option<String>,
    /// `SAIFU_DB_MAX_CONNECTIONS` for the wallet started by the benchmark.
    #[arg(long, default_value_t = 8)]
    db_max_connections: u32,
    /// `SAIFU_SQLITE_SYNCHRONOUS` for the wallet started by the benchmark.
    #[arg(long, default_value = "FULL")]
    sqlite_synchronous: String,
    /// Start this `saifu` binary instead of the one built with the benchmark (to compare
    /// two builds on the same load generator).
    #[arg(long)]
    wallet_bin: Option<PathBuf>,
    /// Attach to a running wallet at this issuer URL instead of starting one (needs --pid,
    /// --attach-database-url and --attach-data-dir, for the CLI and the floor).
    #[arg(long)]
    url: Option<Url>,
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long)]
    attach_database_url: Option<String>,
    #[arg(long)]
    attach_data_dir: Option<PathBuf>,
    /// Shoppers to create (M).
    #[arg(long, default_value_t = 128)]
    shoppers: usize,
    /// Closed-loop worker counts (C), comma-separated; each runs for --duration seconds.
    #[arg(long, value_delimiter = ',', default_values_t = vec![8, 16, 32])]
    workers: Vec<usize>,
    /// Seconds per closed-loop run (T).
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Seconds of unreported closed-loop warm-up.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Open-loop arrival rate in checkouts/s; default: half the best closed-loop throughput.
    /// 0 skips the open-loop run.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of the open-loop run.
    #[arg(long, default_value_t = 15.0)]
    open_duration: f64,
    /// Seconds of the sign-in run (0 skips it).
    #[arg(long, default_value_t = 10.0)]
    signin_duration: f64,
    /// Codes to make, then exchange as fast as possible at the token endpoint (0 skips it).
    #[arg(long, default_value_t = 2000)]
    token_codes: usize,
    /// Iterations of each floor measurement.
    #[arg(long, default_value_t = 2000)]
    floor_iterations: u32,
    /// Copies the started wallet's log (standard error) here at the end.
    #[arg(long)]
    wallet_log: Option<PathBuf>,
    /// Writes the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Internal: the wallet logs its SQL (set for the statement-counting pass).
    #[arg(skip)]
    log_statements: bool,
    /// A few seconds with a few workers, for CI: fails on any failed request, never on speed.
    #[arg(long)]
    smoke: bool,
}

impl Args {
    fn smoke(mut self) -> Self {
        self.shoppers = 4;
        self.workers = vec![2];
        self.duration = 2.0;
        self.warmup = 0.5;
        self.rate = Some(self.rate.unwrap_or(10.0));
        self.open_duration = 2.0;
        self.signin_duration = 1.0;
        self.token_codes = 20;
        self.floor_iterations = 50;
        self
    }
}

/// Shoppers not currently in a checkout. Each shopper is in at most one flow at a time, like
/// one person at one browser.
struct Pool {
    idle: Mutex<Vec<Shopper>>,
    available: Semaphore,
}

impl Pool {
    fn new(shoppers: Vec<Shopper>) -> Self {
        Self {
            available: Semaphore::new(shoppers.len()),
            idle: Mutex::new(shoppers),
        }
    }

    async fn take(&self) -> Shopper {
        self.available
            .acquire()
            .await
            .expect("the pool is never closed")
            .forget();
        self.idle
            .lock()
            .expect("pool lock")
            .pop()
            .expect("a permit means an idle shopper")
    }

    fn put(&self, shopper: Shopper) {
        self.idle.lock().expect("pool lock").push(shopper);
        self.available.add_permits(1);
    }
}

struct Ctx {
    wallet: Wallet,
    merchant: SaifuClient,
    browser: Browser,
    token: TokenClient,
    pool: Pool,
}

#[derive(Clone, Copy)]
enum Action {
    Checkout,
    Signin,
}

impl Action {
    async fn run(
        self,
        ctx: &Ctx,
        shopper: &mut Shopper,
        timings: &mut Vec<(Step, u64)>,
    ) -> Result<(), flow::Failure> {
        match self {
            Action::Checkout => flow::checkout(&ctx.merchant, &ctx.browser, shopper, timings).await,
            Action::Signin => ctx.browser.sign_in(shopper, timings).await,
        }
    }

    fn whole(self) -> Step {
        match self {
            Action::Checkout => Step::Checkout,
            Action::Signin => Step::Signin,
        }
    }
}

/// What one timed phase measured.
struct Phase {
    name: String,
    mode: &'static str,
    workers: Option<usize>,
    rate: Option<f64>,
    elapsed: f64,
    recorder: Recorder,
    summaries: Vec<Summary>,
    server_cpu: f64,
    loadgen_cpu: f64,
}

impl Phase {
    fn per_sec(&self) -> f64 {
        self.recorder.completed as f64 / self.elapsed.max(1e-9)
    }

    fn cpu_per_op_ms(&self) -> f64 {
        self.server_cpu * 1000.0 / (self.recorder.completed.max(1) as f64)
    }

    fn step(&self, step: Step) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.step == step)
    }

    fn print(&self, floor_us: Option<f64>) {
        println!("\n== {} ==", self.name);
        println!(
            "  completed {} in {:.2} s: {:.1}/s; errors {}",
            self.recorder.completed,
            self.elapsed,
            self.per_sec(),
            self.recorder.error_count()
        );
        for (kind, n) in &self.recorder.errors {
            println!("    error {kind}: {n}");
        }
        print!(
            "  wallet CPU {:.2} s = {:.3} ms per operation ({:.0}% of one core)",
            self.server_cpu,
            self.cpu_per_op_ms(),
            self.server_cpu * 100.0 / self.elapsed.max(1e-9)
        );
        if let Some(floor) = floor_us {
            print!("; {:.1}x the floor", self.cpu_per_op_ms() * 1000.0 / floor);
        }
        println!(
            "\n  load generator CPU {:.2} s ({:.0}% of one core)",
            self.loadgen_cpu,
            self.loadgen_cpu * 100.0 / self.elapsed.max(1e-9)
        );
        println!("{}", stats::header());
        for s in &self.summaries {
            println!("{}", s.row());
        }
    }

    fn json(&self, floor_us: Option<f64>) -> Value {
        json!({
            "name": self.name,
            "mode": self.mode,
            "workers": self.workers,
            "arrival_rate_per_sec": self.rate,
            "elapsed_s": stats::round3(self.elapsed),
            "completed": self.recorder.completed,
            "per_sec": stats::round3(self.per_sec()),
            "errors": self.recorder.errors,
            "error_count": self.recorder.error_count(),
            "wallet_cpu_s": stats::round3(self.server_cpu),
            "wallet_cpu_ms_per_op": stats::round3(self.cpu_per_op_ms()),
            "ops_per_wallet_cpu_second": stats::round3(self.recorder.completed as f64 / self.server_cpu.max(1e-9)),
            "ratio_to_floor": floor_us.map(|f| stats::round3(self.cpu_per_op_ms() * 1000.0 / f)),
            "loadgen_cpu_s": stats::round3(self.loadgen_cpu),
            "steps": self.summaries.iter().map(Summary::json).collect::<Vec<_>>(),
        })
    }
}

struct Meter {
    started: Instant,
    server: f64,
    own: f64,
}

impl Meter {
    fn start(wallet: &Wallet) -> anyhow::Result<Self> {
        Ok(Self {
            started: Instant::now(),
            server: wallet.cpu_seconds()?,
            own: wallet::process_cpu_seconds("/proc/self/stat")?,
        })
    }

    /// (elapsed s, wallet CPU s, load generator CPU s)
    fn stop(self, wallet: &Wallet) -> anyhow::Result<(f64, f64, f64)> {
        Ok((
            self.started.elapsed().as_secs_f64(),
            wallet.cpu_seconds()? - self.server,
            wallet::process_cpu_seconds("/proc/self/stat")? - self.own,
        ))
    }
}

fn finish(
    name: String,
    mode: &'static str,
    workers: Option<usize>,
    rate: Option<f64>,
    measured: (f64, f64, f64),
    recorder: Recorder,
) -> Phase {
    let mut recorder = recorder;
    let summaries = recorder.summaries();
    for example in &recorder.examples {
        eprintln!("  failure: {example}");
    }
    Phase {
        name,
        mode,
        workers,
        rate,
        elapsed: measured.0,
        server_cpu: measured.1,
        loadgen_cpu: measured.2,
        summaries,
        recorder,
    }
}

fn record(
    recorder: &Mutex<Recorder>,
    action: Action,
    outcome: Result<(), flow::Failure>,
    timings: &[(Step, u64)],
    whole: u64,
) {
    let mut r = recorder.lock().expect("recorder lock");
    for (step, micros) in timings {
        r.record(*step, *micros);
    }
    match outcome {
        Ok(()) => {
            r.completed += 1;
            r.record(action.whole(), whole);
        }
        Err(f) => r.error(f.step, &f.kind, &f.detail),
    }
}

/// C workers, each repeating `action` with the next idle shopper until the time is up.
async fn closed_loop(
    ctx: &Arc<Ctx>,
    action: Action,
    workers: usize,
    duration: f64,
    name: String,
) -> anyhow::Result<Phase> {
    let recorder = Arc::new(Mutex::new(Recorder::default()));
    let meter = Meter::start(&ctx.wallet)?;
    let end = Instant::now() + Duration::from_secs_f64(duration);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (ctx, recorder) = (ctx.clone(), recorder.clone());
        tasks.spawn(async move {
            let mut timings = Vec::with_capacity(10);
            while Instant::now() < end {
                let mut shopper = ctx.pool.take().await;
                timings.clear();
                let t = Instant::now();
                let outcome = action.run(&ctx, &mut shopper, &mut timings).await;
                let whole = t.elapsed().as_micros() as u64;
                ctx.pool.put(shopper);
                record(&recorder, action, outcome, &timings, whole);
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined?;
    }
    let measured = meter.stop(&ctx.wallet)?;
    let recorder = Arc::into_inner(recorder)
        .context("workers finished")?
        .into_inner()
        .expect("lock");
    Ok(finish(
        name,
        "closed",
        Some(workers),
        None,
        measured,
        recorder,
    ))
}

/// Checkouts start at a fixed rate whether or not earlier ones have finished; each one's
/// end-to-end latency counts from when it was due, so a stall is never hidden.
async fn open_loop(ctx: &Arc<Ctx>, rate: f64, duration: f64) -> anyhow::Result<Phase> {
    let recorder = Arc::new(Mutex::new(Recorder::default()));
    let meter = Meter::start(&ctx.wallet)?;
    let start = tokio::time::Instant::now();
    let total = (rate * duration).floor() as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..total {
        let due = start + Duration::from_secs_f64(k as f64 / rate);
        tokio::time::sleep_until(due).await;
        let (ctx, recorder) = (ctx.clone(), recorder.clone());
        tasks.spawn(async move {
            let mut shopper = ctx.pool.take().await;
            let mut timings = Vec::with_capacity(10);
            let outcome = Action::Checkout.run(&ctx, &mut shopper, &mut timings).await;
            let whole = due.elapsed().as_micros() as u64;
            ctx.pool.put(shopper);
            record(&recorder, Action::Checkout, outcome, &timings, whole);
        });
        // Reap finished checkouts as we go, so the set stays small.
        while let Some(joined) = tasks.try_join_next() {
            joined?;
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined?;
    }
    let measured = meter.stop(&ctx.wallet)?;
    let recorder = Arc::into_inner(recorder)
        .context("checkouts finished")?
        .into_inner()
        .expect("lock");
    Ok(finish(
        format!("open loop, {rate:.0} checkouts/s arriving for {duration:.0} s"),
        "open",
        None,
        Some(rate),
        measured,
        recorder,
    ))
}

/// Makes `count` authorization codes (full consents), then exchanges them all at the token
/// endpoint with `workers` concurrent merchants' requests; only the exchange is measured.
async fn token_grants(ctx: &Arc<Ctx>, workers: usize, count: usize) -> anyhow::Result<Phase> {
    let made = Arc::new(Mutex::new(Vec::<ReadyCode>::with_capacity(count)));
    let claimed = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Recorder::default()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (ctx, made, claimed, failures) =
            (ctx.clone(), made.clone(), claimed.clone(), failures.clone());
        tasks.spawn(async move {
            while claimed.fetch_add(1, Ordering::Relaxed) < count {
                let mut shopper = ctx.pool.take().await;
                let outcome = flow::code_for_token(&ctx.merchant, &ctx.browser, &mut shopper).await;
                ctx.pool.put(shopper);
                match outcome {
                    Ok(code) => made.lock().expect("lock").push(code),
                    Err(f) => failures
                        .lock()
                        .expect("lock")
                        .error(f.step, &f.kind, &f.detail),
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined?;
    }
    let codes = Arc::new(Mutex::new(
        Arc::into_inner(made)
            .context("done")?
            .into_inner()
            .expect("lock"),
    ));
    let recorder = Arc::new(Mutex::new(
        Arc::into_inner(failures)
            .context("done")?
            .into_inner()
            .expect("lock"),
    ));
    let meter = Meter::start(&ctx.wallet)?;
    for _ in 0..workers {
        let (ctx, codes, recorder) = (ctx.clone(), codes.clone(), recorder.clone());
        tasks.spawn(async move {
            loop {
                let Some(code) = codes.lock().expect("lock").pop() else {
                    break;
                };
                let t = Instant::now();
                let outcome = ctx.token.exchange(&code).await;
                let micros = t.elapsed().as_micros() as u64;
                record(
                    &recorder,
                    Action::Checkout,
                    outcome,
                    &[(Step::Token, micros)],
                    micros,
                );
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined?;
    }
    let measured = meter.stop(&ctx.wallet)?;
    let recorder = Arc::into_inner(recorder)
        .context("done")?
        .into_inner()
        .expect("lock");
    let mut phase = finish(
        format!("token endpoint, {count} codes exchanged by {workers} workers"),
        "token",
        Some(workers),
        None,
        measured,
        recorder,
    );
    // Each exchange is also recorded as a whole operation; the token step says it all.
    phase.summaries.retain(|s| s.step == Step::Token);
    Ok(phase)
}

async fn setup(args: &Args) -> anyhow::Result<Ctx> {
    let wallet = match &args.url {
        Some(url) => {
            Wallet::attach(
                url.clone(),
                args.pid.context("--url needs --pid")?,
                args.attach_database_url
                    .clone()
                    .context("--url needs --attach-database-url")?,
                args.attach_data_dir
                    .clone()
                    .context("--url needs --attach-data-dir")?,
            )
            .await?
        }
        None => {
            Wallet::spawn(&SpawnOptions {
                binary: args.wallet_bin.as_deref(),
                database_url: args.database_url.as_deref(),
                db_max_connections: args.db_max_connections,
                sqlite_synchronous: &args.sqlite_synchronous,
                log_statements: args.log_statements,
            })
            .await?
        }
    };
    let creds = wallet.create_merchant("Bench Shop")?;
    let merchant = SaifuClient::discover(MerchantConfig::new(
        wallet.base.clone(),
        creds.client_id.clone(),
        creds.client_secret.clone(),
        Url::parse(CALLBACK)?,
    ))
    .await
    .context("SDK discovery")?;
    let browser = Browser::new(wallet.base.clone())?;
    let token = TokenClient {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        url: wallet.base.join("/oauth/token")?,
        client_id: creds.client_id,
        client_secret: creds.client_secret,
    };

    let started = Instant::now();
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let next = Arc::new(AtomicUsize::new(0));
    let made = Arc::new(Mutex::new(Vec::with_capacity(args.shoppers)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.shoppers.clamp(1, 8) {
        let (browser, next, made, run, total) = (
            browser.clone(),
            next.clone(),
            made.clone(),
            run.clone(),
            args.shoppers,
        );
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(());
                }
                let shopper = browser.sign_up(n, &run).await?;
                made.lock().expect("lock").push(shopper);
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined?.with_context(|| format!("creating shoppers{}", wallet.log_hint()))?;
    }
    let shoppers = Arc::into_inner(made)
        .context("done")?
        .into_inner()
        .expect("lock");
    eprintln!(
        "set-up: {} shoppers with a passkey and a card, and a verified merchant, in {:.1} s",
        shoppers.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Ctx {
        wallet,
        merchant,
        browser,
        token,
        pool: Pool::new(shoppers),
    })
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| {
        l.strip_prefix("model name")
            .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
    });
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")
                .and_then(|r| r.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        });
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "memory_gib": mem_kib.map(|k| stats::round3(k as f64 / 1024.0 / 1024.0)),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// SQL per checkout, counted from the statement log of a wallet of its own (one worker, one
/// checkout at a time, before the measured runs).
struct Counts {
    checkouts: u64,
    /// Statements other than transaction control.
    statements: f64,
    /// `BEGIN`, `SAVEPOINT`, `RELEASE`, `COMMIT`, `ROLLBACK`.
    control: f64,
    /// Commits: each `COMMIT`, and each write outside a transaction (its own commit).
    commits: f64,
    /// The same per HTTP step (method and path, ids replaced by `{id}`; `background` for
    /// the webhook outbox and the reconciler), with each statement's shape.
    steps: Vec<StepCounts>,
}

/// SQL per checkout in one HTTP step.
#[derive(Default)]
struct StepCounts {
    step: String,
    statements: f64,
    commits: f64,
    control: f64,
    /// Statement shapes (the first words of the SQL, whitespace collapsed), with how many
    /// times per checkout each ran.
    shapes: Vec<(String, f64)>,
}

/// The HTTP step a statement ran in: its request span's method and path, with ids made
/// generic; `background` outside any request.
fn step_of(event: &Value) -> String {
    let span = &event["span"];
    let (Some(method), Some(path)) = (span["method"].as_str(), span["path"].as_str()) else {
        return "background".into();
    };
    let path = path
        .split('/')
        .map(|seg| {
            if seg.len() >= 16 || seg.starts_with("pay_") {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    format!("{method} {path}")
}

/// A statement's shape: its verb and the tables it names (after `FROM`, `JOIN`, `INTO`,
/// `UPDATE`), in order; enough to tell statements apart without their values.
fn shape_of(sql: &str) -> String {
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let verb = words
        .first()
        .map(|w| w.to_ascii_uppercase())
        .unwrap_or_default();
    let mut tables: Vec<&str> = Vec::new();
    for pair in words.windows(2) {
        let before = pair[0].to_ascii_uppercase();
        let name = pair[1];
        // Tables are named in lower case, keywords (`DO UPDATE SET`) in upper case.
        let is_name = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if matches!(before.as_str(), "FROM" | "JOIN" | "INTO" | "UPDATE")
            && is_name
            && !tables.contains(&name)
        {
            tables.push(name);
        }
    }
    if tables.is_empty() {
        return words.iter().take(4).copied().collect::<Vec<_>>().join(" ");
    }
    format!("{verb} {}", tables.join(", "))
}

async fn count_statements(args: &Args) -> anyhow::Result<Counts> {
    let mut count_args = args.clone();
    count_args.shoppers = 2;
    count_args.log_statements = true;
    let ctx = Arc::new(setup(&count_args).await?);
    let log = ctx.wallet.log.clone().context("a wallet log")?;
    let skip = std::fs::read_to_string(&log)?.lines().count();
    let phase = closed_loop(
        &ctx,
        Action::Checkout,
        1,
        if args.smoke { 1.0 } else { 3.0 },
        "count".into(),
    )
    .await?;
    // Let the last request's log lines reach the file.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&log)?;
    Ok(tally_sql(&text, skip).per(phase.recorder.completed))
}

/// Per step: statements, commits, transaction control, and statement shapes.
type PerStep = (u64, u64, u64, std::collections::BTreeMap<String, u64>);

/// SQL tallied from a wallet's statement log.
struct Tally {
    statements: u64,
    control: u64,
    commits: u64,
    by_step: std::collections::BTreeMap<String, PerStep>,
}

impl Tally {
    /// The counts per operation, `completed` operations having run.
    fn per(self, completed: u64) -> Counts {
        let n = completed.max(1);
        let per = |x: u64| stats::round3(x as f64 / n as f64);
        Counts {
            checkouts: completed,
            statements: per(self.statements),
            control: per(self.control),
            commits: per(self.commits),
            steps: self
                .by_step
                .into_iter()
                .map(|(step, (s, c, t, shapes))| StepCounts {
                    step,
                    statements: per(s),
                    commits: per(c),
                    control: per(t),
                    shapes: shapes.into_iter().map(|(k, v)| (k, per(v))).collect(),
                })
                .collect(),
        }
    }
}

/// Statements, transaction-control statements and commits in a wallet's JSON statement log,
/// from line `skip` on.
fn tally_sql(text: &str, skip: usize) -> Tally {
    let (mut statements, mut control, mut commits, mut depth) = (0u64, 0u64, 0u64, 0u32);
    let mut by_step: std::collections::BTreeMap<String, PerStep> = Default::default();
    for line in text.lines().skip(skip) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["target"] != "sqlx::query" {
            continue;
        }
        let sql = event["fields"]["summary"]
            .as_str()
            .or_else(|| event["summary"].as_str())
            .or_else(|| event["fields"]["db.statement"].as_str())
            .unwrap_or("")
            .trim_start()
            .to_ascii_uppercase();
        let first = sql.split_whitespace().next().unwrap_or("");
        let (before_s, before_c, before_t) = (statements, commits, control);
        match first {
            "BEGIN" => {
                control += 1;
                depth += 1;
            }
            "COMMIT" | "END" => {
                control += 1;
                commits += 1;
                depth = depth.saturating_sub(1);
            }
            "ROLLBACK" if !sql.contains(" TO ") => {
                control += 1;
                depth = depth.saturating_sub(1);
            }
            "SAVEPOINT" | "RELEASE" | "ROLLBACK" => control += 1,
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE" if depth == 0 => {
                statements += 1;
                commits += 1;
            }
            _ => statements += 1,
        }
        let step = by_step.entry(step_of(&event)).or_default();
        step.0 += statements - before_s;
        step.1 += commits - before_c;
        step.2 += control - before_t;
        if statements > before_s {
            let original = event["fields"]["summary"]
                .as_str()
                .or_else(|| event["fields"]["db.statement"].as_str())
                .unwrap_or("");
            let full = event["fields"]["db.statement"]
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or(original);
            *step.3.entry(shape_of(full)).or_default() += 1;
        }
    }
    Tally {
        statements,
        control,
        commits,
        by_step,
    }
}

/// SQL per passkey sign-in (sign-in page, begin, finish), counted like the checkout's: a wallet
/// of its own logs its statements while one worker signs in, one sign-in at a time.
async fn count_signin_statements(args: &Args) -> anyhow::Result<Counts> {
    let mut count_args = args.clone();
    count_args.shoppers = 2;
    count_args.log_statements = true;
    let ctx = Arc::new(setup(&count_args).await?);
    let log = ctx.wallet.log.clone().context("a wallet log")?;
    let skip = std::fs::read_to_string(&log)?.lines().count();
    let phase = closed_loop(
        &ctx,
        Action::Signin,
        1,
        if args.smoke { 1.0 } else { 2.0 },
        "count sign-ins".into(),
    )
    .await?;
    // Let the last request's log lines reach the file.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&log)?;
    Ok(tally_sql(&text, skip).per(phase.recorder.completed))
}

async fn bench(args: Args) -> anyhow::Result<bool> {
    let counts = if args.url.is_none() {
        let c = count_statements(&args).await?;
        println!(
            "SQL per checkout (one at a time, {} checkouts): {} statements, {} commits, plus {} transaction-control statements",
            c.checkouts, c.statements, c.commits, c.control
        );
        for step in &c.steps {
            println!(
                "  {}: {} statements, {} commits, {} transaction control",
                step.step, step.statements, step.commits, step.control
            );
            for (shape, n) in &step.shapes {
                println!("      {n} × {shape}");
            }
        }
        Some(c)
    } else {
        println!("SQL per checkout: not counted when attached to a running wallet");
        None
    };
    let signin_counts = if args.url.is_none() && args.signin_duration > 0.0 {
        let c = count_signin_statements(&args).await?;
        println!(
            "SQL per passkey sign-in (one at a time, {} sign-ins): {} statements, {} commits, plus {} transaction-control statements",
            c.checkouts, c.statements, c.commits, c.control
        );
        Some(c)
    } else {
        None
    };
    let load_before = loadavg();
    let ctx = Arc::new(setup(&args).await?);
    let backend = if ctx.wallet.database_url.starts_with("postgres") {
        "postgresql"
    } else {
        "sqlite"
    };
    println!(
        "Saifu checkout benchmark: {backend}, {} shoppers, wallet PID {}, load average before {load_before}",
        args.shoppers, ctx.wallet.pid
    );

    if args.warmup > 0.0 {
        let w = *args.workers.iter().max().unwrap_or(&1);
        let warm = closed_loop(&ctx, Action::Checkout, w, args.warmup, "warm-up".into()).await?;
        eprintln!(
            "warm-up: {} checkouts, {} errors",
            warm.recorder.completed,
            warm.recorder.error_count()
        );
    }

    let mut phases = Vec::new();
    for &workers in &args.workers {
        let name = format!("closed loop, {workers} workers, {:.0} s", args.duration);
        let phase = closed_loop(&ctx, Action::Checkout, workers, args.duration, name).await?;
        eprintln!("{}: {:.1} checkouts/s", phase.name, phase.per_sec());
        phases.push(phase);
    }
    let best = phases
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.per_sec().total_cmp(&b.1.per_sec()))
        .map(|(i, p)| (i, p.per_sec(), p.workers.unwrap_or(1)));
    let (best_index, max_rate, best_workers) = best.context("at least one closed-loop run")?;

    let rate = args.rate.unwrap_or(max_rate / 2.0);
    let open = if rate > 0.0 && args.open_duration > 0.0 {
        let phase = open_loop(&ctx, rate, args.open_duration).await?;
        eprintln!("{}: done", phase.name);
        Some(phase)
    } else {
        None
    };

    let signin = if args.signin_duration > 0.0 {
        let name = format!(
            "passkey sign-ins, {best_workers} workers, {:.0} s",
            args.signin_duration
        );
        Some(
            closed_loop(
                &ctx,
                Action::Signin,
                best_workers,
                args.signin_duration,
                name,
            )
            .await?,
        )
    } else {
        None
    };
    let token = if args.token_codes > 0 {
        Some(token_grants(&ctx, best_workers, args.token_codes).await?)
    } else {
        None
    };
    let load_after_runs = loadavg();

    // The floor, on the same machine, now that the load has stopped.
    let crypto = floor::crypto(args.floor_iterations)?;
    let crypto_us: f64 = crypto
        .iter()
        .map(|i| i.per_op_us * f64::from(i.per_checkout))
        .sum();
    let synchronous = args.sqlite_synchronous.to_ascii_uppercase();
    let (db_cpu_us, db_wall_us) = floor::database(
        &ctx.wallet.database_url,
        &synchronous,
        args.floor_iterations.clamp(1, 500),
    )
    .await?;
    let engine = engine_floor::measure(
        &ctx.wallet.database_url,
        &synchronous,
        engine_floor_iterations(&args),
    )
    .await?;
    let floor = floor::Floor {
        crypto,
        crypto_us,
        db_cpu_us,
        db_wall_us,
        db_iterations: args.floor_iterations.clamp(1, 500),
        total_us: crypto_us + db_cpu_us,
        engine,
    };
    let floor_us = Some(floor.total_us);

    for p in &phases {
        p.print(floor_us);
    }
    let collapse = no_collapse(&phases);
    collapse.print();
    if let Some(p) = &open {
        p.print(floor_us);
    }
    if let Some(p) = &signin {
        p.print(None);
    }
    if let Some(p) = &token {
        p.print(None);
    }
    println!("\n== floor: what one checkout cannot avoid, on this machine ==");
    for i in &floor.crypto {
        println!(
            "  {:<48} {:>9.2} µs x {}",
            i.name, i.per_op_us, i.per_checkout
        );
    }
    println!(
        "  {:<48} {:>9.2} µs",
        "cryptography per checkout", floor.crypto_us
    );
    println!(
        "  {:<48} {:>9.2} µs CPU ({:.0} µs wall, with fsync waits)",
        "6 minimal write transactions (plain sqlx)", floor.db_cpu_us, floor.db_wall_us
    );
    println!(
        "  {:<48} {:>9.2} µs",
        "floor (CPU) per checkout", floor.total_us
    );
    floor.engine.print(floor.crypto_us, floor.db_cpu_us);

    let best_phase = &phases[best_index];
    println!(
        "\n== summary ({backend}, synchronous={synchronous}, pool {}) ==",
        args.db_max_connections
    );
    println!(
        "  max throughput: {:.1} checkouts/s (closed loop, {} workers)",
        max_rate, best_workers
    );
    println!(
        "  wallet CPU per checkout at max: {:.3} ms = {:.1}x the floor ({:.3} ms)",
        best_phase.cpu_per_op_ms(),
        best_phase.cpu_per_op_ms() * 1000.0 / floor.total_us,
        floor.total_us / 1000.0
    );
    print_engine_ratio(best_phase, &floor);
    if let Some(p) = &open {
        if let Some(pay) = p.step(Step::Pay) {
            println!(
                "  open loop at {:.0}/s: pay p50 {:.2} ms, p99 {:.2} ms",
                rate, pay.p50_ms, pay.p99_ms
            );
        }
    }
    if let Some(p) = &signin {
        println!(
            "  passkey sign-ins: {:.1}/s ({:.1} per wallet CPU-second)",
            p.per_sec(),
            p.recorder.completed as f64 / p.server_cpu.max(1e-9)
        );
    }
    if let Some(p) = &token {
        println!(
            "  token grants: {:.1}/s ({:.1} per wallet CPU-second)",
            p.per_sec(),
            p.recorder.completed as f64 / p.server_cpu.max(1e-9)
        );
    }
    println!("  load average before {load_before}, after the runs {load_after_runs}");

    let all: Vec<&Phase> = phases
        .iter()
        .chain(open.iter())
        .chain(signin.iter())
        .chain(token.iter())
        .collect();
    let errors: u64 = all.iter().map(|p| p.recorder.error_count()).sum();
    let empty = all.iter().any(|p| p.recorder.completed == 0);

    if let Some(path) = &args.json {
        let mut report = json!({
            "benchmark": "saifu checkout",
            "backend": backend,
            "command": std::env::args().collect::<Vec<_>>(),
            "machine": machine(),
            "load_average_before": load_before,
            "load_average_after_runs": load_after_runs,
            "config": {
                "database_url": saifu::config::redact_url(&ctx.wallet.database_url),
                "db_max_connections": args.db_max_connections,
                "sqlite_synchronous": if backend == "sqlite" { Some(synchronous.clone()) } else { None },
                "sqlite_journal_mode": if backend == "sqlite" { Some("WAL") } else { None },
                "shoppers": args.shoppers,
                "workers": args.workers,
                "duration_s": args.duration,
                "smoke": args.smoke,
            },
            "closed_loop": phases.iter().map(|p| p.json(floor_us)).collect::<Vec<_>>(),
            "max_checkouts_per_sec": stats::round3(max_rate),
            "max_at_workers": best_workers,
            "open_loop": open.as_ref().map(|p| p.json(floor_us)),
            "signins": signin.as_ref().map(|p| p.json(None)),
            "token_grants": token.as_ref().map(|p| p.json(None)),
            "floor": floor.json(),
            "wallet_cpu_ms_per_checkout_at_max": stats::round3(best_phase.cpu_per_op_ms()),
            "ratio_to_floor_at_max": stats::round3(best_phase.cpu_per_op_ms() * 1000.0 / floor.total_us),
            "statements_per_checkout": counts.as_ref().map(|c| c.statements),
            "commits_per_checkout": counts.as_ref().map(|c| c.commits),
            "transaction_control_per_checkout": counts.as_ref().map(|c| c.control),
            "sql_per_checkout_by_step": counts.as_ref().map(|c| c.steps.iter().map(|s| json!({
                "step": s.step,
                "statements": s.statements,
                "commits": s.commits,
                "transaction_control": s.control,
                "shapes": s.shapes.iter().map(|(k, v)| json!({"sql": k, "per_checkout": v})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>()),
            "statements_per_signin": signin_counts.as_ref().map(|c| c.statements),
            "commits_per_signin": signin_counts.as_ref().map(|c| c.commits),
            "error_count": errors,
        });
        add_floors_and_collapse(&mut report, best_phase, &floor, &collapse);
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("  JSON: {}", path.display());
    }
    if let (Some(to), Some(from)) = (&args.wallet_log, &ctx.wallet.log) {
        std::fs::copy(from, to)
            .with_context(|| format!("copying the wallet log to {}", to.display()))?;
    }
    if errors > 0 || empty {
        eprintln!(
            "{} failed operations; a run completed nothing: {empty}",
            errors
        );
        return Ok(false);
    }
    Ok(true)
}

/// Checkouts' worth of the engine's floor: as many as the sqlx floor's, a few in smoke runs.
fn engine_floor_iterations(args: &Args) -> u32 {
    if args.smoke {
        10
    } else {
        args.floor_iterations.clamp(1, 500)
    }
}

/// The closed-loop runs' no-collapse check (reported only).
fn no_collapse(phases: &[Phase]) -> stats::NoCollapse {
    let runs: Vec<stats::LoopRun> = phases
        .iter()
        .map(|p| stats::LoopRun {
            workers: p.workers.unwrap_or(1),
            per_sec: p.per_sec(),
            steps: &p.summaries,
        })
        .collect();
    stats::no_collapse(&runs)
}

/// The summary's line for the engine's floor, beside the sqlx floor's.
fn print_engine_ratio(best: &Phase, floor: &floor::Floor) {
    match floor.engine_total_us() {
        Some(engine) => println!(
            "  wallet CPU per checkout at max: {:.1}x the engine's floor ({:.3} ms: cryptography and the transactions through {})",
            best.cpu_per_op_ms() * 1000.0 / engine,
            engine / 1000.0,
            if floor.engine.engine.starts_with("pgbench") { "pgbench" } else { "the SQLite C API" }
        ),
        None => println!(
            "  engine's floor NOT MEASURED: {}",
            floor.engine.note
        ),
    }
}

/// The report's fields for the engine's floor and the no-collapse check, next to the ones CI
/// reads (`floor.total_cpu_us_per_checkout`, `ratio_to_floor_at_max`, …), which stay as they are.
fn add_floors_and_collapse(
    report: &mut Value,
    best: &Phase,
    floor: &floor::Floor,
    collapse: &stats::NoCollapse,
) {
    let wallet_us = best.cpu_per_op_ms() * 1000.0;
    report["ratio_to_engine_floor_at_max"] = json!(floor
        .engine_total_us()
        .map(|engine| stats::round3(wallet_us / engine)));
    report["no_collapse"] = collapse.json();
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.smoke {
        args = args.smoke();
    }
    if args.workers.is_empty() || args.workers.contains(&0) || args.shoppers == 0 {
        bail!("--workers and --shoppers must be positive");
    }
    if args.shoppers < *args.workers.iter().max().unwrap_or(&1) {
        eprintln!("note: fewer shoppers than workers: workers will wait for a free shopper");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let ok = runtime.block_on(bench(args))?;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
