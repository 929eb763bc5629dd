//! The agents' JSON configuration files, read so that one that does not parse is reported and
//! never replaced.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

/// Reads a JSON object file (`{}` when missing); an unreadable one is an error, never replaced.
pub(super) fn read_object(path: &Path) -> Result<Map<String, Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => bail!("{} is not a JSON object; left as it is", path.display()),
        Err(e) => bail!(
            "{} is not valid JSON ({e}); left as it is: fix it and run init again",
            path.display()
        ),
    }
}
