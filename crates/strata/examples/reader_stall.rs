//! Measures what an application feels during a migration: runs `SELECT count(*) FROM <table>`
//! in a loop on its own session for a while and prints the longest single query time in ms.
//! Used by `bench/lock-stall`.
//!
//! Usage: `reader_stall <postgres-url> <table> <seconds>`

use std::time::{Duration, Instant};

use strata_test_support::PgSession;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, table, seconds] = args.as_slice() else {
        eprintln!("usage: reader_stall <postgres-url> <table> <seconds>");
        std::process::exit(2);
    };
    let seconds: f64 = seconds.parse().expect("seconds is a number");
    let session = PgSession::connect(url);
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut longest = Duration::ZERO;
    let mut queries = 0u64;
    while Instant::now() < until {
        let started = Instant::now();
        session.query(&format!("SELECT count(*) FROM {table}"));
        longest = longest.max(started.elapsed());
        queries += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("{} {queries}", longest.as_millis());
}
