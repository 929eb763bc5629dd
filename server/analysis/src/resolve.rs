//! Name resolution per file, from the syntax tree: what a call really is.
//!
//! The file's bindings (imports with their aliases, `from x import y as z`, `require` and
//! destructuring, `import * as`, `use a::b as c`, Go import names, Java imports and typed
//! locals, C function pointers, simple re-bindings `x = module.attr`) are collected for the
//! module (outside any function) and for each enclosing function of a call, inner scopes
//! shadowing outer ones. Each call on the rows a change adds is resolved to a qualified target
//! (`subprocess.check_call`, `child_process.exec`, `std::process::Command::new`,
//! `os/exec.Command`, `java.lang.ProcessBuilder`, `system`) and looked up in
//! [`crate::capabilities`]. A callee computed at run time (`getattr(os, name)`, `require(x)`,
//! `globalThis[x]`) is dynamic dispatch whatever it returns. Names the file itself defines
//! (a local function `system`, a parameter `eval`) are never library targets.
//!
//! Only what the change adds counts: a call whose target and text the same function already
//! had before the change does not raise it.

use std::cell::{Cell, OnceCell};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::{Node, Tree};

use crate::capabilities::{self, Capability};
use crate::impact::Domain;
use crate::languages::Language;
use crate::level::Level;
use crate::naming::is_secret_name;

/// What a name is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    /// A qualified target: a module, a function, a class, or an instance of a class.
    Target(String),
    /// Bound by the file itself (a local function, a parameter, a local value).
    Local,
    /// Computed at run time, and how.
    Dynamic(String),
}

/// What an expression resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Res {
    Target(String),
    Dynamic(String),
    Unknown,
}

type Bindings = HashMap<String, Value>;

/// A capability found on the rows a change adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    /// 1-based line.
    pub line: usize,
    pub domain: Domain,
    pub level: Level,
    /// For people, without the path.
    pub reason: String,
    /// What makes two findings the same (one reason each).
    key: String,
}

/// One call with a capability.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub(crate) row: usize,
    pub(crate) capability: Capability,
    pattern: &'static str,
    pub(crate) target: String,
    written: String,
    alias: bool,
    /// The call's text, whitespace removed: with `scope` and `target`, what is compared with
    /// the before side.
    text: String,
    scope: String,
    /// Names around the call (assigned name, enclosing function, arguments), for randomness.
    pub(crate) context: Vec<String>,
    /// A name given at run time (`require(x)`, `getattr(o, x)`): `target` is the call.
    computed: bool,
    /// Not called here but passed on as a value (`Thread(target=os.system)`).
    passed: bool,
}

pub(crate) fn is_function_like(lang: Language, kind: &str) -> bool {
    match lang {
        Language::Python => matches!(kind, "function_definition" | "lambda"),
        Language::JavaScript | Language::TypeScript | Language::Tsx => matches!(
            kind,
            "function_declaration"
                | "function_expression"
                | "function"
                | "arrow_function"
                | "method_definition"
                | "generator_function_declaration"
                | "generator_function"
        ),
        Language::Go => matches!(
            kind,
            "function_declaration" | "method_declaration" | "func_literal"
        ),
        Language::Java => matches!(
            kind,
            "method_declaration" | "constructor_declaration" | "lambda_expression"
        ),
        Language::Rust => matches!(kind, "function_item" | "closure_expression"),
        Language::C => kind == "function_definition",
    }
}

fn is_call(lang: Language, kind: &str) -> bool {
    match lang {
        Language::Python => kind == "call",
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            matches!(kind, "call_expression" | "new_expression")
        }
        Language::Java => matches!(kind, "method_invocation" | "object_creation_expression"),
        _ => kind == "call_expression",
    }
}

fn is_string(kind: &str) -> bool {
    matches!(
        kind,
        "string" | "string_literal" | "interpreted_string_literal" | "raw_string_literal"
    ) || kind == "template_string"
}

/// The text of a string literal without its quotes, if it has no interpolation.
fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    if !is_string(node.kind()) {
        return None;
    }
    let mut c = node.walk();
    if node
        .named_children(&mut c)
        .any(|n| matches!(n.kind(), "interpolation" | "template_substitution"))
    {
        return None;
    }
    let text = node.utf8_text(src.as_bytes()).ok()?;
    let t = text.trim_start_matches(|ch: char| ch.is_ascii_alphabetic());
    let t = t.trim_matches(|ch| matches!(ch, '"' | '\'' | '`'));
    Some(t.to_owned())
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn clip(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(60).collect::<String>())
    } else {
        one_line
    }
}

/// The name a function-like node is known by: its own, or the name it is assigned to.
fn function_name(node: Node<'_>, src: &str) -> Option<String> {
    if let Some(n) = node.child_by_field_name("name") {
        return Some(text(n, src).to_owned());
    }
    if let Some(d) = node.child_by_field_name("declarator") {
        // C: the identifier inside the declarator.
        return declarator_name(d, src);
    }
    let parent = node.parent()?;
    match parent.kind() {
        "variable_declarator" | "pair" | "assignment_expression" | "assignment" => parent
            .child_by_field_name("name")
            .or_else(|| parent.child_by_field_name("key"))
            .or_else(|| parent.child_by_field_name("left"))
            .map(|n| text(n, src).to_owned()),
        "literal_element" => {
            let keyed = parent.parent()?;
            if keyed.kind() == "keyed_element" {
                keyed.named_child(0).map(|k| text(k, src).to_owned())
            } else {
                None
            }
        }
        _ => None,
    }
}

/// C: the identifier a declarator declares.
fn declarator_name(node: Node<'_>, src: &str) -> Option<String> {
    let mut n = node;
    for _ in 0..16 {
        if matches!(n.kind(), "identifier" | "field_identifier") {
            return Some(text(n, src).to_owned());
        }
        n = match n.child_by_field_name("declarator") {
            Some(d) => d,
            None => {
                let mut c = n.walk();
                let next = n
                    .named_children(&mut c)
                    .find(|x| x.kind().ends_with("declarator") || x.kind() == "identifier");
                next?
            }
        };
    }
    None
}

pub(crate) struct Resolver<'t> {
    lang: Language,
    src: &'t str,
    root: Node<'t>,
    /// The module's bindings, collected on the first look-up that needs them (a change whose
    /// calls all resolve in their functions never walks the module).
    module: OnceCell<Bindings>,
    /// Set while the module's bindings are being collected: look-ups then see none.
    collecting: Cell<bool>,
    scopes: HashMap<usize, Bindings>,
}

impl<'t> Resolver<'t> {
    pub(crate) fn new(lang: Language, tree: &'t Tree, src: &'t str) -> Self {
        Resolver {
            lang,
            src,
            root: tree.root_node(),
            module: OnceCell::new(),
            collecting: Cell::new(false),
            scopes: HashMap::new(),
        }
    }

    /// The module's bindings (`None` while they are being collected).
    fn module(&self) -> Option<&Bindings> {
        if let Some(m) = self.module.get() {
            return Some(m);
        }
        if self.collecting.get() {
            return None;
        }
        self.collecting.set(true);
        let mut m = Bindings::new();
        self.collect(self.root, self.root, &mut m, 0);
        self.collecting.set(false);
        Some(self.module.get_or_init(|| m))
    }

    fn module_get(&self, name: &str) -> Option<&Value> {
        self.module().and_then(|m| m.get(name))
    }

    fn t(&self, node: Node<'_>) -> &'t str {
        text(node, self.src)
    }

    /// Collects the bindings under `node` into `out`, without entering functions other than
    /// `scope`.
    fn collect(&self, scope: Node<'t>, node: Node<'t>, out: &mut Bindings, depth: usize) {
        if depth > 200 {
            return;
        }
        let kind = node.kind();
        if node != scope && is_function_like(self.lang, kind) {
            if let Some(name) = node.child_by_field_name("name").map(|n| self.t(n)) {
                if !name.is_empty() {
                    out.insert(name.to_owned(), Value::Local);
                }
            } else if self.lang == Language::C
                && let Some(name) = function_name(node, self.src)
            {
                out.insert(name, Value::Local);
            }
            return;
        }
        self.bind(node, out);
        let mut c = node.walk();
        for child in node.named_children(&mut c) {
            self.collect(scope, child, out, depth + 1);
        }
    }

    /// The bindings one node makes, if it is a binding form.
    fn bind(&self, node: Node<'t>, out: &mut Bindings) {
        let kind = node.kind();
        match self.lang {
            Language::Python => self.bind_python(node, kind, out),
            Language::JavaScript | Language::TypeScript | Language::Tsx => {
                self.bind_js(node, kind, out)
            }
            Language::Go => self.bind_go(node, kind, out),
            Language::Java => self.bind_java(node, kind, out),
            Language::Rust => self.bind_rust(node, kind, out),
            Language::C => self.bind_c(node, kind, out),
        }
    }

    fn value_of(&self, expr: Node<'t>) -> Value {
        match self.resolve(expr) {
            Res::Target(t) => Value::Target(t),
            Res::Dynamic(d) => Value::Dynamic(d),
            Res::Unknown => Value::Local,
        }
    }

    fn bind_python(&self, node: Node<'t>, kind: &str, out: &mut Bindings) {
        let mut c = node.walk();
        match kind {
            "import_statement" => {
                for name in node.children_by_field_name("name", &mut c) {
                    if name.kind() == "aliased_import" {
                        if let (Some(n), Some(a)) = (
                            name.child_by_field_name("name"),
                            name.child_by_field_name("alias"),
                        ) {
                            out.insert(self.t(a).to_owned(), Value::Target(squash(self.t(n))));
                        }
                    } else {
                        let dotted = squash(self.t(name));
                        let first = dotted.split('.').next().unwrap_or("").to_owned();
                        out.insert(first.clone(), Value::Target(first));
                    }
                }
            }
            "import_from_statement" => {
                let Some(module) = node.child_by_field_name("module_name") else {
                    return;
                };
                let relative = module.kind() == "relative_import";
                let m = squash(self.t(module));
                if !relative
                    && node
                        .named_children(&mut c)
                        .any(|n| n.kind() == "wildcard_import")
                {
                    out.insert(format!("*{m}"), Value::Target(m.clone()));
                }
                let mut c = node.walk();
                for name in node.children_by_field_name("name", &mut c) {
                    let (orig, alias) = if name.kind() == "aliased_import" {
                        match (
                            name.child_by_field_name("name"),
                            name.child_by_field_name("alias"),
                        ) {
                            (Some(n), Some(a)) => (squash(self.t(n)), self.t(a).to_owned()),
                            _ => continue,
                        }
                    } else {
                        let n = squash(self.t(name));
                        (n.clone(), n)
                    };
                    let value = if relative {
                        Value::Local
                    } else {
                        Value::Target(format!("{m}.{orig}"))
                    };
                    out.insert(alias, value);
                }
            }
            "assignment" => {
                if let (Some(left), Some(right)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) && left.kind() == "identifier"
                {
                    out.insert(self.t(left).to_owned(), self.value_of(right));
                }
            }
            "class_definition" => {
                if let Some(n) = node.child_by_field_name("name") {
                    out.insert(self.t(n).to_owned(), Value::Local);
                }
            }
            "parameters" | "lambda_parameters" => {
                for p in node.named_children(&mut c) {
                    let name = if p.kind() == "identifier" {
                        Some(p)
                    } else {
                        p.child_by_field_name("name").or_else(|| {
                            let mut c2 = p.walk();
                            p.named_children(&mut c2).find(|x| x.kind() == "identifier")
                        })
                    };
                    if let Some(n) = name {
                        out.insert(self.t(n).to_owned(), Value::Local);
                    }
                }
            }
            _ => {}
        }
    }

    fn bind_js(&self, node: Node<'t>, kind: &str, out: &mut Bindings) {
        let mut c = node.walk();
        match kind {
            "import_statement" => {
                let Some(source) = node
                    .child_by_field_name("source")
                    .and_then(|s| string_value(s, self.src))
                else {
                    // `import x = require("y")` (TypeScript).
                    for ch in node.named_children(&mut c) {
                        if ch.kind() == "import_require_clause"
                            && let (Some(id), Some(s)) = (
                                ch.named_child(0),
                                ch.child_by_field_name("source")
                                    .and_then(|s| string_value(s, self.src)),
                            )
                        {
                            out.insert(self.t(id).to_owned(), Value::Target(js_module(&s)));
                        }
                    }
                    return;
                };
                let module = js_module(&source);
                for clause in node.named_children(&mut c) {
                    if clause.kind() == "import_require_clause"
                        && let Some(id) = clause.named_child(0)
                    {
                        out.insert(self.t(id).to_owned(), Value::Target(module.clone()));
                    }
                    if clause.kind() != "import_clause" {
                        continue;
                    }
                    let mut c2 = clause.walk();
                    for part in clause.named_children(&mut c2) {
                        match part.kind() {
                            "identifier" => {
                                out.insert(self.t(part).to_owned(), Value::Target(module.clone()));
                            }
                            "namespace_import" => {
                                if let Some(id) = part.named_child(0) {
                                    out.insert(
                                        self.t(id).to_owned(),
                                        Value::Target(module.clone()),
                                    );
                                }
                            }
                            "named_imports" => {
                                let mut c3 = part.walk();
                                for spec in part.named_children(&mut c3) {
                                    let Some(name) = spec.child_by_field_name("name") else {
                                        continue;
                                    };
                                    let n = string_value(name, self.src)
                                        .unwrap_or_else(|| self.t(name).to_owned());
                                    let alias = spec
                                        .child_by_field_name("alias")
                                        .map_or(n.clone(), |a| self.t(a).to_owned());
                                    let target = if n == "default" {
                                        module.clone()
                                    } else {
                                        format!("{module}.{n}")
                                    };
                                    out.insert(alias, Value::Target(target));
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            "variable_declarator" | "assignment_expression" => {
                let (name, value) = if kind == "variable_declarator" {
                    (
                        node.child_by_field_name("name"),
                        node.child_by_field_name("value"),
                    )
                } else {
                    (
                        node.child_by_field_name("left"),
                        node.child_by_field_name("right"),
                    )
                };
                let Some(name) = name else { return };
                let value = value.map_or(Value::Local, |v| self.value_of(v));
                self.bind_pattern(name, value, out);
            }
            "class_declaration" => {
                if let Some(n) = node.child_by_field_name("name") {
                    out.insert(self.t(n).to_owned(), Value::Local);
                }
            }
            "formal_parameters" => {
                for p in node.named_children(&mut c) {
                    self.bind_pattern(p, Value::Local, out);
                }
            }
            "arrow_function" => {
                if let Some(p) = node.child_by_field_name("parameter") {
                    out.insert(self.t(p).to_owned(), Value::Local);
                }
            }
            _ => {}
        }
    }

    /// JS: binds the names of a pattern to `value` (destructuring takes its members).
    fn bind_pattern(&self, pattern: Node<'t>, value: Value, out: &mut Bindings) {
        self.bind_pattern_depth(pattern, value, out, 0);
    }

    fn bind_pattern_depth(
        &self,
        pattern: Node<'t>,
        value: Value,
        out: &mut Bindings,
        depth: usize,
    ) {
        if depth > 64 {
            return;
        }
        let member = |name: &str| match &value {
            Value::Target(t) => Value::Target(format!("{t}.{name}")),
            other => other.clone(),
        };
        match pattern.kind() {
            "identifier" | "shorthand_property_identifier_pattern" => {
                out.insert(self.t(pattern).to_owned(), value);
            }
            "required_parameter" | "optional_parameter" | "assignment_pattern" => {
                if let Some(n) = pattern
                    .child_by_field_name("pattern")
                    .or_else(|| pattern.child_by_field_name("name"))
                    .or_else(|| pattern.child_by_field_name("left"))
                {
                    self.bind_pattern_depth(n, value, out, depth + 1);
                }
            }
            "object_pattern" => {
                let mut c = pattern.walk();
                for p in pattern.named_children(&mut c) {
                    match p.kind() {
                        "shorthand_property_identifier_pattern" => {
                            let n = self.t(p).to_owned();
                            out.insert(n.clone(), member(&n));
                        }
                        "pair_pattern" => {
                            if let (Some(k), Some(v)) =
                                (p.child_by_field_name("key"), p.child_by_field_name("value"))
                            {
                                let key = string_value(k, self.src)
                                    .unwrap_or_else(|| self.t(k).to_owned());
                                self.bind_pattern_depth(v, member(&key), out, depth + 1);
                            }
                        }
                        "object_assignment_pattern" => {
                            if let Some(l) = p.child_by_field_name("left") {
                                let n = self.t(l).to_owned();
                                out.insert(n.clone(), member(&n));
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                let mut c = pattern.walk();
                for p in pattern.named_children(&mut c) {
                    if p.kind() == "identifier" {
                        out.insert(self.t(p).to_owned(), Value::Local);
                    }
                }
            }
        }
    }

    fn bind_go(&self, node: Node<'t>, kind: &str, out: &mut Bindings) {
        let mut c = node.walk();
        match kind {
            "import_spec" => {
                let Some(path) = node
                    .child_by_field_name("path")
                    .and_then(|p| string_value(p, self.src))
                else {
                    return;
                };
                let name = match node.child_by_field_name("name") {
                    Some(n) if n.kind() == "package_identifier" => self.t(n).to_owned(),
                    Some(n) if n.kind() == "dot" => {
                        out.insert(format!("*{path}"), Value::Target(path));
                        return;
                    }
                    Some(_) => return,
                    None => go_package_name(&path),
                };
                out.insert(name, Value::Target(path));
            }
            "short_var_declaration" | "assignment_statement" => {
                let (Some(left), Some(right)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) else {
                    return;
                };
                let mut c2 = right.walk();
                let values: Vec<Node<'t>> = right.named_children(&mut c2).collect();
                for (i, l) in left.named_children(&mut c).enumerate() {
                    if l.kind() != "identifier" {
                        continue;
                    }
                    let v = if values.len() == 1 && i > 0 {
                        Value::Local
                    } else {
                        values.get(i).map_or(Value::Local, |v| self.value_of(*v))
                    };
                    out.insert(self.t(l).to_owned(), v);
                }
            }
            "var_spec" => {
                let names: Vec<Node<'t>> = node.children_by_field_name("name", &mut c).collect();
                let values: Vec<Node<'t>> = node
                    .child_by_field_name("value")
                    .map(|v| {
                        let mut c2 = v.walk();
                        v.named_children(&mut c2).collect()
                    })
                    .unwrap_or_default();
                for (i, n) in names.iter().enumerate() {
                    let v = values.get(i).map_or(Value::Local, |v| self.value_of(*v));
                    out.insert(self.t(*n).to_owned(), v);
                }
            }
            "parameter_declaration" => {
                for n in node.children_by_field_name("name", &mut c) {
                    out.insert(self.t(n).to_owned(), Value::Local);
                }
            }
            _ => {}
        }
    }

    fn bind_java(&self, node: Node<'t>, kind: &str, out: &mut Bindings) {
        let mut c = node.walk();
        match kind {
            "import_declaration" => {
                let is_wildcard = node.named_children(&mut c).any(|n| n.kind() == "asterisk");
                if is_wildcard {
                    let mut c2 = node.walk();
                    if let Some(path) = node
                        .named_children(&mut c2)
                        .find(|n| matches!(n.kind(), "scoped_identifier" | "identifier"))
                    {
                        let p = squash(self.t(path));
                        out.insert(format!("*{p}"), Value::Target(p));
                    }
                    return;
                }
                let mut c2 = node.walk();
                if let Some(path) = node
                    .named_children(&mut c2)
                    .find(|n| matches!(n.kind(), "scoped_identifier" | "identifier"))
                {
                    let full = squash(self.t(path));
                    let last = full.rsplit('.').next().unwrap_or(&full).to_owned();
                    out.insert(last, Value::Target(full));
                }
            }
            "local_variable_declaration" | "field_declaration" => {
                let Some(ty) = node.child_by_field_name("type") else {
                    return;
                };
                let is_var = self.t(ty) == "var";
                let ty = self.java_type(ty);
                for d in node.children_by_field_name("declarator", &mut c) {
                    let Some(name) = d.child_by_field_name("name") else {
                        continue;
                    };
                    let v = if is_var {
                        d.child_by_field_name("value")
                            .map_or(Value::Local, |v| self.value_of(v))
                    } else {
                        Value::Target(ty.clone())
                    };
                    out.insert(self.t(name).to_owned(), v);
                }
            }
            "formal_parameter" => {
                if let (Some(ty), Some(name)) = (
                    node.child_by_field_name("type"),
                    node.child_by_field_name("name"),
                ) {
                    out.insert(self.t(name).to_owned(), Value::Target(self.java_type(ty)));
                }
            }
            "class_declaration" | "interface_declaration" | "enum_declaration" => {
                if let Some(n) = node.child_by_field_name("name") {
                    out.insert(self.t(n).to_owned(), Value::Local);
                }
            }
            _ => {}
        }
    }

    fn java_type(&self, ty: Node<'t>) -> String {
        let mut n = ty;
        if n.kind() == "generic_type"
            && let Some(inner) = n.named_child(0)
        {
            n = inner;
        }
        let name = squash(self.t(n));
        let first = name.split('.').next().unwrap_or(&name).to_owned();
        match self.module_get(&first) {
            Some(Value::Target(t)) => format!("{t}{}", &name[first.len()..]),
            Some(_) => name,
            None if !name.contains('.') && self.wildcard_target(&name).is_some() => {
                self.wildcard_target(&name).unwrap_or(name)
            }
            None if first.chars().next().is_some_and(char::is_uppercase) && !name.contains('.') => {
                format!("java.lang.{name}")
            }
            None => name,
        }
    }

    fn bind_rust(&self, node: Node<'t>, kind: &str, out: &mut Bindings) {
        match kind {
            "use_declaration" => {
                if let Some(arg) = node.child_by_field_name("argument") {
                    self.bind_use(arg, "", out);
                }
            }
            "let_declaration" => {
                if let Some(p) = node.child_by_field_name("pattern") {
                    let v = node
                        .child_by_field_name("value")
                        .map_or(Value::Local, |v| self.value_of(v));
                    let p = if p.kind() == "mut_pattern" {
                        p.named_child(0).unwrap_or(p)
                    } else {
                        p
                    };
                    if p.kind() == "identifier" {
                        out.insert(self.t(p).to_owned(), v);
                    }
                }
            }
            "parameter" => {
                if let Some(p) = node.child_by_field_name("pattern")
                    && p.kind() == "identifier"
                {
                    out.insert(self.t(p).to_owned(), Value::Local);
                }
            }
            "struct_item" | "enum_item" | "trait_item" | "mod_item" => {
                if let Some(n) = node.child_by_field_name("name") {
                    out.insert(self.t(n).to_owned(), Value::Local);
                }
            }
            _ => {}
        }
    }

    fn bind_use(&self, node: Node<'t>, prefix: &str, out: &mut Bindings) {
        let join = |p: &str, s: &str| {
            if p.is_empty() {
                s.to_owned()
            } else {
                format!("{p}::{s}")
            }
        };
        match node.kind() {
            "identifier" | "scoped_identifier" => {
                let path = squash(self.t(node));
                let full = join(prefix, &path);
                let last = full.rsplit("::").next().unwrap_or(&full).to_owned();
                out.insert(last, Value::Target(full));
            }
            "self" => {
                let last = prefix.rsplit("::").next().unwrap_or(prefix).to_owned();
                out.insert(last, Value::Target(prefix.to_owned()));
            }
            "use_as_clause" => {
                if let (Some(p), Some(a)) = (
                    node.child_by_field_name("path"),
                    node.child_by_field_name("alias"),
                ) {
                    out.insert(
                        self.t(a).to_owned(),
                        Value::Target(join(prefix, &squash(self.t(p)))),
                    );
                }
            }
            "scoped_use_list" => {
                let p = node
                    .child_by_field_name("path")
                    .map(|p| join(prefix, &squash(self.t(p))))
                    .unwrap_or_else(|| prefix.to_owned());
                if let Some(list) = node.child_by_field_name("list") {
                    self.bind_use(list, &p, out);
                }
            }
            "use_wildcard" => {
                let path = squash(self.t(node));
                let path = path.trim_end_matches("::*").trim_end_matches('*');
                let full = if prefix.is_empty() {
                    path.to_owned()
                } else if path.is_empty() {
                    prefix.to_owned()
                } else {
                    format!("{prefix}::{path}")
                };
                out.insert(format!("*{full}"), Value::Target(full));
            }
            "use_list" => {
                let mut c = node.walk();
                for ch in node.named_children(&mut c) {
                    self.bind_use(ch, prefix, out);
                }
            }
            _ => {}
        }
    }

    fn bind_c(&self, node: Node<'t>, kind: &str, out: &mut Bindings) {
        match kind {
            "preproc_def" => {
                // `#define RUN system`: a name for a name.
                if let (Some(n), Some(v)) = (
                    node.child_by_field_name("name"),
                    node.child_by_field_name("value"),
                ) {
                    let value = self.t(v).trim();
                    if !value.is_empty()
                        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        let v = match out.get(value).or_else(|| self.module_get(value)) {
                            Some(v) => v.clone(),
                            None => Value::Target(value.to_owned()),
                        };
                        out.insert(self.t(n).to_owned(), v);
                    }
                }
            }
            "init_declarator" => {
                if let (Some(d), Some(v)) = (
                    node.child_by_field_name("declarator"),
                    node.child_by_field_name("value"),
                ) && let Some(name) = declarator_name(d, self.src)
                {
                    let v = if matches!(v.kind(), "identifier" | "pointer_expression") {
                        self.value_of(v)
                    } else {
                        Value::Local
                    };
                    out.insert(name, v);
                }
            }
            "assignment_expression" => {
                if let (Some(l), Some(r)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                ) && l.kind() == "identifier"
                    && r.kind() == "identifier"
                {
                    out.insert(self.t(l).to_owned(), self.value_of(r));
                }
            }
            "parameter_declaration" => {
                if let Some(d) = node.child_by_field_name("declarator")
                    && let Some(name) = declarator_name(d, self.src)
                {
                    out.insert(name, Value::Local);
                }
            }
            _ => {}
        }
    }

    /// The bindings of a function scope (computed once).
    fn scope_bindings(&mut self, scope: Node<'t>) {
        let id = scope.id();
        if !self.scopes.contains_key(&id) {
            let mut b = Bindings::new();
            self.collect(scope, scope, &mut b, 0);
            self.scopes.insert(id, b);
        }
    }

    /// Looks `name` up from `at` outwards.
    fn lookup(&self, name: &str, at: Node<'t>) -> Option<Value> {
        let mut n = at.parent();
        while let Some(p) = n {
            if is_function_like(self.lang, p.kind())
                && let Some(v) = self.scopes.get(&p.id()).and_then(|b| b.get(name))
            {
                return Some(v.clone());
            }
            n = p.parent();
        }
        self.module_get(name).cloned()
    }

    /// Prepares the scopes enclosing `node`.
    fn enter(&mut self, node: Node<'t>) {
        let mut n = node.parent();
        while let Some(p) = n {
            if is_function_like(self.lang, p.kind()) {
                self.scope_bindings(p);
            }
            n = p.parent();
        }
    }

    fn resolve_name(&self, node: Node<'t>) -> Res {
        let name = self.t(node);
        match self.lookup(name, node) {
            Some(Value::Target(t)) => Res::Target(t),
            Some(Value::Dynamic(d)) => Res::Dynamic(d),
            Some(Value::Local) => Res::Unknown,
            None if self.lang == Language::Python && name == "__builtins__" => {
                Res::Target("builtins".to_owned())
            }
            None if self.wildcard_target(name).is_some() => {
                Res::Target(self.wildcard_target(name).unwrap_or_default())
            }
            None => {
                if self.lang == Language::Java
                    && name.chars().next().is_some_and(char::is_uppercase)
                    && name.chars().any(char::is_lowercase)
                {
                    Res::Target(format!("java.lang.{name}"))
                } else if self.lang.is_js_family()
                    && matches!(name, "globalThis" | "window" | "global" | "self")
                {
                    Res::Target(String::new())
                } else {
                    Res::Target(name.to_owned())
                }
            }
        }
    }

    /// A name a wildcard import (`from m import *`, `use m::*`, `import m.*`, Go's `.`
    /// import) brings, if it is one the capability table knows.
    fn wildcard_target(&self, name: &str) -> Option<String> {
        let sep = if self.lang == Language::Rust {
            "::"
        } else {
            "."
        };
        self.module()?
            .iter()
            .find_map(|(k, v)| match (k.strip_prefix('*'), v) {
                (Some(_), Value::Target(m)) => {
                    let candidate = format!("{m}{sep}{name}");
                    let known = capabilities::lookup(self.lang.name(), &candidate)
                        .next()
                        .is_some();
                    known.then_some(candidate)
                }
                _ => None,
            })
    }

    fn member(&self, object: Res, sep: &str, name: &str) -> Res {
        match object {
            Res::Target(t) if t.is_empty() => Res::Target(name.to_owned()),
            // `os.__dict__["system"]` is `os.system`.
            Res::Target(t) if name == "__dict__" => Res::Target(t),
            Res::Target(t) => Res::Target(format!("{t}{sep}{name}")),
            Res::Dynamic(d) => Res::Dynamic(d),
            Res::Unknown => Res::Target(format!("?.{name}")),
        }
    }

    /// What an expression resolves to.
    fn resolve(&self, node: Node<'t>) -> Res {
        self.resolve_depth(node, 0)
    }

    fn resolve_depth(&self, node: Node<'t>, depth: usize) -> Res {
        if depth > 32 {
            return Res::Unknown;
        }
        let field = |n: &str| node.child_by_field_name(n);
        let sub =
            |n: Option<Node<'t>>| n.map_or(Res::Unknown, |n| self.resolve_depth(n, depth + 1));
        match node.kind() {
            "identifier" | "type_identifier" | "package_identifier" => self.resolve_name(node),
            "attribute" => {
                let name = field("attribute").map_or("", |n| self.t(n));
                self.member(sub(field("object")), ".", name)
            }
            "member_expression" => {
                let name = field("property").map_or("", |n| self.t(n));
                self.member(sub(field("object")), ".", name)
            }
            "selector_expression" => {
                let name = field("field").map_or("", |n| self.t(n));
                self.member(sub(field("operand")), ".", name)
            }
            "field_access" => {
                let name = field("field").map_or("", |n| self.t(n));
                self.member(sub(field("object")), ".", name)
            }
            "field_expression" => {
                if self.lang == Language::C {
                    return Res::Unknown;
                }
                let name = field("field").map_or("", |n| self.t(n));
                self.member(sub(field("value")), ".", name)
            }
            "scoped_identifier" | "scoped_type_identifier" => {
                if self.lang == Language::Java {
                    let full = squash(self.t(node));
                    let first = full.split('.').next().unwrap_or("").to_owned();
                    return match self.module_get(&first) {
                        Some(Value::Target(t)) => {
                            Res::Target(format!("{t}{}", &full[first.len()..]))
                        }
                        _ => Res::Target(full),
                    };
                }
                let name = field("name").map_or("", |n| self.t(n));
                match field("path") {
                    Some(p) => self.member(sub(Some(p)), "::", name),
                    None => Res::Target(name.to_owned()),
                }
            }
            "subscript" => {
                // Python: `os.__dict__["system"]`, `vars(os)["system"]`, `globals()[name]`.
                let base = sub(field("value"));
                let key = field("subscript").and_then(|k| string_value(k, self.src));
                match (base, key) {
                    (Res::Target(t), Some(k)) if t == "globals()" || t == "locals()" => {
                        self.resolve_name_str(&k, node)
                    }
                    (Res::Target(t), Some(k)) if !t.ends_with("()") && !t.starts_with('?') => {
                        self.member(Res::Target(t), ".", &k)
                    }
                    (Res::Target(t), None)
                        if matches!(t.as_str(), "globals()" | "locals()" | "builtins")
                            || self.is_module_namespace(field("value")) =>
                    {
                        Res::Dynamic(clip(self.t(node)))
                    }
                    _ => Res::Unknown,
                }
            }
            "subscript_expression" => {
                let index = field("index");
                match index.and_then(|i| string_value(i, self.src)) {
                    Some(s) => self.member(sub(field("object")), ".", &s),
                    None => Res::Dynamic(clip(self.t(node))),
                }
            }
            "generic_function" => sub(field("function")),
            "as_expression" | "satisfies_expression" | "non_null_expression" => {
                sub(node.named_child(0))
            }
            "parenthesized_expression"
            | "await_expression"
            | "type_assertion"
            | "pointer_expression"
            | "cast_expression" => {
                let mut c = node.walk();
                let inner = node
                    .child_by_field_name("argument")
                    .or_else(|| node.child_by_field_name("value"))
                    .or_else(|| node.named_children(&mut c).last());
                sub(inner)
            }
            "object_creation_expression" => match field("type") {
                Some(ty) => Res::Target(format!("{}()", self.java_type(ty))),
                None => Res::Unknown,
            },
            "method_invocation" => {
                let name = field("name").map_or("", |n| self.t(n));
                let base = match field("object") {
                    Some(o) => self.member(sub(Some(o)), ".", name),
                    None => self.resolve_name_str(name, node),
                };
                self.through_call(base, node)
            }
            "new_expression" => match sub(field("constructor")) {
                Res::Target(t) => Res::Target(format!("{t}()")),
                other => other,
            },
            "call" | "call_expression" => {
                let callee = field("function");
                let base = match callee {
                    Some(c) if c.kind() == "import" => Res::Target("import".to_owned()),
                    other => sub(other),
                };
                // Python: `vars(os)` is the namespace of `os`.
                if self.lang == Language::Python && base == Res::Target("vars".to_owned()) {
                    return self
                        .args(node)
                        .first()
                        .map_or(Res::Unknown, |a| self.resolve(*a));
                }
                self.through_call(base, node)
            }
            _ => Res::Unknown,
        }
    }

    /// Python: whether an expression is a module's namespace (`os.__dict__`, `vars(os)`).
    fn is_module_namespace(&self, node: Option<Node<'t>>) -> bool {
        let Some(n) = node else { return false };
        let text = squash(self.t(n));
        text.ends_with(".__dict__") || text.starts_with("vars(")
    }

    fn resolve_name_str(&self, name: &str, at: Node<'t>) -> Res {
        match self.lookup(name, at) {
            Some(Value::Target(t)) => Res::Target(t),
            Some(Value::Dynamic(d)) => Res::Dynamic(d),
            Some(Value::Local) => Res::Unknown,
            None => Res::Target(name.to_owned()),
        }
    }

    /// The argument nodes of a call.
    fn args(&self, call: Node<'t>) -> Vec<Node<'t>> {
        let Some(list) = call.child_by_field_name("arguments") else {
            return Vec::new();
        };
        let mut c = list.walk();
        list.named_children(&mut c)
            .filter(|n| !crate::languages::is_comment_kind(n.kind()))
            .collect()
    }

    /// The value of a call to `base`: through `getattr`, `require` and the like with a
    /// literal name, statically; with a computed name, dynamic; otherwise `base()`.
    fn through_call(&self, base: Res, call: Node<'t>) -> Res {
        let Res::Target(t) = base else {
            return base;
        };
        let dynamic_row = capabilities::lookup(self.lang.name(), &t)
            .find(|r| r.literal_arg.is_some() && r.capability == Capability::Dynamic);
        if let Some(row) = dynamic_row {
            let args = self.args(call);
            let i = row.literal_arg.unwrap_or(0);
            return match args.get(i).and_then(|a| string_value(*a, self.src)) {
                Some(lit) if i == 1 => {
                    let object = args.first().map_or(Res::Unknown, |o| self.resolve(*o));
                    self.member(object, ".", &lit)
                }
                Some(lit) if self.lang.is_js_family() => Res::Target(js_module(&lit)),
                Some(lit) => Res::Target(lit),
                None if self.bounded_dispatch(call) => Res::Unknown,
                None => Res::Dynamic(clip(self.t(call))),
            };
        }
        Res::Target(format!("{t}()"))
    }

    /// The callee of a call node, as written, and what it resolves to.
    fn callee(&self, call: Node<'t>) -> (String, Res) {
        match call.kind() {
            "method_invocation" => {
                let name = call.child_by_field_name("name").map_or("", |n| self.t(n));
                let written = match call.child_by_field_name("object") {
                    Some(o) => format!("{}.{name}", self.t(o)),
                    None => name.to_owned(),
                };
                let res = match call.child_by_field_name("object") {
                    Some(o) => self.member(self.resolve(o), ".", name),
                    None => self.resolve_name_str(name, call),
                };
                (written, res)
            }
            "object_creation_expression" => {
                let ty = call.child_by_field_name("type");
                let written = ty.map_or(String::new(), |t| format!("new {}", self.t(t)));
                let res = ty.map_or(Res::Unknown, |t| Res::Target(self.java_type(t)));
                (written, res)
            }
            "new_expression" => {
                let ctor = call.child_by_field_name("constructor");
                let written = ctor.map_or(String::new(), |c| format!("new {}", self.t(c)));
                (written, ctor.map_or(Res::Unknown, |c| self.resolve(c)))
            }
            _ => {
                let f = call.child_by_field_name("function");
                let written = f.map_or(String::new(), |f| self.t(f).to_owned());
                let res = match f {
                    Some(f) if f.kind() == "import" => Res::Target("import".to_owned()),
                    Some(f) => self.resolve(f),
                    None => Res::Unknown,
                };
                (written, res)
            }
        }
    }

    /// Whether the first name of `written` is an alias: bound to a target whose last part
    /// has another name.
    fn is_alias(&self, written: &str, at: Node<'t>) -> bool {
        let first = written
            .trim_start_matches("new ")
            .split(['.', ':', '(', '['])
            .next()
            .unwrap_or("");
        match self.lookup(first, at) {
            Some(Value::Target(t)) => {
                let last = t
                    .trim_end_matches("()")
                    .rsplit(['.', ':', '/'])
                    .next()
                    .unwrap_or("");
                last != first
            }
            Some(Value::Dynamic(_)) => true,
            _ => false,
        }
    }

    /// The names of the enclosing functions, outermost first.
    fn scope_of(&self, node: Node<'t>) -> String {
        let mut names = Vec::new();
        let mut n = node.parent();
        while let Some(p) = n {
            if is_function_like(self.lang, p.kind()) {
                names.push(function_name(p, self.src).unwrap_or_else(|| "<fn>".to_owned()));
            }
            n = p.parent();
        }
        names.reverse();
        names.join("/")
    }

    /// Names around a call: what it is assigned to, the enclosing function, its plain
    /// arguments.
    fn context(&self, call: Node<'t>) -> Vec<String> {
        let mut out = Vec::new();
        let mut n = call.parent();
        let mut steps = 0;
        while let Some(p) = n {
            steps += 1;
            if steps > 8 || is_function_like(self.lang, p.kind()) {
                break;
            }
            let target = match p.kind() {
                "assignment"
                | "assignment_expression"
                | "assignment_statement"
                | "short_var_declaration"
                | "augmented_assignment" => p.child_by_field_name("left"),
                "variable_declarator" | "init_declarator" => p
                    .child_by_field_name("name")
                    .or_else(|| p.child_by_field_name("declarator")),
                "let_declaration" => p.child_by_field_name("pattern"),
                "pair" | "keyed_element" | "keyword_argument" => p
                    .child_by_field_name("key")
                    .or_else(|| p.child_by_field_name("name"))
                    .or_else(|| p.named_child(0)),
                "var_spec" | "const_spec" => p.child_by_field_name("name"),
                _ => None,
            };
            if let Some(t) = target {
                out.push(self.t(t).to_owned());
            }
            n = p.parent();
        }
        let mut f = call.parent();
        while let Some(p) = f {
            if is_function_like(self.lang, p.kind()) {
                if let Some(name) = function_name(p, self.src) {
                    out.push(name);
                }
                break;
            }
            f = p.parent();
        }
        for a in self.args(call) {
            if matches!(
                a.kind(),
                "identifier"
                    | "attribute"
                    | "member_expression"
                    | "field_expression"
                    | "selector_expression"
            ) || a.kind() == "unary_expression"
                || a.kind() == "reference_expression"
            {
                out.push(self.t(a).to_owned());
            }
        }
        out
    }

    /// Python: `getattr(self, "visit_" + kind)`: a method of the object itself whose name
    /// starts with a fixed prefix (a visitor's dispatch), not any function at all.
    fn bounded_dispatch(&self, call: Node<'t>) -> bool {
        if self.lang != Language::Python {
            return false;
        }
        let args = self.args(call);
        let (Some(object), Some(name)) = (args.first(), args.get(1)) else {
            return false;
        };
        if !matches!(self.t(*object), "self" | "cls") {
            return false;
        }
        if name.kind() == "identifier" {
            // `method = 'visit_' + kind; getattr(self, method)`: every assignment of the name
            // in the function must be a prefixed one.
            let Some(func) = enclosing_function(self.lang, call) else {
                return false;
            };
            let mut values = Vec::new();
            let mut stack = vec![func];
            let mut cursor = func.walk();
            while let Some(n) = stack.pop() {
                if n.kind() == "assignment"
                    && n.child_by_field_name("left").map(|l| self.t(l)) == Some(self.t(*name))
                {
                    values.push(n.child_by_field_name("right"));
                }
                cursor.reset(n);
                for c in n.named_children(&mut cursor) {
                    stack.push(c);
                }
            }
            return !values.is_empty()
                && values
                    .into_iter()
                    .all(|v| v.is_some_and(|v| self.prefixed_name(v)));
        }
        self.prefixed_name(*name)
    }

    /// Python: a string built from a fixed, non-empty prefix (`'visit_' + x`, `f'visit_{x}'`).
    fn prefixed_name(&self, name: Node<'t>) -> bool {
        let prefix = match name.kind() {
            "binary_operator" => name
                .child_by_field_name("left")
                .and_then(|l| string_value(l, self.src)),
            "string" => {
                // An f-string: the text before its first interpolation.
                let t = self.t(name);
                t.strip_prefix(['f', 'F'])
                    .map(|r| r.trim_start_matches(['"', '\'']))
                    .map(|r| r.split('{').next().unwrap_or("").to_owned())
            }
            _ => None,
        };
        prefix.is_some_and(|p| !p.is_empty())
    }

    /// Whether an argument is a string built right there from pieces: a concatenation or a
    /// `%` with a string, an interpolated string (f-string, template, `${}`), or a format call
    /// (`.format(...)`, `format!`, `fmt.Sprintf`, `String.format`, `sprintf`).
    fn built_string(&self, node: Node<'t>) -> bool {
        self.built_string_depth(node, 0)
    }

    fn built_string_depth(&self, node: Node<'t>, depth: usize) -> bool {
        if depth > 32 {
            return false;
        }
        let kind = node.kind();
        match kind {
            "binary_operator" | "binary_expression" => {
                let op = node
                    .child_by_field_name("operator")
                    .map_or("", |o| self.t(o));
                matches!(op, "+" | "%" | "||")
                    && [
                        node.child_by_field_name("left"),
                        node.child_by_field_name("right"),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|side| is_string(side.kind()) || self.built_string_depth(side, depth + 1))
            }
            "string" | "template_string" => {
                let mut c = node.walk();
                node.named_children(&mut c)
                    .any(|n| matches!(n.kind(), "interpolation" | "template_substitution"))
            }
            "reference_expression" | "parenthesized_expression" => {
                let mut c = node.walk();
                let inner = node.named_children(&mut c).last();
                inner.is_some_and(|n| self.built_string_depth(n, depth + 1))
            }
            "macro_invocation" => self.t(node).starts_with("format!"),
            "call" | "call_expression" | "method_invocation" => {
                let callee = node
                    .child_by_field_name("function")
                    .or_else(|| node.child_by_field_name("name"))
                    .map_or("", |f| self.t(f));
                callee.ends_with(".format")
                    || callee.ends_with("Sprintf")
                    || callee == "format"
                    || callee == "sprintf"
                    || callee.ends_with(".concat")
            }
            _ => false,
        }
    }

    /// The capability hits of one call node.
    fn hits_of(&self, call: Node<'t>, out: &mut Vec<Hit>) {
        let (written, res) = self.callee(call);
        let row = call.start_position().row;
        let text = squash(self.t(call));
        match res {
            Res::Dynamic(how) => out.push(Hit {
                row,
                capability: Capability::Dynamic,
                pattern: "",
                target: how,
                written,
                alias: false,
                text,
                scope: self.scope_of(call),
                context: Vec::new(),
                computed: true,
                passed: false,
            }),
            Res::Target(t) => {
                for r in capabilities::lookup(self.lang.name(), &t) {
                    if let Some(i) = r.literal_arg {
                        let args = self.args(call);
                        if r.capability == Capability::Sql {
                            // Only SQL text built here from pieces counts.
                            if !args.get(i).is_some_and(|a| self.built_string(*a)) {
                                continue;
                            }
                        } else if args
                            .get(i)
                            .and_then(|a| string_value(*a, self.src))
                            .is_some()
                            || self.bounded_dispatch(call)
                        {
                            continue;
                        }
                    }
                    let target = if r.literal_arg.is_some() {
                        clip(self.t(call))
                    } else {
                        t.trim_end_matches("()").to_owned()
                    };
                    let alias = self.is_alias(&written, call);
                    out.push(Hit {
                        row,
                        capability: r.capability,
                        pattern: r.target,
                        target,
                        written: written.clone(),
                        alias,
                        text: text.clone(),
                        scope: self.scope_of(call),
                        context: if r.capability == Capability::WeakRandom {
                            self.context(call)
                        } else {
                            Vec::new()
                        },
                        computed: r.literal_arg.is_some(),
                        passed: false,
                    });
                    break;
                }
            }
            Res::Unknown => {}
        }
    }

    /// References (not calls) to TLS rows: `ssl.CERT_NONE`, a context factory assigned.
    fn reference_hits(&self, node: Node<'t>, out: &mut Vec<Hit>) {
        if let Some(p) = node.parent()
            && (is_call(self.lang, p.kind())
                || matches!(
                    p.kind(),
                    "attribute" | "member_expression" | "selector_expression" | "field_access"
                ))
        {
            return;
        }
        if let Res::Target(t) = self.resolve(node) {
            for r in capabilities::lookup(self.lang.name(), &t) {
                if r.capability == Capability::Tls {
                    out.push(Hit {
                        row: node.start_position().row,
                        capability: r.capability,
                        pattern: r.target,
                        target: t.clone(),
                        written: self.t(node).to_owned(),
                        alias: false,
                        text: squash(self.t(node)),
                        scope: self.scope_of(node),
                        context: Vec::new(),
                        computed: false,
                        passed: false,
                    });
                    break;
                }
            }
        }
    }

    /// A function with a capability passed on as a value (`Thread(target=os.system)`,
    /// `cmds.forEach(cp.execSync)`, `functools.partial(subprocess.run, shell=True)`).
    fn passed_hits(&self, node: Node<'t>, out: &mut Vec<Hit>) {
        let Res::Target(t) = self.resolve(node) else {
            return;
        };
        // `Function` as a value is a type check (`isType(x, Function)`), not a constructor call.
        if self.lang.is_js_family() && t == "Function" {
            return;
        }
        let row = capabilities::lookup(self.lang.name(), &t).find(|r| {
            matches!(
                r.capability,
                Capability::Process
                    | Capability::CodeEval
                    | Capability::Deserialization
                    | Capability::FilePermissions
            ) || (r.capability == Capability::Dynamic && r.literal_arg.is_none())
        });
        if let Some(r) = row {
            let written = self.t(node).to_owned();
            out.push(Hit {
                row: node.start_position().row,
                capability: r.capability,
                pattern: r.target,
                alias: self.is_alias(&written, node),
                target: t,
                text: squash(&written),
                written,
                scope: self.scope_of(node),
                context: Vec::new(),
                computed: false,
                passed: true,
            });
        }
    }

    /// Every hit on `rows` (0-based; `None`: the whole file). A call counts when a row it
    /// spans is in `rows`, except rows inside a function passed to it as an argument.
    /// With `functions`, only functions of those names are looked into (the before side of
    /// the functions a change reaches a capability in).
    pub(crate) fn hits(
        &mut self,
        rows: Option<&BTreeSet<usize>>,
        functions: Option<&BTreeSet<String>>,
    ) -> Vec<Hit> {
        let mut calls: Vec<Node<'t>> = Vec::new();
        let mut refs: Vec<Node<'t>> = Vec::new();
        let mut passed: Vec<Node<'t>> = Vec::new();
        let mut cursor = self.root.walk();
        let intersects = |n: Node<'_>| match rows {
            None => true,
            Some(rows) => rows
                .range(n.start_position().row..=n.end_position().row)
                .next()
                .is_some(),
        };
        let span = rows.and_then(|r| Some((*r.first()?, *r.last()?)));
        let mut stack = vec![self.root];
        while let Some(node) = stack.pop() {
            if !intersects(node) {
                continue;
            }
            let kind = node.kind();
            if let Some(names) = functions
                && is_function_like(self.lang, kind)
                && !names
                    .contains(&function_name(node, self.src).unwrap_or_else(|| "<fn>".to_owned()))
            {
                continue;
            }
            if is_call(self.lang, kind) && self.counts(node, rows) {
                calls.push(node);
            } else if matches!(
                kind,
                "attribute" | "member_expression" | "selector_expression" | "field_access"
            ) {
                refs.push(node);
            } else if matches!(kind, "argument_list" | "arguments") {
                cursor.reset(node);
                for arg in node.named_children(&mut cursor) {
                    let value = if arg.kind() == "keyword_argument" {
                        arg.child_by_field_name("value")
                    } else {
                        Some(arg)
                    };
                    if let Some(v) = value
                        && is_value_reference(v.kind())
                        && intersects(v)
                    {
                        passed.push(v);
                    }
                }
            }
            push_children(node, span, &mut stack);
        }
        let mut out = Vec::new();
        for call in calls {
            self.enter(call);
            self.hits_of(call, &mut out);
        }
        for r in refs {
            self.enter(r);
            self.reference_hits(r, &mut out);
        }
        for p in passed {
            self.enter(p);
            self.passed_hits(p, &mut out);
        }
        // The head of a chain first (`Command::new` before `Command::new().arg`), so that it
        // names the finding.
        out.sort_by_key(|h| (h.row, h.target.len(), h.written.len()));
        out
    }

    /// Whether a call intersecting `rows` counts: a row of it is in `rows` outside the
    /// functions passed to it as arguments.
    fn counts(&self, call: Node<'t>, rows: Option<&BTreeSet<usize>>) -> bool {
        let Some(rows) = rows else { return true };
        let fns: Vec<(usize, usize)> = self
            .args(call)
            .into_iter()
            .filter(|a| is_function_like(self.lang, a.kind()))
            .map(|a| (a.start_position().row, a.end_position().row))
            .collect();
        rows.range(call.start_position().row..=call.end_position().row)
            .any(|r| !fns.iter().any(|(s, e)| s < r && r <= e))
    }

    /// Functions on `rows` that accept every certificate: `(row, name)`.
    pub(crate) fn accepting_verifiers(&self, rows: &BTreeSet<usize>) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let span = rows.first().zip(rows.last()).map(|(a, b)| (*a, *b));
        let mut stack = vec![self.root];
        while let Some(node) = stack.pop() {
            if rows
                .range(node.start_position().row..=node.end_position().row)
                .next()
                .is_none()
            {
                continue;
            }
            if is_function_like(self.lang, node.kind())
                && let Some(name) = function_name(node, self.src)
                && is_verifier_name(&name, self.t(node))
                && self.always_accepts(node)
            {
                out.push((node.start_position().row, name));
            }
            push_children(node, span, &mut stack);
        }
        out.sort();
        out
    }

    /// Whether a function's body is empty or only returns an accepting constant.
    fn always_accepts(&self, func: Node<'t>) -> bool {
        let Some(body) = func.child_by_field_name("body") else {
            return false;
        };
        let mut c = body.walk();
        let stmts: Vec<Node<'t>> = if matches!(
            body.kind(),
            "block" | "statement_block" | "compound_statement"
        ) {
            body.named_children(&mut c)
                .filter(|n| !crate::languages::is_comment_kind(n.kind()))
                .collect()
        } else {
            vec![body]
        };
        match stmts.as_slice() {
            [] => true,
            [one] => {
                let t = squash(self.t(*one));
                let t = t.trim_start_matches("return").trim_end_matches(';');
                accepting_constant().is_match(t)
            }
            _ => false,
        }
    }
}

/// Pushes the named children of `node` that may reach rows `span` (first, last), or all of
/// them without a span: a change in one function of a big file visits that function's
/// ancestors and itself, not every top-level item.
fn push_children<'t>(node: Node<'t>, span: Option<(usize, usize)>, stack: &mut Vec<Node<'t>>) {
    let mut c = node.walk();
    let Some((first, last)) = span else {
        stack.extend(node.named_children(&mut c));
        return;
    };
    if c.goto_first_child_for_point(tree_sitter::Point::new(first, 0))
        .is_none()
    {
        return;
    }
    loop {
        let child = c.node();
        if child.start_position().row > last {
            break;
        }
        if child.is_named() {
            stack.push(child);
        }
        if !c.goto_next_sibling() {
            break;
        }
    }
}

/// The innermost function enclosing `node`.
fn enclosing_function(lang: Language, node: Node<'_>) -> Option<Node<'_>> {
    let mut n = node.parent();
    while let Some(p) = n {
        if is_function_like(lang, p.kind()) {
            return Some(p);
        }
        n = p.parent();
    }
    None
}

/// Whether a node kind names a value (a name or a member), not computes one.
fn is_value_reference(kind: &str) -> bool {
    matches!(
        kind,
        "identifier"
            | "attribute"
            | "member_expression"
            | "selector_expression"
            | "field_access"
            | "scoped_identifier"
            | "field_expression"
    )
}

fn accepting_constant() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?:true|True|1|nil|None|undefined|null|Ok\(\(\)\)|Ok\([\w:]*(?:ServerCertVerified|ClientCertVerified|HandshakeSignatureValid)::assertion\(\)\))$",
        )
        .expect("the accepting-constant pattern is a constant")
    })
}

/// Whether a function of this name (and text) is a certificate or host name verifier.
fn is_verifier_name(name: &str, body: &str) -> bool {
    let n = name.trim_matches(|c| c == '"' || c == '\'');
    matches!(
        n,
        "verify_server_cert"
            | "verify_client_cert"
            | "verify_tls12_signature"
            | "verify_tls13_signature"
            | "checkServerTrusted"
            | "checkClientTrusted"
            | "VerifyPeerCertificate"
            | "VerifyConnection"
            | "checkServerIdentity"
            | "verify_callback"
            | "verify_cb"
            | "isTrusted"
    ) || (n == "verify" && body.contains("SSLSession"))
}

/// A JS module specifier as the table spells it (`node:fs` → `fs`).
fn js_module(s: &str) -> String {
    s.strip_prefix("node:").unwrap_or(s).to_owned()
}

/// The name a Go import path binds by default.
fn go_package_name(path: &str) -> String {
    let mut parts = path.rsplit('/');
    let mut last = parts.next().unwrap_or(path);
    if last.len() >= 2 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit()) {
        last = parts.next().unwrap_or(last);
    }
    let last = last.strip_prefix("go-").unwrap_or(last);
    let last = last.split('.').next().unwrap_or(last);
    last.replace('-', "_")
}

/// The findings of a change: capabilities newly reached on the `added` rows (0-based) of the
/// after text, minus calls the same function already made the same way before.
pub(crate) fn findings(
    lang: Language,
    after: (&Tree, &str),
    before: Option<(&Tree, &str)>,
    added: &BTreeSet<usize>,
) -> Vec<Finding> {
    if added.is_empty() {
        return Vec::new();
    }
    let mut resolver = Resolver::new(lang, after.0, after.1);
    let mut hits = resolver.hits(Some(added), None);
    if !hits.is_empty()
        && let Some((bt, bs)) = before
    {
        let scopes: BTreeSet<String> = hits
            .iter()
            .flat_map(|h| h.scope.split('/').map(str::to_owned))
            .collect();
        let mut old = Resolver::new(lang, bt, bs);
        let known: BTreeSet<(String, String, String)> = old
            .hits(None, Some(&scopes))
            .into_iter()
            .map(|h| (h.scope, h.target, h.text))
            .collect();
        hits.retain(|h| !known.contains(&(h.scope.clone(), h.target.clone(), h.text.clone())));
    }
    let mut out = Vec::new();
    for h in hits {
        if let Some(f) = finding_of(&h) {
            out.push(f);
        }
    }
    for (row, name) in resolver.accepting_verifiers(added) {
        out.push(Finding {
            line: row + 1,
            domain: Domain::Network,
            level: Level::High,
            reason: format!(
                "installs a certificate verifier that accepts everything (`{name}` checks nothing): TLS verification off"
            ),
            key: format!("verifier {name}"),
        });
    }
    let mut seen = BTreeSet::new();
    out.retain(|f| seen.insert(f.key.clone()));
    out
}

fn finding_of(h: &Hit) -> Option<Finding> {
    let what = h.capability.what();
    let via = if h.alias {
        format!(" through the alias `{}`", clip(&h.written))
    } else {
        String::new()
    };
    let reason = match h.capability {
        Capability::Sql => format!("runs SQL built at run time (`{}`)", h.target),
        Capability::Dynamic if h.pattern.is_empty() || h.computed => format!(
            "computes the called function at run time (`{}`): dynamic dispatch",
            h.target
        ),
        Capability::WeakRandom => {
            let name = h.context.iter().find(|n| is_secret_name(n))?;
            format!("generates `{}` with `{}` ({what})", clip(name), h.target)
        }
        Capability::Tls => format!(
            "turns TLS certificate verification off (`{}`)",
            clip(&h.written)
        ),
        Capability::WeakCrypto => format!("uses `{}`{via} ({what})", h.target),
        _ if h.passed => format!("passes `{}`{via} on as a value ({what})", h.target),
        // A method of an unknown receiver is named as written.
        _ if h.target.starts_with('?') => format!("calls `{}` ({what})", clip(&h.written)),
        _ => format!("calls `{}`{via} ({what})", h.target),
    };
    Some(Finding {
        line: h.row + 1,
        domain: h.capability.domain(),
        level: h.capability.level(),
        reason,
        key: format!("{:?} {}", h.capability, h.pattern),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weakening::suppression;

    fn found(path: &str, before: Option<&str>, after: &str) -> Vec<String> {
        let lang = Language::from_path(path).expect("known language");
        let at = lang.parse(after).expect("parses");
        let bt = before.and_then(|b| lang.parse(b));
        let before_lines: BTreeSet<&str> = before.map(|b| b.lines().collect()).unwrap_or_default();
        let added: BTreeSet<usize> = after
            .lines()
            .enumerate()
            .filter(|(_, l)| !before_lines.contains(l))
            .map(|(i, _)| i)
            .collect();
        findings(lang, (&at, after), bt.as_ref().zip(before), &added)
            .into_iter()
            .map(|f| f.reason)
            .collect()
    }

    #[test]
    fn python_aliases_and_rebindings_resolve() {
        let r = found(
            "a.py",
            None,
            "import os\nrun = os.system\ndef f(c):\n    run(c)\n",
        );
        assert!(
            r.iter()
                .any(|x| x.contains("calls `os.system` through the alias `run`")),
            "{r:?}"
        );
        let r = found(
            "a.py",
            None,
            "from subprocess import check_output as co\nco(['ls'])\n",
        );
        assert!(
            r.iter().any(|x| x.contains("subprocess.check_output")),
            "{r:?}"
        );
        let r = found(
            "a.py",
            None,
            "import os\ndef f(n):\n    getattr(os, 'sys' + 'tem')(n)\n",
        );
        assert!(r.iter().any(|x| x.contains("dynamic dispatch")), "{r:?}");
        let r = found(
            "a.py",
            None,
            "import os\ndef f(n):\n    getattr(os, 'system')(n)\n",
        );
        assert!(r.iter().any(|x| x.contains("os.system")), "{r:?}");
        let r = found("a.py", None, "def system(x):\n    return x\nsystem('ls')\n");
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "a.py",
            None,
            "import random\ndef make_token():\n    return random.random()\n",
        );
        assert!(
            r.iter()
                .any(|x| x.contains("generates `make_token` with `random.random`")),
            "{r:?}"
        );
        let r = found(
            "a.py",
            None,
            "import random\ndef backoff(n):\n    return random.random() * n\n",
        );
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn js_rust_go_java_c_resolve() {
        let r = found(
            "a.js",
            None,
            "const cp = require('child_process');\nfunction f(x) { cp.execSync(x); }\n",
        );
        assert!(
            r.iter().any(|x| x.contains("child_process.execSync")),
            "{r:?}"
        );
        let r = found(
            "a.js",
            None,
            "const { exec: run } = require('node:child_process');\nrun('ls');\n",
        );
        assert!(
            r.iter()
                .any(|x| x.contains("child_process.exec` through the alias `run`")),
            "{r:?}"
        );
        let r = found("a.js", None, "const re = /a/;\nre.exec('a');\n");
        assert!(r.is_empty(), "{r:?}");
        let r = found("a.js", None, "function f(m) { return require(m); }\n");
        assert!(r.iter().any(|x| x.contains("dynamic dispatch")), "{r:?}");
        let r = found(
            "a.rs",
            None,
            "use std::process::Command as Cmd;\nfn f() { Cmd::new(\"sh\").spawn(); }\n",
        );
        assert!(
            r.iter().any(|x| x.contains("std::process::Command::new")),
            "{r:?}"
        );
        let r = found(
            "a.go",
            None,
            "package a\nimport run \"os/exec\"\nfunc F() { run.Command(\"ls\").Run() }\n",
        );
        assert!(r.iter().any(|x| x.contains("os/exec.Command")), "{r:?}");
        let r = found(
            "a.go",
            None,
            "package a\nimport \"crypto/rand\"\nfunc Key(b []byte) { rand.Read(b) }\n",
        );
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "A.java",
            None,
            "class A { void f(String c) throws Exception { Runtime rt = Runtime.getRuntime(); rt.exec(c); } }\n",
        );
        assert!(
            r.iter().any(|x| x.contains("java.lang.Runtime.exec")),
            "{r:?}"
        );
        let r = found(
            "a.c",
            None,
            "#include <stdlib.h>\nint (*run)(const char *) = system;\nvoid f(char *c) { run(c); }\n",
        );
        assert!(
            r.iter()
                .any(|x| x.contains("calls `system` through the alias `run`")),
            "{r:?}"
        );
        let r = found(
            "a.c",
            None,
            "static int system(int x) { return x; }\nint f(void) { return system(1); }\n",
        );
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn wildcards_namespaces_and_macros_resolve() {
        let r = found(
            "a.py",
            None,
            "from subprocess import *\ndef f(c):\n    Popen(c)\n",
        );
        assert!(r.iter().any(|x| x.contains("subprocess.Popen")), "{r:?}");
        let r = found(
            "a.py",
            None,
            "import os\ndef f(c):\n    os.__dict__['system'](c)\n",
        );
        assert!(r.iter().any(|x| x.contains("os.system")), "{r:?}");
        let r = found(
            "a.py",
            None,
            "import os\ndef f(c):\n    vars(os)['sys' + 'tem'](c)\n",
        );
        assert!(r.iter().any(|x| x.contains("dynamic dispatch")), "{r:?}");
        let r = found("a.py", None, "def f(c, n):\n    globals()[n](c)\n");
        assert!(r.iter().any(|x| x.contains("dynamic dispatch")), "{r:?}");
        let r = found("a.py", None, "def f(table, n):\n    table[n]()\n");
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "A.java",
            None,
            "import java.util.*;\nclass A { String t() { Random r = new Random(); String token = \"\" + r.nextInt(); return token; } }\n",
        );
        assert!(r.iter().any(|x| x.contains("java.util.Random")), "{r:?}");
        let r = found(
            "a.rs",
            None,
            "use std::process::*;\nfn f() { Command::new(\"sh\"); }\n",
        );
        assert!(
            r.iter().any(|x| x.contains("std::process::Command::new")),
            "{r:?}"
        );
        let r = found(
            "a.go",
            None,
            "package a\nimport . \"os/exec\"\nfunc F() { Command(\"ls\").Run() }\n",
        );
        assert!(r.iter().any(|x| x.contains("os/exec.Command")), "{r:?}");
        let r = found(
            "a.c",
            None,
            "#include <stdlib.h>\n#define RUN system\nvoid f(char *c) { RUN(c); }\n",
        );
        assert!(
            r.iter()
                .any(|x| x.contains("calls `system` through the alias `RUN`")),
            "{r:?}"
        );
        let r = found(
            "a.js",
            None,
            "function f(s) { return [].constructor.constructor(s)(); }\n",
        );
        assert!(r.iter().any(|x| x.contains("code evaluation")), "{r:?}");
        let r = found(
            "a.js",
            None,
            "function f() { return process.mainModule.require('child_process').execSync('id'); }\n",
        );
        assert!(
            r.iter().any(|x| x.contains("child_process.execSync")),
            "{r:?}"
        );
    }

    #[test]
    fn a_capability_passed_as_a_value_counts() {
        assert!(suppression("os.system(c)  # noqa: E501", Language::Python).is_none());
        assert!(suppression("os.system(c)  # noqa: E501, S605", Language::Python).is_some());
        assert!(suppression("os.system(c)  # noqa", Language::Python).is_some());
        assert!(suppression("#[allow(unused)]", Language::Python).is_none());
        let r = found(
            "a.py",
            None,
            "import os, threading\ndef f(c):\n    threading.Thread(target=os.system, args=(c,)).start()\n",
        );
        assert!(
            r.iter()
                .any(|x| x.contains("passes `os.system` on as a value")),
            "{r:?}"
        );
        let r = found(
            "a.js",
            None,
            "const cp = require('child_process');\nfunction f(cmds) { cmds.forEach(cp.execSync); }\n",
        );
        assert!(
            r.iter().any(|x| x.contains("child_process.execSync")),
            "{r:?}"
        );
        let r = found("a.py", None, "def f(c):\n    __builtins__['eval'](c)\n");
        assert!(r.iter().any(|x| x.contains("builtins.eval")), "{r:?}");
        let r = found(
            "a.py",
            None,
            "def f(items, log):\n    list(map(log.info, items))\n",
        );
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn a_visitor_dispatch_on_self_is_bounded() {
        let r = found(
            "a.py",
            None,
            "class V:\n    def visit(self, node):\n        method = 'visit_' + node.__class__.__name__\n        return getattr(self, method, self.generic_visit)(node)\n",
        );
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "a.py",
            None,
            "class V:\n    def visit(self, node):\n        method = node.kind\n        return getattr(self, method)(node)\n",
        );
        assert!(r.iter().any(|x| x.contains("dynamic dispatch")), "{r:?}");
        let r = found(
            "a.py",
            None,
            "class V:\n    def visit(self, node):\n        return getattr(self, 'visit_' + node.kind)(node)\n",
        );
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "a.py",
            None,
            "class V:\n    def visit(self, node):\n        return getattr(self, f'visit_{node.kind}')(node)\n",
        );
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "a.py",
            None,
            "class V:\n    def visit(self, node):\n        return getattr(self, node.kind)(node)\n",
        );
        assert!(r.iter().any(|x| x.contains("dynamic dispatch")), "{r:?}");
        let r = found(
            "a.py",
            None,
            "import os\ndef f(n):\n    return getattr(os, 'sys' + n)('id')\n",
        );
        assert!(r.iter().any(|x| x.contains("dynamic dispatch")), "{r:?}");
    }

    #[test]
    fn sql_built_at_run_time_counts_and_parameters_do_not() {
        let r = found(
            "a.py",
            None,
            "def f(cur, name):\n    cur.execute(\"SELECT * FROM t WHERE n = '\" + name + \"'\")\n",
        );
        assert!(
            r.iter().any(|x| x.contains("runs SQL built at run time")),
            "{r:?}"
        );
        let r = found(
            "a.py",
            None,
            "def f(cur, base, where):\n    cur.execute(base + where)\n",
        );
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "a.py",
            None,
            "def f(cur, table):\n    cur.execute(f\"DELETE FROM {table}\")\n",
        );
        assert!(r.iter().any(|x| x.contains("SQL")), "{r:?}");
        let r = found(
            "a.py",
            None,
            "def f(cur, name):\n    cur.execute(\"SELECT * FROM t WHERE n = ?\", (name,))\n",
        );
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "a.go",
            None,
            "package a\nimport \"fmt\"\nfunc F(db DB, id string) { db.Query(fmt.Sprintf(\"SELECT * FROM t WHERE id = %s\", id)) }\n",
        );
        assert!(r.iter().any(|x| x.contains("SQL")), "{r:?}");
        let r = found("a.go", None, "package a\nfunc F(u URL) { u.Query() }\n");
        assert!(r.is_empty(), "{r:?}");
        let r = found(
            "A.java",
            None,
            "class A { void f(java.sql.Statement st, String id) throws Exception { st.executeQuery(\"SELECT * FROM t WHERE id = \" + id); } }\n",
        );
        assert!(r.iter().any(|x| x.contains("SQL")), "{r:?}");
        let r = found(
            "a.rs",
            None,
            "fn f(conn: &Connection, t: &str) { conn.execute(&format!(\"DROP TABLE {t}\"), []); }\n",
        );
        assert!(r.iter().any(|x| x.contains("SQL")), "{r:?}");
        let r = found(
            "a.js",
            None,
            "function f(db, id) { return db.query(`SELECT * FROM t WHERE id = ${id}`); }\n",
        );
        assert!(r.iter().any(|x| x.contains("SQL")), "{r:?}");
        let r = found("a.js", None, "function f(re, s) { return re.exec(s); }\n");
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn a_fully_qualified_path_needs_no_import() {
        let r = found(
            "a.rs",
            None,
            "fn main() {\n    std::process::Command::new(\"true\").status().ok();\n}\n",
        );
        assert!(
            r.iter()
                .any(|x| x.contains("calls `std::process::Command::new` (process execution)")),
            "{r:?}"
        );
        let r = found(
            "a.py",
            None,
            "import os.path\ndef f(c):\n    os.path.join(c)\n",
        );
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn a_call_already_made_the_same_way_does_not_count() {
        let before = "import os\ndef f(c):\n    os.system(c)\n";
        let after = "import os\ndef f(c):\n    if c:\n        os.system(c)\n";
        assert!(found("a.py", Some(before), after).is_empty());
        // The same call in another function is new there.
        let after = "import os\ndef f(c):\n    os.system(c)\ndef g(c):\n    os.system( c )\n";
        assert!(!found("a.py", Some(before), after).is_empty());
        let after = "import os\ndef f(c):\n    os.system( c )\n";
        assert!(found("a.py", Some(before), after).is_empty());
    }

    #[test]
    fn accepting_verifiers_are_tls_off() {
        let r = found(
            "a.rs",
            None,
            "impl ServerCertVerifier for V {\n    fn verify_server_cert(&self) -> Result<ServerCertVerified, Error> {\n        Ok(ServerCertVerified::assertion())\n    }\n}\n",
        );
        assert!(r.iter().any(|x| x.contains("accepts everything")), "{r:?}");
        assert!(
            is_secret_name("sessionKey")
                && is_secret_name("make_nonce")
                && !is_secret_name("monkey")
        );
        assert_eq!(go_package_name("math/rand/v2"), "rand");
    }
}
