//! A running wallet: the listener, the HTTP router over the state, the minute janitor, the
//! webhook worker, graceful shutdown and logging set-up.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::{Config, LogFormat};

use crate::state::AppState;
use crate::{clock, http};

/// A built wallet, bound to its listener and ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Builds the state, then binds `config.listen`: the port opens only once the wallet can
    /// answer.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen.clone();
        let state = AppState::build(config).await?;
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        Ok(Self { listener, state })
    }

    /// Builds on a listener that is already bound (tests bind port 0 first, so that the
    /// issuer URL can name the port).
    pub async fn with_listener(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let state = AppState::build(config).await?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let janitor = tokio::spawn(janitor(self.state.clone()));
        let reconciler = tokio::spawn(reconciler(self.state.clone()));
        let worker = self
            .state
            .config
            .webhook_worker
            .then(|| tokio::spawn(self.state.webhooks.clone().run_worker()));
        // PostgreSQL: each request keeps one connection between its statements, from the
        // session's load to its save (`store::keeping_connection`); the shopper read with the
        // session waits for the request's read of it (`store::keeping_session_user`).
        let app =
            http::router(self.state.clone()).layer(axum::middleware::from_fn(keep_connection));
        tracing::info!(address = %self.listener.local_addr()?, issuer = %self.state.config.issuer, "Saifu is listening");
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        janitor.abort();
        reconciler.abort();
        // Deliveries in flight are dropped; their leases lapse and they are sent again.
        if let Some(worker) = worker {
            worker.abort();
        }
        served.context("serving HTTP")
    }
}

/// Runs a request inside [`crate::store::keeping_connection`], with a slot for the shopper
/// its session's load reads ([`crate::store::keeping_session_user`]).
async fn keep_connection(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    crate::store::keeping_connection(crate::store::keeping_session_user(next.run(request))).await
}

/// Once a minute: removes expired sessions, ceremonies and rate-limit windows, expires
/// points past their date (oldest first), releases points held for grants that lapsed, and
/// removes webhook events that ended more than 30 days ago.
async fn janitor(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = clock::unix_now();
        if let Err(err) = state.accounts.purge_expired(now).await {
            tracing::warn!(error = %err, "purging expired rows failed");
        }
        match state.points.expire(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(points = n, "points expired"),
            Err(err) => tracing::warn!(error = %err, "expiring points failed"),
        }
        if let Err(err) = state.points.release_lapsed_holds(now).await {
            tracing::warn!(error = %err, "releasing lapsed point holds failed");
        }
        if let Err(err) = state.webhooks.purge_old_events(now).await {
            tracing::warn!(error = %err, "purging old webhook events failed");
        }
    }
}

/// Every `reconcile_interval_secs`: finishes payment steps and refunds whose node crashed or
/// hung past the lease (`payments/recover.rs`), and disputes left resolving
/// (`disputes/decide.rs`). It runs at start-up too, so a restarted node
/// picks up at once what its crash left.
async fn reconciler(state: AppState) {
    let every = Duration::from_secs(state.config.reconcile_interval_secs);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match state.payments.reconcile(clock::unix_now()).await {
            Ok(done) if done == Default::default() => {}
            Ok(done) => {
                tracing::info!(
                    payments = done.payments,
                    refunds = done.refunds,
                    authorizations = done.authorizations,
                    "reconciled money operations left in flight"
                )
            }
            Err(err) => tracing::warn!(error = %err, "reconciling money operations failed"),
        }
        match state.disputes.resume(clock::unix_now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(disputes = n, "resumed disputes left resolving"),
            Err(err) => tracing::warn!(error = %err, "resuming disputes failed"),
        }
    }
}

/// Registers SIGTERM and Ctrl-C handlers now, so a signal that arrives during start-up is not
/// lost, and returns a future that resolves on either.
pub fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        let terminated = terminate.recv();
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminated => {},
        }
        tracing::info!("shutdown signal received: finishing requests in flight");
    })
}

/// Sets up `tracing` output. `RUST_LOG` overrides the default level.
pub fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    // Logs go to standard error: standard output is reserved for command results (`--json`).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
