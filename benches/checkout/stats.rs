//! Latency samples per step, error counts by kind, and percentiles.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Setup,
    Par,
    Authorize,
    ConsentPage,
    Begin,
    /// The shopper's authenticator signing (client side, not the wallet).
    Passkey,
    Approve,
    Token,
    Pay,
    /// A whole checkout; in open-loop mode measured from its scheduled start.
    Checkout,
    SigninPage,
    SigninBegin,
    SigninFinish,
    Signin,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Setup => "setup",
            Step::Par => "1 par",
            Step::Authorize => "2a authorize",
            Step::ConsentPage => "2b consent page",
            Step::Begin => "3 begin",
            Step::Passkey => "(client) passkey sign",
            Step::Approve => "4 approve",
            Step::Token => "5 token",
            Step::Pay => "6 pay+capture",
            Step::Checkout => "checkout (end to end)",
            Step::SigninPage => "sign-in page",
            Step::SigninBegin => "sign-in begin",
            Step::SigninFinish => "sign-in finish",
            Step::Signin => "sign-in (end to end)",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Default)]
pub struct Recorder {
    samples: BTreeMap<Step, Vec<u64>>,
    pub errors: BTreeMap<String, u64>,
    pub completed: u64,
    /// The first few failures in full, for the log.
    pub examples: Vec<String>,
}

impl Recorder {
    pub fn record(&mut self, step: Step, micros: u64) {
        self.samples.entry(step).or_default().push(micros);
    }

    pub fn error(&mut self, step: Step, kind: &str, detail: &str) {
        *self.errors.entry(format!("{step}: {kind}")).or_default() += 1;
        if self.examples.len() < 5 {
            self.examples.push(format!("{step}: {kind}: {detail}"));
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn summaries(&mut self) -> Vec<Summary> {
        self.samples
            .iter_mut()
            .map(|(step, samples)| {
                samples.sort_unstable();
                Summary::of(*step, samples)
            })
            .collect()
    }
}

pub struct Summary {
    pub step: Step,
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    fn of(step: Step, sorted: &[u64]) -> Self {
        let at = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest sample with at least q of all samples at or below it.
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1] as f64 / 1000.0
        };
        let mean = if sorted.is_empty() {
            0.0
        } else {
            sorted.iter().sum::<u64>() as f64 / sorted.len() as f64 / 1000.0
        };
        Self {
            step,
            count: sorted.len(),
            mean_ms: mean,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: sorted.last().map_or(0.0, |m| *m as f64 / 1000.0),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "step": self.step.name(),
            "count": self.count,
            "mean_ms": round3(self.mean_ms),
            "p50_ms": round3(self.p50_ms),
            "p90_ms": round3(self.p90_ms),
            "p99_ms": round3(self.p99_ms),
            "max_ms": round3(self.max_ms),
        })
    }

    pub fn row(&self) -> String {
        format!(
            "  {:<24} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            self.step.name(),
            self.count,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

pub fn header() -> String {
    format!(
        "  {:<24} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "step", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"
    )
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
