//! The layout's rules, read from the source: no import cycle between files of `src/`, the
//! directions between rooms (README, "Layout"), and no file of `src/` over 500 lines of code
//! outside its tests. A file's imports are its `use` items and every `crate::`, `super::` and
//! `self::` path in its code, resolved to the file that defines the name (following a folder's
//! `pub use` re-exports); its tests (`#[cfg(test)]` and `tests.rs` files) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_CODE_LINES: usize = 500;

/// Value types the settings may hold, parsed when the configuration loads; like the store's
/// plain types, they import nothing of the wallet.
const CONFIG_MAY_IMPORT: &[&str] = &["src/money.rs"];

/// Source rooms whose files the store may import: types without rules or words.
const STORE_MAY_IMPORT: &[&str] = &[
    "src/accounts/user.rs",
    "src/payments/status.rs",
    "src/points/ledger.rs",
    "src/vault/stored.rs",
];

struct Module {
    /// `crate::a::b` as `["a", "b"]`.
    path: Vec<String>,
    /// The module's own file, relative to the crate root (`src/a/b.rs`).
    file: String,
    /// The code, without comments and test modules.
    code: String,
    /// For a folder's `mod.rs` (or `lib.rs`): names it re-exports, and from which submodule path.
    reexports: BTreeMap<String, Vec<String>>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/`, except test modules kept in files of their own.
fn source_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("src"), &mut files);
    let mut names: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .filter(|f| !f.ends_with("/tests.rs") && !f.contains("/tests/"))
        .collect();
    names.sort();
    names
}

/// The code of a file: everything before its first `#[cfg(test)]`, without comments.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let line = match line.find(" // ") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn module_path(file: &str) -> Vec<String> {
    let inner = file.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = inner.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// `use` items spelled out into whole paths: `use a::{b, c::{d, e}};` gives `a::b`, `a::c::d`,
/// `a::c::e` (and `a` for `self`).
fn expand_use(spec: &str, prefix: &str, out: &mut Vec<String>) {
    let spec = spec.trim();
    if let Some(open) = spec.find('{') {
        let head = format!("{prefix}{}", &spec[..open]);
        let inner = &spec[open + 1..spec.rfind('}').unwrap()];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_use(&inner[start..i], &head, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_use(&inner[start..], &head, out);
    } else if !spec.is_empty() {
        let spec = spec.split(" as ").next().unwrap().trim();
        let whole = format!("{prefix}{spec}");
        out.push(whole.strip_suffix("::self").unwrap_or(&whole).to_string());
    }
}

/// Every path the code names that starts at `crate`, `super` or `self`.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    // `use` items, which may list several paths in braces.
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        let spec: String = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        if spec.starts_with("crate::") || spec.starts_with("super::") || spec.starts_with("self::")
        {
            expand_use(&spec, "", &mut paths);
        }
    }
    // Paths written inline in the code.
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| at + e);
            // `a::{b, c}` is a `use` item's head: its paths are read with the item.
            if code[end..].starts_with('{') {
                continue;
            }
            paths.push(code[at..end].trim_end_matches(':').to_string());
        }
    }
    paths
}

fn load() -> BTreeMap<String, Module> {
    let mut modules = BTreeMap::new();
    for file in source_files() {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        let code = code_of(&text);
        let path = module_path(&file);
        let mut reexports = BTreeMap::new();
        for item in code.split("pub use ").skip(1) {
            let Some(end) = item.find(';') else { continue };
            let spec: String = item[..end].split_whitespace().collect::<Vec<_>>().join(" ");
            let mut expanded = Vec::new();
            expand_use(&spec, "", &mut expanded);
            for whole in expanded {
                let parts: Vec<String> = whole
                    .split("::")
                    .filter(|p| *p != "self")
                    .map(str::to_string)
                    .collect();
                if let Some(name) = parts.last() {
                    let mut target = path.clone();
                    let mut from = &parts[..parts.len() - 1];
                    if from.first().is_some_and(|p| p == "crate") {
                        target.clear();
                        from = &from[1..];
                    }
                    target.extend(from.iter().cloned());
                    reexports.insert(name.clone(), target);
                }
            }
        }
        modules.insert(
            file.clone(),
            Module {
                path,
                file,
                code,
                reexports,
            },
        );
    }
    modules
}

/// The file that defines what `path` names, seen from `module`.
fn resolve(path: &str, module: &Module, modules: &BTreeMap<String, Module>) -> Option<String> {
    let by_path: BTreeMap<&[String], &Module> =
        modules.values().map(|m| (m.path.as_slice(), m)).collect();
    let mut segments: Vec<String> = Vec::new();
    let mut parts = path.split("::").peekable();
    match parts.next()? {
        "crate" => {}
        "self" => segments.extend(module.path.iter().cloned()),
        "super" => {
            let mut base = module.path.clone();
            base.pop();
            while parts.peek() == Some(&"super") {
                parts.next();
                base.pop();
            }
            segments.extend(base);
        }
        _ => return None,
    }
    segments.extend(parts.map(str::to_string));
    // The longest prefix that is a module, then a re-export inside it.
    for len in (0..=segments.len()).rev() {
        if let Some(found) = by_path.get(&segments[..len]) {
            if let Some(next) = segments.get(len) {
                if let Some(target) = found.reexports.get(next) {
                    if let Some(inner) = by_path.get(target.as_slice()) {
                        return Some(inner.file.clone());
                    }
                }
            }
            return Some(found.file.clone());
        }
    }
    None
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = load();
    let mut edges = BTreeMap::new();
    for module in modules.values() {
        let mut to = BTreeSet::new();
        for path in named_paths(&module.code) {
            if let Some(file) = resolve(&path, module, &modules) {
                if file != module.file {
                    to.insert(file);
                }
            }
        }
        edges.insert(module.file.clone(), to);
    }
    edges
}

/// Files that import files that import them back, each cycle once.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's strongly connected components.
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = self.stack.pop().unwrap();
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
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

/// Every import from a file under `from` to a file under `to`.
fn crossings(
    edges: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
) -> Vec<(String, String)> {
    edges
        .iter()
        .filter(|(file, _)| file.starts_with(from))
        .flat_map(|(file, targets)| {
            targets
                .iter()
                .filter(|t| t.starts_with(to))
                .map(move |t| (file.clone(), t.clone()))
        })
        .collect()
}

#[test]
fn the_reader_resolves_imports_and_finds_cycles() {
    let mut paths = Vec::new();
    expand_use("crate::a::{b, c::{d, self}, e as f}", "", &mut paths);
    assert_eq!(
        paths,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c",
            "crate::a::e"
        ]
    );
    let code = code_of("use crate::x::Y;\n// crate::no\nfn f() { crate::z::g(); }\n#[cfg(test)]\nmod tests { use crate::t; }\n");
    assert_eq!(
        named_paths(&code),
        ["crate::x::Y", "crate::x::Y", "crate::z::g"]
    );
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
    .collect();
    assert_eq!(cycles(&edges), [vec!["a", "b", "c"]]);
    // The real tree is read: the http layer imports services, the store is imported.
    let real = graph();
    assert!(real["src/http/payments.rs"].contains("src/payments/mod.rs"));
    assert!(real["src/payments/create.rs"]
        .iter()
        .any(|f| f.starts_with("src/store/")));
}

#[test]
fn no_file_of_src_imports_itself_back_through_others() {
    let found = cycles(&graph());
    assert!(
        found.is_empty(),
        "import cycles between files of src/: {found:#?}"
    );
}

#[test]
fn rooms_import_in_the_directions_the_layout_gives() {
    let edges = graph();
    let rules: &[(&str, &str, &str)] = &[
        (
            "src/http/",
            "src/store/",
            "the http layer calls services, never the store",
        ),
        (
            "src/processor/",
            "src/vault/",
            "card types live below both, in src/card",
        ),
        ("src/webhooks/", "src/payments/", "events arrive rendered"),
        ("src/config.rs", "src/", "settings import no service"),
        ("src/keys/", "src/config.rs", "keys take their own settings"),
        (
            "src/store/",
            "src/error.rs",
            "the store returns refusals, not words",
        ),
        ("src/store/", "src/http/", "the store knows no HTTP"),
    ];
    let mut broken = Vec::new();
    for (from, to, why) in rules {
        for (file, target) in crossings(&edges, from, to) {
            if file == "src/config.rs" && CONFIG_MAY_IMPORT.contains(&target.as_str()) {
                continue;
            }
            broken.push(format!("{file} -> {target}: {why}"));
        }
    }
    for (file, targets) in edges.iter().filter(|(f, _)| f.starts_with("src/store/")) {
        for target in targets.iter().filter(|t| !t.starts_with("src/store/")) {
            if !STORE_MAY_IMPORT.contains(&target.as_str()) {
                broken.push(format!(
                    "{file} -> {target}: the store imports only plain types ({STORE_MAY_IMPORT:?})"
                ));
            }
        }
    }
    // The plain types the store may import carry no words: they cannot build a wallet error.
    for plain in STORE_MAY_IMPORT.iter().chain(CONFIG_MAY_IMPORT) {
        for target in &edges[*plain] {
            broken.push(format!(
                "{plain} -> {target}: a plain type imports nothing of the wallet"
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layout:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_file_of_src_has_over_500_lines_of_code_outside_its_tests() {
    let modules = load();
    let long: Vec<String> = modules
        .values()
        .filter_map(|m| {
            let lines = m.code.lines().filter(|l| !l.trim().is_empty()).count();
            (lines > MAX_CODE_LINES).then(|| format!("{}: {lines} lines", m.file))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_CODE_LINES} lines of code: {long:?}"
    );
}
