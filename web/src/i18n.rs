//! Languages: English, Spanish and French from Fluent catalogues (`web/locales/<lang>/*.ftl`),
//! compiled into the binary. The reader's language is their preference, else the best match of
//! `Accept-Language` (RFC 9110 §12.5.4), else English.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: they show as boxes in some fonts.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the web app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Es,
    Fr,
}

/// Every language with its own name, for the language picker.
pub const LOCALE_NAMES: [(&str, &str); 3] = [("en", "English"), ("es", "Español"), ("fr", "Français")];

impl Lang {
    /// The BCP 47 tag (`en`, `es`, `fr`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Fr => "fr",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().split(['-', '_']).next() {
            Some("en") => Some(Lang::En),
            Some("es") => Some(Lang::Es),
            Some("fr") => Some(Lang::Fr),
            _ => None,
        }
    }

    /// The best language of an `Accept-Language` header by quality, ties in order given.
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::from_code) else { continue };
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    fn identifier(self) -> LanguageIdentifier {
        // The three codes are valid language tags.
        self.code().parse().unwrap_or_default()
    }

    /// The message `key`; a missing key shows as the key itself (and fails the catalogue test).
    pub fn t(self, key: &str) -> String {
        LOCALES.try_lookup(&self.identifier(), key).unwrap_or_else(|| key.to_string())
    }

    /// The message `key` with arguments (`{ $name }` in the catalogue).
    pub fn t_with(self, key: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> =
            args.iter().map(|(k, v)| (Cow::Borrowed(*k), v.clone())).collect();
        LOCALES.try_lookup_with_args(&self.identifier(), key, &args).unwrap_or_else(|| key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Lang::negotiate("fr-CH, fr;q=0.9, en;q=0.8"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("de;q=1, es;q=0.5, en;q=0.4"), Some(Lang::Es));
        assert_eq!(Lang::negotiate("de, ja"), None);
        assert_eq!(Lang::negotiate("en;q=0, fr;q=0.1"), Some(Lang::Fr));
    }

    #[test]
    fn messages_are_translated() {
        assert_eq!(Lang::Fr.t("nav-resources"), "Ressources");
        assert_eq!(Lang::Es.t("nav-resources"), "Recursos");
        assert_eq!(Lang::En.t("no-such-key"), "no-such-key");
    }
}

/// The catalogues agree: every message exists in every language, and every key the templates
/// and the code ask for exists. A missing translation fails here, not in front of a reader.
#[cfg(test)]
mod catalogue {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, ext, out);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }

    fn message_ids(lang: &str) -> BTreeSet<String> {
        let mut ftl = Vec::new();
        files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(lang), "ftl", &mut ftl);
        ftl.iter()
            .flat_map(|path| {
                std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect::<Vec<_>>()
            })
            .filter_map(|line| {
                let (id, _) = line.split_once(" =")?;
                (!id.starts_with([' ', '#', '.']) && !id.is_empty()).then(|| id.trim().to_string())
            })
            .collect()
    }

    /// Keys written literally as `t("…")`, `t1("…"` or `t_with("…"` in templates and code.
    fn keys_used() -> BTreeSet<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        files(&root.join("templates"), "html", &mut sources);
        files(&root.join("src"), "rs", &mut sources);
        let mut keys = BTreeSet::new();
        for path in sources {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for call in ["t(\"", "t1(\"", "t_with(\""] {
                for (i, _) in text.match_indices(call) {
                    let preceded_by_ident = text[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
                    if preceded_by_ident {
                        continue;
                    }
                    let rest = &text[i + call.len()..];
                    if let Some(end) = rest.find('"') {
                        let key = &rest[..end];
                        if key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                            && !key.is_empty()
                        {
                            keys.insert(key.to_string());
                        }
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn every_language_has_every_message() {
        let english = message_ids("en");
        assert!(english.len() > 50, "the English catalogue looks empty");
        for lang in ["es", "fr"] {
            let other = message_ids(lang);
            let missing: Vec<_> = english.difference(&other).collect();
            let extra: Vec<_> = other.difference(&english).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            assert!(extra.is_empty(), "{lang} has messages English lacks: {extra:?}");
        }
    }

    #[test]
    fn every_key_used_exists() {
        let english = message_ids("en");
        let missing: Vec<_> = keys_used().into_iter().filter(|k| !english.contains(k) && k != "no-such-key").collect();
        assert!(missing.is_empty(), "keys used but not in the catalogue: {missing:?}");
    }
}
