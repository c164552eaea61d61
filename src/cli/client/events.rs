//! `events tail`: live events over the WebSocket, replayed from a log position first. Every
//! line carries the event's log position, so `--from` with the last one printed resumes
//! without a gap; a socket the server closes for a lagging reader (4008), an expired token
//! (4001) or silence (4002) is reopened from the last position by itself.

use std::io::Write;
use std::time::Duration;

use reserver_client::live::{Frame, LiveEvent, LiveOptions};

use super::Ctx;
use crate::cli::args::{Format, TailArgs};
use crate::cli::exit::Failure;
use crate::cli::output::Cell;
use crate::cli::terminal;

/// How long a `--no-follow` replay may stay quiet before it counts as caught up (a filtered
/// or role-limited stream need not show the event at the head).
const QUIET: Duration = Duration::from_millis(1500);
/// Reconnections in a row without an event before giving up.
const MAX_RECONNECTS: u32 = 5;

pub async fn tail(ctx: &Ctx, args: TailArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let resource_id = match &args.resource {
        Some(name) => Some(ctx.resource(&client, name).await?.id),
        None => None,
    };
    let mut options = LiveOptions { from_position: args.from, types: args.types.clone(), resource_id };
    let mut printer = Printer { ctx, header_done: false };
    let mut printed = 0u64;
    let mut reconnects = 0u32;
    loop {
        let mut socket = client.subscribe(&options).await?;
        let mut head = None;
        let mut bar = None;
        loop {
            let next =
                if args.no_follow { tokio::time::timeout(QUIET, socket.next()).await } else { Ok(socket.next().await) };
            let frame = match next {
                // Quiet after the replay: caught up.
                Err(_) => {
                    socket.close().await;
                    return Ok(());
                }
                Ok(None) => break,
                Ok(Some(frame)) => frame?,
            };
            match frame {
                Frame::Connected { from_position, head: at } => {
                    head = Some(at);
                    let behind = at.saturating_sub(from_position);
                    if args.no_follow && (options.from_position.is_none() || behind == 0) {
                        socket.close().await;
                        return Ok(());
                    }
                    if options.from_position.is_some() && behind > 0 {
                        let b = terminal::progress(Some(behind), "replaying");
                        b.set_position(0);
                        bar = Some((b, from_position));
                    }
                }
                Frame::Event(event) => {
                    reconnects = 0;
                    options.from_position = Some(event.position);
                    match &bar {
                        Some((b, start)) => {
                            b.set_position(event.position.saturating_sub(*start));
                            b.suspend(|| printer.print(&event))?;
                        }
                        None => printer.print(&event)?,
                    }
                    printed += 1;
                    let caught_up = head.is_some_and(|h| event.position >= h);
                    if caught_up {
                        if let Some((b, _)) = bar.take() {
                            b.finish_and_clear();
                        }
                    }
                    if args.count.is_some_and(|n| printed >= n) || (args.no_follow && caught_up) {
                        socket.close().await;
                        return Ok(());
                    }
                }
                Frame::Closed { code, reason } => match code {
                    1000 => return Ok(()),
                    4001 | 4002 | 4008 | 1001 | 1006 | 1005 => {
                        ctx.out.note(&format!(
                            "The server closed the stream ({code} {reason}); resuming after {}.",
                            options.from_position.unwrap_or(0)
                        ));
                        break;
                    }
                    _ => return Err(Failure::Other(format!("the server closed the stream: {code} {reason}"))),
                },
            }
        }
        if let Some((b, _)) = bar {
            b.finish_and_clear();
        }
        reconnects += 1;
        if reconnects > MAX_RECONNECTS {
            return Err(Failure::Other("the event stream keeps closing; giving up".into()));
        }
        tokio::time::sleep(Duration::from_millis(200 * u64::from(reconnects))).await;
    }
}

/// Events as they arrive, one line each: NDJSON for `-o json`, YAML documents, CSV rows
/// (header once), TSV, or a readable line on a terminal.
struct Printer<'a> {
    ctx: &'a Ctx,
    header_done: bool,
}

impl Printer<'_> {
    fn print(&mut self, event: &LiveEvent) -> Result<(), Failure> {
        let out = &self.ctx.out;
        let data = serde_json::to_string(&event.data).unwrap_or_default();
        let line = match out.format {
            Format::Json => serde_json::to_string(event).unwrap_or_default() + "\n",
            Format::Yaml => format!("---\n{}", serde_saphyr::to_string(event).unwrap_or_default()),
            Format::Csv => {
                let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
                if !self.header_done {
                    let _ = writer.write_record(["position", "timestamp", "type", "data"]);
                    self.header_done = true;
                }
                let at = event.timestamp.map(|t| t.to_rfc3339()).unwrap_or_default();
                let _ = writer.write_record([event.position.to_string(), at, event.kind.clone(), data]);
                String::from_utf8_lossy(&writer.into_inner().unwrap_or_default()).into_owned()
            }
            Format::Tsv => {
                let at = event.timestamp.map(|t| t.with_timezone(&out.zone).to_rfc3339()).unwrap_or_default();
                format!("{}\t{at}\t{}\t{data}\n", event.position, event.kind)
            }
            Format::Table => {
                let at = out.human(&Cell::Time(event.timestamp), out.zone);
                format!("{:>8}  {at}  {:<28} {data}\n", event.position, event.kind)
            }
        };
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(line.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }
}
