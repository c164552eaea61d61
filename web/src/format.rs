//! Dates, times and numbers as the reader's language writes them, in a named time zone
//! (chrono's locale data from glibc/CLDR via `pure-rust-locales`, and chrono-tz's IANA rules).

use chrono::{DateTime, Locale, TimeZone, Utc};
use chrono_tz::Tz;

use crate::i18n::Lang;

fn locale(lang: Lang) -> Locale {
    match lang {
        Lang::En => Locale::en_US,
        Lang::Es => Locale::es_ES,
        Lang::Fr => Locale::fr_FR,
    }
}

/// `Tue, Mar 4, 9:00 AM` / `mar, 4 mar, 9:00` / `mar. 4 mars, 09:00`, in `zone`.
pub fn date_time(lang: Lang, at: DateTime<Utc>, zone: Tz) -> String {
    let local = zone.from_utc_datetime(&at.naive_utc());
    let pattern = match lang {
        Lang::En => "%a, %b %-d, %-I:%M %p",
        Lang::Es => "%a, %-d %b, %H:%M",
        Lang::Fr => "%a %-d %b, %H:%M",
    };
    local.format_localized(pattern, locale(lang)).to_string()
}

/// `9:00 AM` / `09:00`, in `zone`.
pub fn time(lang: Lang, at: DateTime<Utc>, zone: Tz) -> String {
    let local = zone.from_utc_datetime(&at.naive_utc());
    let pattern = match lang {
        Lang::En => "%-I:%M %p",
        _ => "%H:%M",
    };
    local.format_localized(pattern, locale(lang)).to_string()
}

/// `Tuesday, March 4, 2031` / `martes, 4 de marzo de 2031` / `mardi 4 mars 2031`.
pub fn long_date(lang: Lang, date: chrono::NaiveDate) -> String {
    let pattern = match lang {
        Lang::En => "%A, %B %-d, %Y",
        Lang::Es => "%A, %-d de %B de %Y",
        Lang::Fr => "%A %-d %B %Y",
    };
    date.format_localized(pattern, locale(lang)).to_string()
}

/// A time range in `zone`: `Tue, Mar 4, 9:00 AM – 10:00 AM` (the end's date when it differs).
pub fn range(lang: Lang, start: DateTime<Utc>, end: DateTime<Utc>, zone: Tz) -> String {
    let same_day = zone.from_utc_datetime(&start.naive_utc()).date_naive()
        == zone.from_utc_datetime(&end.naive_utc()).date_naive();
    let end_text = if same_day { time(lang, end, zone) } else { date_time(lang, end, zone) };
    format!("{} – {}", date_time(lang, start, zone), end_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_language_and_zone() {
        let at = Utc.with_ymd_and_hms(2031, 3, 4, 8, 0, 0).single().unwrap_or_default();
        let paris: Tz = "Europe/Paris".parse().unwrap_or(Tz::UTC);
        assert_eq!(time(Lang::En, at, paris), "9:00 AM");
        assert_eq!(time(Lang::Fr, at, paris), "09:00");
        assert_eq!(date_time(Lang::Fr, at, paris), "mar. 4 mars, 09:00");
        assert_eq!(long_date(Lang::Es, at.date_naive()), "martes, 4 de marzo de 2031");
    }
}
