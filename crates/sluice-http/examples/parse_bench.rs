//! Parses a typical ~400-byte request head N times and prints the time per request.
//! A tool for comparing changes on one machine, not a claim:
//!
//!     cargo run --release -p sluice-http --example parse_bench -- 1000000

use std::time::Instant;

use sluice_http::{Config, Parsed, RequestHead};

const REQUEST: &[u8] = b"GET /api/v1/items?page=2&sort=name HTTP/1.1\r\n\
Host: shop.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://shop.example.com/\r\n\
Cookie: session=4f2a9c1e8b7d6a5f; theme=dark\r\n\
Connection: keep-alive\r\n\
\r\n";

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let config = Config::default();
    let mut head = RequestHead::new();
    let mut total = 0usize;
    let start = Instant::now();
    for _ in 0..n {
        match head.parse(std::hint::black_box(REQUEST), &config) {
            Parsed::Complete { head_len } => total += head_len,
            other => {
                eprintln!("unexpected: {other:?}");
                std::process::exit(1);
            }
        }
    }
    let elapsed = start.elapsed();
    let per = elapsed.as_nanos() as f64 / n.max(1) as f64;
    println!(
        "{n} requests of {} bytes: {per:.1} ns per request ({total} bytes parsed)",
        REQUEST.len()
    );
}
