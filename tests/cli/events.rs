//! `events tail` over the real WebSocket: a replay from a position, resuming after the last
//! position seen without a gap or a repeat, and a live event arriving.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

use crate::common::*;
use crate::support::*;

fn events(run: &Run) -> Vec<Value> {
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

pub async fn tail_resumes_from_a_position(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    w.resource("Lab 3", &[]);
    for hour in ["09:00", "11:00", "13:00"] {
        w.run(&["book", "Lab 3", &format!("tomorrow {hour}"), "--for", "1h"]).ok();
    }

    let all = w.run(&["events", "tail", "--from", "0", "--no-follow", "--type", "reservation_created", "-o", "json"]);
    let all = events(&all);
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.iter().all(|e| e["type"] == "reservation_created"));
    let positions: Vec<u64> = all.iter().filter_map(|e| e["position"].as_u64()).collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{positions:?}");

    // Resuming after the first one seen: exactly the rest.
    let from = positions[0].to_string();
    let rest = events(&w.run(&[
        "events",
        "tail",
        "--from",
        &from,
        "--no-follow",
        "--type",
        "reservation_created",
        "-o",
        "json",
    ]));
    let rest: Vec<u64> = rest.iter().filter_map(|e| e["position"].as_u64()).collect();
    assert_eq!(rest, positions[1..]);

    // Following from the last position: the next booking arrives live.
    let last = positions[2].to_string();
    let mut child = w
        .command(&["events", "tail", "--from", &last, "--count", "1", "--type", "reservation_created", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tail");
    w.run(&["book", "Lab 3", "tomorrow 15:00", "--for", "1h"]).ok();
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a live event");
    let live: Value = serde_json::from_str(&line).expect("json event");
    assert_eq!(live["type"], "reservation_created");
    assert!(live["position"].as_u64() > positions.last().copied());
    let status = child.wait().expect("tail ends after --count 1");
    assert!(status.success());

    // The table on a pipe is one TSV line per event: position, time, type, data.
    let tsv = w.run(&["events", "tail", "--from", &from, "--no-follow", "--type", "reservation_created"]);
    let first = tsv.rows().first().cloned().unwrap_or_default();
    assert_eq!(first.first().map(String::as_str), Some(positions[1].to_string().as_str()), "{}", tsv.stdout);
    assert_eq!(first.get(2).map(String::as_str), Some("reservation_created"));
}
