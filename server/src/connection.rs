//! The connection under the HTTP parser: JSON answers for the requests the parser refuses itself.
//!
//! The gate ([`crate::gate`]) answers oversized URIs and headers as JSON errors, but only for
//! requests hyper could parse. Past hyper's own limits (more header fields than
//! [`crate::app`]'s `PARSER_MAX_HEADERS`, a head larger than its read buffer, a request target
//! over 65,534 bytes — a constant of hyper's) or on a head that is not HTTP/1.1 at all, hyper
//! writes an automatic answer itself: a status line, `content-length: 0`, a date, nothing else,
//! and closes. Raising its limits only moves that edge (and costs memory per connection), so
//! this wrapper sits between hyper and the socket and rewrites exactly those automatic answers
//! into the API's error shape (`{"error": {code, path, message}}`, `content-type:
//! application/json`, `connection: close`):
//!
//! | hyper's answer | code |
//! | --- | --- |
//! | 431 | `headers_too_large` |
//! | 414 | `uri_too_long` |
//! | 400 | `invalid_http` |
//!
//! An automatic answer is recognised by its shape: it is the only answer this server writes with
//! an error status and no `content-type` (every other error answer passes the gate, which gives
//! each one a JSON body). The wrapper reports non-vectored writes, so hyper flattens each answer
//! into one buffer that begins with its status line.
//!
//! After such an answer the client is often still sending the rest of its oversized head:
//! closing with unread bytes would make the kernel reset the connection and the client could
//! lose the answer. So the close is lingering, as nginx's: the write side is shut, then what the
//! client still sends is read and discarded, for at most [`LINGER`] or [`LINGER_BYTES`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a refused connection is drained before it is closed.
pub const LINGER: Duration = Duration::from_secs(2);
/// How many bytes a refused connection may still send before it is closed.
pub const LINGER_BYTES: usize = 1024 * 1024;

/// A socket whose parser-level error answers are rewritten as JSON.
pub struct JsonErrors<S> {
    inner: S,
    /// The rewritten answer still to be written, from `written`.
    pending: Vec<u8>,
    written: usize,
    /// Set once an answer was rewritten: the close lingers.
    refused: Option<Refused>,
    /// Log each rewritten answer (the request never reached the gate's log line).
    log: bool,
}

struct Refused {
    shut: bool,
    drained: usize,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<S> JsonErrors<S> {
    pub fn new(inner: S, log: bool) -> Self {
        JsonErrors {
            inner,
            pending: Vec::new(),
            written: 0,
            refused: None,
            log,
        }
    }
}

/// When `buf` begins with one of hyper's automatic error answers: its length and the JSON
/// answer that replaces it.
pub fn rewrite(buf: &[u8]) -> Option<(usize, u16, Vec<u8>)> {
    if !(buf.starts_with(b"HTTP/1.1 4") || buf.starts_with(b"HTTP/1.0 4")) {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let mut date = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" if value.trim() == "0" => {}
            "date" => date = Some(value.trim()),
            "connection" => {}
            // Anything else (a content type above all) is not hyper's automatic answer.
            _ => return None,
        }
    }
    let (code, message) = match status {
        431 => (
            "headers_too_large",
            "the request's header fields are too many or too large for this server",
        ),
        414 => (
            "uri_too_long",
            "the request target is too long for this server",
        ),
        400 => ("invalid_http", "the request is not valid HTTP/1.1"),
        _ => return None,
    };
    let body =
        serde_json::json!({"error": {"code": code, "path": "", "message": message}}).to_string();
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(date) = date {
        out.push_str(&format!("date: {date}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some((end, status, out.into_bytes()))
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if this.refused.is_none() {
            if let Some((consumed, status, answer)) = rewrite(buf) {
                this.pending = answer;
                this.written = 0;
                if this.log {
                    crate::log::info(
                        "request",
                        serde_json::json!({"route": "unparsed", "status": status}),
                    );
                }
                this.refused = Some(Refused {
                    shut: false,
                    drained: 0,
                    deadline: Box::pin(tokio::time::sleep(LINGER)),
                });
                // Written out by the next write, flush or shutdown.
                let _ = this.poll_pending(cx)?;
                return Poll::Ready(Ok(consumed));
            }
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        let Some(refused) = this.refused.as_mut() else {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        };
        if !refused.shut {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            refused.shut = true;
        }
        // Lingering close: read and discard what the client still sends.
        let mut scratch = [0u8; 8192];
        loop {
            if refused.drained >= LINGER_BYTES || refused.deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => refused.drained += rb.filled().len(),
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn hypers_automatic_answers_become_json() {
        let raw = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 29 Nov 2026 12:00:00 GMT\r\n\r\n";
        let (consumed, status, out) = rewrite(raw).unwrap();
        assert_eq!((consumed, status), (raw.len(), 431));
        let out = String::from_utf8(out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains("connection: close"));
        assert!(head.contains("date: Sun, 29 Nov 2026 12:00:00 GMT"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "headers_too_large");
        assert_eq!(v["error"]["path"], "");
        for (status, code) in [(414, "uri_too_long"), (400, "invalid_http")] {
            let raw = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
            let (_, _, out) = rewrite(raw.as_bytes()).unwrap();
            assert!(String::from_utf8(out).unwrap().contains(code));
        }
    }

    #[test]
    fn the_servers_own_answers_pass_untouched() {
        for raw in [
            &b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-request-id: r\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"{\"a\": 1}",
        ] {
            assert!(rewrite(raw).is_none(), "{}", String::from_utf8_lossy(raw));
        }
    }
}
