//! Structured logs: one JSON object per line on stdout (`{"time", "level", "msg", …}`), with
//! the request id of the request being served when there is one. Never bodies, keys, tokens,
//! queries or headers.

use serde_json::{Map, Value};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

tokio::task_local! {
    /// The id of the request this task serves (set by the gate, carried into spawned flows).
    pub static REQUEST_ID: String;
}

/// Prints one log line. `fields` is a JSON object whose members are added to the line.
pub fn event(level: &str, msg: &str, fields: Value) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = Map::new();
    line.insert(
        "time".into(),
        Value::String(format!(
            "{}.{:03}Z",
            crate::clock::rfc3339(now.as_secs() as i64).trim_end_matches('Z'),
            now.subsec_millis()
        )),
    );
    line.insert("level".into(), Value::String(level.into()));
    line.insert("msg".into(), Value::String(msg.into()));
    if let Ok(id) = REQUEST_ID.try_with(Clone::clone) {
        line.insert("request_id".into(), Value::String(id));
    }
    if let Value::Object(extra) = fields {
        line.extend(extra);
    }
    // Never panic on a closed stdout (a supervisor that stopped reading).
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", Value::Object(line));
}

pub fn info(msg: &str, fields: Value) {
    event("info", msg, fields);
}

pub fn error(msg: &str, fields: Value) {
    event("error", msg, fields);
}

/// Runs `future` in a new task that keeps the current request id (a flow that must finish
/// whatever the client does runs in its own task).
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match REQUEST_ID.try_with(Clone::clone) {
        Ok(id) => tokio::spawn(REQUEST_ID.scope(id, future)),
        Err(_) => tokio::spawn(future),
    }
}
