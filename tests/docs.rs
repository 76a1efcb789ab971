//! The documentation is kept true by running it.
//!
//! - Every fenced block of `README.md` and `docs/commands.md` that shows a session (lines
//!   starting with `$ `) is run: each `$ moltx …` line with the built binary from the crate
//!   root, with `--out`/`--save` paths moved into a temporary folder (later arguments naming
//!   them follow), and each `$ head -N FILE` / `$ cat FILE` read from there. Every line quoted
//!   under a command must be a line of its output (stdout and stderr together; runs of spaces
//!   and tabs compare equal). The conventions of the quotes:
//!   - a line that is only `…` (or `...`) elides lines and is not checked;
//!   - a line ending in `…` (or `...`) matches any output line that starts with the text
//!     before it;
//!   - a line ending in `# varies` (timings, rates) is not checked;
//!   - `# text` at the end of a `$` line is a comment, not an argument;
//!   - a command whose quoted output has a line starting with `error:` must fail; every other
//!     command must succeed.
//!
//!   Identical commands run once. Only bundled data (`fixtures/`) may be used.
//! - Every flag a section of `docs/commands.md` names exists in the `--help` of a command the
//!   section names.
//! - The README's Rust example is [`readme_rust_example_runs`], line for line.
//! - Relative links of the README and `docs/` point at files that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use assert_cmd::Command;

/// The crate root: sessions run here, as a reader would run them after `make demo`.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// A fenced code block: its info string, and its lines with their line numbers (1-based).
struct Block {
    info: String,
    lines: Vec<(usize, String)>,
}

fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match open.take() {
                Some(block) => blocks.push(block),
                None => {
                    open = Some(Block {
                        info: info.trim().to_string(),
                        lines: Vec::new(),
                    })
                }
            }
        } else if let Some(block) = open.as_mut() {
            block.lines.push((i + 1, line.to_string()));
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    blocks
}

/// One `$` command of a session and the output lines quoted under it.
struct Step {
    line: usize,
    words: Vec<String>,
    quoted: Vec<(usize, String)>,
}

/// `cmd args  # comment` → `cmd args`.
fn strip_comment(command: &str) -> &str {
    match command.find(" #") {
        Some(i) => command[..i].trim_end(),
        None => command,
    }
}

/// Runs of spaces and tabs as one space, ends trimmed.
fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How a quoted line is checked.
enum Quote {
    Skip,
    Line(String),
    Prefix(String),
}

fn quote(line: &str) -> Quote {
    let t = line.trim();
    if t.is_empty() || t == "…" || t == "..." || t.ends_with("# varies") {
        return Quote::Skip;
    }
    for ellipsis in ["…", "..."] {
        if let Some(prefix) = t.strip_suffix(ellipsis) {
            return Quote::Prefix(normalize(prefix));
        }
    }
    Quote::Line(normalize(t))
}

/// Where the sessions' outputs go, and what ran.
struct Runner {
    dir: tempfile::TempDir,
    /// Output paths as the docs write them → where they really are.
    moved: BTreeMap<String, PathBuf>,
    /// Commands already run (after moving paths) → (success, output).
    ran: BTreeMap<Vec<String>, (bool, String)>,
    seconds: Vec<(String, f64)>,
}

impl Runner {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            moved: BTreeMap::new(),
            ran: BTreeMap::new(),
            seconds: Vec::new(),
        }
    }

    /// An argument naming a moved output (or a file inside one), moved too.
    fn follow(&self, arg: &str) -> String {
        for (doc, real) in self.moved.iter().rev() {
            if arg == doc {
                return real.display().to_string();
            }
            if let Some(rest) = arg.strip_prefix(&format!("{doc}/")) {
                return real.join(rest).display().to_string();
            }
        }
        arg.to_string()
    }

    fn move_output(&mut self, arg: &str) -> String {
        assert!(
            Path::new(arg).is_relative() && !arg.contains(".."),
            "a session writes {arg}: outputs must be relative paths inside the crate"
        );
        let real = self.dir.path().join(arg);
        if let Some(parent) = real.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        self.moved.insert(arg.to_string(), real.clone());
        real.display().to_string()
    }

    /// The output text of a step as the docs would show it, and whether it succeeded.
    fn run(&mut self, words: &[String]) -> (bool, String) {
        match words.first().map(String::as_str) {
            Some("moltx") => self.run_moltx(&words[1..]),
            Some("head") | Some("cat") => self.read_file(words),
            other => panic!("a session may run moltx, head or cat, not {other:?}"),
        }
    }

    fn run_moltx(&mut self, args: &[String]) -> (bool, String) {
        let mut real = Vec::new();
        let mut next_is_output = false;
        for arg in args {
            assert!(
                !arg.starts_with("../") && !arg.contains("shared/"),
                "sessions use only bundled data, not {arg}"
            );
            if next_is_output {
                real.push(self.move_output(arg));
                next_is_output = false;
            } else {
                next_is_output = arg == "--out" || arg == "--save";
                real.push(self.follow(arg));
            }
        }
        if let Some(done) = self.ran.get(&real) {
            return done.clone();
        }
        let started = Instant::now();
        let output = Command::cargo_bin("moltx")
            .unwrap()
            .current_dir(root())
            .args(&real)
            .output()
            .unwrap();
        self.seconds.push((
            format!("moltx {}", args.join(" ")),
            started.elapsed().as_secs_f64(),
        ));
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let done = (output.status.success(), self.as_documented(&text));
        self.ran.insert(real, done.clone());
        done
    }

    /// `head -N FILE`, `head -n N FILE` or `cat FILE`.
    fn read_file(&self, words: &[String]) -> (bool, String) {
        let (lines, file) = match words.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["cat", file] => (usize::MAX, file),
            ["head", file] => (10, file),
            ["head", "-n", n, file] => (n.parse().unwrap(), file),
            ["head", n, file] if n.starts_with('-') => {
                (n.trim_start_matches('-').parse().unwrap(), file)
            }
            _ => panic!("unsupported: {}", words.join(" ")),
        };
        let path = PathBuf::from(self.follow(file));
        let path = if path.is_absolute() {
            path
        } else {
            root().join(path)
        };
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let head: Vec<&str> = text.lines().take(lines).collect();
        (true, head.join("\n"))
    }

    /// Real paths in an output replaced by the paths the docs wrote.
    fn as_documented(&self, text: &str) -> String {
        let mut text = text.to_string();
        let mut moved: Vec<(&String, &PathBuf)> = self.moved.iter().collect();
        moved.sort_by_key(|(_, real)| std::cmp::Reverse(real.as_os_str().len()));
        for (doc, real) in moved {
            text = text.replace(&real.display().to_string(), doc);
        }
        text
    }
}

/// Runs every session of a file; returns the number of sessions and the problems found.
fn check_sessions(runner: &mut Runner, file: &str) -> (usize, Vec<String>) {
    let text = read(file);
    let mut problems = Vec::new();
    let mut sessions = 0;
    for block in fenced_blocks(&text) {
        let steps = session_steps(&block);
        if steps.is_empty() {
            continue;
        }
        sessions += 1;
        for step in steps {
            let shown = format!("{file}:{}: $ {}", step.line, step.words.join(" "));
            let (ok, output) = runner.run(&step.words);
            let must_fail = step
                .quoted
                .iter()
                .any(|(_, l)| l.trim_start().starts_with("error:"));
            if ok == must_fail {
                problems.push(format!(
                    "{shown}\n  {} but the docs show it {}\n  output:\n{}",
                    if ok { "succeeded" } else { "failed" },
                    if must_fail { "failing" } else { "succeeding" },
                    indent(&output)
                ));
                continue;
            }
            let real: Vec<String> = output.lines().map(normalize).collect();
            for (n, line) in &step.quoted {
                let found = match quote(line) {
                    Quote::Skip => true,
                    Quote::Line(want) => real.contains(&want),
                    Quote::Prefix(want) => real.iter().any(|r| r.starts_with(&want)),
                };
                if !found {
                    problems.push(format!(
                        "{shown}\n  {file}:{n} quotes a line the output lacks:\n    {line}\n  \
                         output:\n{}",
                        indent(&output)
                    ));
                }
            }
        }
    }
    (sessions, problems)
}

/// The steps of a block, with `\`-continued command lines joined.
fn session_steps(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for (n, line) in &block.lines {
        let text = line.trim_end();
        if continuing {
            let command = strip_comment(text.trim_start());
            continuing = command.ends_with('\\');
            let words = command.trim_end_matches('\\').split_whitespace();
            let step = steps.last_mut().expect("a continued command");
            step.words.extend(words.map(str::to_string));
        } else if let Some(command) = text.strip_prefix("$ ") {
            let command = strip_comment(command);
            continuing = command.ends_with('\\');
            let words = command.trim_end_matches('\\').split_whitespace();
            steps.push(Step {
                line: *n,
                words: words.map(str::to_string).collect(),
                quoted: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.quoted.push((*n, text.to_string()));
        }
    }
    steps
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn quoted_sessions_match_what_the_commands_print() {
    let started = Instant::now();
    let mut runner = Runner::new();
    let mut problems = Vec::new();
    for file in ["README.md", "docs/commands.md"] {
        let (sessions, found) = check_sessions(&mut runner, file);
        assert!(
            sessions > 0,
            "{file} shows no session: the test would check nothing"
        );
        problems.extend(found);
    }
    for (command, seconds) in &runner.seconds {
        eprintln!("{seconds:5.1} s  {command}");
    }
    eprintln!(
        "{} moltx commands, {:.1} s in all",
        runner.seconds.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        runner.seconds.len() <= 6,
        "the sessions run {} distinct moltx commands; keep them few and fast (at most 6)",
        runner.seconds.len()
    );
    assert!(
        problems.is_empty(),
        "the docs no longer match the program (update the docs, or the program):\n\n{}",
        problems.join("\n\n")
    );
}

/// `--flag` tokens of a text.
fn flags(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let mut end = start + 2;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase()
                || bytes[end] == b'-'
                || bytes[end].is_ascii_digit())
        {
            end += 1;
        }
        let name = &text[start..end];
        let starts_word = before.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'-'));
        if starts_word && name.len() > 3 && bytes[start + 2].is_ascii_lowercase() {
            found.insert(name.trim_end_matches('-').to_string());
        }
        i = end.max(start + 2);
    }
    found
}

/// Subcommands named `moltx NAME` in a text.
fn commands_named(text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("moltx ") {
        let rest = &text[i + "moltx ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if known.contains(&name) {
            found.insert(name);
        }
    }
    found
}

/// Flag aliases `--help` does not list, and their flags (the sessions run them).
const ALIASES: [(&str, &str); 1] = [("--input", "--library")];

fn help(args: &[&str]) -> String {
    let output = Command::cargo_bin("moltx")
        .unwrap()
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "moltx {args:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_documented_flag_exists() {
    let top = help(&[]);
    let known: BTreeSet<String> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(known.contains("screen") && known.contains("train"), "{top}");
    let mut helps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let text = read("docs/commands.md");
    let mut problems = Vec::new();
    let mut checked = 0;
    // Sections: from one `## ` heading to the next.
    let mut sections: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("## ") || sections.is_empty() {
            sections.push((i + 1, String::new()));
        }
        let section = &mut sections.last_mut().unwrap().1;
        section.push_str(line);
        section.push('\n');
    }
    for (line, section) in &sections {
        let named = commands_named(section, &known);
        if named.is_empty() {
            continue;
        }
        let mut allowed = BTreeSet::new();
        for command in &named {
            let flags_of = helps
                .entry(command.clone())
                .or_insert_with(|| flags(&help(&[command])));
            allowed.extend(flags_of.iter().cloned());
        }
        for flag in flags(section) {
            checked += 1;
            let canonical = ALIASES
                .iter()
                .find(|(alias, _)| *alias == flag)
                .map_or(flag.as_str(), |(_, long)| long);
            if !allowed.contains(&flag) && !allowed.contains(canonical) && flag != "--help" {
                problems.push(format!(
                    "docs/commands.md, section at line {line} (commands {named:?}): {flag} is \
                     in no --help of these commands"
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} flags found: is docs/commands.md there?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The README's Rust example, line for line (the lines between the markers).
#[test]
fn readme_rust_example_runs() {
    // README example begins
    use moltx::prelude::*;

    fn main() -> Result<(), Box<dyn std::error::Error>> {
        let p = Predictor::bundled()?; // the bundled Tox21 D-MPNN, 12 tasks
        for result in p.predict_smiles(&["CCO", "c1ccccc1O"]) {
            println!("SR-MMP {:.3}", result?.value("SR-MMP").unwrap());
        }
        Ok(())
    }
    // README example ends
    main().unwrap();
}

#[test]
fn the_readme_rust_example_is_the_one_tested() {
    let readme = read("README.md");
    let block = fenced_blocks(&readme)
        .into_iter()
        .find(|b| b.info == "rust")
        .expect("the README shows a Rust example");
    let shown: Vec<String> = block
        .lines
        .iter()
        .map(|(_, l)| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let source = read("tests/docs.rs");
    let tested: Vec<String> = source
        .lines()
        .skip_while(|l| !l.contains("// README example begins"))
        .skip(1)
        .take_while(|l| !l.contains("// README example ends"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        shown, tested,
        "README.md's Rust example differs from readme_rust_example_runs in tests/docs.rs"
    );
}

/// A Markdown text without its code: fenced blocks and inline code spans.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            // Inline code spans are the odd pieces between backticks.
            for piece in line.split('`').step_by(2) {
                out.push_str(piece);
                out.push(' ');
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn relative_links_point_at_files() {
    let mut files = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path.strip_prefix(root()).unwrap().to_path_buf());
        }
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = read(file.to_str().unwrap());
        assert!(
            !text.contains("DESIGN.md"),
            "{}: points at a design file readers do not have",
            file.display()
        );
        let text = prose(&text);
        for (i, _) in text.match_indices("](") {
            let target: String = text[i + 2..].chars().take_while(|c| *c != ')').collect();
            let target = target.split('#').next().unwrap();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let path = root().join(file.parent().unwrap()).join(target);
            if !path.exists() {
                problems.push(format!(
                    "{}: link to {target}: no such file",
                    file.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
