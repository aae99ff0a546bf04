//! Secrets (passwords, tokens, webhook keys) are never written into config files: the
//! config holds a reference, `env:NAME` or `file:PATH` (systemd `LoadCredential` puts
//! files under `$CREDENTIALS_DIRECTORY`), resolved at load time. Neither the reference's
//! value nor the secret itself is ever printed: Debug and Display redact.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

/// Where a secret comes from, as written in the config.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `env:NAME`: an environment variable.
    Env(String),
    /// `file:PATH`: a file's content with surrounding whitespace trimmed. A relative path
    /// is looked up in `$CREDENTIALS_DIRECTORY` first (systemd credentials).
    File(PathBuf),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The variable name and path are not secret; they help operators debug.
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why a secret reference could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "secrets must be references, `env:NAME` or `file:PATH`, not inline values (the value was not printed)"
    )]
    Inline,
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("cannot read secret file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("secret from {0} is empty")]
    Empty(String),
}

impl SecretRef {
    pub fn parse(s: &str) -> Result<SecretRef, SecretError> {
        if let Some(name) = s.strip_prefix("env:")
            && !name.is_empty()
        {
            return Ok(SecretRef::Env(name.to_string()));
        }
        if let Some(path) = s.strip_prefix("file:")
            && !path.is_empty()
        {
            return Ok(SecretRef::File(PathBuf::from(path)));
        }
        Err(SecretError::Inline)
    }

    /// Reads the secret now.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let value = match self {
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::EnvMissing(name.clone()))?
            }
            SecretRef::File(path) => {
                let candidate = match std::env::var_os("CREDENTIALS_DIRECTORY") {
                    Some(dir) if path.is_relative() => {
                        let p = PathBuf::from(dir).join(path);
                        if p.exists() { p } else { path.clone() }
                    }
                    _ => path.clone(),
                };
                std::fs::read_to_string(&candidate)
                    .map_err(|e| SecretError::File {
                        path: candidate.display().to_string(),
                        reason: e.to_string(),
                    })?
                    .trim()
                    .to_string()
            }
        };
        if value.is_empty() {
            return Err(SecretError::Empty(self.to_string()));
        }
        Ok(Secret(value))
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A resolved secret. Only [`Secret::expose`] reveals it; formatting prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret value, for the one place that sends it (an auth header, a signature).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// For tests and programmatic configs only.
    pub fn from_value(v: impl Into<String>) -> Secret {
        Secret(v.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_values_are_rejected_without_echo() {
        let err = SecretRef::parse("hunter2").unwrap_err();
        assert_eq!(err, SecretError::Inline);
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn env_and_file_resolve_and_redact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "s3cr3t\n").unwrap();
        let r = SecretRef::parse(&format!("file:{}", p.display())).unwrap();
        let s = r.resolve().unwrap();
        assert_eq!(s.expose(), "s3cr3t");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        let missing = SecretRef::parse("env:ENVWATCH_TEST_SURELY_UNSET_VAR").unwrap();
        assert_eq!(
            missing.resolve().unwrap_err(),
            SecretError::EnvMissing("ENVWATCH_TEST_SURELY_UNSET_VAR".into())
        );
    }
}
