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

/// A closed-loop step's p99 above this many times its p50 is flagged as a collapse.
pub const TAIL_LIMIT: f64 = 10.0;

/// One closed-loop run, as the no-collapse check reads it.
pub struct LoopRun<'a> {
    pub workers: usize,
    pub per_sec: f64,
    pub steps: &'a [Summary],
}

struct Tail {
    workers: usize,
    step: Step,
    count: usize,
    p50_ms: f64,
    p99_ms: f64,
}

impl Tail {
    fn ratio(&self) -> Option<f64> {
        (self.p50_ms > 0.0).then(|| self.p99_ms / self.p50_ms)
    }

    fn flagged(&self) -> bool {
        self.ratio().is_some_and(|r| r > TAIL_LIMIT)
    }
}

/// The "no collapse" check of the closed loop, reported and never failing a run: each step's
/// p99 against its p50 (the client's passkey signing apart), and the throughput with more
/// workers against the 4-worker run (or the run with the fewest workers when there is none).
pub struct NoCollapse {
    tails: Vec<Tail>,
    workers: Vec<usize>,
    /// (workers, checkouts/s) of the run the others are compared with.
    baseline: Option<(usize, f64)>,
    /// (workers, checkouts/s) of the runs with more workers than the baseline.
    scaling: Vec<(usize, f64)>,
}

pub fn no_collapse(runs: &[LoopRun]) -> NoCollapse {
    let tails = runs
        .iter()
        .flat_map(|run| {
            run.steps
                .iter()
                .filter(|s| s.step != Step::Passkey)
                .map(|s| Tail {
                    workers: run.workers,
                    step: s.step,
                    count: s.count,
                    p50_ms: s.p50_ms,
                    p99_ms: s.p99_ms,
                })
        })
        .collect();
    let baseline = runs
        .iter()
        .find(|r| r.workers == 4)
        .or_else(|| runs.iter().min_by_key(|r| r.workers))
        .map(|r| (r.workers, r.per_sec));
    let scaling = match baseline {
        Some((base, _)) => runs
            .iter()
            .filter(|r| r.workers > base)
            .map(|r| (r.workers, r.per_sec))
            .collect(),
        None => Vec::new(),
    };
    NoCollapse {
        tails,
        workers: runs.iter().map(|r| r.workers).collect(),
        baseline,
        scaling,
    }
}

impl NoCollapse {
    fn slower(&self, per_sec: f64) -> bool {
        self.baseline.is_some_and(|(_, base)| per_sec < base)
    }

    /// Each flag in words.
    pub fn flags(&self) -> Vec<String> {
        let tails = self.tails.iter().filter(|t| t.flagged()).map(|t| {
            format!(
                "{} at {} workers: p99 {:.2} ms is {:.1}x p50 {:.2} ms",
                t.step,
                t.workers,
                t.p99_ms,
                t.ratio().unwrap_or(0.0),
                t.p50_ms
            )
        });
        let slower = self
            .scaling
            .iter()
            .filter(|(_, per_sec)| self.slower(*per_sec))
            .map(|(workers, per_sec)| {
                let (base_workers, base) = self.baseline.unwrap_or_default();
                format!("{workers} workers: {per_sec:.1} checkouts/s, below {base_workers} workers' {base:.1}/s")
            });
        tails.chain(slower).collect()
    }

    pub fn print(&self) {
        println!("\n== no collapse (closed loop; reported, never fails the run) ==");
        let mut line = format!("  {:<24}", format!("p99/p50 (! above {TAIL_LIMIT})"));
        for w in &self.workers {
            line += &format!(" {:>8}", format!("{w} w"));
        }
        println!("{line}");
        let mut steps: Vec<Step> = self.tails.iter().map(|t| t.step).collect();
        steps.sort_unstable();
        steps.dedup();
        for step in steps {
            let mut line = format!("  {:<24}", step.name());
            for w in &self.workers {
                let cell = self
                    .tails
                    .iter()
                    .find(|t| t.step == step && t.workers == *w)
                    .and_then(|t| {
                        let mark = if t.flagged() { "!" } else { " " };
                        t.ratio().map(|r| format!("{r:.1}{mark}"))
                    })
                    .unwrap_or_else(|| "-".into());
                line += &format!(" {cell:>8}");
            }
            println!("{line}");
        }
        if let Some((base_workers, base)) = self.baseline {
            let compared: Vec<String> = self
                .scaling
                .iter()
                .map(|(w, per_sec)| {
                    let lower = if self.slower(*per_sec) { " LOWER" } else { "" };
                    format!(
                        "{w} workers {per_sec:.1}/s = {:.2}x{lower}",
                        per_sec / base.max(1e-9)
                    )
                })
                .collect();
            if compared.is_empty() {
                println!(
                    "  throughput: one worker count only ({base_workers}), nothing to compare"
                );
            } else {
                println!(
                    "  throughput against {base_workers} workers ({base:.1}/s): {}",
                    compared.join("; ")
                );
            }
        }
        let flags = self.flags();
        if flags.is_empty() {
            println!("  no flags");
        }
        for flag in flags {
            println!("  FLAG {flag}");
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "p99_over_p50_limit": TAIL_LIMIT,
            "steps": self.tails.iter().map(|t| json!({
                "workers": t.workers,
                "step": t.step.name(),
                "count": t.count,
                "p50_ms": round3(t.p50_ms),
                "p99_ms": round3(t.p99_ms),
                "p99_over_p50": t.ratio().map(round3),
                "flagged": t.flagged(),
            })).collect::<Vec<_>>(),
            "throughput_baseline_workers": self.baseline.map(|b| b.0),
            "throughput_baseline_per_sec": self.baseline.map(|b| round3(b.1)),
            "throughput": self.scaling.iter().map(|(w, per_sec)| json!({
                "workers": w,
                "per_sec": round3(*per_sec),
                "ratio_to_baseline": self.baseline.map(|b| round3(per_sec / b.1.max(1e-9))),
                "flagged": self.slower(*per_sec),
            })).collect::<Vec<_>>(),
            "flags": self.flags(),
        })
    }
}
