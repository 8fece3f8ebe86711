//! The transcript of one run (`configs/FORMAT.md`, "Actions": "The outputs of all actions are
//! logged in the transcript ... packets ... as hex-encoded bytes or values outputted to the
//! user (stored as strings). The transcript is printed to STDOUT.").
//!
//! A composite action of the configs (`fullCommit`, `externalJoin`) is logged as the table's
//! actions it stands for (`commit`, `handlePendingCommit`, `handleCommit`, `joinGroup`), each
//! under the composite's step index.

use std::fmt::Write as _;

/// One output value.
#[derive(Clone, Debug)]
pub enum Value {
    /// A packet sent to the delivery service, printed hex-encoded.
    Packet(Vec<u8>),
    /// A value output to the user, printed as is.
    Text(String),
}

/// One logged action.
#[derive(Clone, Debug)]
struct Line {
    step: usize,
    action: String,
    actor: String,
    outputs: Vec<(String, Value)>,
}

/// Every action of a run with its outputs, in order.
#[derive(Default, Clone, Debug)]
pub struct Transcript(Vec<Line>);

impl Transcript {
    /// Log `action` by `actor` at script step `step` with its named outputs.
    pub fn log(&mut self, step: usize, action: &str, actor: &str, outputs: Vec<(String, Value)>) {
        self.0.push(Line {
            step,
            action: action.to_string(),
            actor: actor.to_string(),
            outputs,
        });
    }

    /// The transcript as text, one action a line; with `limit`, packets are cut to that many
    /// bytes (for failure reports).
    pub fn render(&self, lines: std::ops::RangeFrom<usize>, limit: Option<usize>) -> String {
        let mut out = String::new();
        let start = lines.start.min(self.0.len());
        for l in &self.0[start..] {
            write!(out, "{:>5} {} {}:", l.step, l.action, l.actor).unwrap();
            for (k, v) in &l.outputs {
                match v {
                    Value::Packet(p) => match limit {
                        Some(n) if p.len() > n => {
                            write!(out, " {k}={}…({} bytes)", hex::encode(&p[..n]), p.len())
                        }
                        _ => write!(out, " {k}={}", hex::encode(p)),
                    },
                    Value::Text(t) => write!(out, " {k}={t}"),
                }
                .unwrap();
            }
            out.push('\n');
        }
        out
    }

    /// The last `n` lines, packets shortened: what a failure report quotes.
    pub fn tail(&self, n: usize) -> String {
        self.render(self.0.len().saturating_sub(n).., Some(16))
    }
}

/// A `stateUpdate` as one transcript value: `[key=value, ...]` in the format's keys.
pub fn state_update(entries: &[(String, String)]) -> Value {
    let items: Vec<String> = entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Value::Text(format!("[{}]", items.join(", ")))
}
