//! Cargo: `Cargo.toml` (every dependency table, `[patch]`, `[replace]`, `build`, `links`),
//! `Cargo.lock`, and `.cargo/config.toml` (registries and source replacement), parsed with
//! `toml`.

use toml::{Table, Value};

use super::{Entry, Parsed, Rule, Setting, Source};

const TABLES: [&str; 5] = [
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    "dev_dependencies",
    "build_dependencies",
];

fn parse_table(text: &str) -> Result<Table, String> {
    text.parse::<Table>().map_err(|e| {
        e.to_string()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_owned()
    })
}

/// `Cargo.toml`.
pub(crate) fn manifest(text: &str) -> Result<Parsed, String> {
    let doc = parse_table(text)?;
    let mut out = Parsed::default();
    for name in TABLES {
        if let Some(Value::Table(t)) = doc.get(name) {
            deps(&mut out, &name.replace('_', "-"), t);
        }
    }
    if let Some(Value::Table(targets)) = doc.get("target") {
        for (cfg, t) in targets {
            if let Value::Table(t) = t {
                for name in TABLES {
                    if let Some(Value::Table(d)) = t.get(name) {
                        deps(
                            &mut out,
                            &format!("target.'{cfg}'.{}", name.replace('_', "-")),
                            d,
                        );
                    }
                }
            }
        }
    }
    if let Some(Value::Table(ws)) = doc.get("workspace")
        && let Some(Value::Table(d)) = ws.get("dependencies")
    {
        deps(&mut out, "workspace.dependencies", d);
    }
    if let Some(Value::Table(patch)) = doc.get("patch") {
        for (registry, t) in patch {
            if let Value::Table(t) = t {
                deps(&mut out, &format!("patch.{registry}"), t);
            }
        }
    }
    if let Some(Value::Table(replace)) = doc.get("replace") {
        deps(&mut out, "replace", replace);
    }
    if let Some(Value::Table(package)) = doc.get("package") {
        for key in ["build", "links"] {
            if let Some(v) = package.get(key) {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.settings
                    .push(Setting::new("package", key, &value, Rule::InstallScript));
            }
        }
    }
    Ok(out)
}

/// One dependency table: `name = "req"` or `name = { version, git, path, registry, package }`.
fn deps(out: &mut Parsed, section: &str, table: &Table) {
    for (key, value) in table {
        let (name, spec, source) = match value {
            Value::String(req) => (key.clone(), req.clone(), Source::Registry(None)),
            Value::Table(t) => {
                let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
                let name = s("package").unwrap_or_else(|| key.clone());
                let mut spec = s("version").unwrap_or_default();
                let source = if let Some(git) = s("git") {
                    let at = s("rev").or_else(|| s("tag")).or_else(|| s("branch"));
                    if let Some(at) = &at {
                        spec = if spec.is_empty() {
                            at.clone()
                        } else {
                            format!("{spec} ({at})")
                        };
                    }
                    Source::Git(git)
                } else if let Some(path) = s("path") {
                    Source::Path(path)
                } else if let Some(r) = s("registry").or_else(|| s("registry-index")) {
                    Source::Registry(Some(r))
                } else if t.get("workspace").and_then(Value::as_bool) == Some(true) {
                    Source::Workspace
                } else {
                    Source::Registry(None)
                };
                // `replace` keys are `name:version`.
                let name = match (section, name.split_once(':')) {
                    ("replace", Some((n, v))) => {
                        if spec.is_empty() {
                            spec = v.to_owned();
                        }
                        n.to_owned()
                    }
                    _ => name,
                };
                (name, spec, source)
            }
            other => (key.clone(), other.to_string(), Source::Registry(None)),
        };
        out.entries.push(Entry::new(section, &name, &spec, source));
    }
}

/// `Cargo.lock`: `[[package]]` with name, version, source and checksum.
pub(crate) fn lock(text: &str) -> Result<Parsed, String> {
    let doc = parse_table(text)?;
    let mut out = Parsed::default();
    let Some(Value::Array(packages)) = doc.get("package") else {
        return Ok(out);
    };
    for p in packages {
        let Value::Table(p) = p else { continue };
        let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(name), Some(version)) = (s("name"), s("version")) else {
            continue;
        };
        let source = match s("source") {
            None => Source::Path("(workspace)".to_owned()),
            Some(src) => lock_source(&src),
        };
        let mut entry = Entry::new("lockfile", &name, &version, source);
        entry.checksum = s("checksum");
        out.entries.push(entry);
    }
    Ok(out)
}

fn lock_source(src: &str) -> Source {
    if let Some(git) = src.strip_prefix("git+") {
        return Source::Git(git.to_owned());
    }
    let url = src
        .strip_prefix("registry+")
        .or_else(|| src.strip_prefix("sparse+"))
        .unwrap_or(src);
    let default = [
        "https://github.com/rust-lang/crates.io-index",
        "https://index.crates.io/",
    ];
    if default.contains(&url) {
        Source::Registry(None)
    } else {
        Source::Registry(Some(url.to_owned()))
    }
}

/// `.cargo/config.toml`: `[registries]`, `[registry]` and `[source]` replace where crates come
/// from; `[build] rustc-wrapper` and friends run programs.
pub(crate) fn config(text: &str) -> Result<Parsed, String> {
    let doc = parse_table(text)?;
    let mut out = Parsed::default();
    let mut flat = Vec::new();
    for section in ["registries", "registry", "source", "net"] {
        if let Some(v) = doc.get(section) {
            flatten(section, v, &mut flat);
        }
    }
    for (key, value) in flat {
        if !key.contains("token") {
            out.settings.push(Setting::new(
                "cargo-config",
                &key,
                &value,
                Rule::RegistryOverride,
            ));
        }
    }
    let mut runs = Vec::new();
    if let Some(Value::Table(build)) = doc.get("build") {
        for key in ["rustc-wrapper", "rustc-workspace-wrapper", "rustc"] {
            if let Some(v) = build.get(key) {
                runs.push((format!("build.{key}"), v.to_string()));
            }
        }
    }
    if let Some(Value::Table(target)) = doc.get("target") {
        for (t, v) in target {
            if let Some(runner) = v.get("runner").or_else(|| v.get("linker")) {
                runs.push((format!("target.{t}.runner"), runner.to_string()));
            }
        }
    }
    for (key, value) in runs {
        out.settings.push(Setting::new(
            "cargo-config",
            &key,
            &value,
            Rule::InstallScript,
        ));
    }
    Ok(out)
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Table(t) => {
            for (k, v) in t {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// A TOML manifest without the parts the dependency analysis compares: what is left must be
/// equal for the analysis to cover a change. `None` when it does not parse.
pub(crate) fn rest(kind: super::FileKind, text: &str) -> Option<Table> {
    let mut doc = parse_table(text).ok()?;
    match kind {
        super::FileKind::CargoToml => {
            for t in TABLES.iter().chain(&["target", "patch", "replace"]) {
                doc.remove(*t);
            }
            if let Some(Value::Table(ws)) = doc.get_mut("workspace") {
                ws.remove("dependencies");
            }
            if let Some(Value::Table(p)) = doc.get_mut("package") {
                p.remove("build");
                p.remove("links");
            }
        }
        super::FileKind::CargoConfig => {
            for t in ["registries", "registry", "source", "net"] {
                doc.remove(t);
            }
        }
        _ => {
            doc.remove("build-system");
            doc.remove("dependency-groups");
            if let Some(Value::Table(p)) = doc.get_mut("project") {
                p.remove("dependencies");
                p.remove("optional-dependencies");
            }
            if let Some(Value::Table(tool)) = doc.get_mut("tool") {
                for t in ["poetry", "uv", "pdm"] {
                    tool.remove(t);
                }
            }
        }
    }
    Some(doc)
}
