//! Symbol extraction per language (top-level items, and members of impls, classes, traits),
//! and the diff of two symbol tables.

use std::collections::BTreeMap;
use std::ops::Range;

use tree_sitter::Node;

use crate::impact::Visibility;
use crate::languages::{Language, is_comment_kind};
use crate::tokens::{self, Options, Tok};

/// A definition found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// `function`, `method`, `struct`, `class`, `const`, ...
    pub kind: &'static str,
    /// The impl type, class, trait or module it is a member of.
    pub container: Option<String>,
    pub visibility: Visibility,
    /// Layout- and comment-free tokens of everything but the body.
    pub signature: Vec<Tok>,
    /// Layout- and comment-free tokens of the body (members excluded).
    pub body: Vec<Tok>,
    /// Number of parameters, for functions.
    pub params: Option<usize>,
    /// Attributes, decorators, annotations and modifiers, as written.
    pub attrs: String,
    /// Byte range, attributes and `export` included.
    pub range: Range<usize>,
    /// First and last line, 1-based.
    pub lines: (usize, usize),
}

impl Symbol {
    /// The identity used to match symbols before and after: container and name.
    pub fn key(&self) -> String {
        match &self.container {
            Some(c) => format!("{c}::{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Human form of the kind with visibility, e.g. `pub fn`, `exported function`.
    pub fn describe(&self, lang: Language) -> String {
        let public = self.visibility == Visibility::Public;
        match lang {
            Language::Rust => {
                let kw = match self.kind {
                    "function" | "method" => "fn",
                    "struct" => "struct",
                    "enum" => "enum",
                    "trait" => "trait",
                    "const" => "const",
                    "static" => "static",
                    "module" => "mod",
                    "type" => "type",
                    other => other,
                };
                if public {
                    format!("pub {kw}")
                } else {
                    kw.to_owned()
                }
            }
            _ if lang.is_js_family() && public => format!("exported {}", self.kind),
            _ if public => format!("public {}", self.kind),
            _ => format!("private {}", self.kind),
        }
    }

    /// The signature as a display string.
    pub fn signature_text(&self) -> String {
        tokens::display(&self.signature)
    }
}

#[derive(Clone, Debug, Default)]
struct Ctx {
    container: Option<String>,
    /// Members are public by default (trait impls, interfaces, exported classes).
    public_default: bool,
    /// The container itself is public (Python/Java/JS members need it).
    container_public: bool,
}

struct Extractor<'s> {
    src: &'s str,
    lang: Language,
    out: Vec<Symbol>,
    /// Which symbols get `signature` and `body` tokens (the costly part).
    detail: Detail,
}

/// Which symbols [`extract_raw`] computes tokens for.
#[derive(Clone, Debug)]
pub(crate) enum Detail {
    All,
    Nothing,
    /// Those whose range overlaps this byte range.
    Overlapping(Range<usize>),
}

/// Extracts the symbols of a parsed file.
pub fn extract(root: Node<'_>, src: &str, lang: Language) -> Vec<Symbol> {
    let mut out = extract_raw(root, src, lang, None, Detail::All);
    number(&mut out, None);
    out
}

/// The context of top-level items.
fn top_level() -> Ctx {
    Ctx {
        container: None,
        public_default: false,
        container_public: true,
    }
}

/// The symbols of the root children `children` (all of them if `None`), in document order,
/// with names not yet [`number`]ed. `signature` and `body` are left empty for the symbols
/// `detail` leaves out; every other field is exact. The run must not start right after an attribute of the item it
/// would attach to (the local analysis never starts a run there).
pub(crate) fn extract_raw(
    root: Node<'_>,
    src: &str,
    lang: Language,
    children: Option<Range<usize>>,
    detail: Detail,
) -> Vec<Symbol> {
    let mut ex = Extractor {
        src,
        lang,
        out: Vec::new(),
        detail,
    };
    match children {
        None => ex.items(root, &top_level(), 0),
        Some(range) => {
            // Random access: logarithmic, unlike walking the siblings before the range.
            let run: Vec<Node<'_>> = range
                .filter_map(|i| root.child(i))
                .filter(|n| n.is_named())
                .collect();
            ex.items_of(run, &top_level(), 0);
        }
    }
    ex.out
}

/// The symbols of a whole file without tokens (names not numbered), and how many symbols
/// have each key: what the local analysis needs of the file outside its regions.
#[derive(Debug)]
pub(crate) struct Skeleton {
    pub symbols: Vec<Symbol>,
    pub keys: std::collections::HashMap<String, usize>,
}

impl Skeleton {
    pub(crate) fn new(root: Node<'_>, src: &str, lang: Language) -> Self {
        let symbols = extract_raw(root, src, lang, None, Detail::Nothing);
        let mut keys = std::collections::HashMap::new();
        for s in &symbols {
            *keys.entry(s.key()).or_insert(0) += 1;
        }
        Skeleton { symbols, keys }
    }
}

/// Suffixes repeated keys with `#2`, `#3`, … in document order. Answers whether a symbol
/// overlapping `detail` shares its key with another symbol: its name then depends on the
/// whole file, and a local comparison could pair the wrong symbols.
pub(crate) fn number(symbols: &mut [Symbol], detail: Option<Range<usize>>) -> bool {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for sym in symbols.iter() {
        *seen.entry(sym.key()).or_insert(0) += 1;
    }
    let shared = detail.is_some_and(|d| {
        symbols
            .iter()
            .any(|s| overlaps(&s.range, &d) && seen.get(&s.key()).is_some_and(|n| *n > 1))
    });
    if seen.values().all(|n| *n == 1) {
        return shared;
    }
    seen.clear();
    for sym in symbols.iter_mut() {
        let n = seen.entry(sym.key()).or_insert(0);
        *n += 1;
        if *n > 1 {
            sym.name = format!("{}#{}", sym.name, n);
        }
    }
    shared
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The statements of a TypeScript namespace body that hold members.
const JS_DECLARATIONS: &[&str] = &[
    "export_statement",
    "function_declaration",
    "generator_function_declaration",
    "function_signature",
    "class_declaration",
    "abstract_class_declaration",
    "lexical_declaration",
    "variable_declaration",
    "interface_declaration",
    "type_alias_declaration",
    "enum_declaration",
    "internal_module",
    "module",
    "ambient_declaration",
];

fn is_js_function(kind: &str) -> bool {
    matches!(
        kind,
        "function_expression" | "function" | "arrow_function" | "generator_function"
    )
}

/// Parameter count of a parameter-list node.
fn count_params(params: Node<'_>) -> usize {
    let mut count = 0;
    let mut cursor = params.walk();
    for child in params.named_children(&mut cursor) {
        if is_comment_kind(child.kind()) {
            continue;
        }
        if child.kind() == "parameter_declaration"
            || child.kind() == "variadic_parameter_declaration"
        {
            let mut c2 = child.walk();
            let names = child.children_by_field_name("name", &mut c2).count();
            count += names.max(1);
        } else {
            count += 1;
        }
    }
    count
}

impl<'s> Extractor<'s> {
    fn text(&self, node: Node<'_>) -> &'s str {
        self.src.get(node.byte_range()).unwrap_or_default()
    }

    fn toks(&self, node: Node<'_>, exclude: &[Range<usize>]) -> Vec<Tok> {
        tokens::flatten(
            node,
            self.src,
            self.lang,
            Options {
                drop_comments: true,
                exclude,
            },
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        ctx: &Ctx,
        outer: Node<'_>,
        node: Node<'_>,
        kind: &'static str,
        name: String,
        public: bool,
        body: Option<Node<'_>>,
        params: Option<Node<'_>>,
        attrs: String,
        attrs_start: Option<usize>,
        members: &[Range<usize>],
    ) {
        let start = attrs_start
            .unwrap_or(outer.start_byte())
            .min(outer.start_byte());
        let detailed = match &self.detail {
            Detail::All => true,
            Detail::Nothing => false,
            Detail::Overlapping(d) => overlaps(&(start..outer.end_byte()), d),
        };
        let (signature, body) = if detailed {
            let body_range = body.map(|b| b.byte_range());
            let mut exclude: Vec<Range<usize>> = members.to_vec();
            if let Some(r) = &body_range {
                exclude.push(r.clone());
            }
            let mut signature = self.toks(outer, &exclude);
            if attrs_start.is_some() && !attrs.is_empty() {
                signature.insert(
                    0,
                    Tok::Gap(attrs.split_whitespace().collect::<Vec<_>>().join(" ")),
                );
            }
            let body = body.map(|b| self.toks(b, members)).unwrap_or_default();
            (signature, body)
        } else {
            (Vec::new(), Vec::new())
        };
        // The row of `start`: the row of the item less the line breaks of its attributes.
        let breaks = self
            .src
            .get(start..outer.start_byte())
            .map_or(0, |t| t.bytes().filter(|&b| b == b'\n').count());
        let start_line = outer.start_position().row.saturating_sub(breaks) + 1;
        self.out.push(Symbol {
            name,
            kind,
            container: ctx.container.clone(),
            visibility: if public {
                Visibility::Public
            } else {
                Visibility::Private
            },
            signature,
            body,
            params: params.map(count_params),
            attrs,
            range: start..outer.end_byte(),
            lines: (start_line, node.end_position().row + 1),
        });
    }

    fn items(&mut self, parent: Node<'_>, ctx: &Ctx, depth: usize) {
        if depth > 8 {
            return;
        }
        let mut cursor = parent.walk();
        let children: Vec<Node<'_>> = parent.named_children(&mut cursor).collect();
        self.items_of(children, ctx, depth);
    }

    fn items_of(&mut self, children: Vec<Node<'_>>, ctx: &Ctx, depth: usize) {
        let mut attrs = String::new();
        let mut attrs_start: Option<usize> = None;
        for child in children {
            if is_comment_kind(child.kind()) {
                continue;
            }
            if self.lang == Language::Rust && child.kind() == "attribute_item" {
                attrs_start.get_or_insert(child.start_byte());
                attrs.push_str(self.text(child));
                attrs.push('\n');
                continue;
            }
            let a = std::mem::take(&mut attrs);
            let s = attrs_start.take();
            match self.lang {
                Language::Rust => self.rust_item(child, ctx, a, s, depth),
                Language::Python => self.python_item(child, child, ctx, String::new(), depth),
                Language::JavaScript | Language::TypeScript | Language::Tsx => {
                    self.js_item(child, child, ctx, false, depth)
                }
                Language::Go => self.go_item(child, ctx),
                Language::Java => self.java_item(child, ctx, depth),
                Language::C => self.c_item(child, ctx, depth),
            }
        }
    }

    fn name_of(&self, node: Node<'_>) -> Option<String> {
        node.child_by_field_name("name")
            .map(|n| self.text(n).to_owned())
            .filter(|n| !n.is_empty())
    }

    fn member_ranges(&self, body: Node<'_>, kinds: &[&str]) -> Vec<Range<usize>> {
        let mut cursor = body.walk();
        let mut out = Vec::new();
        let mut pending: Option<usize> = None;
        for child in body.named_children(&mut cursor) {
            if child.kind() == "attribute_item" {
                pending.get_or_insert(child.start_byte());
                continue;
            }
            let inner = if child.kind() == "decorated_definition" {
                child.child_by_field_name("definition")
            } else {
                Some(child)
            };
            if inner.is_some_and(|n| kinds.contains(&n.kind())) {
                out.push(pending.unwrap_or(child.start_byte())..child.end_byte());
            }
            pending = None;
        }
        out
    }

    // ---- Rust ----

    fn rust_item(
        &mut self,
        node: Node<'_>,
        ctx: &Ctx,
        attrs: String,
        attrs_start: Option<usize>,
        depth: usize,
    ) {
        let vis = {
            let mut c = node.walk();
            node.named_children(&mut c)
                .any(|ch| ch.kind() == "visibility_modifier" && self.text(ch).trim() == "pub")
        };
        let public = vis || ctx.public_default;
        let kind = match node.kind() {
            "function_item" | "function_signature_item" => {
                if ctx.container.is_some() {
                    "method"
                } else {
                    "function"
                }
            }
            "struct_item" => "struct",
            "enum_item" => "enum",
            "union_item" => "union",
            "type_item" | "associated_type" => "type",
            "const_item" => "const",
            "static_item" => "static",
            "macro_definition" => "macro",
            "trait_item" => "trait",
            "mod_item" => "module",
            "impl_item" => {
                let Some(ty) = node.child_by_field_name("type") else {
                    return;
                };
                let Some(body) = node.child_by_field_name("body") else {
                    return;
                };
                let inner = Ctx {
                    container: Some(self.text(ty).split_whitespace().collect::<String>()),
                    public_default: node.child_by_field_name("trait").is_some(),
                    container_public: true,
                };
                self.items(body, &inner, depth + 1);
                return;
            }
            _ => return,
        };
        let Some(name) = self.name_of(node) else {
            return;
        };
        let mut body = node.child_by_field_name("body");
        if matches!(kind, "const" | "static") {
            body = node.child_by_field_name("value");
        }
        if matches!(kind, "struct" | "enum" | "union" | "type") {
            body = None;
        }
        let mut members = Vec::new();
        let container_body = if matches!(kind, "trait" | "module") {
            body
        } else {
            None
        };
        if let Some(cb) = container_body {
            members = self.member_ranges(
                cb,
                &[
                    "function_item",
                    "function_signature_item",
                    "struct_item",
                    "enum_item",
                    "trait_item",
                    "mod_item",
                    "impl_item",
                    "const_item",
                    "static_item",
                    "type_item",
                    "union_item",
                    "macro_definition",
                ],
            );
        }
        let params = node.child_by_field_name("parameters");
        self.push(
            ctx,
            node,
            node,
            kind,
            name.clone(),
            public,
            body,
            params,
            attrs,
            attrs_start,
            &members,
        );
        if let Some(cb) = container_body {
            let inner = Ctx {
                container: Some(match &ctx.container {
                    Some(c) => format!("{c}::{name}"),
                    None => name,
                }),
                public_default: kind == "trait" && public,
                container_public: public,
            };
            self.items(cb, &inner, depth + 1);
        }
    }

    // ---- Python ----

    fn python_item(
        &mut self,
        outer: Node<'_>,
        node: Node<'_>,
        ctx: &Ctx,
        attrs: String,
        depth: usize,
    ) {
        if depth > 8 {
            return;
        }
        match node.kind() {
            "decorated_definition" => {
                let mut decorators = String::new();
                let mut c = node.walk();
                for d in node.named_children(&mut c) {
                    if d.kind() == "decorator" {
                        decorators.push_str(self.text(d));
                        decorators.push('\n');
                    }
                }
                if let Some(def) = node.child_by_field_name("definition") {
                    self.python_item(outer, def, ctx, decorators, depth);
                }
            }
            "function_definition" | "class_definition" => {
                let Some(name) = self.name_of(node) else {
                    return;
                };
                let dunder = name.starts_with("__") && name.ends_with("__");
                let public = ctx.container_public && (dunder || !name.starts_with('_'));
                let body = node.child_by_field_name("body");
                let is_class = node.kind() == "class_definition";
                let members = match (is_class, body) {
                    (true, Some(b)) => {
                        self.member_ranges(b, &["function_definition", "class_definition"])
                    }
                    _ => Vec::new(),
                };
                let kind = match (is_class, ctx.container.is_some()) {
                    (true, _) => "class",
                    (false, true) => "method",
                    (false, false) => "function",
                };
                self.push(
                    ctx,
                    outer,
                    node,
                    kind,
                    name.clone(),
                    public,
                    body,
                    node.child_by_field_name("parameters"),
                    attrs,
                    None,
                    &members,
                );
                if let (true, Some(b)) = (is_class, body) {
                    let inner = Ctx {
                        container: Some(name),
                        public_default: false,
                        container_public: public,
                    };
                    let mut c = b.walk();
                    let kids: Vec<Node<'_>> = b.named_children(&mut c).collect();
                    for k in kids {
                        if matches!(
                            k.kind(),
                            "function_definition" | "class_definition" | "decorated_definition"
                        ) {
                            self.python_item(k, k, &inner, String::new(), depth + 1);
                        }
                    }
                }
            }
            "expression_statement" if ctx.container.is_none() => {
                let Some(assign) = node.named_child(0).filter(|a| a.kind() == "assignment") else {
                    return;
                };
                let Some(left) = assign
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "identifier")
                else {
                    return;
                };
                let name = self.text(left).to_owned();
                let public = !name.starts_with('_');
                self.push(
                    ctx,
                    outer,
                    node,
                    "variable",
                    name,
                    public,
                    assign.child_by_field_name("right"),
                    None,
                    attrs,
                    None,
                    &[],
                );
            }
            _ => {}
        }
    }

    // ---- JavaScript / TypeScript ----

    fn js_item(
        &mut self,
        outer: Node<'_>,
        node: Node<'_>,
        ctx: &Ctx,
        exported: bool,
        depth: usize,
    ) {
        if depth > 8 {
            return;
        }
        let public = (exported && ctx.container_public) || ctx.public_default;
        match node.kind() {
            "expression_statement" => match node.named_child(0) {
                Some(inner) if matches!(inner.kind(), "internal_module" | "module") => {
                    self.js_item(outer, inner, ctx, exported, depth + 1);
                }
                Some(inner) if inner.kind() == "assignment_expression" => {
                    self.js_assignment(outer, inner, ctx, depth);
                }
                _ => {}
            },
            "ambient_declaration" => {
                let mut c = node.walk();
                let decls: Vec<Node<'_>> = node.named_children(&mut c).collect();
                // `declare …` describes what exists globally or in a module: public.
                for d in decls {
                    self.js_item(outer, d, ctx, true, depth + 1);
                }
            }
            "internal_module" | "module" => self.js_namespace(outer, node, ctx, public, depth),
            "export_statement" => {
                if let Some(decl) = node.child_by_field_name("declaration") {
                    self.js_item(outer, decl, ctx, true, depth);
                } else if let Some(value) = node.child_by_field_name("value") {
                    self.js_item(outer, value, ctx, true, depth);
                }
            }
            "function_declaration" | "generator_function_declaration" | "function_signature" => {
                let Some(name) = self.name_of(node) else {
                    return;
                };
                self.push(
                    ctx,
                    outer,
                    node,
                    "function",
                    name,
                    public,
                    node.child_by_field_name("body"),
                    node.child_by_field_name("parameters"),
                    String::new(),
                    None,
                    &[],
                );
            }
            "class_declaration" | "abstract_class_declaration" | "class" => {
                let Some(name) = self.name_of(node) else {
                    return;
                };
                let body = node.child_by_field_name("body");
                let members = body
                    .map(|b| {
                        self.member_ranges(
                            b,
                            &[
                                "method_definition",
                                "method_signature",
                                "abstract_method_signature",
                            ],
                        )
                    })
                    .unwrap_or_default();
                self.push(
                    ctx,
                    outer,
                    node,
                    "class",
                    name.clone(),
                    public,
                    body,
                    None,
                    String::new(),
                    None,
                    &members,
                );
                if let Some(b) = body {
                    let mut c = b.walk();
                    let kids: Vec<Node<'_>> = b.named_children(&mut c).collect();
                    for m in kids {
                        if !matches!(
                            m.kind(),
                            "method_definition" | "method_signature" | "abstract_method_signature"
                        ) {
                            continue;
                        }
                        let Some(mname) = self.name_of(m) else {
                            continue;
                        };
                        let mut mc = m.walk();
                        let restricted = m.children(&mut mc).any(|k| {
                            k.kind() == "accessibility_modifier"
                                && matches!(self.text(k), "private" | "protected")
                        });
                        let mpublic = public && !restricted && !mname.starts_with('#');
                        let inner = Ctx {
                            container: Some(name.clone()),
                            ..Ctx::default()
                        };
                        self.push(
                            &inner,
                            m,
                            m,
                            "method",
                            mname,
                            mpublic,
                            m.child_by_field_name("body"),
                            m.child_by_field_name("parameters"),
                            String::new(),
                            None,
                            &[],
                        );
                    }
                }
            }
            "lexical_declaration" | "variable_declaration" => {
                let mut c = node.walk();
                let decls: Vec<Node<'_>> = node
                    .named_children(&mut c)
                    .filter(|d| d.kind() == "variable_declarator")
                    .collect();
                let single = decls.len() == 1;
                for d in decls {
                    let Some(name_node) = d.child_by_field_name("name") else {
                        continue;
                    };
                    if name_node.kind() != "identifier" {
                        continue;
                    }
                    let name = self.text(name_node).to_owned();
                    let value = d.child_by_field_name("value");
                    let func = value.filter(|v| {
                        matches!(
                            v.kind(),
                            "arrow_function" | "function_expression" | "function"
                        )
                    });
                    let (kind, body, params) = match func {
                        Some(f) => (
                            "function",
                            f.child_by_field_name("body"),
                            f.child_by_field_name("parameters"),
                        ),
                        None => ("variable", value, None),
                    };
                    let o = if single { outer } else { d };
                    self.push(
                        ctx,
                        o,
                        d,
                        kind,
                        name,
                        public,
                        body,
                        params,
                        String::new(),
                        None,
                        &[],
                    );
                }
            }
            "interface_declaration" | "type_alias_declaration" | "enum_declaration" => {
                let Some(name) = self.name_of(node) else {
                    return;
                };
                let kind = match node.kind() {
                    "interface_declaration" => "interface",
                    "enum_declaration" => "enum",
                    _ => "type",
                };
                self.push(
                    ctx,
                    outer,
                    node,
                    kind,
                    name,
                    public,
                    None,
                    None,
                    String::new(),
                    None,
                    &[],
                );
            }
            _ => {}
        }
    }

    /// A TypeScript `namespace`/`module`: a symbol of its own (its body without its members),
    /// and its members, public when exported from a public namespace.
    fn js_namespace(
        &mut self,
        outer: Node<'_>,
        node: Node<'_>,
        ctx: &Ctx,
        public: bool,
        depth: usize,
    ) {
        let Some(name_node) = node.child_by_field_name("name") else {
            return;
        };
        let name = self
            .text(name_node)
            .trim_matches(|c| c == '"' || c == '\'' || c == '`')
            .to_owned();
        if name.is_empty() {
            return;
        }
        let body = node.child_by_field_name("body");
        let members = body
            .map(|b| self.member_ranges(b, JS_DECLARATIONS))
            .unwrap_or_default();
        self.push(
            ctx,
            outer,
            node,
            "namespace",
            name.clone(),
            public,
            body,
            None,
            String::new(),
            None,
            &members,
        );
        let Some(b) = body else {
            return;
        };
        let inner = Ctx {
            container: Some(match &ctx.container {
                Some(c) => format!("{c}.{name}"),
                None => name,
            }),
            public_default: false,
            container_public: public,
        };
        let mut c = b.walk();
        let kids: Vec<Node<'_>> = b.named_children(&mut c).collect();
        for k in kids {
            if JS_DECLARATIONS.contains(&k.kind()) {
                self.js_item(k, k, &inner, false, depth + 1);
            }
        }
    }

    /// CommonJS and prototype definitions: `exports.f = function …`, `X.prototype.m = (…) =>
    /// …`, `module.exports = { m() {…}, n: function … }`.
    fn js_assignment(&mut self, outer: Node<'_>, assign: Node<'_>, ctx: &Ctx, depth: usize) {
        if depth > 8 || ctx.container.is_some() {
            return;
        }
        let (Some(left), Some(right)) = (
            assign.child_by_field_name("left"),
            assign.child_by_field_name("right"),
        ) else {
            return;
        };
        let target: String = self.text(left).split_whitespace().collect();
        let commonjs = target == "module.exports"
            || target == "exports"
            || target.starts_with("module.exports.")
            || target.starts_with("exports.");
        if right.kind() == "object" && matches!(target.as_str(), "module.exports" | "exports") {
            let inner = Ctx {
                container: Some(target.clone()),
                public_default: true,
                container_public: true,
            };
            let mut c = right.walk();
            let props: Vec<Node<'_>> = right.named_children(&mut c).collect();
            for p in props {
                let (name, func) = match p.kind() {
                    "method_definition" => (p.child_by_field_name("name"), Some(p)),
                    "pair" => (
                        p.child_by_field_name("key"),
                        p.child_by_field_name("value")
                            .filter(|v| is_js_function(v.kind())),
                    ),
                    _ => (None, None),
                };
                let (Some(name), Some(func)) = (name, func) else {
                    continue;
                };
                let name = self.text(name).to_owned();
                self.push(
                    &inner,
                    p,
                    p,
                    "method",
                    name,
                    true,
                    func.child_by_field_name("body"),
                    func.child_by_field_name("parameters"),
                    String::new(),
                    None,
                    &[],
                );
            }
            return;
        }
        if !is_js_function(right.kind()) {
            return;
        }
        let (container, name) = match target.rsplit_once('.') {
            Some((object, prop)) => {
                let object = object.strip_suffix(".prototype").unwrap_or(object);
                let container =
                    (!matches!(object, "exports" | "module.exports")).then(|| object.to_owned());
                (container, prop.to_owned())
            }
            None => return,
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            return;
        }
        let inner = Ctx {
            container,
            public_default: false,
            container_public: true,
        };
        let kind = if inner.container.is_some() {
            "method"
        } else {
            "function"
        };
        self.push(
            &inner,
            outer,
            assign,
            kind,
            name,
            commonjs || target.contains(".prototype."),
            right.child_by_field_name("body"),
            right.child_by_field_name("parameters"),
            String::new(),
            None,
            &[],
        );
    }

    // ---- Go ----

    fn go_item(&mut self, node: Node<'_>, ctx: &Ctx) {
        let capital = |n: &str| n.chars().next().is_some_and(|c| c.is_uppercase());
        match node.kind() {
            "function_declaration" | "method_declaration" => {
                let Some(name) = self.name_of(node) else {
                    return;
                };
                let mut inner = ctx.clone();
                let mut kind = "function";
                if let Some(recv) = node.child_by_field_name("receiver") {
                    kind = "method";
                    let ty = self
                        .text(recv)
                        .trim_matches(|c| c == '(' || c == ')')
                        .split_whitespace()
                        .last()
                        .unwrap_or_default()
                        .trim_start_matches('*')
                        .to_owned();
                    inner.container = Some(ty);
                }
                let public = capital(&name);
                self.push(
                    &inner,
                    node,
                    node,
                    kind,
                    name,
                    public,
                    node.child_by_field_name("body"),
                    node.child_by_field_name("parameters"),
                    String::new(),
                    None,
                    &[],
                );
            }
            "type_declaration" | "const_declaration" | "var_declaration" => {
                let mut c = node.walk();
                let specs: Vec<Node<'_>> = node
                    .named_children(&mut c)
                    .filter(|s| {
                        matches!(
                            s.kind(),
                            "type_spec" | "type_alias" | "const_spec" | "var_spec"
                        )
                    })
                    .collect();
                let single = specs.len() == 1;
                for spec in specs {
                    let kind = match spec.kind() {
                        "const_spec" => "const",
                        "var_spec" => "var",
                        _ => "type",
                    };
                    let Some(name) = self.name_of(spec) else {
                        continue;
                    };
                    let public = capital(&name);
                    let body = if kind == "type" {
                        None
                    } else {
                        spec.child_by_field_name("value")
                    };
                    let outer = if single { node } else { spec };
                    self.push(
                        ctx,
                        outer,
                        spec,
                        kind,
                        name,
                        public,
                        body,
                        None,
                        String::new(),
                        None,
                        &[],
                    );
                }
            }
            _ => {}
        }
    }

    // ---- Java ----

    fn java_item(&mut self, node: Node<'_>, ctx: &Ctx, depth: usize) {
        let modifiers = {
            let mut c = node.walk();
            node.children(&mut c)
                .find(|ch| ch.kind() == "modifiers")
                .map(|m| self.text(m).to_owned())
                .unwrap_or_default()
        };
        let has = |word: &str| modifiers.split_whitespace().any(|w| w == word);
        let declared_public = has("public") || has("protected");
        let public = ctx.container_public && (declared_public || ctx.public_default);
        let kind = match node.kind() {
            "class_declaration" => "class",
            "interface_declaration" => "interface",
            "enum_declaration" => "enum",
            "record_declaration" => "record",
            "annotation_type_declaration" => "annotation",
            "method_declaration" => "method",
            "constructor_declaration" => "constructor",
            "field_declaration" | "constant_declaration" => "field",
            "enum_body_declarations" => {
                self.items(node, ctx, depth + 1);
                return;
            }
            _ => return,
        };
        if kind == "field" {
            let mut c = node.walk();
            let decls: Vec<Node<'_>> = node.children_by_field_name("declarator", &mut c).collect();
            let single = decls.len() == 1;
            for d in decls {
                let Some(name) = self.name_of(d) else {
                    continue;
                };
                let outer = if single { node } else { d };
                self.push(
                    ctx,
                    outer,
                    d,
                    "field",
                    name,
                    public,
                    d.child_by_field_name("value"),
                    None,
                    modifiers.clone(),
                    None,
                    &[],
                );
            }
            return;
        }
        let Some(name) = self.name_of(node) else {
            return;
        };
        let body = node.child_by_field_name("body");
        let is_type = !matches!(kind, "method" | "constructor");
        let members = match (is_type, body) {
            (true, Some(b)) => {
                let mut m = self.member_ranges(
                    b,
                    &[
                        "method_declaration",
                        "constructor_declaration",
                        "class_declaration",
                        "interface_declaration",
                        "enum_declaration",
                        "record_declaration",
                        "field_declaration",
                        "constant_declaration",
                    ],
                );
                let mut c = b.walk();
                for ch in b.named_children(&mut c) {
                    if ch.kind() == "enum_body_declarations" {
                        m.extend(self.member_ranges(
                            ch,
                            &[
                                "method_declaration",
                                "constructor_declaration",
                                "field_declaration",
                            ],
                        ));
                    }
                }
                m
            }
            _ => Vec::new(),
        };
        self.push(
            ctx,
            node,
            node,
            kind,
            name.clone(),
            public,
            body,
            node.child_by_field_name("parameters"),
            modifiers,
            None,
            &members,
        );
        if let (true, Some(b)) = (is_type, body) {
            let inner = Ctx {
                container: Some(match &ctx.container {
                    Some(c) => format!("{c}.{name}"),
                    None => name,
                }),
                public_default: kind == "interface",
                container_public: public,
            };
            self.items(b, &inner, depth + 1);
        }
    }

    // ---- C ----

    fn declarator_name<'t>(&self, mut node: Node<'t>) -> Option<(String, Option<Node<'t>>)> {
        let mut params = None;
        for _ in 0..16 {
            match node.kind() {
                "identifier" | "field_identifier" | "type_identifier" => {
                    return Some((self.text(node).to_owned(), params));
                }
                "function_declarator" => {
                    params = params.or(node.child_by_field_name("parameters"));
                    node = node.child_by_field_name("declarator")?;
                }
                _ => {
                    node = node
                        .child_by_field_name("declarator")
                        .or_else(|| node.named_child(0))?;
                }
            }
        }
        None
    }

    fn c_item(&mut self, node: Node<'_>, ctx: &Ctx, depth: usize) {
        let is_static = {
            let mut c = node.walk();
            node.children(&mut c)
                .any(|ch| ch.kind() == "storage_class_specifier" && self.text(ch) == "static")
        };
        match node.kind() {
            "preproc_ifdef" | "preproc_if" | "preproc_else" | "preproc_elif" => {
                self.items(node, ctx, depth + 1);
            }
            "function_definition" => {
                let Some((name, params)) = node
                    .child_by_field_name("declarator")
                    .and_then(|d| self.declarator_name(d))
                else {
                    return;
                };
                self.push(
                    ctx,
                    node,
                    node,
                    "function",
                    name,
                    !is_static,
                    node.child_by_field_name("body"),
                    params,
                    String::new(),
                    None,
                    &[],
                );
            }
            "declaration" => {
                let Some((name, params)) = node
                    .child_by_field_name("declarator")
                    .and_then(|d| self.declarator_name(d))
                else {
                    return;
                };
                let kind = if params.is_some() {
                    "prototype"
                } else {
                    "variable"
                };
                self.push(
                    ctx,
                    node,
                    node,
                    kind,
                    name,
                    !is_static,
                    None,
                    params,
                    String::new(),
                    None,
                    &[],
                );
            }
            "type_definition" => {
                let Some((name, _)) = node
                    .child_by_field_name("declarator")
                    .and_then(|d| self.declarator_name(d))
                else {
                    return;
                };
                self.push(
                    ctx,
                    node,
                    node,
                    "type",
                    name,
                    true,
                    None,
                    None,
                    String::new(),
                    None,
                    &[],
                );
            }
            "struct_specifier" | "enum_specifier" | "union_specifier" => {
                let Some(name) = self.name_of(node) else {
                    return;
                };
                let kind = match node.kind() {
                    "struct_specifier" => "struct",
                    "enum_specifier" => "enum",
                    _ => "union",
                };
                self.push(
                    ctx,
                    node,
                    node,
                    kind,
                    name,
                    true,
                    None,
                    None,
                    String::new(),
                    None,
                    &[],
                );
            }
            "preproc_def" | "preproc_function_def" => {
                let Some(name) = self.name_of(node) else {
                    return;
                };
                self.push(
                    ctx,
                    node,
                    node,
                    "macro",
                    name,
                    true,
                    node.child_by_field_name("value"),
                    node.child_by_field_name("parameters"),
                    String::new(),
                    None,
                    &[],
                );
            }
            _ => {}
        }
    }
}

/// How one symbol changed between before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SymbolChange<'a> {
    Added(&'a Symbol),
    Removed(&'a Symbol),
    Signature(&'a Symbol, &'a Symbol),
    Visibility(&'a Symbol, &'a Symbol),
    Body(&'a Symbol, &'a Symbol),
}

/// Diffs two symbol tables by key. Unchanged symbols are left out.
pub fn diff<'a>(before: &'a [Symbol], after: &'a [Symbol]) -> Vec<SymbolChange<'a>> {
    let after_by_key: BTreeMap<String, &Symbol> = after.iter().map(|s| (s.key(), s)).collect();
    let before_keys: std::collections::BTreeSet<String> = before.iter().map(Symbol::key).collect();
    let mut out = Vec::new();
    for b in before {
        match after_by_key.get(&b.key()) {
            None => out.push(SymbolChange::Removed(b)),
            Some(a) => {
                if a.visibility != b.visibility {
                    out.push(SymbolChange::Visibility(b, a));
                } else if a.signature != b.signature {
                    out.push(SymbolChange::Signature(b, a));
                } else if a.body != b.body {
                    out.push(SymbolChange::Body(b, a));
                }
            }
        }
    }
    for a in after {
        if !before_keys.contains(&a.key()) {
            out.push(SymbolChange::Added(a));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms(lang: Language, text: &str) -> Vec<(String, &'static str, Visibility)> {
        let tree = lang.parse(text).expect("parses");
        extract(tree.root_node(), text, lang)
            .into_iter()
            .map(|s| (s.key(), s.kind, s.visibility))
            .collect()
    }

    #[test]
    fn typescript_namespaces_and_commonjs_members_are_symbols() {
        let got = |src: &str| -> Vec<(String, &'static str, Visibility)> {
            let lang = Language::TypeScript;
            let tree = lang.parse(src).expect("parses");
            extract(tree.root_node(), src, lang)
                .into_iter()
                .map(|s| (s.key(), s.kind, s.visibility))
                .collect()
        };
        use Visibility::{Private, Public};
        assert_eq!(
            got("namespace A { export function f() { return 1 } function g() {} }"),
            vec![
                ("A".into(), "namespace", Private),
                ("A::f".into(), "function", Private),
                ("A::g".into(), "function", Private),
            ]
        );
        assert_eq!(
            got("export namespace B.C { export const x = () => 1; const y = 2 }"),
            vec![
                ("B.C".into(), "namespace", Public),
                ("B.C::x".into(), "function", Public),
                ("B.C::y".into(), "variable", Private),
            ]
        );
        assert_eq!(
            got("declare module 'm' { export function k(): void }"),
            vec![
                ("m".into(), "namespace", Public),
                ("m::k".into(), "function", Public),
            ]
        );
        assert_eq!(
            got(
                "Foo.prototype.bar = function (a) { return a }\nexports.baz = (a) => a\nmodule.exports = { q() { return 1 }, r: function () {} }"
            ),
            vec![
                ("Foo::bar".into(), "method", Public),
                ("baz".into(), "function", Public),
                ("module.exports::q".into(), "method", Public),
                ("module.exports::r".into(), "method", Public),
            ]
        );
    }

    #[test]
    fn extracts_per_language() {
        use Visibility::{Private, Public};
        assert_eq!(
            syms(
                Language::Rust,
                "pub fn a() {}\nfn b() {}\nstruct S;\nimpl S { pub fn m(&self) {} fn n() {} }\n"
            ),
            vec![
                ("a".into(), "function", Public),
                ("b".into(), "function", Private),
                ("S".into(), "struct", Private),
                ("S::m".into(), "method", Public),
                ("S::n".into(), "method", Private),
            ]
        );
        assert_eq!(
            syms(
                Language::Python,
                "def a(): pass\ndef _b(): pass\nclass C:\n    def m(self): pass\n    def _n(self): pass\n"
            ),
            vec![
                ("a".into(), "function", Public),
                ("_b".into(), "function", Private),
                ("C".into(), "class", Public),
                ("C::m".into(), "method", Public),
                ("C::_n".into(), "method", Private),
            ]
        );
        assert_eq!(
            syms(
                Language::TypeScript,
                "export function a(x: number) {}\nfunction b() {}\nexport const c = () => 1;\nexport class K { m() {} private n() {} }\n"
            ),
            vec![
                ("a".into(), "function", Public),
                ("b".into(), "function", Private),
                ("c".into(), "function", Public),
                ("K".into(), "class", Public),
                ("K::m".into(), "method", Public),
                ("K::n".into(), "method", Private),
            ]
        );
        assert_eq!(
            syms(
                Language::Go,
                "package p\nfunc A() {}\nfunc b() {}\ntype T struct{}\nfunc (t *T) M() {}\n"
            ),
            vec![
                ("A".into(), "function", Public),
                ("b".into(), "function", Private),
                ("T".into(), "type", Public),
                ("T::M".into(), "method", Public),
            ]
        );
        assert_eq!(
            syms(
                Language::Java,
                "public class A { public void m() {} private void n() {} }\n"
            ),
            vec![
                ("A".into(), "class", Public),
                ("A::m".into(), "method", Public),
                ("A::n".into(), "method", Private),
            ]
        );
        assert_eq!(
            syms(
                Language::C,
                "int a(int x) { return x; }\nstatic int b(void) { return 0; }\n"
            ),
            vec![
                ("a".into(), "function", Public),
                ("b".into(), "function", Private),
            ]
        );
    }
}
