//! Mutations of a valid seed file: truncation at an offset of some class, byte flips,
//! inserted or replaced tokens (quotes, delimiters, line ends, NUL, invalid UTF-8, huge
//! numbers, case-mapping characters), deleted spans, duplicated, repeated or deleted lines,
//! emptied fields, replaced numbers and rewritten line endings. A case stacks a few of them;
//! proptest shrinks a failing case to the fewest, simplest mutations.

use proptest::prelude::*;
use proptest::sample::Index;

/// Byte strings a mutation inserts or writes over the input.
pub const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b"'",
    b"\t",
    b",",
    b" ",
    b"|",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\r",
    b"\0",
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"1e400",
    b"-1e400",
    b"99999999999999999999",
    b"18446744073709551615",
    b"18446744073709551616",
    b"4294967296",
    b"2147483648",
    b"1000000000",
    b"-0",
    b"-1",
    b"0",
    b"1",
    b"inf",
    b"-inf",
    b"nan",
    b"NA",
    b"",
    b"#",
    b"$$$$",
    b"M  END",
    b"> <id>",
    b"\xc4\xb0",
    b"\xe2\x84\xaa",
    b"\xe1\xba\x9e",
    b"_up",
    b"_dn",
    b"direction",
    b"smiles",
    b"[",
    b"{",
    b"}",
    b":",
    b"null",
    b"C1CC(",
    b"Q",
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// Tokens that replace a number ([`Mutation::Number`]).
pub const NUMBERS: &[&[u8]] = &[
    b"1e400",
    b"-1e400",
    b"99999999999999999999",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9223372036854775807",
    b"4294967295",
    b"4294967296",
    b"2147483648",
    b"1000000000",
    b"100000",
    b"-0",
    b"-1",
    b"0",
    b"inf",
    b"nan",
    b"1.5",
    b"",
];

/// Where a truncation cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Any byte offset.
    Anywhere,
    /// At the start of a line.
    LineStart,
    /// Just after a delimiter (tab, comma, space).
    AfterDelimiter,
    /// Just before a line feed (drops the final newline of a line).
    BeforeNewline,
    /// Inside a multi-byte UTF-8 sequence (or at a non-ASCII byte of a binary file).
    MidUtf8,
}

/// Line-ending rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    /// Every `\n` becomes `\r\n`.
    Crlf,
    /// Every `\r\n` becomes `\n`.
    Lf,
    /// Every `\n` becomes a lone `\r`.
    Cr,
    /// Every other `\n` becomes `\r\n`.
    Mixed,
}

/// One edit of the input.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Cut the input at an offset of a class.
    Truncate(Cut, Index),
    /// XOR one byte with a non-zero mask.
    Flip(Index, u8),
    /// Insert a token.
    Insert(Index, Tok),
    /// Overwrite `1 + n % 8` bytes with a token.
    Replace(Index, u8, Tok),
    /// Delete `1 + n % 16` bytes.
    Delete(Index, u8),
    /// Duplicate a line in place (line 0 is the header).
    DuplicateLine(Index),
    /// Repeat a line `2 + n % 40` times.
    RepeatLine(Index, u8),
    /// Delete a line.
    DeleteLine(Index),
    /// Empty a field (the bytes between two delimiters).
    EmptyField(Index),
    /// Replace a run of digits with a number token.
    Number(Index, Num),
    /// Rewrite the line endings.
    LineEndings(Eol),
}

/// An index into [`TOKENS`], printed as the escaped token.
#[derive(Clone, Copy)]
pub struct Tok(pub usize);

/// An index into [`NUMBERS`], printed as the token.
#[derive(Clone, Copy)]
pub struct Num(pub usize);

impl std::fmt::Debug for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", escape(TOKENS[self.0]))
    }
}

impl std::fmt::Debug for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", escape(NUMBERS[self.0]))
    }
}

/// Bytes as a Rust byte-string body (`\n`, `\xff`, ...), for reproducers.
pub fn escape(bytes: &[u8]) -> String {
    bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect()
}

fn cut() -> impl Strategy<Value = Cut> {
    prop_oneof![
        Just(Cut::Anywhere),
        Just(Cut::LineStart),
        Just(Cut::AfterDelimiter),
        Just(Cut::BeforeNewline),
        Just(Cut::MidUtf8),
    ]
}

fn eol() -> impl Strategy<Value = Eol> {
    prop_oneof![
        Just(Eol::Crlf),
        Just(Eol::Lf),
        Just(Eol::Cr),
        Just(Eol::Mixed)
    ]
}

fn tok() -> impl Strategy<Value = Tok> {
    (0..TOKENS.len()).prop_map(Tok)
}

/// One mutation, the cheap local edits weighted highest.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<Index>;
    prop_oneof![
        2 => (cut(), i()).prop_map(|(c, at)| Mutation::Truncate(c, at)),
        3 => (i(), 1..=255u8).prop_map(|(at, m)| Mutation::Flip(at, m)),
        4 => (i(), tok()).prop_map(|(at, t)| Mutation::Insert(at, t)),
        2 => (i(), any::<u8>(), tok()).prop_map(|(at, n, t)| Mutation::Replace(at, n, t)),
        1 => (i(), any::<u8>()).prop_map(|(at, n)| Mutation::Delete(at, n)),
        1 => i().prop_map(Mutation::DuplicateLine),
        1 => (i(), any::<u8>()).prop_map(|(l, n)| Mutation::RepeatLine(l, n)),
        1 => i().prop_map(Mutation::DeleteLine),
        2 => i().prop_map(Mutation::EmptyField),
        3 => (i(), (0..NUMBERS.len()).prop_map(Num)).prop_map(|(at, n)| Mutation::Number(at, n)),
        1 => eol().prop_map(Mutation::LineEndings),
    ]
}

/// One to four stacked mutations.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..=4)
}

/// Offsets of the class `cut` in `bytes` (always includes 0 for [`Cut::Anywhere`]).
fn offsets(bytes: &[u8], cut: Cut) -> Vec<usize> {
    let at = |pred: &dyn Fn(usize) -> bool| (0..bytes.len()).filter(|&i| pred(i)).collect();
    match cut {
        Cut::Anywhere => (0..=bytes.len()).collect(),
        Cut::LineStart => at(&|i| i == 0 || bytes[i - 1] == b'\n'),
        Cut::AfterDelimiter => at(&|i| i > 0 && matches!(bytes[i - 1], b'\t' | b',' | b' ')),
        Cut::BeforeNewline => at(&|i| bytes[i] == b'\n'),
        Cut::MidUtf8 => at(&|i| bytes[i] >= 0x80),
    }
}

/// `[start, end)` of every line (terminator included).
fn lines(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push((start, bytes.len()));
    }
    out
}

/// Picks an element of a non-empty list.
fn pick<T: Copy>(items: &[T], at: &Index) -> Option<T> {
    (!items.is_empty()).then(|| items[at.index(items.len())])
}

/// Position in `0..=len` (0 for an empty input).
fn pos(at: &Index, len: usize) -> usize {
    at.index(len + 1)
}

/// Applies one mutation in place.
pub fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Truncate(Cut::Anywhere, at) => {
            let o = pos(at, bytes.len());
            bytes.truncate(o);
        }
        Mutation::Truncate(c, at) => {
            if let Some(o) = pick(&offsets(bytes, *c), at) {
                bytes.truncate(o);
            }
        }
        Mutation::Flip(at, mask) => {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
        }
        Mutation::Insert(at, t) => {
            let i = pos(at, bytes.len());
            bytes.splice(i..i, TOKENS[t.0].iter().copied());
        }
        Mutation::Replace(at, n, t) => {
            let i = pos(at, bytes.len());
            let end = (i + 1 + usize::from(*n % 8)).min(bytes.len());
            bytes.splice(i..end, TOKENS[t.0].iter().copied());
        }
        Mutation::Delete(at, n) => {
            let i = pos(at, bytes.len());
            let end = (i + 1 + usize::from(*n % 16)).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::DuplicateLine(at) => {
            if let Some((s, e)) = pick(&lines(bytes), at) {
                let mut line = bytes[s..e].to_vec();
                if line.last() != Some(&b'\n') {
                    line.insert(0, b'\n');
                }
                bytes.splice(e..e, line);
            }
        }
        Mutation::RepeatLine(at, n) => {
            if let Some((s, e)) = pick(&lines(bytes), at) {
                let mut line = bytes[s..e].to_vec();
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                    bytes.insert(e, b'\n');
                }
                let copies = line.repeat(1 + usize::from(*n % 40));
                bytes.splice(s..s, copies);
            }
        }
        Mutation::DeleteLine(at) => {
            if let Some((s, e)) = pick(&lines(bytes), at) {
                bytes.drain(s..e);
            }
        }
        Mutation::EmptyField(at) => {
            let starts = offsets(bytes, Cut::AfterDelimiter);
            if let Some(s) = pick(&starts, at) {
                let end = bytes[s..]
                    .iter()
                    .position(|b| matches!(b, b'\t' | b',' | b' ' | b'\n' | b'\r'))
                    .map_or(bytes.len(), |p| s + p);
                bytes.drain(s..end);
            }
        }
        Mutation::Number(at, n) => {
            let runs = digit_runs(bytes);
            if let Some((s, e)) = pick(&runs, at) {
                bytes.splice(s..e, NUMBERS[n.0].iter().copied());
            }
        }
        Mutation::LineEndings(eol) => *bytes = rewrite_eol(bytes, *eol),
    }
}

/// `[start, end)` of every maximal run of ASCII digits (with a leading `-`, `.` inside).
fn digit_runs(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = if i > 0 && bytes[i - 1] == b'-' {
                i - 1
            } else {
                i
            };
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

fn rewrite_eol(bytes: &[u8], eol: Eol) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    let mut nth = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let after_cr = i > 0 && bytes[i - 1] == b'\r';
        match (b, eol) {
            (b'\n', Eol::Crlf) if !after_cr => out.extend_from_slice(b"\r\n"),
            (b'\r', Eol::Lf) if bytes.get(i + 1) == Some(&b'\n') => {}
            (b'\n', Eol::Cr) => {
                if !after_cr {
                    out.push(b'\r');
                }
            }
            (b'\n', Eol::Mixed) => {
                nth += 1;
                if nth % 2 == 0 && !after_cr {
                    out.push(b'\r');
                }
                out.push(b'\n');
            }
            _ => out.push(b),
        }
    }
    out
}

/// The seed with the mutations applied in order.
pub fn mutate(seed: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for m in muts {
        apply(&mut bytes, m);
    }
    bytes
}

#[test]
fn mutations_do_what_they_say() {
    let seed = b"a,b\n1,2\n3,4\n";
    assert_eq!(rewrite_eol(b"a\nb\r\nc\n", Eol::Crlf), b"a\r\nb\r\nc\r\n");
    assert_eq!(rewrite_eol(b"a\r\nb\n", Eol::Lf), b"a\nb\n");
    assert_eq!(rewrite_eol(b"a\nb\n", Eol::Cr), b"a\rb\r");
    assert_eq!(rewrite_eol(b"a\nb\nc\n", Eol::Mixed), b"a\nb\r\nc\n");
    assert_eq!(lines(seed), [(0, 4), (4, 8), (8, 12)]);
    assert_eq!(digit_runs(b"x -12.5 y 7"), [(2, 7), (10, 11)]);
    assert_eq!(offsets(seed, Cut::AfterDelimiter), [2, 6, 10]);
    assert_eq!(escape(b"a\t\xff"), "a\\t\\xff");
}
