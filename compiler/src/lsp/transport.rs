//! JSON-RPC over stdio with Content-Length framing, tolerant of bad input.
//!
//! `lsp_server`'s own stdio transport stops reading at the first message it
//! cannot parse, which ends the server. Here a message that is not JSON gets
//! the JSON-RPC reply `ParseError` (-32700, `id: null`), JSON that is not a
//! message gets `InvalidRequest` (-32600), a broken header block gets
//! `ParseError`, and reading goes on with the next message. A body longer
//! than [`MAX_BODY`] is skipped (and answered) instead of allocated.

use crossbeam_channel::{bounded, Sender};
use lsp_server::{Connection, Message};
use std::io::{self, BufRead, Read, Write};
use std::thread::JoinHandle;

/// The largest message body read: a document of this size is far beyond
/// any model, and a bigger length is more likely a broken header.
pub const MAX_BODY: usize = 256 << 20;

/// JSON-RPC error codes used here (the spec's reserved values).
const PARSE_ERROR: i32 = -32700;
const INVALID_REQUEST: i32 = -32600;

/// The reader and writer threads of a stdio connection.
pub struct IoThreads {
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl IoThreads {
    pub fn join(self) -> Result<(), String> {
        self.reader
            .join()
            .map_err(|_| "the reader thread panicked".to_string())?;
        self.writer
            .join()
            .map_err(|_| "the writer thread panicked".to_string())
    }
}

/// A connection over this process's stdin and stdout.
pub fn stdio() -> (Connection, IoThreads) {
    let (to_client, outgoing) = bounded::<Message>(0);
    let (incoming, from_client) = bounded::<Message>(0);
    let writer = std::thread::spawn(move || {
        for msg in outgoing {
            let mut out = io::stdout().lock();
            if msg.write(&mut out).is_err() {
                return;
            }
        }
    });
    let reader = std::thread::spawn(move || {
        let stdin = io::stdin();
        read_messages(&mut stdin.lock(), &incoming, &mut |reply| {
            let mut out = io::stdout().lock();
            write_frame(&mut out, &reply)
        });
    });
    let connection = Connection {
        sender: to_client,
        receiver: from_client,
    };
    (connection, IoThreads { reader, writer })
}

/// What one framed read gave.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A message body (not yet parsed).
    Body(Vec<u8>),
    /// A header block that cannot be used (its reason); the body, if any,
    /// has been skipped.
    BadHeader(String),
    /// End of input.
    End,
}

/// Reads one Content-Length framed body. Header lines may end in `\r\n` or
/// `\n`; headers other than Content-Length are ignored.
pub fn read_frame(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<Result<usize, String>> = None;
    let mut line = String::new();
    let mut saw_header = false;
    loop {
        line.clear();
        if read_line_lossy(input, &mut line)? == 0 {
            return Ok(if saw_header {
                Frame::BadHeader("input ended inside a header".into())
            } else {
                Frame::End
            });
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            if saw_header {
                break;
            }
            continue; // blank lines between messages
        }
        saw_header = true;
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("Content-Length") {
                length = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| format!("Content-Length `{}` is not a number", value.trim())),
                );
            }
        }
    }
    match length {
        None => Ok(Frame::BadHeader("no Content-Length header".into())),
        Some(Err(why)) => Ok(Frame::BadHeader(why)),
        Some(Ok(n)) if n > MAX_BODY => {
            io::copy(&mut input.take(n as u64), &mut io::sink())?;
            Ok(Frame::BadHeader(format!(
                "a body of {n} bytes is longer than the {MAX_BODY} this server reads"
            )))
        }
        Some(Ok(n)) => {
            let mut body = Vec::with_capacity(n);
            input.take(n as u64).read_to_end(&mut body)?;
            if body.len() < n {
                return Ok(Frame::BadHeader("input ended inside a message body".into()));
            }
            Ok(Frame::Body(body))
        }
    }
}

/// `read_line` that accepts bytes that are not UTF-8 (a header is ASCII;
/// anything else is simply not a header we know).
fn read_line_lossy(input: &mut impl BufRead, line: &mut String) -> io::Result<usize> {
    let mut bytes = Vec::new();
    let n = input.read_until(b'\n', &mut bytes)?;
    line.push_str(&String::from_utf8_lossy(&bytes));
    Ok(n)
}

/// A message body as a message, or the JSON-RPC error reply it deserves.
pub fn parse_body(body: &[u8]) -> Result<Message, serde_json::Value> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Err(error_reply(None, PARSE_ERROR, &format!("not JSON: {e}"))),
    };
    let id = value.get("id").cloned();
    serde_json::from_value::<Message>(value)
        .map_err(|e| error_reply(id, INVALID_REQUEST, &format!("not a JSON-RPC message: {e}")))
}

fn error_reply(id: Option<serde_json::Value>, code: i32, message: &str) -> serde_json::Value {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id.unwrap_or(serde_json::Value::Null),
        "error": { "code": code, "message": message },
    })
}

/// Reads messages until end of input or `exit`, handing each to `incoming`
/// and each unreadable one's error reply to `reply`.
pub fn read_messages(
    input: &mut impl BufRead,
    incoming: &Sender<Message>,
    reply: &mut dyn FnMut(serde_json::Value) -> io::Result<()>,
) {
    loop {
        let answer = match read_frame(input) {
            Ok(Frame::End) | Err(_) => return,
            Ok(Frame::BadHeader(why)) => error_reply(None, PARSE_ERROR, &why),
            Ok(Frame::Body(body)) => match parse_body(&body) {
                Ok(msg) => {
                    let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                    if incoming.send(msg).is_err() || exit {
                        return;
                    }
                    continue;
                }
                Err(answer) => answer,
            },
        };
        eprintln!("snnc lsp: {}", answer["error"]["message"]);
        if reply(answer).is_err() {
            return;
        }
    }
}

fn write_frame(out: &mut impl Write, value: &serde_json::Value) -> io::Result<()> {
    let text = value.to_string();
    write!(out, "Content-Length: {}\r\n\r\n{text}", text.len())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &[u8]) -> (Vec<Message>, Vec<serde_json::Value>) {
        let (tx, rx) = bounded(64);
        let mut replies = Vec::new();
        read_messages(&mut &text[..], &tx, &mut |r| {
            replies.push(r);
            Ok(())
        });
        drop(tx);
        (rx.into_iter().collect(), replies)
    }

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn a_malformed_body_gets_a_parse_error_and_reading_goes_on() {
        let ok = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "{}{}{}",
            framed("{not json"),
            framed(r#"{"id":7}"#),
            framed(ok)
        );
        let (msgs, replies) = frames(input.as_bytes());
        assert_eq!(msgs.len(), 1, "the good message after the bad ones arrives");
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0]["error"]["code"], -32700);
        assert_eq!(replies[0]["id"], serde_json::Value::Null);
        assert_eq!(replies[1]["error"]["code"], -32600);
        assert_eq!(replies[1]["id"], 7);
    }

    #[test]
    fn bad_headers_are_answered_and_skipped() {
        let ok = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "X-Other: 1\r\n\r\nContent-Length: lots\r\n\r\nContent-Length: 99999999999\r\n\r\n{}",
            framed(ok)
        );
        let (msgs, replies) = frames(input.as_bytes());
        assert_eq!(replies.len(), 3, "{replies:?}");
        assert!(replies.iter().all(|r| r["error"]["code"] == -32700));
        // The over-long body swallowed the rest of the input: nothing is
        // allocated for it, and the stream ends cleanly.
        assert!(msgs.is_empty());
    }
}
