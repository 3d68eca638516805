//! A misbehaving HTTP server for remote cache fault tests: a `std::net::TcpListener` on a
//! free loopback port, one thread per connection, doing exactly one wrong thing. It counts
//! connections, records request lines and how many body bytes it got to send, and stops
//! (closing every connection it holds) on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts, reads the request, never answers (until the server is dropped).
    Hang,
    /// Answers every `GET` with 200 and a body that never ends (no `Content-Length`; bytes
    /// until the client goes away). `PUT`s are accepted (201).
    Endless,
    /// Answers `GET {..}/ac/{key}` with a well-formed result for that key naming one 5-byte
    /// blob, and `GET {..}/cas/{..}` with 200 and a body that never ends. `PUT`s get 201.
    EndlessBlobs,
}

/// The blob every `EndlessBlobs` result names: 5 bytes.
pub const DECLARED_BLOB: &[u8] = b"hello";

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    connections: AtomicUsize,
    requests: Mutex<Vec<String>>,
    /// The most body bytes one endless answer got out before the client stopped reading.
    max_sent: AtomicU64,
}

pub struct FaultyServer {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultyServer {
    pub fn start(behaviour: Behaviour) -> FaultyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let acceptor = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        s.connections.fetch_add(1, Ordering::SeqCst);
                        stream.set_nonblocking(false).unwrap();
                        let s = s.clone();
                        workers.push(std::thread::spawn(move || serve(stream, behaviour, &s)));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        FaultyServer {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The remote cache URL to give strata.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/cache", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Request lines (`GET /cache/ac/... HTTP/1.1`) received so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The most bytes of an endless body one connection sent before the client hung up.
    pub fn max_body_sent(&self) -> u64 {
        self.shared.max_sent.load(Ordering::SeqCst)
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

/// Reads one request head; returns its request line and `Content-Length`.
fn read_head(reader: &mut BufReader<TcpStream>) -> Option<(String, u64)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    Some((request_line.trim_end().to_string(), length))
}

fn serve(stream: TcpStream, behaviour: Behaviour, shared: &Shared) {
    // Blocking reads: a connection ends when the client closes it (strata exits before a
    // test drops the server); only answers that never finish watch the stop flag.
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let Some(head) = read_head(&mut reader) else {
            return;
        };
        let (line, length) = head;
        shared.requests.lock().unwrap().push(line.clone());
        let mut body = vec![0; length as usize];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let method = line.split(' ').next().unwrap_or("");
        let path = line.split(' ').nth(1).unwrap_or("");
        if behaviour == Behaviour::Hang {
            while !shared.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        if method == "PUT" {
            let _ = writer.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
            continue;
        }
        let ac_key = path
            .split('?')
            .next()
            .and_then(|p| p.rsplit_once("/ac/"))
            .map(|(_, k)| k.to_string());
        match (behaviour, ac_key) {
            (Behaviour::EndlessBlobs, Some(key)) => {
                let json = result_json(&key);
                let _ = writer.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        json.len()
                    )
                    .as_bytes(),
                );
                let _ = writer.write_all(json.as_bytes());
            }
            _ => {
                endless(&mut writer, shared);
                return;
            }
        }
    }
}

/// 200 with no length, then bytes until the client stops reading or the server stops.
fn endless(writer: &mut TcpStream, shared: &Shared) {
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0u64;
    if writer
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return;
    }
    writer
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while !shared.stop.load(Ordering::SeqCst) {
        match writer.write(&chunk) {
            Ok(n) => sent += n as u64,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    shared.max_sent.fetch_max(sent, Ordering::SeqCst);
}

/// A result as strata stores it, under `key`, naming one blob: [`DECLARED_BLOB`].
fn result_json(key: &str) -> String {
    let digest = strata_digest_hex(DECLARED_BLOB);
    let result = serde_json::json!({
        "version": strata_cache::RESULT_VERSION,
        "key": key,
        "label": "charts/web",
        "action": "lint",
        "env": "dev",
        "summary": {},
        "outputs": {"log": {"digest": digest, "size": DECLARED_BLOB.len()}},
        "duration_ms": 1,
    });
    let result: strata_cache::ActionResult = serde_json::from_value(result).unwrap();
    String::from_utf8(strata_cache::encode_result(&result)).unwrap()
}

/// SHA-256 hex, via coreutils (the tests use no hashing crate of their own).
fn strata_digest_hex(bytes: &[u8]) -> String {
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}
