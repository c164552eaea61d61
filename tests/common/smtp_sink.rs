//! A small SMTP server for tests: accepts every message and keeps it, so a test can see what
//! the service really sent over the wire.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One received message.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (dot-stuffing removed).
    pub data: String,
}

impl ReceivedMail {
    pub fn subject(&self) -> String {
        self.data.lines().find_map(|l| l.strip_prefix("Subject: ")).map(str::to_string).unwrap_or_default()
    }
}

pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<ReceivedMail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp sink");
        let port = listener.local_addr().expect("addr").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, store.clone()));
            }
        });
        SmtpSink { port, mails, task }
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.mails.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Waits (up to 20 s) until `done` holds for what has arrived.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[ReceivedMail]) -> bool) -> Vec<ReceivedMail> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let mails = self.received();
            if done(&mails) {
                return mails;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}; got {mails:#?}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(socket: tokio::net::TcpStream, mails: Arc<Mutex<Vec<ReceivedMail>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if !reply(&mut write, "220 sink ESMTP ready").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let ok = match verb.as_str() {
            "EHLO" | "HELO" => reply(&mut write, "250-sink\r\n250 8BITMIME").await,
            "MAIL" => {
                from = address(&line);
                to.clear();
                reply(&mut write, "250 OK").await
            }
            "RCPT" => {
                to.push(address(&line));
                reply(&mut write, "250 OK").await
            }
            "DATA" => {
                if !reply(&mut write, "354 end with <CRLF>.<CRLF>").await {
                    return;
                }
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push('\n');
                }
                if let Ok(mut all) = mails.lock() {
                    all.push(ReceivedMail { from: from.clone(), to: to.clone(), data });
                }
                reply(&mut write, "250 OK queued").await
            }
            "QUIT" => {
                let _ = reply(&mut write, "221 bye").await;
                return;
            }
            _ => reply(&mut write, "250 OK").await,
        };
        if !ok {
            return;
        }
    }
}

async fn reply(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    write.write_all(format!("{text}\r\n").as_bytes()).await.is_ok()
}

/// The address in `MAIL FROM:<a>` / `RCPT TO:<a>`.
fn address(line: &str) -> String {
    line.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map(|(a, _)| a.to_string()).unwrap_or_default()
}
