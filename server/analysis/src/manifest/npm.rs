//! npm: `package.json` (dependency tables, `overrides`, `resolutions`, lifecycle scripts,
//! `publishConfig`), `package-lock.json` / `npm-shrinkwrap.json` (lockfile versions 1 to 3),
//! parsed with `serde_json`; `.npmrc` (an ini file) by hand.

use serde_json::{Map, Value};

use super::{Entry, Parsed, Rule, Setting, Source};

const TABLES: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// Scripts npm runs by itself on install (or on `npm install` of a git dependency).
const LIFECYCLE: [&str; 6] = [
    "preinstall",
    "install",
    "postinstall",
    "prepare",
    "preprepare",
    "postprepare",
];

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))
}

/// `package.json`.
pub(crate) fn manifest(text: &str) -> Result<Parsed, String> {
    let doc = parse_json(text)?;
    let Value::Object(doc) = doc else {
        return Err("not a JSON object".to_owned());
    };
    let mut out = Parsed::default();
    for table in TABLES {
        if let Some(Value::Object(deps)) = doc.get(table) {
            for (name, spec) in deps {
                let spec = spec.as_str().unwrap_or_default();
                let (name, spec, source) = classify(name, spec);
                out.entries.push(Entry::new(table, &name, &spec, source));
            }
        }
    }
    if let Some(Value::Object(o)) = doc.get("overrides") {
        overrides("overrides", o, &mut out);
    }
    if let Some(Value::Object(r)) = doc.get("resolutions") {
        overrides("resolutions", r, &mut out);
    }
    if let Some(Value::Object(scripts)) = doc.get("scripts") {
        for (name, cmd) in scripts {
            if LIFECYCLE.contains(&name.as_str()) {
                let cmd = cmd.as_str().unwrap_or_default();
                out.settings
                    .push(Setting::new("scripts", name, cmd, Rule::InstallScript));
            }
        }
    }
    if let Some(Value::Object(publish)) = doc.get("publishConfig")
        && let Some(Value::String(r)) = publish.get("registry")
    {
        out.settings.push(Setting::new(
            "publishConfig",
            "registry",
            r,
            Rule::RegistryOverride,
        ));
    }
    Ok(out)
}

/// `overrides` nest (`{"a": {"b": "1.0.0"}}`, `"."` for the package itself); `resolutions`
/// are flat (`"a/**/b": "1.0.0"`). Each leaf is one entry named by its path.
fn overrides(section: &str, map: &Map<String, Value>, out: &mut Parsed) {
    fn walk(section: &str, prefix: &str, map: &Map<String, Value>, out: &mut Parsed) {
        for (key, value) in map {
            let path = match (prefix.is_empty(), key.as_str()) {
                (true, _) => key.clone(),
                (false, ".") => prefix.to_owned(),
                (false, _) => format!("{prefix} > {key}"),
            };
            match value {
                Value::Object(inner) => walk(section, &path, inner, out),
                Value::String(spec) => {
                    let leaf = path.rsplit(" > ").next().unwrap_or(&path);
                    let (_, spec, source) = classify(leaf, spec);
                    out.entries.push(Entry::new(section, &path, &spec, source));
                }
                _ => {}
            }
        }
    }
    walk(section, "", map, out);
}

/// `package.json` without the parts the dependency analysis compares. `None` when it does not
/// parse.
pub(crate) fn rest(text: &str) -> Option<Value> {
    let mut doc: Value = serde_json::from_str(text).ok()?;
    let obj = doc.as_object_mut()?;
    for t in TABLES.iter().chain(&["overrides", "resolutions"]) {
        obj.remove(*t);
    }
    if let Some(Value::Object(scripts)) = obj.get_mut("scripts") {
        for s in LIFECYCLE {
            scripts.remove(s);
        }
    }
    Some(doc)
}

/// The real name, the requirement and the source of a `package.json` dependency spec.
fn classify(name: &str, spec: &str) -> (String, String, Source) {
    let spec = spec.trim();
    if let Some(alias) = spec.strip_prefix("npm:") {
        // `npm:real-name@range`: the package actually installed is `real-name`.
        let (real, range) = match alias.rfind('@') {
            Some(i) if i > 0 => (&alias[..i], &alias[i + 1..]),
            _ => (alias, ""),
        };
        return (real.to_owned(), range.to_owned(), Source::Registry(None));
    }
    let source = if [
        "git+",
        "git://",
        "git@",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
    ]
    .iter()
    .any(|p| spec.starts_with(p))
    {
        Source::Git(spec.to_owned())
    } else if spec.starts_with("http://") || spec.starts_with("https://") {
        Source::Url(spec.to_owned())
    } else if let Some(p) = spec
        .strip_prefix("file:")
        .or_else(|| spec.strip_prefix("link:"))
    {
        Source::Path(p.to_owned())
    } else if spec.starts_with("workspace:") {
        Source::Workspace
    } else if spec.starts_with("./")
        || spec.starts_with("../")
        || spec.starts_with('/')
        || spec.starts_with("~/")
    {
        Source::Path(spec.to_owned())
    } else if is_github_shorthand(spec) {
        Source::Git(format!("github:{spec}"))
    } else {
        Source::Registry(None)
    };
    (name.to_owned(), spec.to_owned(), source)
}

/// `user/repo` or `user/repo#ref`: npm reads it as a GitHub repository.
fn is_github_shorthand(spec: &str) -> bool {
    let base = spec.split('#').next().unwrap_or(spec);
    match base.split_once('/') {
        Some((user, repo)) => {
            !user.is_empty()
                && !repo.is_empty()
                && !repo.contains('/')
                && !user.starts_with('@')
                && user
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        }
        None => false,
    }
}

/// `package-lock.json`: `packages` (v2, v3) or nested `dependencies` (v1).
pub(crate) fn lock(text: &str) -> Result<Parsed, String> {
    let doc = parse_json(text)?;
    let mut out = Parsed::default();
    if let Some(Value::Object(packages)) = doc.get("packages") {
        for (path, p) in packages {
            let Some(i) = path.rfind("node_modules/") else {
                continue; // the root package, or a workspace folder
            };
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&path[i + "node_modules/".len()..]);
            locked(name, p, &mut out);
        }
    } else if let Some(Value::Object(deps)) = doc.get("dependencies") {
        fn walk(deps: &Map<String, Value>, out: &mut Parsed) {
            for (name, p) in deps {
                locked(name, p, out);
                if let Some(Value::Object(inner)) = p.get("dependencies") {
                    walk(inner, out);
                }
            }
        }
        walk(deps, &mut out);
    }
    Ok(out)
}

fn locked(name: &str, p: &Value, out: &mut Parsed) {
    let s = |k: &str| p.get(k).and_then(Value::as_str);
    let link = p.get("link").and_then(Value::as_bool) == Some(true);
    let version = s("version").unwrap_or_default();
    let source = match s("resolved") {
        _ if link => Source::Path(s("resolved").unwrap_or_default().to_owned()),
        None if version.starts_with("file:") => Source::Path(version.to_owned()),
        None => Source::Registry(None),
        Some(r) => resolved_source(r),
    };
    let version = if version.is_empty() {
        "(unversioned)"
    } else {
        version
    };
    let mut entry = Entry::new("lockfile", name, version, source);
    entry.checksum = s("integrity").map(str::to_owned);
    entry.install_script = p.get("hasInstallScript").and_then(Value::as_bool) == Some(true);
    out.entries.push(entry);
}

fn resolved_source(r: &str) -> Source {
    if r.starts_with("git+") || r.starts_with("git://") || r.starts_with("github:") {
        return Source::Git(r.to_owned());
    }
    if let Some(p) = r.strip_prefix("file:") {
        return Source::Path(p.to_owned());
    }
    match r
        .strip_prefix("https://")
        .or_else(|| r.strip_prefix("http://"))
        .and_then(|rest| rest.split('/').next())
    {
        Some("registry.npmjs.org" | "registry.yarnpkg.com") if r.starts_with("https://") => {
            Source::Registry(None)
        }
        Some(host) if r.contains("/-/") => Source::Registry(Some(host.to_owned())),
        Some(_) => Source::Url(r.to_owned()),
        None => Source::Path(r.to_owned()),
    }
}

/// `.npmrc`: `key = value` lines (`;` and `#` comments). Registry, TLS and script settings are
/// overrides; credentials are never shown (their values are replaced).
pub(crate) fn npmrc(text: &str) -> Parsed {
    let mut out = Parsed::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        let lower = key.to_ascii_lowercase();
        let secret = [
            "_auth",
            "token",
            "password",
            "_authtoken",
            "certfile",
            "keyfile",
        ]
        .iter()
        .any(|s| lower.contains(s));
        let rule = if lower == "registry"
            || lower.ends_with(":registry")
            || matches!(
                lower.as_str(),
                "strict-ssl" | "ca" | "cafile" | "proxy" | "https-proxy" | "noproxy"
            ) {
            Rule::RegistryOverride
        } else if matches!(
            lower.as_str(),
            "ignore-scripts" | "script-shell" | "node-options" | "onload-script"
        ) {
            Rule::InstallScript
        } else if secret {
            Rule::RegistryOverride
        } else {
            Rule::RequirementChange
        };
        let shown = if secret {
            "(credential, not shown)"
        } else {
            value
        };
        out.settings.push(Setting::new("npmrc", key, shown, rule));
    }
    out
}
