//! A minimal Chrome DevTools Protocol client: one websocket to the browser, flat
//! sessions (`Target.attachToTarget` with `flatten`), commands answered in order, events
//! handed to the caller while it waits. Nothing runs in the background.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The largest DevTools message accepted (a screenshot of 1280×800 is a few MB in base64).
const MAX_MESSAGE: usize = 64 << 20;

/// Why a DevTools exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// The websocket failed or closed.
    #[error("devtools connection: {0}")]
    Socket(String),
    /// The browser answered a command with an error.
    #[error("devtools {method}: {message}")]
    Command {
        /// The command.
        method: String,
        /// The browser's message.
        message: String,
    },
}

/// A connection to the browser.
pub struct Cdp {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl std::fmt::Debug for Cdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cdp").field("next_id", &self.next_id).finish_non_exhaustive()
    }
}

/// One event: its method, params and session.
#[derive(Debug, Clone)]
pub struct Event {
    /// `Domain.event`.
    pub method: String,
    /// Its parameters.
    pub params: Value,
    /// The session it belongs to (none: the browser's).
    pub session: Option<String>,
}

impl Cdp {
    /// Connects to the browser's DevTools websocket.
    pub async fn connect(url: &str) -> Result<Cdp, CdpError> {
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
            .await
            .map_err(|e| CdpError::Socket(e.to_string()))?;
        Ok(Cdp { socket, next_id: 1 })
    }

    /// Sends `method` with `params` (in `session`, if any) and waits for its answer;
    /// events that arrive meanwhile go to `on_event`.
    pub async fn call(
        &mut self,
        method: &str,
        params: Value,
        session: Option<&str>,
        on_event: &mut (dyn FnMut(Event) + Send),
    ) -> Result<Value, CdpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = Value::String(session.to_owned());
        }
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .map_err(|e| CdpError::Socket(e.to_string()))?;
        loop {
            let value = self.next_message().await?;
            if value.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(error) = value.get("error") {
                    let message = error.get("message").and_then(Value::as_str).unwrap_or("error").to_owned();
                    return Err(CdpError::Command { method: method.to_owned(), message });
                }
                return Ok(value.get("result").cloned().unwrap_or(Value::Null));
            }
            if let Some(event) = event_of(value) {
                on_event(event);
            }
        }
    }

    /// The next event.
    pub async fn next_event(&mut self) -> Result<Event, CdpError> {
        loop {
            if let Some(event) = event_of(self.next_message().await?) {
                return Ok(event);
            }
        }
    }

    async fn next_message(&mut self) -> Result<Value, CdpError> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                    Ok(value) => return Ok(value),
                    Err(e) => return Err(CdpError::Socket(format!("unreadable message: {e}"))),
                },
                Some(Ok(Message::Close(_))) | None => return Err(CdpError::Socket("closed".into())),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(CdpError::Socket(e.to_string())),
            }
        }
    }
}

fn event_of(value: Value) -> Option<Event> {
    let method = value.get("method")?.as_str()?.to_owned();
    Some(Event {
        method,
        params: value.get("params").cloned().unwrap_or(Value::Null),
        session: value.get("sessionId").and_then(Value::as_str).map(str::to_owned),
    })
}
