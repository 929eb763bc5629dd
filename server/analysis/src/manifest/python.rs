//! Python: `requirements*.txt` (pip's requirements-file format: options, `-r`, `-e`, URLs,
//! PEP 508 lines), `pyproject.toml` (PEP 621 `dependencies` and optional groups, PEP 735
//! groups, `build-system.requires`, Poetry tables, uv/Poetry/PDM indexes) with `toml`, and
//! `setup.cfg` (`install_requires`, `setup_requires`, `extras_require`).
//!
//! A PEP 508 requirement is read by hand: `name [extras] (specifiers | @ url) ; markers`.

use toml::{Table, Value};

use super::{Entry, Parsed, Rule, Setting, Source};

/// One PEP 508 requirement: `(name, specifier, source)`, or `None` for what is not one.
pub(crate) fn pep508(line: &str) -> Option<(String, String, Source)> {
    let line = line.split(';').next().unwrap_or(line).trim();
    let name_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    if name_len == 0 {
        return None;
    }
    let name = &line[..name_len];
    let mut rest = line[name_len..].trim_start();
    if rest.starts_with('[') {
        let close = rest.find(']')?;
        rest = rest[close + 1..].trim_start();
    }
    if let Some(url) = rest.strip_prefix('@') {
        let url = url.trim();
        return Some((name.to_owned(), String::new(), url_source(url)));
    }
    let spec = rest.trim_start_matches('(').trim_end_matches(')').trim();
    Some((
        name.to_owned(),
        spec.replace(' ', ""),
        Source::Registry(None),
    ))
}

fn url_source(url: &str) -> Source {
    if url.starts_with("git+")
        || url.starts_with("hg+")
        || url.starts_with("svn+")
        || url.starts_with("bzr+")
    {
        Source::Git(url.to_owned())
    } else if let Some(p) = url.strip_prefix("file://") {
        Source::Path(p.to_owned())
    } else if url.contains("://") {
        Source::Url(url.to_owned())
    } else {
        Source::Path(url.to_owned())
    }
}

/// The name pip gives a URL or path requirement: `#egg=name`, or the file name's first part.
fn url_name(url: &str) -> String {
    if let Some((_, frag)) = url.split_once("#egg=") {
        return frag.split('&').next().unwrap_or(frag).to_owned();
    }
    let base = url
        .split(['#', '?'])
        .next()
        .unwrap_or(url)
        .trim_end_matches('/');
    let file = base.rsplit('/').next().unwrap_or(base);
    let file = file.trim_end_matches(".git");
    file.split('-').next().unwrap_or(file).to_owned()
}

/// `requirements.txt`.
pub(crate) fn requirements(text: &str) -> Parsed {
    let mut out = Parsed::default();
    // Joined physical lines: a trailing backslash continues the line.
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        logical.push(std::mem::take(&mut current));
    }
    if !current.is_empty() {
        logical.push(current);
    }
    for line in logical {
        // A comment starts at `#` at the line start or after whitespace (`#egg=` stays).
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(i) => &line[..i],
            None if line.trim_start().starts_with('#') => "",
            None => &line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('-') {
            option(line, &mut out);
            continue;
        }
        // Per-requirement options (`--hash=...`) follow the requirement.
        let line = line.split(" --").next().unwrap_or(line).trim();
        let first = line.split_whitespace().next().unwrap_or(line);
        if first.contains("://") || first.starts_with("git+") {
            let url = first;
            let name = url_name(url);
            out.entries
                .push(Entry::new("requirements", &name, "", url_source(url)));
            continue;
        }
        if line.starts_with('.') || line.starts_with('/') {
            let path = line.split_whitespace().next().unwrap_or(line);
            out.entries.push(Entry::new(
                "requirements",
                path,
                "",
                Source::Path(path.to_owned()),
            ));
            continue;
        }
        if let Some((name, spec, source)) = pep508(line) {
            out.entries
                .push(Entry::new("requirements", &name, &spec, source));
        }
    }
    out
}

/// A requirements-file option line.
fn option(line: &str, out: &mut Parsed) {
    let (flag, value) = match line.split_once(['=', ' ', '\t']) {
        Some((f, v)) => (f.trim(), v.trim()),
        None => (line, ""),
    };
    match flag {
        "-i" | "--index-url" | "--extra-index-url" | "-f" | "--find-links" | "--trusted-host"
        | "--no-index" => out.settings.push(Setting::new(
            "options",
            flag.trim_start_matches('-'),
            value,
            Rule::RegistryOverride,
        )),
        "-r" | "--requirement" | "-c" | "--constraint" => out.settings.push(Setting::new(
            "options",
            &format!("{} {value}", flag.trim_start_matches('-')),
            value,
            Rule::RequirementChange,
        )),
        "-e" | "--editable" => {
            let source = url_source(value);
            let name = match &source {
                Source::Path(p) => p.clone(),
                _ => url_name(value),
            };
            out.entries.push(Entry::new("editable", &name, "", source));
        }
        _ => out.settings.push(Setting::new(
            "options",
            flag.trim_start_matches('-'),
            value,
            Rule::RequirementChange,
        )),
    }
}

fn array(out: &mut Parsed, section: &str, v: Option<&Value>) {
    if let Some(Value::Array(items)) = v {
        for item in items {
            if let Some((name, spec, source)) = item.as_str().and_then(pep508) {
                out.entries.push(Entry::new(section, &name, &spec, source));
            }
        }
    }
}

/// `pyproject.toml`.
pub(crate) fn pyproject(text: &str) -> Result<Parsed, String> {
    let doc: Table = text.parse().map_err(|e: toml::de::Error| {
        e.to_string()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_owned()
    })?;
    let mut out = Parsed::default();
    if let Some(project) = doc.get("project") {
        array(
            &mut out,
            "project.dependencies",
            project.get("dependencies"),
        );
        if let Some(Value::Table(groups)) = project.get("optional-dependencies") {
            for (group, v) in groups {
                array(
                    &mut out,
                    &format!("project.optional-dependencies.{group}"),
                    Some(v),
                );
            }
        }
    }
    if let Some(Value::Table(groups)) = doc.get("dependency-groups") {
        for (group, v) in groups {
            array(&mut out, &format!("dependency-groups.{group}"), Some(v));
        }
    }
    if let Some(build) = doc.get("build-system") {
        array(&mut out, "build-system.requires", build.get("requires"));
        if let Some(Value::String(backend)) = build.get("build-backend") {
            out.settings.push(Setting::new(
                "build-system",
                "build-backend",
                backend,
                Rule::InstallScript,
            ));
        }
    }
    let tool = doc.get("tool");
    if let Some(poetry) = tool.and_then(|t| t.get("poetry")) {
        for section in ["dependencies", "dev-dependencies"] {
            if let Some(Value::Table(t)) = poetry.get(section) {
                poetry_deps(&mut out, &format!("tool.poetry.{section}"), t);
            }
        }
        if let Some(Value::Table(groups)) = poetry.get("group") {
            for (group, g) in groups {
                if let Some(Value::Table(t)) = g.get("dependencies") {
                    poetry_deps(&mut out, &format!("tool.poetry.group.{group}"), t);
                }
            }
        }
        indexes(&mut out, "tool.poetry.source", poetry.get("source"));
    }
    if let Some(uv) = tool.and_then(|t| t.get("uv")) {
        indexes(&mut out, "tool.uv.index", uv.get("index"));
        for key in ["index-url", "extra-index-url", "find-links"] {
            if let Some(v) = uv.get(key) {
                out.settings.push(Setting::new(
                    "tool.uv",
                    key,
                    &v.to_string(),
                    Rule::RegistryOverride,
                ));
            }
        }
        if let Some(Value::Table(sources)) = uv.get("sources") {
            for (name, v) in sources {
                out.settings.push(Setting::new(
                    "tool.uv.sources",
                    name,
                    &v.to_string(),
                    Rule::RegistryOverride,
                ));
            }
        }
    }
    if let Some(pdm) = tool.and_then(|t| t.get("pdm")) {
        indexes(&mut out, "tool.pdm.source", pdm.get("source"));
    }
    Ok(out)
}

/// `[[tool.poetry.source]]`, `[[tool.uv.index]]`: extra package indexes, by name and URL.
fn indexes(out: &mut Parsed, section: &str, v: Option<&Value>) {
    if let Some(Value::Array(items)) = v {
        for (i, item) in items.iter().enumerate() {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| i.to_string(), str::to_owned);
            let url = item.get("url").and_then(Value::as_str).unwrap_or_default();
            out.settings
                .push(Setting::new(section, &name, url, Rule::RegistryOverride));
        }
    }
}

fn poetry_deps(out: &mut Parsed, section: &str, table: &Table) {
    for (name, v) in table {
        if name == "python" {
            continue;
        }
        let (spec, source) = match v {
            Value::String(s) => (s.clone(), Source::Registry(None)),
            Value::Table(t) => {
                let s = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
                let spec = s("version").unwrap_or_default();
                let source = if let Some(g) = s("git") {
                    Source::Git(g)
                } else if let Some(p) = s("path") {
                    Source::Path(p)
                } else if let Some(u) = s("url") {
                    Source::Url(u)
                } else if let Some(src) = s("source") {
                    Source::Registry(Some(src))
                } else {
                    Source::Registry(None)
                };
                (spec, source)
            }
            other => (other.to_string(), Source::Registry(None)),
        };
        out.entries.push(Entry::new(section, name, &spec, source));
    }
}

/// `setup.cfg`: an ini file whose list values continue on indented lines.
pub(crate) fn setup_cfg(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut section = String::new();
    let mut key = String::new();
    for raw in text.lines() {
        let line = raw.split(" #").next().unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            section = trimmed[1..trimmed.len() - 1].trim().to_owned();
            key.clear();
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let value = if indented && !key.is_empty() {
            trimmed
        } else if let Some((k, v)) = trimmed.split_once(['=', ':']) {
            key = k.trim().to_owned();
            v.trim()
        } else {
            continue;
        };
        let target = match (section.as_str(), key.as_str()) {
            ("options", "install_requires") => "install_requires".to_owned(),
            ("options", "setup_requires") => "setup_requires".to_owned(),
            ("options", "tests_require") => "tests_require".to_owned(),
            ("options.extras_require", group) => format!("extras_require.{group}"),
            _ => continue,
        };
        for item in value
            .split(';')
            .next()
            .into_iter()
            .flat_map(|v| v.split(','))
        {
            if let Some((name, spec, source)) = pep508(item) {
                out.entries.push(Entry::new(&target, &name, &spec, source));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep508_lines() {
        assert_eq!(
            pep508("requests[security] >= 2.19, < 3 ; python_version >= '3.8'"),
            Some((
                "requests".into(),
                ">=2.19,<3".into(),
                Source::Registry(None)
            ))
        );
        assert_eq!(
            pep508("pip @ https://github.com/pypa/pip/archive/1.3.1.zip"),
            Some((
                "pip".into(),
                String::new(),
                Source::Url("https://github.com/pypa/pip/archive/1.3.1.zip".into())
            ))
        );
    }

    #[test]
    fn requirements_files_with_options() {
        let p = requirements(
            "# pinned\n--index-url https://pypi.example/simple\n-r base.txt\nrequests==2.19.0 \\\n  --hash=sha256:abc\n-e git+https://github.com/a/b.git#egg=bee\nflask>=2 # web\n",
        );
        let names: Vec<_> = p
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.spec.as_str()))
            .collect();
        assert_eq!(
            names,
            [("requests", "==2.19.0"), ("bee", ""), ("flask", ">=2")]
        );
        assert!(
            p.settings
                .iter()
                .any(|s| s.key == "index-url" && s.rule == Rule::RegistryOverride)
        );
    }
}
