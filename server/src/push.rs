//! Push across instances: every instance on one PostgreSQL database hears the others' events
//! through `LISTEN/NOTIFY` and hands them to its own WebSocket subscribers. A notification is
//! a wake-up only: clients still read the log by cursor, so one lost while the database
//! restarts delays a message and never loses it (after reconnecting, every local subscriber
//! is told to catch up).

use crate::api::Event;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// The channel all instances share.
const CHANNEL: &str = "cohort_push";
/// NOTIFY payloads must stay under 8000 bytes; an event larger than this goes as a
/// catch-up wake-up instead of itself.
const MAX_PAYLOAD: usize = 7000;
/// Events waiting to be sent; past it an event is dropped (its recipients catch up by
/// cursor on their next sync).
const QUEUE: usize = 4096;

/// Sends this instance's events to the others.
#[derive(Clone)]
pub(crate) struct Bus {
    origin: Arc<str>,
    outgoing: mpsc::Sender<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    /// The instance that published it.
    o: String,
    /// Recipients; empty with `a` set: everyone.
    r: Vec<String>,
    /// Close the recipients' subscriptions after delivering (revocation).
    c: bool,
    /// Everyone on the instance.
    #[serde(default)]
    a: bool,
    /// The WebSocket text.
    p: String,
}

fn catch_up() -> String {
    serde_json::json!({ "type": "lagged", "missed": 1 }).to_string()
}

impl Bus {
    /// Forward an event published here to the other instances.
    pub fn publish(&self, event: &Event) {
        let mut payload = event.payload.to_string();
        if payload.len() > MAX_PAYLOAD {
            payload = catch_up();
        }
        // Recipients in chunks so that each notification fits.
        let mut chunk: Vec<String> = Vec::new();
        let mut size = payload.len() + 64;
        let send = |chunk: Vec<String>| {
            let wire = Wire {
                o: self.origin.to_string(),
                r: chunk,
                c: event.close,
                a: false,
                p: payload.clone(),
            };
            if let Ok(text) = serde_json::to_string(&wire) {
                let _ = self.outgoing.try_send(text);
            }
        };
        for r in event.recipients.iter() {
            if size + r.len() + 3 > MAX_PAYLOAD && !chunk.is_empty() {
                send(std::mem::take(&mut chunk));
                size = payload.len() + 64;
            }
            size += r.len() + 3;
            chunk.push(r.clone());
        }
        if !chunk.is_empty() {
            send(chunk);
        }
    }
}

fn origin() -> String {
    use ring::rand::SecureRandom;
    let mut id = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut id);
    hex::encode(id)
}

/// Start the bus on `url`: one task keeps a connection that LISTENs and NOTIFYs, reconnecting
/// with back-off while the database is away, until `stop`. The receiver says when it first
/// listens, so that a server can report itself started only once it hears the others.
pub(crate) fn start(
    url: String,
    ca: Option<std::path::PathBuf>,
    local: broadcast::Sender<Event>,
    stop: watch::Receiver<bool>,
) -> (Bus, watch::Receiver<bool>) {
    let origin: Arc<str> = Arc::from(origin());
    let (outgoing, rx) = mpsc::channel(QUEUE);
    let (listening_tx, listening) = watch::channel(false);
    tokio::spawn(run(url, ca, origin.clone(), local, rx, stop, listening_tx));
    (Bus { origin, outgoing }, listening)
}

async fn run(
    url: String,
    ca: Option<std::path::PathBuf>,
    origin: Arc<str>,
    local: broadcast::Sender<Event>,
    mut outgoing: mpsc::Receiver<String>,
    mut stop: watch::Receiver<bool>,
    listening: watch::Sender<bool>,
) {
    let mut delay = Duration::from_millis(100);
    let mut first = true;
    loop {
        if *stop.borrow() {
            return;
        }
        match session(
            (&url, ca.as_deref()),
            &origin,
            &local,
            &mut outgoing,
            &mut stop,
            first,
            &listening,
        )
        .await
        {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "push bus: database connection lost; reconnecting");
                first = false;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: Ok when told to stop, Err when the connection failed.
async fn session(
    (url, ca): (&str, Option<&std::path::Path>),
    origin: &str,
    local: &broadcast::Sender<Event>,
    outgoing: &mut mpsc::Receiver<String>,
    stop: &mut watch::Receiver<bool>,
    first: bool,
    listening: &watch::Sender<bool>,
) -> Result<(), String> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
    let (mode, tls) = crate::store::postgres::tls::connector(config.get_ssl_mode(), ca)
        .map_err(|e| e.to_string())?;
    config.ssl_mode(mode);
    let connect = config.connect(tls);
    let (client, mut connection) = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if notes_tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let result = async {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(|e| e.to_string())?;
        if !first {
            // Whatever was published while we were away reached nobody here.
            let _ = local.send(Event {
                recipients: Arc::new(Vec::new()),
                payload: Arc::from(catch_up()),
                close: false,
                everyone: true,
            });
        }
        tracing::info!("push bus: listening");
        let _ = listening.send(true);
        loop {
            tokio::select! {
                note = notes.recv() => {
                    let Some(text) = note else {
                        return Err("connection closed".to_string());
                    };
                    let Ok(wire) = serde_json::from_str::<Wire>(&text) else { continue };
                    if wire.o == origin {
                        continue;
                    }
                    let _ = local.send(Event {
                        recipients: Arc::new(wire.r),
                        payload: Arc::from(wire.p),
                        close: wire.c,
                        everyone: wire.a,
                    });
                }
                out = outgoing.recv() => {
                    let Some(text) = out else { return Ok(()) };
                    client
                        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &text])
                        .await
                        .map_err(|e| e.to_string())?;
                }
                _ = stop.changed() => return Ok(()),
            }
        }
    }
    .await;
    driver.abort();
    result
}
