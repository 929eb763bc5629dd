//! No import cycles between the modules of any crate of the workspace: a module that reaches
//! another (through `use crate::…`, `super::…`, or a path in the code) must not be reached back.
//! Cycles make a crate one lump that cannot be read, tested or split in parts.
//!
//! One cycle is known and may only shrink: the language server's pipeline (`lsp::commands`,
//! `apply`, `approval`, `run`, `session`, `standing`), which the protocol-free session crate is
//! to take apart. Any other cycle, or that one growing, fails here with the modules in it.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The cycle left to break, by crate.
const KNOWN: &[(&str, &[&str])] = &[(
    "autogate",
    &[
        "lsp::apply",
        "lsp::approval",
        "lsp::commands",
        "lsp::run",
        "lsp::session",
        "lsp::standing",
    ],
)];

/// Every `.rs` file under `src`, by module path (`""` for the crate root).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The code of a file without its comments, its string literals, and its unit tests.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
        } else if text[i..].starts_with("/*") {
            i = text[i..].find("*/").map_or(bytes.len(), |n| i + n + 2);
        } else if bytes[i] == b'"' && !text[..i].ends_with('\'') {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Reads a path at `i` (identifiers joined by `::`, a brace group expanded) into `out`, each
/// path prefixed by `prefix`. Returns where it ended.
fn path_at(code: &[u8], mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        while i < code.len() && code[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < code.len() && code[i] == b'{' {
            i += 1;
            loop {
                while i < code.len() && (code[i].is_ascii_whitespace() || code[i] == b',') {
                    i += 1;
                }
                if i >= code.len() || code[i] == b'}' {
                    return i + 1;
                }
                let end = path_at(code, i, &path, out);
                // Skip what follows an item (`as name`) up to the next comma or brace.
                i = end;
                while i < code.len() && code[i] != b',' && code[i] != b'}' {
                    i += 1;
                }
            }
        }
        let start = i;
        while i < code.len() && ident_char(code[i]) {
            i += 1;
        }
        if start == i {
            out.push(path);
            return i;
        }
        path.push(String::from_utf8_lossy(&code[start..i]).into_owned());
        if code[i..].starts_with(b"::") {
            i += 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// The modules `module` (in `file`) reaches, among `known`.
fn reached(module: &str, file: &Path, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let code = code(&std::fs::read_to_string(file).unwrap());
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let word = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|w| bytes[i..].starts_with(w.as_bytes()));
        match word {
            Some(_) if i > 0 && (ident_char(bytes[i - 1]) || bytes[i - 1] == b':') => i += 1,
            Some(_) => i = path_at(bytes, i, &[], &mut paths),
            None => i += 1,
        }
    }
    let here: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").map(str::to_owned).collect()
    };
    let mut out = BTreeSet::new();
    for path in paths {
        let mut base: Vec<String> = Vec::new();
        let mut rest = path.as_slice();
        match rest.first().map(String::as_str) {
            Some("crate") => rest = &rest[1..],
            Some("self") => {
                base = here.clone();
                rest = &rest[1..];
            }
            Some("super") => {
                base = here.clone();
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ => continue,
        }
        let full: Vec<String> = base.into_iter().chain(rest.iter().cloned()).collect();
        let target = (1..=full.len())
            .rev()
            .map(|n| full[..n].join("::"))
            .find(|candidate| known.contains_key(candidate));
        let Some(target) = target else { continue };
        // A module's own parent or child is part of its own tree, not a layer beside it.
        let related = target == module
            || module.starts_with(&format!("{target}::"))
            || target.starts_with(&format!("{module}::"))
            || module.is_empty()
            || target.is_empty();
        if !related {
            out.insert(target);
        }
    }
    out
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w.as_str()]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w.as_str()) {
                    let low = self.low[v].min(self.index[w.as_str()]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.insert(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

fn crate_cycles(src: &Path) -> Vec<BTreeSet<String>> {
    let known = modules(src);
    let edges: BTreeMap<String, BTreeSet<String>> = known
        .iter()
        .map(|(module, file)| (module.clone(), reached(module, file, &known)))
        .collect();
    cycles(&edges)
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules_but_the_known_one() {
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut crates = 0;
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(server).unwrap() {
        let dir = entry.unwrap().path();
        let src = dir.join("src");
        if !src.is_dir() {
            continue;
        }
        crates += 1;
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let known: BTreeSet<String> = KNOWN
            .iter()
            .filter(|(c, _)| *c == name)
            .flat_map(|(_, modules)| modules.iter().map(|m| (*m).to_owned()))
            .collect();
        for cycle in crate_cycles(&src) {
            if !cycle.is_subset(&known) {
                wrong.push(format!("{name}: {cycle:?}"));
            }
        }
    }
    assert!(crates >= 6, "the crates were not found under {server:?}");
    assert!(wrong.is_empty(), "import cycles: {wrong:#?}");
}

/// The check finds what it is for: a cycle through a brace group, `super`, and a path in code.
#[test]
fn the_cycle_check_sees_cycles_however_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod c;\n").unwrap();
    std::fs::write(
        src.join("a/mod.rs"),
        "//! use crate::c; in a comment\nmod inner;\nuse crate::{x, b::{One, two as t}};\n",
    )
    .unwrap();
    std::fs::write(
        src.join("a/inner.rs"),
        "fn f() { super::super::c::go(); }\n",
    )
    .unwrap();
    std::fs::write(src.join("b.rs"), "pub fn two() { let s = \"crate::c\"; }\n").unwrap();
    // c reaches a and b: the path in a's comment and the one in b's string, were they counted,
    // would close a cycle.
    std::fs::write(
        src.join("c.rs"),
        "use crate::b::two;\nuse crate::a::One;\npub fn go() {}\n",
    )
    .unwrap();
    assert!(crate_cycles(src).is_empty(), "no cycle yet");
    // b reaches a back (a reaches b through the brace group); c and a::inner reach each
    // other through `super` and a path in code.
    std::fs::write(src.join("b.rs"), "pub fn two() { crate::a::f() }\n").unwrap();
    std::fs::write(src.join("c.rs"), "use super::a::inner;\npub fn go() {}\n").unwrap();
    let mut found = crate_cycles(src);
    found.sort();
    let set = |names: &[&str]| {
        names
            .iter()
            .map(|n| (*n).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(found, [set(&["a", "b"]), set(&["a::inner", "c"])]);
}
