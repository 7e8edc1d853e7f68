//! Walks stack and module files: declarations, the `stack` header, resources, look-ups,
//! module instantiations and outputs. Produces unresolved resources plus everything the
//! resolve step needs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::{KdlDocument, KdlNode};

use super::LoadOptions;
use super::bounds::{
    MAX_EXPANDED_BYTES, MAX_MODULE_DEPTH, MAX_MODULE_INSTANCES, MAX_NESTING, MAX_NODE_BYTES,
    MAX_NODE_TOKENS, mib,
};
use super::chunks::{self, Chunk, Refusal, Word};
use super::decode::{Allows, AttrSpans, Decoder, NodeView};
use super::diagnostic::{Diagnostic, Diagnostics, syntax_error};
use super::for_each::{self, FOR_EACH};
use super::read::{ReadError, read_text};
use super::scope::{Each, Scope, StackInfo};
use super::stack_header::STACK_HEADER;
use super::suggest::did_you_mean;
use super::variables::{VarDecl, validate};
use crate::model::schema::{BlockSchema, Type};
use crate::model::{Address, DependsOn, Kind, Lifecycle, Resource, SourceId, Sources, Span, Value};

/// The words a stack or module file may use at the top level, besides resource kinds.
const TOP_LEVEL: [&str; 7] = [
    "stack", "variable", "input", "output", "probe", "module", "lookup",
];
const META: &[&str] = &["depends-on", "lifecycle", FOR_EACH];

/// A file that has been read and split into top-level nodes (parsed one at a time).
#[derive(Clone)]
struct Parsed {
    source: SourceId,
    text: Arc<String>,
    chunks: Arc<Vec<Chunk>>,
}

/// Where a node's spans point: its file, and the offset of its chunk within the file.
#[derive(Debug, Clone, Copy)]
pub struct Here {
    source: SourceId,
    base: usize,
}

impl Here {
    fn span(self, span: miette::SourceSpan) -> Span {
        Span::new(
            self.source,
            miette::SourceSpan::new((span.offset() + self.base).into(), span.len()),
        )
    }
}

/// What the nodes of one file are decoded in: its module path, its variables (or module
/// inputs), its directory (module sources are relative to it) and whether it is the stack file.
#[derive(Clone, Copy)]
struct FileScope<'a> {
    module: &'a [String],
    vars: &'a BTreeMap<String, Value>,
    info: &'a StackInfo,
    dir: &'a Path,
    root: bool,
    /// The item of the `for-each` whose instance is being decoded.
    each: Option<&'a Each>,
}

/// Which top-level nodes a pass over a file visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The declarations a file of this type may hold (`stack` and `variable` in a stack
    /// file, `input` in a module): read before anything that may use them.
    Declarations { root: bool },
    /// Everything else, including declarations in the wrong type of file (reported there).
    Body { root: bool },
    /// Every node (variable files).
    All,
}

/// Everything collected from the files, before references are resolved.
#[derive(Default)]
pub struct Loaded {
    pub sources: Sources,
    pub diags: Diagnostics,
    pub info: StackInfo,
    pub tags: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    pub addresses: HashMap<Address, Span>,
    pub outputs: HashMap<(Vec<String>, String), (Value, Span)>,
    /// The stack file's probes (`infra verify`), in file order.
    pub probes: Vec<crate::model::Probe>,
    pub modules: HashMap<Vec<String>, Span>,
    /// Resources with `for-each`, by their address without a key: where each is declared and
    /// its keys (none when its collection could not be read).
    pub groups: HashMap<Address, (Span, Vec<String>)>,
    /// Module instances with `for-each`, by their path without a key: where and their keys.
    pub module_groups: HashMap<Vec<String>, (Span, Vec<String>)>,
    /// Where each resource's attributes were written, for the rules across resources.
    pub spans: HashMap<Address, AttrSpans>,
    /// Warnings silenced on the line, per resource.
    pub allows: HashMap<Address, Allows>,
    /// The root stack's variables some value reads.
    pub used_vars: BTreeSet<String>,
    /// The root stack's variable declarations.
    pub variables: Vec<VarDecl>,
    /// Some chunk failed to parse; follow-on "missing" errors would only add noise.
    pub syntax_errors: bool,
    /// Names declared by nodes that could not be read (a syntax error, an unknown kind), per
    /// module path: a reference to one of them is not reported again.
    pub broken: HashSet<(Vec<String>, String)>,
    /// Variables and inputs whose declaration could not be read, per module path.
    pub broken_vars: HashSet<(Vec<String>, String)>,
    /// Module instances (and whole files, by their module path) whose content is unknown: a
    /// missing or refused file, a syntax error that swallowed the rest of a file.
    pub broken_modules: HashSet<Vec<String>>,
}

impl Loaded {
    /// Where a resource or `for-each` group at `address` (without a key) is declared, if it is.
    pub fn declared(&self, address: &Address) -> Option<Span> {
        self.addresses
            .get(address)
            .or_else(|| self.groups.get(address).map(|(span, _)| span))
            .copied()
    }

    /// Whether `address` may exist in what could not be read.
    pub fn maybe_in_broken(&self, address: &Address) -> bool {
        self.broken
            .contains(&(address.module.clone(), address.name.clone()))
            || self.module_broken(&address.module)
    }

    /// Whether the module at `path`, or one it is inside, could not be read.
    pub fn module_broken(&self, path: &[String]) -> bool {
        (0..=path.len()).any(|n| self.broken_modules.contains(&path[..n]))
    }
}

/// A `module` node being expanded, for each of its instances.
struct Instance<'n> {
    here: Here,
    node: &'n KdlNode,
    name: &'n str,
    span: Span,
    source_span: Span,
    path: &'n Path,
    /// The module file's canonical path (a module may not include itself).
    key: PathBuf,
}

/// What a file is to the stack; says what its first node may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Stack,
    Module,
    VarFile,
}

impl Role {
    fn what(self) -> &'static str {
        match self {
            Role::Stack => "stack file",
            Role::Module => "module file",
            Role::VarFile => "variable file",
        }
    }
}

pub struct Loader<'o> {
    options: &'o LoadOptions,
    files: HashMap<PathBuf, Option<Parsed>>,
    /// Module files being instantiated, to catch a module that includes itself.
    active: Vec<PathBuf>,
    /// Module instances so far, and the text they decoded (each instance counts its file).
    instances: usize,
    expanded: u64,
    /// A bound on modules was crossed (reported once).
    expansion_stopped: bool,
    pub out: Loaded,
}

impl<'o> Loader<'o> {
    pub fn new(options: &'o LoadOptions) -> Self {
        Loader {
            options,
            files: HashMap::new(),
            active: Vec::new(),
            instances: 0,
            expanded: 0,
            expansion_stopped: false,
            out: Loaded::default(),
        }
    }

    /// Loads the root stack file and, through it, every module.
    pub fn load_root(&mut self, path: &Path) {
        let Some(parsed) = self.read(path, None, Role::Stack, &|w| expected_node(w)) else {
            return;
        };
        self.expanded = parsed.text.len() as u64;
        let decls = self.declarations(&parsed, "variable", &[]);
        let vars = self.root_values(&decls);
        self.out.variables = decls.clone();
        self.header(&parsed, &vars);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let info = self.out.info.clone();
        let file = FileScope {
            module: &[],
            vars: &vars,
            info: &info,
            dir: &dir,
            root: true,
            each: None,
        };
        self.walk(&parsed, file);
    }

    /// Reads, checks and splits a file; `expects` says whether a first node name is one this
    /// file may start with (otherwise nothing of the file is shown: it may not be ours).
    fn read(
        &mut self,
        path: &Path,
        from: Option<Span>,
        role: Role,
        expects: &dyn Fn(&str) -> bool,
    ) -> Option<Parsed> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(known) = self.files.get(&key) {
            return known.clone();
        }
        let parsed = self.read_uncached(path, from, role, expects);
        self.files.insert(key, parsed.clone());
        parsed
    }

    fn read_uncached(
        &mut self,
        path: &Path,
        from: Option<Span>,
        role: Role,
        expects: &dyn Fn(&str) -> bool,
    ) -> Option<Parsed> {
        let what = role.what();
        let shown = path.display();
        let refuse = |this: &mut Self, message: String, help: &str| {
            let mut d = Diagnostic::new("infra::file", message);
            if let Some(span) = from {
                d = d.label(span, "referenced here");
            }
            this.out.diags.push(d.help(help));
            None
        };
        let text = match read_text(path) {
            Ok(t) => t,
            Err(ReadError::Io(e)) => {
                return refuse(
                    self,
                    format!("cannot read {what} `{shown}`: {e}"),
                    "check the path; module sources are relative to the file that uses them",
                );
            }
            Err(e @ ReadError::NotRegular(_)) => {
                return refuse(
                    self,
                    format!("cannot read {what} `{shown}`: {e}"),
                    "give the path of a regular file (to use what a command prints, write it \
                     to a file first)",
                );
            }
            Err(e @ ReadError::TooLarge) => {
                return refuse(
                    self,
                    format!("{what} `{shown}` is refused: {e}"),
                    "infra reads stack, module and variable files of up to 10 MiB each; split \
                     a stack this large into modules",
                );
            }
            Err(e @ ReadError::NotText(_)) => {
                return refuse(
                    self,
                    format!("`{shown}` is not a KDL file: {e}"),
                    "nothing of it is shown, as it may hold secrets; check the path",
                );
            }
        };
        let recognised = chunks::first_name(&text).is_none_or(expects);
        let chunks = match chunks::split(&text) {
            Ok(chunks) => chunks,
            Err(refusal) => {
                let source = self.out.sources.add(shown.to_string(), text);
                self.refused(source, refusal, recognised, from, what);
                return None;
            }
        };
        if !recognised {
            // Tell a KDL file that is not ours from something that is not KDL at all.
            let kdl = chunks
                .first()
                .is_some_and(|c| KdlDocument::parse_v2(&text[c.range()]).is_ok());
            let message = if kdl {
                format!("`{shown}` is not a {what}: its first node is not one a {what} holds")
            } else {
                format!("`{shown}` is not a KDL file")
            };
            let help = match role {
                Role::VarFile => {
                    "a variable file holds `name value` lines, one per variable of \
                                  the stack; nothing of this file is shown, as it may hold secrets"
                }
                _ => "check the path; nothing of this file is shown, as it may hold secrets",
            };
            return refuse(self, message, help);
        }
        let chunks = Arc::new(chunks);
        let source = self.out.sources.add(shown.to_string(), text);
        let text = Arc::clone(&self.out.sources.get(source).text);
        Some(Parsed {
            source,
            text,
            chunks,
        })
    }

    /// A file the scanner refused before parsing: too deep, too large or unbalanced. Its
    /// lines are shown only when the file is recognisably one of ours.
    fn refused(
        &mut self,
        source: SourceId,
        refusal: Refusal,
        recognised: bool,
        from: Option<Span>,
        what: &str,
    ) {
        let (at, message, label, help) = match refusal {
            Refusal::TooDeep { at } => (
                at,
                format!("blocks nest deeper than {MAX_NESTING} levels"),
                "one level too deep",
                format!(
                    "a {what} nests blocks a few levels deep; infra refuses more than {MAX_NESTING}"
                ),
            ),
            Refusal::TooLarge { at } => (
                at,
                format!("this node holds more than {MAX_NODE_TOKENS} entries"),
                "this node",
                "no resource needs that many; split it, or check that this is the file you meant"
                    .to_string(),
            ),
            Refusal::TooLong { at } => (
                at,
                format!("this node is longer than {}", mib(MAX_NODE_BYTES as u64)),
                "this node",
                "no AWS value is that long (the longest, a secret, is 64 KiB); check that this is \
                 the file you meant"
                    .to_string(),
            ),
            Refusal::Unbalanced { at, what: found } => (
                at,
                format!("syntax error: {found}"),
                "here",
                "close every string, comment and block".to_string(),
            ),
        };
        self.out.syntax_errors = true;
        let span = Span {
            source,
            offset: u32::try_from(at).unwrap_or(u32::MAX),
            len: 1,
        };
        let name = self.out.sources.get(source).name.clone();
        let mut d = if recognised {
            Diagnostic::new("infra::limit", message).label(span, label)
        } else {
            let (line, col) = self.out.sources.line_col(span);
            let mut d = Diagnostic::new(
                "infra::limit",
                format!("`{name}` is refused: {message} (line {line}, column {col})"),
            );
            if let Some(from) = from {
                d = d.label(from, "referenced here");
            }
            d
        };
        d = d.help(help);
        self.out.diags.push(d);
    }

    /// Parses the chunks a pass visits, one at a time, and hands each node to `f`. A chunk
    /// that does not parse is reported and the names it declares are remembered as broken
    /// under `module`.
    fn nodes(
        &mut self,
        parsed: &Parsed,
        pass: Pass,
        module: &[String],
        mut f: impl FnMut(&mut Self, Here, &KdlNode),
    ) {
        for chunk in parsed.chunks.iter() {
            if self.out.diags.full() {
                // Nothing more could be reported.
                self.out.syntax_errors = true;
                self.out.diags.stop();
                return;
            }
            // The rest of a file the splitter gave up on: every pass visits it, and only the
            // body pass reports its syntax errors.
            let whole = chunk.word == Word::Rest;
            let declaration = |root: bool| match chunk.word {
                Word::Stack | Word::Variable => root,
                Word::Input => !root,
                _ => false,
            };
            let visit = match pass {
                Pass::All => true,
                Pass::Declarations { root } => declaration(root) || whole,
                Pass::Body { root } => !declaration(root) || whole,
            };
            if !visit {
                continue;
            }
            let here = Here {
                source: parsed.source,
                base: chunk.range().start,
            };
            let text = &parsed.text[chunk.range()];
            match KdlDocument::parse_v2(text) {
                Ok(doc) => doc.nodes().iter().for_each(|node| f(self, here, node)),
                Err(err) => {
                    if whole {
                        self.out.broken_modules.insert(module.to_vec());
                    } else if let Some(name) = chunks::declared_name(text) {
                        let key = (module.to_vec(), name.to_string());
                        if matches!(chunk.word, Word::Variable | Word::Input) {
                            self.out.broken_vars.insert(key);
                        } else {
                            self.out.broken.insert(key);
                        }
                    }
                    if whole && matches!(pass, Pass::Declarations { .. }) {
                        self.out.syntax_errors = true;
                    } else {
                        self.syntax(here, text, err);
                    }
                }
            }
        }
    }

    fn syntax(&mut self, here: Here, text: &str, err: kdl::KdlError) {
        self.out.syntax_errors = true;
        if let Some(d) = syntax_error(err, text, |span| here.span(span)) {
            self.out.diags.push(d);
        }
    }

    fn decoder<'a, 'd>(
        &'d mut self,
        here: Here,
        module: &'a [String],
        vars: &'a BTreeMap<String, Value>,
        info: &'a StackInfo,
        each: Option<&'a Each>,
    ) -> Decoder<'a, 'd> {
        Decoder {
            scope: Scope {
                source: here.source,
                base: here.base,
                module,
                vars,
                stack: info,
                each,
            },
            diags: &mut self.out.diags,
            used: &mut self.out.used_vars,
            spans: BTreeMap::new(),
            allows: BTreeMap::new(),
            prefix: String::new(),
        }
    }

    /// `variable` (stack) or `input` (module) declarations of one file.
    fn declarations(&mut self, parsed: &Parsed, keyword: &str, module: &[String]) -> Vec<VarDecl> {
        let empty = BTreeMap::new();
        let info = self.out.info.clone();
        let mut decls: Vec<VarDecl> = Vec::new();
        let root = keyword == "variable";
        self.nodes(
            parsed,
            Pass::Declarations { root },
            module,
            |this, here, node| {
                if node.name().value() != keyword {
                    return;
                }
                let mut d = this.decoder(here, module, &empty, &info, None);
                let Some(decl) = d.var_decl(node, keyword) else {
                    return;
                };
                if let Some(first) = decls.iter().find(|x| x.name == decl.name) {
                    d.diags.push(
                        Diagnostic::new(
                            "infra::duplicate-address",
                            format!("{keyword} `{}` is declared twice", decl.name),
                        )
                        .label(decl.span, "declared again here")
                        .label(first.span, "first declared here")
                        .help("remove one of the declarations"),
                    );
                    return;
                }
                decls.push(decl);
            },
        );
        decls
    }

    /// Variable values for the root stack: default < INFRA_VAR_ < --var-file < --var.
    fn root_values(&mut self, decls: &[VarDecl]) -> BTreeMap<String, Value> {
        let mut given: BTreeMap<String, (Value, String)> = BTreeMap::new();
        // Variables whose value was given but could not be read: reported where it was given,
        // not again as missing.
        let mut unreadable = false;
        for decl in decls {
            let underscored = decl.name.replace('-', "_");
            if let Some(name) = self
                .options
                .env_not_text
                .iter()
                .find(|n| **n == decl.name || **n == underscored)
            {
                unreadable = true;
                self.out.diags.push(
                    Diagnostic::new(
                        "infra::variable-value",
                        format!("INFRA_VAR_{name} is not UTF-8 text"),
                    )
                    .label(decl.span, "declared here")
                    .help(format!(
                        "set INFRA_VAR_{name} to {} in UTF-8 (its value is not shown)",
                        decl.ty.ty().describe()
                    )),
                );
                continue;
            }
            let env = self
                .options
                .env
                .get(&decl.name)
                .or_else(|| self.options.env.get(&decl.name.replace('-', "_")));
            if let Some(text) = env {
                match decl.ty.parse_text(text) {
                    Ok(v) => {
                        given.insert(decl.name.clone(), (v, format!("INFRA_VAR_{}", decl.name)));
                    }
                    // The environment may hold secrets: its values are never shown.
                    Err(_) => self.out.diags.push(
                        Diagnostic::new(
                            "infra::variable-value",
                            format!(
                                "INFRA_VAR_{} is not {} (its value is not shown)",
                                decl.name,
                                decl.ty.ty().describe()
                            ),
                        )
                        .label(decl.span, "declared here")
                        .help(format!("set {}", decl.ty.ty().describe())),
                    ),
                }
            }
        }
        let declared = |word: &str| {
            decls
                .iter()
                .any(|x| x.name == word || x.name.replace('-', "_") == word)
        };
        for file in self.options.var_files.clone() {
            let Some(parsed) = self.read(&file, None, Role::VarFile, &declared) else {
                unreadable = true;
                continue;
            };
            let empty = BTreeMap::new();
            let info = StackInfo::default();
            let broken_before = self.out.broken.len();
            let root_broken = self.out.broken_modules.contains(&Vec::new());
            let syntax_before = std::mem::take(&mut self.out.syntax_errors);
            self.nodes(&parsed, Pass::All, &[], |this, here, node| {
                let mut d = this.decoder(here, &[], &empty, &info, None);
                let name = node.name().value();
                let span = d.span(node.name().span());
                match decls.iter().find(|x| x.name == name) {
                    Some(decl) => {
                        if let Some(v) = d.var_value(node, decl.ty) {
                            given.insert(name.to_string(), (v, file.display().to_string()));
                        }
                    }
                    None => d.diags.push(
                        Diagnostic::new(
                            "infra::undefined-variable",
                            format!("`{name}` is not a variable of this stack"),
                        )
                        .label(span, "set here")
                        .help(did_you_mean(
                            name,
                            decls.iter().map(|x| x.name.as_str()),
                            "variables",
                        )),
                    ),
                }
            });
            // A variable file that does not parse says nothing about the stack's own files.
            self.out
                .broken_modules
                .retain(|m| !m.is_empty() || root_broken);
            if self.out.broken.len() > broken_before || self.out.syntax_errors {
                unreadable = true;
            }
            self.out.syntax_errors |= syntax_before;
        }
        for (name, text) in &self.options.vars {
            match decls.iter().find(|x| &x.name == name) {
                Some(decl) => match decl.ty.parse_text(text) {
                    Ok(v) => {
                        given.insert(name.clone(), (v, format!("--var {name}")));
                    }
                    Err(reason) => self.out.diags.push(
                        Diagnostic::new("infra::variable-value", format!("--var {name}: {reason}"))
                            .label(decl.span, "declared here")
                            .help(format!("pass {}", decl.ty.ty().describe())),
                    ),
                },
                None => self.out.diags.push(
                    Diagnostic::new(
                        "infra::undefined-variable",
                        format!("--var sets `{name}`, which the stack does not declare"),
                    )
                    .help(did_you_mean(
                        name,
                        decls.iter().map(|x| x.name.as_str()),
                        "variables",
                    )),
                ),
            }
        }
        let mut values = BTreeMap::new();
        for decl in decls {
            let (value, from) = match given.remove(&decl.name) {
                Some((v, from)) => (v, from),
                None => match &decl.default {
                    Some(v) => (v.clone(), "its default".to_string()),
                    None if decl.default_failed || unreadable => {
                        values.insert(decl.name.clone(), Value::Null);
                        continue;
                    }
                    None => {
                        values.insert(decl.name.clone(), Value::Null);
                        self.out.diags.push(
                            Diagnostic::new(
                                "infra::undefined-variable",
                                format!("variable `{}` has no value", decl.name),
                            )
                            .label(decl.span, "declared here without a default")
                            .help(format!(
                                "set it with --var {0}=..., in a --var-file, or with INFRA_VAR_{2}{1}",
                                decl.name,
                                decl.description
                                    .as_ref()
                                    .map_or(String::new(), |d| format!(" ({d})")),
                                decl.name.replace('-', "_")
                            )),
                        );
                        continue;
                    }
                },
            };
            match validate(decl, value) {
                Ok(v) => {
                    values.insert(decl.name.clone(), v);
                }
                Err((message, help)) => {
                    values.insert(decl.name.clone(), Value::Null);
                    self.out.diags.push(
                        Diagnostic::new(
                            "infra::variable-value",
                            format!("{message} (from {from})"),
                        )
                        .label(
                            decl.validations.first().map_or(decl.span, |v| v.span),
                            "this validation fails",
                        )
                        .help(help),
                    );
                }
            }
        }
        for (module, name) in &self.out.broken_vars {
            if module.is_empty() {
                values.entry(name.clone()).or_insert(Value::Null);
            }
        }
        values
    }

    /// The `stack "name" region="..." { tags { ... } }` header of the root file.
    fn header(&mut self, parsed: &Parsed, vars: &BTreeMap<String, Value>) {
        let mut nodes: Vec<(Here, KdlNode)> = Vec::new();
        self.nodes(
            parsed,
            Pass::Declarations { root: true },
            &[],
            |_, here, node| {
                if node.name().value() == "stack" {
                    nodes.push((here, node.clone()));
                }
            },
        );
        let info = StackInfo::default();
        let Some((here, node)) = nodes.first() else {
            if !self.out.syntax_errors {
                let start = Span {
                    source: parsed.source,
                    offset: 0,
                    len: 0,
                };
                self.out.diags.push(
                    Diagnostic::new("infra::stack", "the stack file declares no `stack`")
                        .label(start, "a stack file starts with its `stack` node")
                        .help(
                            "add `stack \"<name>\" region=\"<aws-region>\"` at the top of the file",
                        ),
                );
            }
            return;
        };
        let mut d = self.decoder(*here, &[], vars, &info, None);
        for (extra_here, extra) in &nodes[1..] {
            let span = extra_here.span(extra.name().span());
            let first = d.span(node.name().span());
            d.diags.push(
                Diagnostic::new("infra::stack", "the stack is declared twice")
                    .label(span, "declared again here")
                    .label(first, "first declared here")
                    .help("a stack file declares exactly one `stack`"),
            );
        }
        let body = d.block(NodeView::whole(node), &STACK_HEADER);
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        self.out.info = StackInfo {
            name: text("name"),
            region: text("region"),
            production: body.get("production") == Some(&Value::Bool(true)),
        };
        if let Some(Value::Map(tags)) = body.get("tags") {
            self.out.tags = tags
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect();
        }
    }

    fn walk(&mut self, parsed: &Parsed, file: FileScope<'_>) {
        self.nodes(
            parsed,
            Pass::Body { root: file.root },
            file.module,
            |this, here, node| this.node(here, node, file),
        );
    }

    /// A decoder for a node of `file`.
    fn scoped<'a, 'd>(&'d mut self, here: Here, file: FileScope<'a>) -> Decoder<'a, 'd> {
        self.decoder(here, file.module, file.vars, file.info, file.each)
    }

    fn node(&mut self, here: Here, node: &KdlNode, file: FileScope<'_>) {
        let root = file.root;
        let word = node.name().value();
        let span = here.span(node.name().span());
        match word {
            "stack" if root => {}
            "variable" if root => {}
            "input" if !root => {}
            "stack" | "variable" | "input" => {
                let (help, msg) = if root {
                    (
                        "stack files declare `variable`s; `input` is for modules",
                        "`input` belongs in a module file",
                    )
                } else if word == "stack" {
                    (
                        "only the stack file declares `stack`",
                        "a module cannot declare `stack`",
                    )
                } else {
                    (
                        "module files declare `input`s",
                        "`variable` belongs in a stack file",
                    )
                };
                self.out.diags.push(
                    Diagnostic::new("infra::unknown-node", msg)
                        .label(span, "here")
                        .help(help),
                );
            }
            "output" => self.output(here, node, file),
            "probe" if root => {
                let mut d = self.scoped(here, file);
                if let Some(probe) = super::probe::decode(&mut d, node) {
                    self.out.probes.push(probe);
                }
            }
            "probe" => self.out.diags.push(
                Diagnostic::new("infra::unknown-node", "`probe` belongs in the stack file")
                    .label(span, "here")
                    .help("declare probes next to the stack, where `infra verify` reads them"),
            ),
            "module" => self.module(here, node, file),
            "lookup" => self.lookup(here, node, file),
            _ => match Kind::from_node_name(word) {
                Some(kind) => self.resource(here, node, kind, 1, file),
                None => {
                    // References to what this node would have declared are not mistakes of
                    // their own.
                    if let Some(name) = node.entry(0).and_then(|e| e.value().as_string()) {
                        self.out
                            .broken
                            .insert((file.module.to_vec(), name.to_string()));
                    }
                    if self.out.diags.full() {
                        self.out.diags.count_omitted();
                        return;
                    }
                    let words = Kind::MANAGED.iter().map(|k| k.keyword()).chain(TOP_LEVEL);
                    self.out.diags.push(
                        Diagnostic::new("infra::unknown-node", format!("unknown node `{word}`"))
                            .label(span, "not a resource kind or declaration")
                            .help(did_you_mean(word, words, "top-level nodes")),
                    );
                }
            },
        }
    }

    fn lookup(&mut self, here: Here, node: &KdlNode, file: FileScope<'_>) {
        let span = here.span(node.name().span());
        let word = node.entry(0).and_then(|e| e.value().as_string());
        match word.and_then(Kind::from_lookup_word) {
            Some(kind) => self.resource(here, node, kind, 2, file),
            None => {
                let words: Vec<&str> = Kind::LOOKUPS
                    .iter()
                    .filter_map(|k| k.lookup_word())
                    .collect();
                let (span, help) = match (word, node.entry(0)) {
                    (Some(w), Some(e)) => (
                        here.span(e.span()),
                        did_you_mean(w, words.iter().copied(), "look-ups"),
                    ),
                    _ => (
                        span,
                        format!(
                            "write `lookup \"<kind>\" \"<name>\"`; kinds: {}",
                            words.join(", ")
                        ),
                    ),
                };
                self.out.diags.push(
                    Diagnostic::new("infra::unknown-node", "unknown kind of look-up")
                        .label(span, "here")
                        .help(help),
                );
            }
        }
    }

    fn resource(
        &mut self,
        here: Here,
        node: &KdlNode,
        kind: Kind,
        name_index: usize,
        file: FileScope<'_>,
    ) {
        let node_span = here.span(node.name().span());
        let name_entry = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .nth(name_index - 1);
        let Some(name) = name_entry.and_then(|e| e.value().as_string()) else {
            self.out.diags.push(
                Diagnostic::new(
                    "infra::declaration",
                    format!("this {} has no name", kind.title()),
                )
                .label(node_span, "unnamed")
                .help(match kind.lookup_word() {
                    Some(w) => format!("write `lookup \"{w}\" \"<name>\" {{ ... }}`"),
                    None => format!("write `{} \"<name>\" {{ ... }}`", kind.keyword()),
                }),
            );
            return;
        };
        let name_span = name_entry.map_or(node_span, |e| here.span(e.span()));
        if !valid_name(name) {
            self.out.diags.push(
                Diagnostic::new("infra::declaration", format!("`{name}` is not a valid resource name"))
                    .label(name_span, "invalid name")
                    .help("resource names use lowercase letters, digits, hyphens and underscores, starting with a letter"),
            );
        }
        let base = Address::new(file.module.to_vec(), kind, name);
        let items = {
            let mut d = self.scoped(here, file);
            for_each::items(&mut d, node)
        };
        if let Some(first) = self.out.declared(&base) {
            self.out.diags.push(
                Diagnostic::new(
                    "infra::duplicate-address",
                    format!("`{base}` is declared twice"),
                )
                .label(name_span, "declared again here")
                .label(first, "first declared here")
                .help("give each resource of a kind its own name"),
            );
            return;
        }
        let items = match items {
            Some(_) if kind.is_lookup() => {
                self.out
                    .broken
                    .insert((file.module.to_vec(), name.to_string()));
                self.out.diags.push(
                    Diagnostic::new("infra::for-each", "a look-up cannot have `for-each`")
                        .label(name_span, "this look-up")
                        .help("`for-each` makes several resources or module instances; declare each look-up on its own"),
                );
                return;
            }
            None => {
                self.resource_instance(here, node, kind, name_index, file, base, name_span);
                return;
            }
            Some(Err(())) => {
                self.out
                    .broken
                    .insert((file.module.to_vec(), name.to_string()));
                self.out.groups.insert(base, (name_span, Vec::new()));
                return;
            }
            Some(Ok(items)) => items,
        };
        let keys = items.iter().map(|(each, _)| each.key.clone()).collect();
        self.out.groups.insert(base.clone(), (name_span, keys));
        // Each instance decodes the node again: it counts against the bound on expansion.
        let bytes = (node.span().len() as u64).saturating_mul(items.len() as u64);
        if self.expanded.saturating_add(bytes) > MAX_EXPANDED_BYTES {
            self.out
                .broken
                .insert((file.module.to_vec(), name.to_string()));
            self.out.diags.push(
                Diagnostic::new(
                    "infra::limit",
                    format!(
                        "`{base}` expands to more than {} of text to decode",
                        mib(MAX_EXPANDED_BYTES)
                    ),
                )
                .label(name_span, "this `for-each`")
                .help("each instance decodes the node again: range over fewer items, or make the node smaller"),
            );
            return;
        }
        self.expanded += bytes;
        for (each, _) in &items {
            let inner = FileScope {
                each: Some(each),
                ..file
            };
            let address = base.clone().with_key(each.key.clone());
            self.resource_instance(here, node, kind, name_index, inner, address, name_span);
        }
    }

    /// Decodes one resource (or one instance of a `for-each`) at `address`.
    #[allow(clippy::too_many_arguments)]
    fn resource_instance(
        &mut self,
        here: Here,
        node: &KdlNode,
        kind: Kind,
        name_index: usize,
        file: FileScope<'_>,
        address: Address,
        name_span: Span,
    ) {
        let mut d = self.scoped(here, file);
        let attrs = d.block(
            NodeView {
                node,
                skip_args: name_index,
                skip_children: META,
                skip_props: &[FOR_EACH],
                allow_taken: false,
            },
            kind.schema().body,
        );
        let spans = std::mem::take(&mut d.spans);
        let allows = std::mem::take(&mut d.allows);
        let mut depends_on = Vec::new();
        let mut lifecycle = Lifecycle::default();
        for child in node.iter_children() {
            match child.name().value() {
                "depends-on" => depends_on.extend(depends(&mut d, child)),
                "lifecycle" => lifecycle = lifecycle_block(&mut d, child, kind.schema().body),
                _ => {}
            }
        }
        if let Some(first) = self.out.addresses.get(&address) {
            self.out.diags.push(
                Diagnostic::new(
                    "infra::duplicate-address",
                    format!("`{address}` is declared twice"),
                )
                .label(name_span, "declared again here")
                .label(*first, "first declared here")
                .help("give each resource of a kind its own name"),
            );
            return;
        }
        // A count owned by autoscaling or by hand is the live one's after create.
        if attrs
            .get("desired-count-owner")
            .and_then(Value::as_str)
            .is_some_and(|o| o != "stack")
            && !lifecycle
                .ignore_changes
                .iter()
                .any(|p| p == "desired-count")
        {
            lifecycle.ignore_changes.push("desired-count".into());
        }
        self.out.addresses.insert(address.clone(), name_span);
        self.out.spans.insert(address.clone(), spans);
        self.out.allows.insert(address.clone(), allows);
        self.out.resources.push(Resource {
            address,
            attrs,
            depends_on,
            lifecycle,
            span: name_span,
        });
    }

    fn output(&mut self, here: Here, node: &KdlNode, file: FileScope<'_>) {
        let mut d = self.scoped(here, file);
        let span = d.span(node.name().span());
        let args: Vec<_> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .collect();
        let [name, value] = args.as_slice() else {
            d.diags.push(
                Diagnostic::new("infra::declaration", "an output needs a name and a value")
                    .label(span, "here")
                    .help("write `output \"<name>\" (ref)\"kind.name.attribute\"`"),
            );
            return;
        };
        let Some(name) = name.value().as_string() else {
            return;
        };
        if let Some(v) = d.any_entry(value) {
            let vspan = d.span(value.span());
            self.out
                .outputs
                .insert((file.module.to_vec(), name.to_string()), (v, vspan));
        }
    }

    fn module(&mut self, here: Here, node: &KdlNode, file: FileScope<'_>) {
        let span = here.span(node.name().span());
        let Some(name) = node.entry(0).and_then(|e| e.value().as_string()) else {
            self.out.diags.push(
                Diagnostic::new("infra::module", "this module has no name")
                    .label(span, "unnamed")
                    .help("write `module \"<name>\" source=\"path/to/module.kdl\" { ... }`"),
            );
            return;
        };
        let Some(source_entry) = node.entry("source") else {
            self.out.diags.push(
                Diagnostic::new("infra::module", format!("module `{name}` has no source"))
                    .label(span, "no source=")
                    .help("add `source=\"path/to/module.kdl\"`, relative to this file"),
            );
            return;
        };
        let source_span = here.span(source_entry.span());
        let Some(source) = source_entry.value().as_string() else {
            return;
        };
        let path = file.dir.join(source);
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        let mut path_here = file.module.to_vec();
        path_here.push(name.to_string());
        if self.active.contains(&key) {
            self.out.broken_modules.insert(path_here);
            self.out.diags.push(
                Diagnostic::new("infra::module", format!("module `{name}` includes itself"))
                    .label(source_span, "this module is already being expanded")
                    .help("modules may nest, but not recursively"),
            );
            return;
        }
        let first = self
            .out
            .modules
            .get(&path_here)
            .or_else(|| self.out.module_groups.get(&path_here).map(|(s, _)| s))
            .copied();
        if let Some(first) = first {
            self.out.diags.push(
                Diagnostic::new(
                    "infra::duplicate-address",
                    format!("module `{name}` is declared twice"),
                )
                .label(span, "declared again here")
                .label(first, "first declared here")
                .help("give each module instance its own name"),
            );
            return;
        }
        let items = {
            let mut d = self.scoped(here, file);
            for_each::items(&mut d, node)
        };
        let instance = Instance {
            here,
            node,
            name,
            span,
            source_span,
            path: &path,
            key,
        };
        match items {
            None => self.module_instance(&instance, path_here, file),
            Some(Err(())) => {
                self.out.broken_modules.insert(path_here.clone());
                self.out.module_groups.insert(path_here, (span, Vec::new()));
            }
            Some(Ok(items)) => {
                let keys = items.iter().map(|(each, _)| each.key.clone()).collect();
                self.out
                    .module_groups
                    .insert(path_here.clone(), (span, keys));
                for (each, _) in &items {
                    let mut keyed = file.module.to_vec();
                    keyed.push(crate::model::address::instance(name, Some(&each.key)));
                    let inner = FileScope {
                        each: Some(each),
                        ..file
                    };
                    self.module_instance(&instance, keyed, inner);
                }
            }
        }
    }

    /// Expands one instance of a module at `path_here` (its name, with its key for an
    /// instance of a `for-each`); its inputs are decoded in the caller's `file`.
    fn module_instance(&mut self, m: &Instance<'_>, path_here: Vec<String>, file: FileScope<'_>) {
        if !self.within_module_bounds(&path_here, m.span, 0) {
            return;
        }
        self.out.modules.insert(path_here.clone(), m.span);
        let Some(module_file) = self.read(m.path, Some(m.source_span), Role::Module, &|w| {
            expected_node(w)
        }) else {
            self.out.broken_modules.insert(path_here);
            return;
        };
        if !self.within_module_bounds(&path_here, m.span, module_file.text.len() as u64) {
            return;
        }
        let decls = self.declarations(&module_file, "input", &path_here);
        let inputs = self.module_inputs(m.here, m.node, m.name, &path_here, &decls, file);
        self.active.push(m.key.clone());
        let module_dir = m.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let inner = FileScope {
            module: &path_here,
            vars: &inputs,
            info: file.info,
            dir: &module_dir,
            root: false,
            each: None,
        };
        self.walk(&module_file, inner);
        self.active.pop();
    }

    /// Counts a module instance (and the text it decodes) against the bounds on expansion;
    /// `false`, once reported, when a bound is crossed: the instance is not expanded.
    fn within_module_bounds(&mut self, path: &[String], span: Span, bytes: u64) -> bool {
        if self.expansion_stopped {
            self.out.broken_modules.insert(path.to_vec());
            return false;
        }
        let chain = || {
            path.iter()
                .map(|m| format!("module.{m}"))
                .collect::<Vec<_>>()
                .join(" → ")
        };
        let crossed = if path.len() > MAX_MODULE_DEPTH {
            Some((
                format!(
                    "modules nest more than {MAX_MODULE_DEPTH} deep: {}",
                    chain()
                ),
                format!("a module may use modules, at most {MAX_MODULE_DEPTH} levels deep"),
            ))
        } else if bytes == 0 && self.instances + 1 > MAX_MODULE_INSTANCES {
            Some((
                format!(
                    "the stack expands to more than {MAX_MODULE_INSTANCES} module instances, \
                     the last one {}",
                    chain()
                ),
                "modules that each use a module several times multiply: check which module \
                 uses which"
                    .to_string(),
            ))
        } else if self.expanded + bytes > MAX_EXPANDED_BYTES {
            Some((
                format!(
                    "the stack expands to more than {} of module text, the last one {}",
                    mib(MAX_EXPANDED_BYTES),
                    chain()
                ),
                "each module instance decodes its file again: use large modules fewer times"
                    .to_string(),
            ))
        } else {
            None
        };
        if let Some((message, help)) = crossed {
            self.expansion_stopped = true;
            self.out.broken_modules.insert(path.to_vec());
            self.out.diags.push(
                Diagnostic::new("infra::limit", message)
                    .label(span, "this instance crosses the bound")
                    .help(help),
            );
            return false;
        }
        if bytes == 0 {
            self.instances += 1;
        }
        self.expanded += bytes;
        true
    }

    /// The values an instantiation passes to a module's inputs, decoded in the caller's scope.
    fn module_inputs(
        &mut self,
        here: Here,
        node: &KdlNode,
        name: &str,
        path: &[String],
        decls: &[VarDecl],
        file: FileScope<'_>,
    ) -> BTreeMap<String, Value> {
        // Inputs whose declaration did not parse: already reported, and in scope as unknown.
        let broken: Vec<String> = self
            .out
            .broken_vars
            .iter()
            .filter(|(m, _)| m == path)
            .map(|(_, n)| n.clone())
            .collect();
        let mut d = self.scoped(here, file);
        let node_span = d.span(node.name().span());
        let mut given: BTreeMap<String, (Value, Span)> = BTreeMap::new();
        let names = || decls.iter().map(|x| x.name.as_str());
        let unknown = |d: &mut Decoder<'_, '_>, key: &str, span: Span| {
            if broken.iter().any(|b| b == key) {
                return;
            }
            d.diags.push(
                Diagnostic::new(
                    "infra::module-input",
                    format!("module `{name}` has no input `{key}`"),
                )
                .label(span, "unknown input")
                .help(did_you_mean(key, names(), "inputs")),
            );
        };
        for entry in node.entries().iter().skip(1) {
            let Some(key) = entry.name().map(|k| k.value()) else {
                continue;
            };
            if key == "source" || key == FOR_EACH {
                continue;
            }
            let span = d.span(entry.span());
            match decls.iter().find(|x| x.name == key) {
                Some(decl) => {
                    if let Some(v) = d.entry_as(entry, decl.ty.ty()) {
                        given.insert(key.to_string(), (v, span));
                    }
                }
                None => unknown(&mut d, key, span),
            }
        }
        for child in node.iter_children() {
            let key = child.name().value();
            if key == FOR_EACH {
                continue;
            }
            let span = d.span(child.name().span());
            match decls.iter().find(|x| x.name == key) {
                Some(decl) => {
                    if let Some(v) = d.var_value(child, decl.ty) {
                        given.insert(key.to_string(), (v, span));
                    }
                }
                None => unknown(&mut d, key, span),
            }
        }
        let mut values = BTreeMap::new();
        for decl in decls {
            let (value, span) = match given.remove(&decl.name) {
                Some(x) => x,
                None => match &decl.default {
                    Some(v) => (v.clone(), decl.span),
                    None => {
                        values.insert(decl.name.clone(), Value::Null);
                        if decl.default_failed {
                            continue;
                        }
                        d.diags.push(
                            Diagnostic::new(
                                "infra::module-input",
                                format!("module `{name}` needs input `{}`", decl.name),
                            )
                            .label(node_span, "missing input")
                            .help(format!("add `{} <value>` to the module block", decl.name)),
                        );
                        continue;
                    }
                },
            };
            // References are checked once the graph is built; everything else right here.
            if matches!(value, Value::Ref(_)) {
                values.insert(decl.name.clone(), value);
                continue;
            }
            match validate(decl, value) {
                Ok(v) => {
                    values.insert(decl.name.clone(), v);
                }
                Err((message, help)) => {
                    values.insert(decl.name.clone(), Value::Null);
                    d.diags.push(
                        Diagnostic::new(
                            "infra::module-input",
                            format!("module `{name}`: {message}"),
                        )
                        .label(span, "this value")
                        .help(help),
                    );
                }
            }
        }
        for name in broken {
            values.entry(name).or_insert(Value::Null);
        }
        values
    }
}

/// Whether a file may start with a node of this name: a stack or module file starts with a
/// declaration, a resource kind, a look-up, a module or an output.
fn expected_node(word: &str) -> bool {
    TOP_LEVEL.contains(&word) || Kind::from_node_name(word).is_some()
}

/// The KDL v2 spelling of a KDL v1 keyword.
fn valid_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `depends-on "secret.db" (ref)"log-group.api"`
fn depends(d: &mut Decoder<'_, '_>, node: &KdlNode) -> Vec<DependsOn> {
    let mut out = Vec::new();
    for entry in node.entries() {
        let span = d.span(entry.span());
        let Some(text) = entry.value().as_string() else {
            d.diags.push(
                Diagnostic::new("infra::type", "`depends-on` takes resource addresses")
                    .label(span, "not an address")
                    .help("write `depends-on \"secret.db\" \"log-group.api\"`"),
            );
            continue;
        };
        let Some(text) = d.ref_text(text, span) else {
            continue;
        };
        let text = text.as_str();
        match super::reference::parse_ref(text, d.scope.module) {
            Ok(crate::model::RefTarget::Resource { address, .. }) => {
                out.push(DependsOn { address, span })
            }
            Ok(crate::model::RefTarget::Output { .. }) => d.diags.push(
                Diagnostic::new(
                    "infra::reference",
                    format!("`{text}` is a module output, not a resource"),
                )
                .label(span, "here")
                .help("depend on a resource inside the module: `module.<name>.<kind>.<name>`"),
            ),
            Err(e) => d.diags.push(
                Diagnostic::new(e.code, e.message)
                    .label(span, "here")
                    .help(e.help),
            ),
        }
    }
    out
}

/// `lifecycle { prevent-destroy #true; ignore-changes "desired-count" }`
fn lifecycle_block(
    d: &mut Decoder<'_, '_>,
    node: &KdlNode,
    body: &'static BlockSchema,
) -> Lifecycle {
    let values = d.block(NodeView::whole(node), &LIFECYCLE);
    let protect_span = node
        .iter_children()
        .find(|c| c.name().value() == "prevent-destroy")
        .map(|c| c.span())
        .or_else(|| node.entry("prevent-destroy").map(|e| e.span()))
        .map_or_else(|| d.span(node.name().span()), |s| d.span(s));
    let mut lifecycle = Lifecycle {
        prevent_destroy: (values.get("prevent-destroy") == Some(&Value::Bool(true)))
            .then_some(protect_span),
        ignore_changes: Vec::new(),
    };
    let paths: Vec<String> = values
        .get("ignore-changes")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let span = node
        .iter_children()
        .find(|c| c.name().value() == "ignore-changes")
        .map_or_else(|| d.span(node.name().span()), |c| d.span(c.span()));
    for path in paths {
        if let Err(help) = check_path(&path, body) {
            d.diags.push(
                Diagnostic::new(
                    "infra::unknown-attribute",
                    format!("`ignore-changes` names `{path}`, which is not an attribute"),
                )
                .label(span, "in this list")
                .help(help),
            );
        } else {
            lifecycle.ignore_changes.push(path);
        }
    }
    lifecycle
}

/// Checks an attribute path such as `container.api.image` against a schema.
fn check_path(path: &str, body: &'static BlockSchema) -> Result<(), String> {
    let mut schema = body;
    let mut segments = path.split('.');
    while let Some(segment) = segments.next() {
        let Some(attr) = schema.attr(segment) else {
            return Err(did_you_mean(
                segment,
                schema.attrs.iter().map(|a| a.name),
                "attributes",
            ));
        };
        match attr.ty {
            Type::Block(inner) => schema = inner,
            Type::Blocks(inner) => {
                // The next segment is a label (`container.api.image`) when the block has one.
                if inner.label.is_some() {
                    segments.next();
                }
                schema = inner;
            }
            Type::Map(_) => return Ok(()),
            _ => {
                return match segments.next() {
                    None => Ok(()),
                    Some(extra) => Err(format!("`{segment}` has no part `{extra}`")),
                };
            }
        }
    }
    Ok(())
}

static LIFECYCLE: BlockSchema = BlockSchema::new(
    "lifecycle",
    &[
        crate::model::schema::Attr::bool("prevent-destroy"),
        crate::model::schema::Attr::strings("ignore-changes"),
    ],
);
