//! Times and durations as people type them, read in a stated zone: `tomorrow 14:00`,
//! `2026-12-03 09:00`, `friday 9am`, `in 2h`, RFC 3339 instants; durations `90m`, `1h30m`,
//! `1.5h`. Dates and times are parsed by `interim` (a kept fork of chrono-english), durations
//! by `humantime`.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

/// An instant from a person's text, wall-clock times read in `zone`.
pub fn instant(text: &str, zone: Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(t.with_timezone(&Utc));
    }
    // "in 2h" / "in 3 days" mean what "2h" / "3 days" mean to the parser: from now.
    let relative = trimmed.strip_prefix("in ").or_else(|| trimmed.strip_prefix("In ")).unwrap_or(trimmed);
    interim::parse_date_string(relative, now.with_timezone(&zone), interim::Dialect::Uk)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "cannot read {text:?} as a time ({}); try \"tomorrow 14:00\", \"2026-12-03 09:00\" or \"in 2h\"",
                e.with_input(relative)
            )
        })
}

/// A calendar date (`today`, `tomorrow`, `friday`, `2026-12-03`) in `zone`.
pub fn date(text: &str, zone: Tz, now: DateTime<Utc>) -> Result<NaiveDate, String> {
    if let Ok(d) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(d);
    }
    Ok(instant(text, zone, now)?.with_timezone(&zone).date_naive())
}

/// A length of time: `90m`, `1h30m`, `1h 30m`, `1.5h`, or a bare number of minutes.
pub fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if let Ok(minutes) = trimmed.parse::<u32>() {
        return Ok(Duration::minutes(minutes.into()));
    }
    let std = humantime::parse_duration(trimmed)
        .map_err(|e| format!("cannot read {text:?} as a duration ({e}); try 90m or 1h30m"))?;
    Duration::from_std(std).map_err(|_| format!("{text:?} is too long"))
}

/// Whole minutes of a duration, for the API's `*_minutes` fields.
pub fn minutes(text: &str) -> Result<u32, String> {
    let d = duration(text)?;
    u32::try_from(d.num_minutes()).map_err(|_| format!("{text:?} is out of range"))
}

/// The zone to read and show times in: `--tz`, else the profile's, else `TZ`, else this
/// computer's, else UTC.
pub fn zone(flag: Option<&str>, profile: Option<&str>) -> Result<Tz, String> {
    if let Some(name) = flag.or(profile).filter(|n| !n.is_empty()) {
        return name.parse().map_err(|_| format!("unknown time zone {name:?} (use an IANA name like Europe/Berlin)"));
    }
    let system = std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_string())
        .filter(|tz| !tz.is_empty())
        .or_else(|| iana_time_zone::get_timezone().ok());
    Ok(system.and_then(|name| name.parse().ok()).unwrap_or(Tz::UTC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        // Monday 2026-11-30 10:15 in Berlin.
        Utc.with_ymd_and_hms(2026, 11, 30, 9, 15, 0).unwrap()
    }

    #[test]
    fn people_s_times_are_read_in_the_stated_zone() {
        let berlin = chrono_tz::Europe::Berlin;
        let at = |s: &str| instant(s, berlin, now()).unwrap().to_rfc3339();
        assert_eq!(at("tomorrow 14:00"), "2026-12-01T13:00:00+00:00");
        assert_eq!(at("2026-12-03 09:00"), "2026-12-03T08:00:00+00:00");
        assert_eq!(at("in 2h"), "2026-11-30T11:15:00+00:00");
        assert_eq!(at("2026-12-03T09:00:00Z"), "2026-12-03T09:00:00+00:00");
        let tokyo = instant("2026-12-03 09:00", chrono_tz::Asia::Tokyo, now()).unwrap();
        assert_eq!(tokyo.to_rfc3339(), "2026-12-03T00:00:00+00:00");
        assert!(instant("someday soon", berlin, now()).unwrap_err().contains("someday soon"));
    }

    #[test]
    fn dates_and_durations() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(date("tomorrow", berlin, now()).unwrap().to_string(), "2026-12-01");
        assert_eq!(date("2026-12-24", berlin, now()).unwrap().to_string(), "2026-12-24");
        assert_eq!(minutes("90m"), Ok(90));
        assert_eq!(minutes("1h30m"), Ok(90));
        assert_eq!(minutes("1h 30m"), Ok(90));
        assert_eq!(minutes("45"), Ok(45));
        assert!(minutes("soon").is_err());
    }

    #[test]
    fn zones_by_name() {
        assert_eq!(zone(Some("Asia/Tokyo"), None).unwrap(), chrono_tz::Asia::Tokyo);
        assert_eq!(zone(None, Some("UTC")).unwrap(), Tz::UTC);
        assert!(zone(Some("Mars/Olympus"), None).is_err());
    }
}
