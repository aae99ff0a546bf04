//! Loading TOML so that one bad entry does not hide the next: the document is parsed
//! once into a spanned tree, then each top-level section and each `[[array]]` entry is
//! deserialized on its own, and every failure becomes a [`Diagnostic`] with its place.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::diagnostic::{Diagnostic, Diagnostics, SourceFile};

/// A parsed TOML document with spans.
pub struct Document<'a> {
    pub file: &'a SourceFile,
    pub root: Spanned<DeTable<'a>>,
}

impl<'a> Document<'a> {
    pub fn parse(file: &'a SourceFile) -> Result<Document<'a>, Diagnostic> {
        let root = DeTable::parse(&file.text)
            .map_err(|e| file.diag(e.span(), format!("TOML syntax: {}", e.message().trim())))?;
        Ok(Document { file, root })
    }

    /// Reports top-level keys that are not in `known` (unknown sections are typos).
    pub fn check_keys(&self, known: &[&str], diags: &mut Diagnostics) {
        for (key, _) in self.root.get_ref().iter() {
            if !known.contains(&key.get_ref().as_ref()) {
                diags.push(self.file.diag(
                    Some(key.span()),
                    format!(
                        "unknown key `{}` (expected one of: {})",
                        key.get_ref(),
                        known.join(", ")
                    ),
                ));
            }
        }
    }

    /// Span of the value at a key path (`["mqtt", "password"]`), for messages about
    /// values that parsed but are wrong in context.
    pub fn span_of(&self, path: &[&str]) -> Option<std::ops::Range<usize>> {
        let (first, rest) = path.split_first()?;
        let mut cur = self.root.get_ref().get(*first)?;
        for key in rest {
            cur = cur.get_ref().as_table()?.get(*key)?;
        }
        Some(cur.span())
    }

    /// Deserializes the whole document as one `T` (for small files whose sections are
    /// all structs with defaults). Returns the default when `T` fails, after recording why.
    pub fn section<T: DeserializeOwned>(&self, key: &str, diags: &mut Diagnostics) -> Option<T> {
        let value = self.root.get_ref().get(key)?;
        self.deserialize(value, None, diags)
    }

    /// Deserializes every entry of the `[[key]]` array separately; `label` names an entry
    /// in messages (e.g. `station "1223A"`), from its `id_key` field when present.
    pub fn entries<T: DeserializeOwned>(
        &self,
        key: &str,
        what: &str,
        id_key: &str,
        diags: &mut Diagnostics,
    ) -> Vec<(T, Spanned<()>)> {
        let Some(value) = self.root.get_ref().get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            diags.push(self.file.diag(
                Some(value.span()),
                format!("`{key}` must be an array of tables ([[{key}]])"),
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let label = item
                .get_ref()
                .get(id_key)
                .and_then(|v| v.get_ref().as_str())
                .map(|id| format!("{what} \"{id}\""))
                .unwrap_or_else(|| what.to_string());
            if let Some(t) = self.deserialize(item, Some(&label), diags) {
                // Point later messages (duplicates, cross-checks) at the id itself.
                let span = item
                    .get_ref()
                    .get(id_key)
                    .map(|v| v.span())
                    .unwrap_or_else(|| item.span());
                out.push((t, Spanned::new(span, ())));
            }
        }
        out
    }

    /// Deserializes one spanned value; a failure becomes a diagnostic at the error's span.
    pub fn deserialize<T: DeserializeOwned>(
        &self,
        value: &Spanned<DeValue<'a>>,
        label: Option<&str>,
        diags: &mut Diagnostics,
    ) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(t) => Some(t),
            Err(e) => {
                let msg = e.message().trim().to_string();
                let msg = match label {
                    Some(l) => format!("{l}: {msg}"),
                    None => msg,
                };
                diags.push(self.file.diag(e.span().or(Some(value.span())), msg));
                None
            }
        }
    }
}
