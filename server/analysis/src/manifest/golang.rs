//! Go: `go.mod` (`require`, `replace`, `exclude`, `retract`, `toolchain`, single lines and
//! blocks) and `go.sum` (`module version[/go.mod] hash`), read by hand from the grammar in the
//! Go modules reference.

use super::{Entry, Parsed, Rule, Setting, Source};

/// The tokens of one go.mod line without its `//` comment; quoted strings stay whole.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            '"' | '`' => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                    cur.push(d);
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `go.mod`.
pub(crate) fn go_mod(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut block: Option<String> = None;
    for line in text.lines() {
        let mut toks = tokens(line);
        if toks.is_empty() {
            continue;
        }
        let verb = if let Some(b) = &block {
            if toks[0] == ")" {
                block = None;
                continue;
            }
            b.clone()
        } else {
            let verb = toks.remove(0);
            if toks.first().map(String::as_str) == Some("(") {
                block = Some(verb);
                continue;
            }
            verb
        };
        directive(&verb, &toks, &mut out);
    }
    out
}

fn directive(verb: &str, toks: &[String], out: &mut Parsed) {
    match verb {
        "require" => {
            if let [path, version, ..] = toks {
                out.entries
                    .push(Entry::new("require", path, version, Source::Registry(None)));
            }
        }
        "replace" => {
            let Some(arrow) = toks.iter().position(|t| t == "=>") else {
                return;
            };
            let Some(old) = toks.first() else { return };
            let new = &toks[arrow + 1..];
            let (target, version) = (
                new.first().cloned().unwrap_or_default(),
                new.get(1).cloned(),
            );
            let source =
                if target.starts_with("./") || target.starts_with("../") || target.starts_with('/')
                {
                    Source::Path(target.clone())
                } else {
                    Source::Registry(Some(match &version {
                        Some(v) => format!("{target}@{v}"),
                        None => target.clone(),
                    }))
                };
            let mut entry = Entry::new("replace", old, version.as_deref().unwrap_or(""), source);
            if let Some(v) = toks.get(1).filter(|_| arrow == 2) {
                entry.spec = format!("{v} => {}", version.as_deref().unwrap_or(&target));
            }
            out.entries.push(entry);
        }
        "exclude" | "retract" => {
            let value = toks.join(" ");
            out.settings
                .push(Setting::new(verb, &value, &value, Rule::RequirementChange));
        }
        "toolchain" | "go" => {
            let value = toks.join(" ");
            out.settings.push(Setting::new(
                "go.mod",
                verb,
                &value,
                Rule::RequirementChange,
            ));
        }
        _ => {}
    }
}

/// `go.sum`: one module version per entry (the `/go.mod` line folds into it), with its hash.
pub(crate) fn go_sum(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut seen: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for line in text.lines() {
        let toks: Vec<&str> = line.split_whitespace().collect();
        let [module, version, hash] = toks.as_slice() else {
            continue;
        };
        let (version, go_mod_only) = match version.strip_suffix("/go.mod") {
            Some(v) => (v, true),
            None => (*version, false),
        };
        let key = (module.to_string(), version.to_owned());
        match seen.get(&key) {
            Some(&i) => {
                if !go_mod_only && let Some(e) = out.entries.get_mut(i) {
                    e.checksum = Some(hash.to_string());
                }
            }
            None => {
                let mut e = Entry::new("go.sum", module, version, Source::Registry(None));
                e.checksum = Some(if go_mod_only {
                    format!("go.mod {hash}")
                } else {
                    hash.to_string()
                });
                seen.insert(key, out.entries.len());
                out.entries.push(e);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_mod_blocks_and_replaces() {
        let p = go_mod(
            "module example.com/m\n\ngo 1.21\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1 // indirect\n\tgolang.org/x/net v0.17.0\n)\nrequire github.com/google/uuid v1.3.0\nreplace golang.org/x/net => ../net\nretract v1.0.1 // broken\n",
        );
        let names: Vec<_> = p
            .entries
            .iter()
            .map(|e| (e.section.as_str(), e.name.as_str(), e.spec.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("require", "github.com/pkg/errors", "v0.9.1"),
                ("require", "golang.org/x/net", "v0.17.0"),
                ("require", "github.com/google/uuid", "v1.3.0"),
                ("replace", "golang.org/x/net", ""),
            ]
        );
        assert_eq!(p.entries[3].source, Source::Path("../net".into()));
        assert!(p.settings.iter().any(|s| s.section == "retract"));
    }
}
