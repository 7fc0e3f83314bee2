//! What the README and `docs/` say about the repository itself, read so that tests can hold
//! them to it: the repository paths they name, the `make` targets they name, and the lines
//! they quote (such as a header the console sends).
//!
//! A path is checked when it is surely one: a Markdown link's target (a relative link; a
//! `#fragment` must name a heading of the file it points to), or a word of code (an inline
//! code span, or a line of a fenced block) that begins with a top-level directory of the
//! repository. Anything else is left alone: URLs, absolute paths (`/tmp/...`, routes such as
//! `/calls`), S3 keys and secret names (`hatif/...`, `callvault/voki`), words holding
//! placeholders or patterns (`<bin>`, `{provider}`, `*`, `...`), and paths the repository's
//! `.gitignore` files ignore (build output, venvs, files a deploy writes), which a clean
//! checkout does not have.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// A Markdown file of the repository: its path from the root (`docs/records.md`) and text.
#[derive(Debug, Clone)]
pub struct Markdown {
    /// Its path from the repository root, with `/` separators.
    pub path: String,
    /// Its text.
    pub text: String,
}

/// `README.md` and every `.md` file under `docs/`, in path order.
pub fn markdown_files(root: &Path) -> anyhow::Result<Vec<Markdown>> {
    let mut paths = vec!["README.md".to_owned()];
    let mut dirs = vec!["docs".to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(root.join(&dir)).with_context(|| format!("listing {dir}"))?;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{dir}/{name}");
            if entry.file_type()?.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".md") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(root.join(&path))
                .with_context(|| format!("reading {path}"))?;
            Ok(Markdown { path, text })
        })
        .collect()
}

/// Where a Markdown file says something: its line (from 1) and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// The line it starts on.
    pub line: usize,
    /// What is said there.
    pub text: String,
}

fn said(line: usize, text: impl Into<String>) -> Said {
    Said {
        line,
        text: text.into(),
    }
}

/// A Markdown text split into prose paragraphs and the lines of fenced code blocks.
#[derive(Debug, Default)]
struct Blocks {
    /// Paragraphs outside fenced blocks: the line each starts on and its lines joined by `\n`.
    paragraphs: Vec<(usize, String)>,
    /// Every line inside a fenced block.
    fenced: Vec<Said>,
}

/// A fence opening or closing a code block: up to three spaces, then three or more backticks
/// or tildes; its character and length.
fn fence(line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let mark = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = rest.len() - rest.trim_start_matches(mark).len();
    (indent <= 3 && length >= 3).then_some((mark, length))
}

fn blocks(text: &str) -> Blocks {
    let mut out = Blocks::default();
    let mut open: Option<(char, usize)> = None;
    let mut paragraph: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if let Some((mark, length)) = open {
            match fence(line) {
                Some((m, l)) if m == mark && l >= length && line.trim().len() == l => open = None,
                _ => out.fenced.push(said(number, line)),
            }
            continue;
        }
        if let Some(found) = fence(line) {
            out.paragraphs.extend(paragraph.take());
            open = Some(found);
        } else if line.trim().is_empty() {
            out.paragraphs.extend(paragraph.take());
        } else {
            match &mut paragraph {
                Some((_, text)) => {
                    text.push('\n');
                    text.push_str(line);
                }
                None => paragraph = Some((number, line.to_owned())),
            }
        }
    }
    out.paragraphs.extend(paragraph);
    out
}

/// The inline code spans of one paragraph (CommonMark: a run of backticks up to the next run
/// of the same length; line breaks inside become spaces), with the paragraph's text outside
/// them.
fn spans(first_line: usize, paragraph: &str) -> (Vec<Said>, String) {
    let bytes = paragraph.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|b| **b == b'`').count();
    let line_at = |i: usize| first_line + paragraph[..i].matches('\n').count();
    let (mut found, mut prose, mut i, mut copied) = (Vec::new(), String::new(), 0, 0);
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let open = run_at(i);
        let start = i + open;
        let mut j = start;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let run = run_at(j);
                if run == open {
                    close = Some(j);
                    break;
                }
                j += run;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                let content = paragraph[start..end].replace('\n', " ");
                let content = match content.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
                    Some(inner) if !inner.trim().is_empty() => inner.to_owned(),
                    _ => content,
                };
                found.push(said(line_at(i), content));
                prose.push_str(&paragraph[copied..i]);
                prose.push(' ');
                i = end + open;
                copied = i;
            }
            // Backticks without a closing run are literal.
            None => i = start,
        }
    }
    prose.push_str(&paragraph[copied..]);
    (found, prose)
}

/// The targets of a paragraph's inline links and images (`[text](target "title")`).
fn inline_links(first_line: usize, prose: &str) -> Vec<Said> {
    let mut out = Vec::new();
    let mut rest = prose;
    let mut offset = 0;
    while let Some(at) = rest.find("](") {
        let start = at + 2;
        let tail = &rest[start..];
        let end = tail.find(')').unwrap_or(tail.len());
        let target = tail[..end].split_whitespace().next().unwrap_or_default();
        let target = target
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(target);
        if !target.is_empty() {
            let line = first_line + prose[..offset + at].matches('\n').count();
            out.push(said(line, target));
        }
        offset += start;
        rest = tail;
    }
    out
}

/// What a Markdown text says in code (inline spans and the lines of fenced blocks) and the
/// targets of its links (inline, and reference definitions `[name]: target`).
#[derive(Debug, Default)]
pub struct Read {
    /// Inline code spans, and every line of every fenced code block.
    pub code: Vec<Said>,
    /// Link and image targets, as written.
    pub links: Vec<Said>,
    /// The headings' anchors, as GitHub makes them (`## Access patterns` is
    /// `access-patterns`; repeated ones get `-1`, `-2`, ...).
    pub anchors: BTreeSet<String>,
}

/// A heading of a Markdown text (an ATX heading, `## Text`, outside fenced code blocks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// Its line (from 1).
    pub line: usize,
    /// Its level: how many `#` mark it (1 to 6).
    pub level: usize,
    /// Its text as written, without the marks around it.
    pub text: String,
    /// Its anchor, as GitHub makes it (`## Access patterns` is `access-patterns`; repeated
    /// ones get `-1`, `-2`, ...).
    pub anchor: String,
}

fn headings_of(blocks: &Blocks) -> Vec<Heading> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (line, paragraph) in &blocks.paragraphs {
        // An ATX heading is a line of its own (it interrupts a paragraph).
        for (index, text) in paragraph.lines().enumerate() {
            let hashes = text.len() - text.trim_start_matches('#').len();
            if (1..=6).contains(&hashes) && text[hashes..].starts_with(' ') {
                let slug = slug(&text[hashes..]);
                let count = seen.entry(slug.clone()).or_insert(0);
                let anchor = match *count {
                    0 => slug,
                    n => format!("{slug}-{n}"),
                };
                *count += 1;
                out.push(Heading {
                    line: line + index,
                    level: hashes,
                    text: text[hashes..]
                        .trim()
                        .trim_end_matches('#')
                        .trim()
                        .to_owned(),
                    anchor,
                });
            }
        }
    }
    out
}

/// The headings of a Markdown text, in order.
pub fn headings(text: &str) -> Vec<Heading> {
    headings_of(&blocks(text))
}

/// Reads a Markdown text.
pub fn read(text: &str) -> Read {
    let blocks = blocks(text);
    let mut out = Read {
        anchors: headings_of(&blocks).into_iter().map(|h| h.anchor).collect(),
        ..Read::default()
    };
    for (line, paragraph) in &blocks.paragraphs {
        let (code, prose) = spans(*line, paragraph);
        out.links.extend(inline_links(*line, &prose));
        for (index, text) in prose.lines().enumerate() {
            let definition = text
                .trim_start()
                .strip_prefix('[')
                .and_then(|t| t.split_once("]:"))
                .and_then(|(_, target)| target.split_whitespace().next());
            if let Some(target) = definition {
                out.links.push(said(line + index, target));
            }
        }
        out.code.extend(code);
    }
    out.code.extend(blocks.fenced);
    out.code.sort_by_key(|s| s.line);
    out
}

/// A heading's anchor as GitHub makes it: the text without Markdown's code marks, lower case,
/// letters, digits, `-` and `_` kept, spaces made `-`, everything else dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .trim_end_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// One pattern of a `.gitignore` file (literal names with `*` and `?` wildcards).
#[derive(Debug, Clone)]
struct IgnorePattern {
    /// The directory of the `.gitignore` file, from the root (empty for the root's).
    base: String,
    /// Path segments to match.
    segments: Vec<String>,
    /// Matches from the base only (the pattern holds a `/` before its end), else any segment.
    anchored: bool,
}

/// Whether `name` matches `pattern` (`*`: any run of characters, `?`: one character).
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl IgnorePattern {
    fn parse(base: &str, line: &str) -> anyhow::Result<Option<Self>> {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        if line.starts_with('!') || line.contains("**") || line.contains(['[', '\\']) {
            bail!("the .gitignore pattern {line:?} is beyond what the docs check reads: teach tests/testkit/src/docs.rs");
        }
        let trimmed = line.trim_end_matches('/');
        let anchored = trimmed.contains('/');
        Ok(Some(Self {
            base: base.to_owned(),
            segments: trimmed
                .trim_start_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect(),
            anchored,
        }))
    }

    /// Whether the pattern ignores `path` (from the root) or one of its ancestors.
    fn ignores(&self, path: &[&str]) -> bool {
        let base: Vec<&str> = self.base.split('/').filter(|s| !s.is_empty()).collect();
        let Some(rest) = path.strip_prefix(base.as_slice()) else {
            return false;
        };
        let matches_at = |at: usize| {
            rest.len() >= at + self.segments.len()
                && self
                    .segments
                    .iter()
                    .zip(&rest[at..])
                    .all(|(p, name)| glob(p, name))
        };
        if self.anchored {
            matches_at(0)
        } else {
            (0..rest.len()).any(matches_at)
        }
    }
}

/// Something the docs name that the repository does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The Markdown file.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// What it names.
    pub named: String,
    /// What is wrong with it.
    pub why: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} ({})",
            self.file, self.line, self.named, self.why
        )
    }
}

/// The repository as the docs check sees it.
#[derive(Debug)]
pub struct Repo {
    root: PathBuf,
    /// Top-level directories no `.gitignore` ignores (`cli`, `docs`, `shared`, ...).
    top_dirs: BTreeSet<String>,
    ignored: Vec<IgnorePattern>,
    /// The Makefile's targets.
    targets: BTreeSet<String>,
}

/// A word of code that may be a path: quotes, brackets and a trailing `,` `;` `:` or `.`
/// around it, a leading `@` (curl's file argument) and `./`, a `#fragment` or `:line` after it
/// are not part of it.
fn path_word(word: &str) -> &str {
    let word = word
        .trim_start_matches(['"', '\'', '(', '['])
        .trim_end_matches(['"', '\'', ')', ']', ',', ';', ':', '.']);
    let word = word.strip_prefix('@').unwrap_or(word);
    let word = word.strip_prefix("./").unwrap_or(word);
    let word = word.split('#').next().unwrap_or_default();
    match word.split_once(':') {
        Some((path, line)) if line.split(':').all(|n| n.parse::<u32>().is_ok()) => path,
        _ => word,
    }
}

/// Whether `path` is a literal relative path: segments of letters, digits, `_`, `-` and `.`,
/// none of them only dots (`..`, or `...` standing for something left out).
fn literal(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    !path.is_empty()
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.chars().all(|c| c == '.')
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        })
}

/// The targets a Makefile defines (explicit rules; not pattern rules, not variables).
pub fn makefile_targets(makefile: &str) -> BTreeSet<String> {
    let mut targets = BTreeSet::new();
    for line in makefile.lines() {
        if line.starts_with(['\t', '#', ' ']) {
            continue;
        }
        let Some((names, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') || names.contains('=') || names.contains("$(") {
            continue;
        }
        // Pattern rules (`%`) and special targets (`.PHONY`) are not run by name.
        targets.extend(
            names
                .split_whitespace()
                .filter(|t| !t.contains('%') && !t.starts_with('.'))
                .map(str::to_owned),
        );
    }
    targets
}

/// The `make` targets a line of code runs: the words after a `make` command (at the start, or
/// after `;`, `&&`, `||`, `|`, `(` or `$(`), up to the end of the command, a word that cannot
/// be a target (a placeholder such as `<target>`, a redirection) or a comment. Flags and
/// variable assignments are not targets; a command that names another Makefile or directory
/// (`-f`, `-C`) names none of this Makefile's.
pub fn make_targets_run(code: &str) -> Vec<String> {
    let words: Vec<&str> = code
        .split_whitespace()
        .take_while(|w| !w.starts_with('#'))
        .collect();
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let command_start = i == 0
            || word.starts_with('(')
            || word.starts_with("$(")
            || words[i - 1].ends_with([';', '|', '('])
            || words[i - 1].ends_with("&&");
        let word = word.trim_start_matches("$(").trim_start_matches('(');
        if word != "make" || !command_start {
            continue;
        }
        let mut targets = Vec::new();
        for argument in &words[i + 1..] {
            let (argument, ends) = match argument.strip_suffix([';', ')']) {
                Some(a) => (a, true),
                None => (*argument, false),
            };
            if ["&&", "||", "|", ";"].contains(&argument) {
                break;
            }
            if ["-f", "-C", "--file", "--directory", "--makefile"]
                .iter()
                .any(|flag| argument == *flag || argument.starts_with(&format!("{flag}=")))
                || argument.starts_with("-C")
            {
                targets.clear();
                break;
            }
            if !argument.starts_with('-') && !argument.contains('=') {
                if argument.is_empty()
                    || !argument
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                {
                    break;
                }
                targets.push(argument.to_owned());
            }
            if ends {
                break;
            }
        }
        out.extend(targets);
    }
    out
}

impl Repo {
    /// Reads the repository at `root`: its top-level directories, `.gitignore` files and
    /// Makefile.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let mut repo = Self {
            root: root.to_owned(),
            top_dirs: BTreeSet::new(),
            ignored: Vec::new(),
            targets: makefile_targets(
                &std::fs::read_to_string(root.join("Makefile")).context("reading Makefile")?,
            ),
        };
        repo.read_ignores("")?;
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(root).context("listing the repository")? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() && name != ".git" && !repo.ignored(&name) {
                dirs.push(name);
            }
        }
        for dir in &dirs {
            repo.read_ignores(dir)?;
        }
        repo.top_dirs.extend(dirs);
        Ok(repo)
    }

    fn read_ignores(&mut self, dir: &str) -> anyhow::Result<()> {
        let file = self.root.join(dir).join(".gitignore");
        let Ok(text) = std::fs::read_to_string(&file) else {
            return Ok(());
        };
        for line in text.lines() {
            self.ignored.extend(
                IgnorePattern::parse(dir, line).with_context(|| file.display().to_string())?,
            );
        }
        Ok(())
    }

    /// Whether a path (from the root) is ignored by a `.gitignore` of the root or of a
    /// top-level directory.
    pub fn ignored(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.ignored.iter().any(|p| p.ignores(&segments))
    }

    /// The top-level directories paths in code are recognised by.
    pub fn top_dirs(&self) -> &BTreeSet<String> {
        &self.top_dirs
    }

    /// The Makefile's targets.
    pub fn targets(&self) -> &BTreeSet<String> {
        &self.targets
    }

    /// The repository path a word of code names, if it surely names one (see the module).
    pub fn path_in_code(&self, word: &str) -> Option<String> {
        let path = path_word(word);
        let top = path.split('/').next().unwrap_or_default();
        (path.contains('/') && literal(path) && self.top_dirs.contains(top) && !self.ignored(path))
            .then(|| path.to_owned())
    }

    /// Whether `path` (from the root; a trailing `/`: a directory) exists.
    fn exists(&self, path: &str) -> bool {
        let full = self.root.join(path.trim_end_matches('/'));
        if path.ends_with('/') {
            full.is_dir()
        } else {
            full.exists()
        }
    }

    /// Everything `file` names that the repository does not have: paths in code and link
    /// targets that do not exist, link fragments that are no heading of their file, and
    /// `make` targets the Makefile does not define.
    pub fn check(&self, file: &Markdown) -> anyhow::Result<Vec<Problem>> {
        let content = read(&file.text);
        let mut problems = Vec::new();
        let mut problem = |at: &Said, named: &str, why: &str| {
            problems.push(Problem {
                file: file.path.clone(),
                line: at.line,
                named: named.to_owned(),
                why: why.to_owned(),
            })
        };
        for code in &content.code {
            for word in code.text.split_whitespace() {
                if let Some(path) = self.path_in_code(word) {
                    if !self.exists(&path) {
                        problem(code, &path, "no such path in the repository");
                    }
                }
            }
            for target in make_targets_run(&code.text) {
                if !self.targets.contains(&target) {
                    problem(
                        code,
                        &format!("make {target}"),
                        "no such target in the Makefile",
                    );
                }
            }
        }
        let dir = Path::new(&file.path).parent().unwrap_or(Path::new(""));
        for link in &content.links {
            let target = link.text.as_str();
            if target.contains(':') || target.contains(['<', '>', '{', '}']) {
                // A URL (scheme:...), or a placeholder.
                continue;
            }
            let (path, fragment) = match target.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (target, None),
            };
            let path = path.split('?').next().unwrap_or_default();
            let resolved = if path.is_empty() {
                Some(file.path.clone())
            } else if let Some(from_root) = path.strip_prefix('/') {
                Some(from_root.to_owned())
            } else {
                normalize(&dir.join(path))
            };
            let Some(resolved) = resolved else {
                problem(link, target, "leads out of the repository");
                continue;
            };
            if self.ignored(&resolved) {
                continue;
            }
            if !self.exists(&resolved) {
                problem(link, target, "no such path in the repository");
                continue;
            }
            if let Some(fragment) = fragment.filter(|_| resolved.ends_with(".md")) {
                let anchors = if resolved == file.path {
                    content.anchors.clone()
                } else {
                    let text = std::fs::read_to_string(self.root.join(&resolved))
                        .with_context(|| format!("reading {resolved}"))?;
                    read(&text).anchors
                };
                if !anchors.contains(fragment) {
                    problem(link, target, "no such heading in that file");
                }
            }
        }
        Ok(problems)
    }
}

/// A relative path with `.` and `..` resolved, or `None` when it climbs above the root.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    let trailing = path.to_string_lossy().ends_with('/');
    Some(parts.join("/") + if trailing { "/" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository in a temporary directory with these files (paths ending in `/` are
    /// directories), removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str, files: &[(&str, &str)]) -> Self {
            let root =
                std::env::temp_dir().join(format!("callvault-docs-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            for (path, text) in files {
                let full = root.join(path);
                if path.ends_with('/') {
                    std::fs::create_dir_all(&full).expect("dir");
                } else {
                    std::fs::create_dir_all(full.parent().expect("parent")).expect("dir");
                    std::fs::write(&full, text).expect("file");
                }
            }
            Self(root)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const MAKEFILE: &str = "VENV := .venv\n.PHONY: dev test\n\n## dev: run it\ndev: venv\n\tscripts/dev.sh\ntest: venv\n\t$(MAKE) lint\nvenv: $(VENV)/.installed\n$(VENV)/.installed: requirements.txt\n\ttouch $@\n%.o: %.c\n\tcc $<\n";

    fn scratch(name: &str, readme: &str) -> (Scratch, Repo) {
        let scratch = Scratch::new(
            name,
            &[
                ("Makefile", MAKEFILE),
                (".gitignore", "/target\n/.venv\n/infra/samconfig.toml\n"),
                ("fuzz/.gitignore", "corpus\nartifacts\n"),
                ("fuzz/README.md", "# Fuzzing\n"),
                ("scripts/dev.sh", ""),
                ("shared/store/src/schema.rs", ""),
                ("tests/e2e/tests/it/hostile/mod.rs", ""),
                ("target/debug/", ""),
                ("infra/template.yaml", ""),
                (
                    "docs/records.md",
                    "# Records\n\n## Access patterns and indexes\n\n```sh\n# not a heading\n```\n",
                ),
                (
                    "docs/providers/hatif.md",
                    "# Hatif\n\nSee [records](../records.md#access-patterns-and-indexes).\n",
                ),
                ("README.md", readme),
            ],
        );
        let repo = Repo::open(&scratch.0).expect("repo");
        (scratch, repo)
    }

    fn problems(repo: &Repo, path: &str, text: &str) -> Vec<String> {
        repo.check(&Markdown {
            path: path.into(),
            text: text.into(),
        })
        .expect("checked")
        .into_iter()
        .map(|p| format!("{}:{} {}", p.line, p.named, p.why))
        .collect()
    }

    #[test]
    fn real_paths_targets_and_links_pass() {
        let readme = "# callvault\n\n## The console\n\nRun `make dev`, then `make test` (see\n`shared/store/src/schema.rs` and `tests/e2e/tests/it/hostile/`).\n\n```sh\nmake dev CONSOLE_PORT=8788   # and make nothing-here in a comment\nscripts/dev.sh && make test\ncurl --data-binary @scripts/dev.sh http://127.0.0.1:8787/\n```\n\n[Records](docs/records.md#access-patterns-and-indexes), [up](#the-console),\n[fuzz](fuzz/README.md \"the fuzz guide\").\n";
        let (_scratch, repo) = scratch("pass", readme);
        assert_eq!(problems(&repo, "README.md", readme), Vec::<String>::new());
        let hatif = "# Hatif\n\nSee [records](../records.md#access-patterns-and-indexes).\n";
        assert_eq!(
            problems(&repo, "docs/providers/hatif.md", hatif),
            Vec::<String>::new()
        );
        assert_eq!(
            repo.targets()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["dev", "test", "venv"]
        );
    }

    #[test]
    fn what_is_not_a_repository_path_is_left_alone() {
        let readme = "# x\n\nURLs `https://example.com/docs/x.md`, `http://127.0.0.1:8787/calls`, temporary\nfiles `/tmp/callvault-stack-4566/watch.log`, routes `/calls/{provider}/{id}`, keys\n`hatif/2026/11/02/default/c1/recording.mp3`, `callvault/voki`, placeholders\n`functions/<name>/`, `target/lambda/<arch>/<bin>/`, `shared/*/src`, `tests/.../x.rs`,\nignored paths `target/debug/callvault`, `.venv/bin/moto_server`, `infra/samconfig.toml`,\n`fuzz/corpus/voki`, prose make: make no-such-target, `make <target>`,\n`make -C fuzz build`, and [a site](https://example.com/missing.md).\n";
        let (_scratch, repo) = scratch("alone", readme);
        assert_eq!(problems(&repo, "README.md", readme), Vec::<String>::new());
    }

    #[test]
    fn wrong_paths_targets_and_anchors_are_found() {
        let readme = "# x\n\nThe corpus is `tests/e2e/tests/it/hostile.rs`; see\n`shared/store/src/schema.rs:12` and `docs/missing.md`, `scripts/` and\n`scripts/dev.sh/`.\n\n```sh\nmake deploy\ncargo build && make test lint-all\n```\n\n[gone](docs/gone.md), [anchor](docs/records.md#no-such-heading), [here](#nowhere),\n[out](../../etc/passwd).\n";
        let (_scratch, repo) = scratch("fail", readme);
        assert_eq!(
            problems(&repo, "README.md", readme),
            [
                "3:tests/e2e/tests/it/hostile.rs no such path in the repository",
                "4:docs/missing.md no such path in the repository",
                "5:scripts/dev.sh/ no such path in the repository",
                "8:make deploy no such target in the Makefile",
                "9:make lint-all no such target in the Makefile",
                "12:docs/gone.md no such path in the repository",
                "12:docs/records.md#no-such-heading no such heading in that file",
                "12:#nowhere no such heading in that file",
                "13:../../etc/passwd leads out of the repository",
            ]
        );
    }

    #[test]
    fn make_commands_name_their_targets() {
        for (code, targets) in [
            ("make test", &["test"][..]),
            (
                "make -j2 --output-sync=target lint venv-infra browser",
                &["lint", "venv-infra", "browser"],
            ),
            ("CONSOLE_PORT=8788 make dev", &[]),
            (
                "make dev CONSOLE_PORT=8788 && make bench >bench.txt",
                &["dev", "bench"],
            ),
            ("cargo build; make build", &["build"]),
            ("(make deploy)", &["deploy"]),
            ("echo $(make venv)", &["venv"]),
            ("make <target>", &[]),
            ("make -C fuzz build", &[]),
            ("make -f other.mk build", &[]),
            (
                "target/debug/callvault console   # make dev's (make dev already runs one)",
                &[],
            ),
            ("to make the secret optional", &[]),
        ] {
            assert_eq!(make_targets_run(code), targets, "{code}");
        }
    }

    #[test]
    fn code_spans_follow_commonmark() {
        let read = read("a `one` b ``two ` three`` c `unclosed\n\nd `x\ny` e\n");
        let code: Vec<(usize, &str)> = read
            .code
            .iter()
            .map(|s| (s.line, s.text.as_str()))
            .collect();
        assert_eq!(code, [(1, "one"), (1, "two ` three"), (3, "x y")]);
    }

    #[test]
    fn headings_have_their_level_line_text_and_anchor() {
        let text = "# Operations\n\nSome text.\n\n## Runbooks\n\n### Provider silent\nbody\n```sh\n### not a heading\n```\n### `callvault` status ##\n#nope\n";
        let found: Vec<(usize, usize, String, String)> = headings(text)
            .into_iter()
            .map(|h| (h.line, h.level, h.text, h.anchor))
            .collect();
        let expected: Vec<(usize, usize, String, String)> = [
            (1, 1, "Operations", "operations"),
            (5, 2, "Runbooks", "runbooks"),
            (7, 3, "Provider silent", "provider-silent"),
            (12, 3, "`callvault` status", "callvault-status"),
        ]
        .into_iter()
        .map(|(line, level, text, anchor)| (line, level, text.to_owned(), anchor.to_owned()))
        .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn anchors_are_githubs() {
        let read = read("# The `callvault` command\n## What one delivery costs\n## Files\n### Files\n## 1. Secrets: one per channel, or one for all\n");
        assert_eq!(
            read.anchors.into_iter().collect::<Vec<_>>(),
            [
                "1-secrets-one-per-channel-or-one-for-all",
                "files",
                "files-1",
                "the-callvault-command",
                "what-one-delivery-costs"
            ]
        );
    }
}
