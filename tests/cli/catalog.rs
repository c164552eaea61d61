//! CSV import (validated first when the server can), resource administration, and every
//! output format read back by a parser.

use serde_json::Value;

use crate::common::*;
use crate::support::*;

pub async fn csv_import_dry_run_and_import(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    let file = w.config.path().join("desks.csv");
    std::fs::write(&file, "name,tags,available\nDesk 1,desk;window,true\nDesk 2,desk,false\n").expect("csv");
    let path = file.to_str().expect("path");
    let count = || w.run(&["resources", "list", "--all", "-o", "json"]).json().as_array().map(Vec::len).unwrap_or(99);

    // Validation only: every row checked, nothing created.
    let dry = w.run(&["resources", "import", path, "--dry-run", "-o", "json"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stderr.contains("2 row(s) valid; nothing was imported"), "{}", dry.stderr);
    assert_eq!(dry.json()["dry_run"], true);
    assert!(!has_terminal_codes(&dry.stderr), "no progress bar without a terminal: {:?}", dry.stderr);
    assert_eq!(count(), 0);

    let imported = w.run(&["resources", "import", path]);
    let rows = imported.rows();
    imported.ok();
    assert!(!has_terminal_codes(&imported.stderr), "no progress bar without a terminal: {:?}", imported.stderr);
    assert!(imported.stderr.contains("2 resource(s) created"), "{}", imported.stderr);
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["Desk 1", "Desk 2"], "each row its own resource");
    let desk2 = w.run(&["resources", "show", "Desk 2", "-o", "json"]).json();
    assert_eq!(desk2["status"], "maintenance");
    assert_eq!(count(), 2);

    // A bad row: every error shown, nothing created, exit 1 (checked first, then imported).
    std::fs::write(&file, "name,tags,available\n,desk,true\nDesk 4,desk,perhaps\n").expect("csv");
    let checked = w.run(&["resources", "import", path, "--dry-run"]);
    assert_eq!(checked.code, 1, "{}", checked.stderr);
    assert!(checked.stderr.contains("2 of 2 row(s) are invalid"), "{}", checked.stderr);
    let lines: Vec<String> = checked.rows().iter().map(|r| r[0].clone()).collect();
    assert_eq!(lines, ["2", "3"], "errors by line: {}", checked.stdout);
    let bad = w.run(&["resources", "import", path]);
    assert_eq!(bad.code, 1, "{}\n{}", bad.stdout, bad.stderr);
    assert!(
        bad.stderr.contains("Nothing was imported") || bad.stderr.contains("nothing was imported"),
        "{}",
        bad.stderr
    );
    assert!(!bad.stdout.is_empty(), "the field errors are listed");
    assert_eq!(count(), 2);

    // Export writes the import format, which imports again.
    let exported = w.run(&["resources", "export"]);
    let text = exported.ok().to_string();
    assert!(text.starts_with("name,tags,available,capacity,kind,time_zone,description,location\n"), "{text}");
    assert!(text.contains("Desk 1,desk;window,true,1,other,UTC,,") && text.contains("Desk 2,desk,false,1,"), "{text}");
    // … which imports again, on another server or here under new names.
    std::fs::write(&file, text.replace("Desk ", "Copy of Desk ")).expect("csv");
    w.run(&["resources", "import", path]).ok();
    assert_eq!(count(), 4);
}

pub async fn output_formats_parse(backend: Backend) {
    let w = World::start(backend).await;
    w.admin();
    let id = w.resource("Lab 3", &["--tags", "lab,gpu", "--capacity", "2", "--max-duration", "4h"]);

    let json = w.run(&["resources", "list", "-o", "json"]).json();
    assert_eq!(json[0]["id"], Value::String(id.clone()));
    assert_eq!(json[0]["tags"], serde_json::json!(["lab", "gpu"]));
    assert_eq!(json[0]["policy"]["max_duration_minutes"], 240);

    // Piped without --output: tab-separated, no header, no colour.
    let tsv = w.run(&["resources", "list"]);
    assert_eq!(
        tsv.rows(),
        vec![vec![id.clone(), "Lab 3".into(), "other".into(), "2".into(), "available".into(), "lab,gpu".into()]]
    );

    let csv = w.run(&["resources", "list", "-o", "csv"]);
    let mut lines = csv.stdout.lines();
    assert_eq!(lines.next(), Some("id,name,kind,capacity,status,tags"));
    assert_eq!(lines.next(), Some(format!("{id},Lab 3,other,2,available,\"lab,gpu\"").as_str()));

    let yaml = w.run(&["resources", "show", "Lab 3", "-o", "yaml"]);
    assert!(yaml.ok().contains("name: Lab 3"), "{}", yaml.stdout);
    let table = w.run(&["resources", "show", id.as_str(), "-o", "table"]);
    assert!(table.ok().lines().any(|l| l.starts_with("capacity") && l.ends_with(" 2")), "{}", table.stdout);

    // Created in maintenance.
    let spare = w.run(&["resources", "create", "Spare", "--unavailable", "-o", "json"]);
    assert_eq!(spare.json()["status"], "maintenance", "{}", spare.stderr);

    // Updates and hours, read back.
    w.run(&["resources", "update", "Lab 3", "--capacity", "3", "--status", "maintenance"]).ok();
    let shown = w.run(&["resources", "show", "Lab 3", "-o", "json"]).json();
    assert_eq!((shown["capacity"].as_u64(), shown["status"].as_str()), (Some(3), Some("maintenance")));
    assert_eq!(shown["policy"]["max_duration_minutes"], 240, "the rest of the policy is kept");
    let hours = w.run(&["hours", "set", "Lab 3", "mon-fri=08:00-18:00"]);
    assert_eq!(hours.rows()[0], vec!["mon".to_string(), "08:00-18:00".into()]);
    assert_eq!(hours.rows()[6], vec!["sun".to_string(), "closed".into()]);
    let blackout =
        w.run(&["blackouts", "add", "Lab 3", "2026-12-24", "2026-12-27", "--reason", "holidays", "-o", "json"]);
    blackout.ok();
    let listed = w.run(&["blackouts", "list", "Lab 3", "-o", "json"]).json();
    assert_eq!(listed[0]["reason"], "holidays");
    assert_eq!(listed[0]["range"]["start"], "2026-12-24T00:00:00Z");
}
