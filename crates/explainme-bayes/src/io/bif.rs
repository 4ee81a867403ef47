//! BIF: the text format of the bnlearn repository (`variable … { type discrete [ k ] { … }; }`
//! and `probability ( child | parents ) { (p1, p2) v1, v2; … }` or `table …;`).
//!
//! The reader accepts rows in any order, `//` and `/* */` comments and `property` lines
//! (ignored); it rejects missing or repeated rows, unknown states and cycles with typed
//! errors. The writer prints numbers in Rust's shortest round-trip form, so write → read
//! gives back bit-identical tables.
//!
//! BIF has no quoting that every reader honours (pgmpy's `BIFReader` turns `"` into spaces),
//! so a name with a space, a comma or a brace cannot be written at all. Rather than escape
//! names into something no other tool reads back, every name must be a plain BIF word
//! ([`check_network_name`], [`check_variable`]); [`BayesNet::new`] enforces the rule, so
//! [`write_bif`] cannot emit a file that [`read_bif`] — or pgmpy — reads back differently.

use std::collections::HashMap;
use std::fmt::Write;

use explainme_budget::{MemoryBudget, bytes_for};

use crate::error::{Error, Result};
use crate::io::parent_configurations;
use crate::network::{BayesNet, Cpt, Variable, check_cpt};

/// One token of BIF text, borrowed from it: the reader never copies the text into tokens,
/// so parsing costs little beyond the tables it builds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Token<'t> {
    text: &'t str,
    line: usize,
}

const PUNCTUATION: &[char] = &['{', '}', '(', ')', '[', ']', ',', ';', '|'];

/// Splits BIF text into words, punctuation and quoted strings on demand, skipping
/// whitespace and `//` / `/* */` comments. An error (an unterminated comment or string) is
/// sticky: every later call reports it again, so a lookahead cannot lose it.
struct Lexer<'t> {
    text: &'t str,
    chars: std::iter::Peekable<std::str::CharIndices<'t>>,
    line: usize,
    failed: Option<(usize, &'static str)>,
}

impl<'t> Lexer<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            chars: text.char_indices().peekable(),
            line: 1,
            failed: None,
        }
    }

    fn peek_char(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn token(&mut self) -> Result<Option<Token<'t>>> {
        if self.failed.is_none() {
            match self.scan() {
                Err(failure) => self.failed = Some(failure),
                Ok(token) => return Ok(token),
            }
        }
        let (line, message) = self.failed.unwrap_or((self.line, "unreadable text"));
        Err(parse_error(line, message))
    }

    fn scan(&mut self) -> Result<Option<Token<'t>>, (usize, &'static str)> {
        while let Some((start, c)) = self.chars.next() {
            match c {
                '\n' => self.line += 1,
                c if c.is_whitespace() => {}
                '/' if self.peek_char() == Some('/') => {
                    for (_, c) in self.chars.by_ref() {
                        if c == '\n' {
                            self.line += 1;
                            break;
                        }
                    }
                }
                '/' if self.peek_char() == Some('*') => {
                    self.chars.next();
                    let mut previous = ' ';
                    let mut closed = false;
                    for (_, c) in self.chars.by_ref() {
                        if c == '\n' {
                            self.line += 1;
                        }
                        if previous == '*' && c == '/' {
                            closed = true;
                            break;
                        }
                        previous = c;
                    }
                    if !closed {
                        return Err((self.line, "unterminated comment"));
                    }
                }
                '"' => {
                    let line = self.line;
                    for (end, c) in self.chars.by_ref() {
                        match c {
                            '"' => {
                                return Ok(Some(Token {
                                    text: &self.text[start + 1..end],
                                    line,
                                }));
                            }
                            '\n' => self.line += 1,
                            _ => {}
                        }
                    }
                    return Err((self.line, "unterminated string"));
                }
                c => {
                    let mut end = start + c.len_utf8();
                    if !PUNCTUATION.contains(&c) {
                        while let Some(&(at, next)) = self.chars.peek() {
                            if next.is_whitespace() || PUNCTUATION.contains(&next) || next == '"' {
                                break;
                            }
                            end = at + next.len_utf8();
                            self.chars.next();
                        }
                    }
                    return Ok(Some(Token {
                        text: &self.text[start..end],
                        line: self.line,
                    }));
                }
            }
        }
        Ok(None)
    }
}

/// Characters a state cannot hold besides whitespace and non-ASCII: BIF's punctuation, and
/// `"`, which our reader takes as quoting and pgmpy's as a space.
const NOT_IN_STATE: &[char] = &['{', '}', '(', ')', '[', ']', ',', ';', '|', '"'];

/// What a BIF variable or network name may hold: ASCII letters, digits, `_` and `-`. This is
/// the word of the BIF specification (which also admits a leading digit in pgmpy) and what
/// pgmpy's `BIFReader` reads in both its `variable` and `probability` blocks (it drops `.`
/// in the latter).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// What a BIF state may hold: printable ASCII except spaces and [`NOT_IN_STATE`]. pgmpy's
/// states are pyparsing `printables` (ASCII) without `{ } ( ) ,` and spaces; our reader
/// additionally ends a word at `[ ] ; |`.
fn is_state_char(c: char) -> bool {
    c.is_ascii_graphic() && !NOT_IN_STATE.contains(&c)
}

/// Why `name` is not a BIF word under `allowed`, or `None` when it is one.
fn name_problem(name: &str, allowed: fn(char) -> bool) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        return Some(match c {
            ' ' => "it contains a space".into(),
            c if c.is_whitespace() || c.is_control() => {
                format!("it contains {}", c.escape_default())
            }
            c => format!("it contains `{c}`"),
        });
    }
    ["//", "/*"]
        .into_iter()
        .find(|opener| name.contains(opener))
        .map(|opener| format!("it contains `{opener}`, which BIF reads as a comment"))
}

/// Checks that `name` can be a BIF network name: ASCII letters, digits, `_` and `-`.
pub fn check_network_name(name: &str) -> Result<()> {
    match name_problem(name, is_name_char) {
        None => Ok(()),
        Some(reason) => Err(Error::BadName {
            what: format!("network name `{name}`"),
            name: name.to_owned(),
            reason: format!("{reason}; BIF names are ASCII letters, digits, `_` and `-`"),
        }),
    }
}

/// Checks that a variable can be written as BIF and read back unchanged, by this crate and by
/// pgmpy: its name made of ASCII letters, digits, `_` and `-`; each state non-empty printable
/// ASCII without spaces, `{ } ( ) [ ] , ; | "` or a comment opener (`//`, `/*`).
///
/// The one rule for names: [`BayesNet::new`] applies it to every variable, and callers
/// that build a network from outside names (`explainme bayes learn` from CSV headers and
/// cells) apply it first to refuse before any work is done.
///
/// ```
/// use explainme_bayes::{Variable, io::bif::check_variable};
/// let ok = Variable::new("size_cm", vec!["<4".into(), "4-7".into(), ">=7".into()])?;
/// assert!(check_variable(&ok).is_ok());
/// let spaced = Variable::new("tumour size", vec!["small".into()])?;
/// assert_eq!(
///     check_variable(&spaced).unwrap_err().to_string(),
///     "variable name `tumour size` cannot be written as BIF: it contains a space; \
///      BIF names are ASCII letters, digits, `_` and `-`"
/// );
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
pub fn check_variable(variable: &Variable) -> Result<()> {
    if let Some(reason) = name_problem(&variable.name, is_name_char) {
        return Err(Error::BadName {
            what: format!("variable name `{}`", variable.name),
            name: variable.name.clone(),
            reason: format!("{reason}; BIF names are ASCII letters, digits, `_` and `-`"),
        });
    }
    for state in &variable.states {
        if let Some(reason) = name_problem(state, is_state_char) {
            return Err(Error::BadName {
                what: format!("state `{state}` of variable `{}`", variable.name),
                name: state.clone(),
                reason: format!(
                    "{reason}; BIF states are printable ASCII without spaces or {}",
                    NOT_IN_STATE
                        .iter()
                        .map(char::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            });
        }
    }
    Ok(())
}

fn parse_error(line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        line,
        message: message.into(),
    }
}

/// A recursive-descent parser over a [`Lexer`] with one token of lookahead. It keeps a
/// tally of what the parsed blocks hold until they are assembled (`held`, bytes, estimated
/// generously) and checks it against the budget as it grows, so a huge text cannot make the
/// reader allocate far beyond the text itself.
struct Parser<'t> {
    lexer: Lexer<'t>,
    peeked: Option<Token<'t>>,
    last_line: usize,
    budget: &'t MemoryBudget,
    held: u64,
}

/// Estimated bytes held per parsed name (a `&str` or `String` plus allocator slack), per
/// number and per list.
const NAME_BYTES: u64 = 40;
const NUMBER_BYTES: u64 = 8;
const LIST_BYTES: u64 = 48;

impl<'t> Parser<'t> {
    fn new(text: &'t str, budget: &'t MemoryBudget) -> Self {
        Self {
            lexer: Lexer::new(text),
            peeked: None,
            last_line: 1,
            budget,
            held: 0,
        }
    }

    fn fill(&mut self) -> Result<Option<Token<'t>>> {
        if self.peeked.is_none() {
            self.peeked = self.lexer.token()?;
        }
        Ok(self.peeked)
    }

    /// The line of the next token, or of the last one at the end of the text.
    fn line(&mut self) -> usize {
        match self.fill() {
            Ok(Some(token)) => token.line,
            _ => self.last_line,
        }
    }

    fn next(&mut self) -> Result<&'t str> {
        match self.fill()? {
            Some(token) => {
                self.peeked = None;
                self.last_line = token.line;
                Ok(token.text)
            }
            None => Err(parse_error(self.last_line, "unexpected end of file")),
        }
    }

    fn peek(&mut self) -> Result<Option<&'t str>> {
        Ok(self.fill()?.map(|t| t.text))
    }

    fn expect(&mut self, wanted: &str) -> Result<()> {
        let line = self.line();
        let found = self.next()?;
        if found == wanted {
            Ok(())
        } else {
            Err(parse_error(
                line,
                format!("expected `{wanted}`, found `{found}`"),
            ))
        }
    }

    fn word(&mut self) -> Result<&'t str> {
        let line = self.line();
        let found = self.next()?;
        if found.len() == 1 && PUNCTUATION.contains(&found.chars().next().unwrap_or(' ')) {
            return Err(parse_error(
                line,
                format!("expected a name, found `{found}`"),
            ));
        }
        Ok(found)
    }

    fn number(&mut self) -> Result<f64> {
        let line = self.line();
        let found = self.next()?;
        found
            .parse()
            .map_err(|_| parse_error(line, format!("expected a number, found `{found}`")))
    }

    /// Counts `bytes` more as held until assembly; over the budget is an error.
    fn hold(&mut self, bytes: u64) -> Result<()> {
        self.held = self.held.saturating_add(bytes);
        let line = self.last_line;
        Ok(self.budget.check(
            format!("the parsed blocks of the BIF text (to line {line})"),
            self.held,
        )?)
    }

    /// Names separated by commas until `close`, consuming it.
    fn list(&mut self, close: &str) -> Result<Vec<&'t str>> {
        let mut items = Vec::new();
        self.hold(LIST_BYTES)?;
        loop {
            items.push(self.word()?);
            self.hold(NAME_BYTES)?;
            let line = self.line();
            match self.next()? {
                "," => {}
                t if t == close => return Ok(items),
                t => {
                    return Err(parse_error(
                        line,
                        format!("expected `,` or `{close}`, found `{t}`"),
                    ));
                }
            }
        }
    }

    /// Numbers separated by commas until `;`, consuming it.
    fn numbers(&mut self) -> Result<Vec<f64>> {
        let mut values = Vec::new();
        self.hold(LIST_BYTES)?;
        loop {
            values.push(self.number()?);
            self.hold(NUMBER_BYTES)?;
            let line = self.line();
            match self.next()? {
                "," => {}
                ";" => return Ok(values),
                t => {
                    return Err(parse_error(
                        line,
                        format!("expected `,` or `;`, found `{t}`"),
                    ));
                }
            }
        }
    }

    fn skip_property(&mut self) -> Result<()> {
        while self.next()? != ";" {}
        Ok(())
    }
}

struct RawProbability<'t> {
    line: usize,
    child: &'t str,
    parents: Vec<&'t str>,
    table: Option<Vec<f64>>,
    rows: Vec<(Vec<&'t str>, Vec<f64>)>,
}

/// Parses a BIF document into a validated [`BayesNet`], within the default
/// [`MemoryBudget`] (1 GiB); see [`read_bif_within`].
///
/// ```
/// let net = explainme_bayes::read_bif(
///     "network n { }
///      variable rain { type discrete [ 2 ] { yes, no }; }
///      probability ( rain ) { table 0.2, 0.8; }",
/// )?;
/// assert_eq!(net.variable(0).states, ["yes", "no"]);
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
pub fn read_bif(text: &str) -> Result<BayesNet> {
    read_bif_within(text, &MemoryBudget::default())
}

/// Parses a BIF document into a validated [`BayesNet`], refusing with
/// [`Error::OverBudget`] — before allocating — a network whose tables would not fit
/// `budget`. A few hundred bytes of BIF can declare a table of 10^18 entries (eight parents
/// of a hundred states), so every table's size, `Π cardinalities × 8` bytes computed without
/// overflow, is checked first, and so is the running total of the network.
///
/// ```
/// use explainme_budget::MemoryBudget;
/// let text = "network n { }
///     variable rain { type discrete [ 2 ] { yes, no }; }
///     probability ( rain ) { table 0.2, 0.8; }";
/// assert!(explainme_bayes::read_bif_within(text, &MemoryBudget::new(1 << 20)).is_ok());
/// let refused = explainme_bayes::read_bif_within(text, &MemoryBudget::new(8)).unwrap_err();
/// assert!(refused.to_string().contains("over the memory budget of 8 bytes"), "{refused}");
/// # Ok::<(), explainme_bayes::Error>(())
/// ```
pub fn read_bif_within(text: &str, budget: &MemoryBudget) -> Result<BayesNet> {
    let mut parser = Parser::new(text, budget);
    let mut name = String::from("unknown");
    let mut variables = Vec::new();
    let mut probabilities = Vec::new();
    while let Some(keyword) = parser.peek()? {
        let line = parser.line();
        match keyword {
            "network" => {
                parser.next()?;
                name = parser.word()?.to_owned();
                parser.expect("{")?;
                while parser.peek()? == Some("property") {
                    parser.skip_property()?;
                }
                parser.expect("}")?;
            }
            "variable" => {
                parser.next()?;
                let var_name = parser.word()?;
                parser.expect("{")?;
                let mut states = None;
                loop {
                    let line = parser.line();
                    match parser.next()? {
                        "}" => break,
                        "property" => parser.skip_property()?,
                        "type" => {
                            parser.expect("discrete")?;
                            parser.expect("[")?;
                            let line = parser.line();
                            let count: usize = parser
                                .word()?
                                .parse()
                                .map_err(|_| parse_error(line, "expected the number of states"))?;
                            parser.expect("]")?;
                            parser.expect("{")?;
                            let list = parser.list("}")?;
                            parser.expect(";")?;
                            if list.len() != count {
                                return Err(parse_error(
                                    line,
                                    format!(
                                        "`{var_name}` declares {count} states but lists {}",
                                        list.len()
                                    ),
                                ));
                            }
                            states = Some(list);
                        }
                        t => {
                            return Err(parse_error(line, format!("unexpected `{t}` in variable")));
                        }
                    }
                }
                let states = states.ok_or_else(|| {
                    parse_error(line, format!("variable `{var_name}` has no type"))
                })?;
                let states = states.into_iter().map(str::to_owned).collect();
                variables.push(Variable::new(var_name, states)?);
            }
            "probability" => {
                parser.next()?;
                parser.expect("(")?;
                let child = parser.word()?;
                let mut parents = Vec::new();
                match parser.next()? {
                    ")" => {}
                    "|" => parents = parser.list(")")?,
                    t => return Err(parse_error(line, format!("unexpected `{t}` after child"))),
                }
                parser.expect("{")?;
                let mut raw = RawProbability {
                    line,
                    child,
                    parents,
                    table: None,
                    rows: Vec::new(),
                };
                loop {
                    let line = parser.line();
                    match parser.next()? {
                        "}" => break,
                        "table" => raw.table = Some(parser.numbers()?),
                        "property" => parser.skip_property()?,
                        "(" => {
                            let config = parser.list(")")?;
                            raw.rows.push((config, parser.numbers()?));
                        }
                        t => {
                            return Err(parse_error(
                                line,
                                format!("unexpected `{t}` in probability"),
                            ));
                        }
                    }
                }
                probabilities.push(raw);
            }
            t => return Err(parse_error(line, format!("unexpected `{t}`"))),
        }
    }
    assemble(name, variables, probabilities, budget, parser.held)
}

/// Turns the parsed blocks into CPTs; `held` is what the blocks themselves hold, counted
/// against `budget` together with the tables.
fn assemble(
    name: String,
    variables: Vec<Variable>,
    probabilities: Vec<RawProbability<'_>>,
    budget: &MemoryBudget,
    held: u64,
) -> Result<BayesNet> {
    let index: HashMap<&str, usize> = variables
        .iter()
        .enumerate()
        .map(|(i, v)| (v.name.as_str(), i))
        .collect();
    let lookup = |name: &str| {
        index
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownVariable(name.to_owned()))
    };
    let mut cpts: Vec<Option<Cpt>> = vec![None; variables.len()];
    let mut total = held;
    for raw in probabilities {
        let child = lookup(raw.child)?;
        let parents = raw
            .parents
            .iter()
            .map(|p| lookup(p))
            .collect::<Result<Vec<_>>>()?;
        let child_card = variables[child].cardinality();
        let cards: Vec<usize> = parents
            .iter()
            .map(|&p| variables[p].cardinality())
            .collect();
        // The table (8 bytes an entry) and which rows were given (1 byte a row), checked
        // before either is allocated.
        let mut dims: Vec<u64> = cards.iter().map(|&c| c as u64).collect();
        let rows_bytes = bytes_for(&dims, 1);
        dims.push(child_card as u64);
        let table = format!(
            "the probability table of `{}` (line {}, {} parent{})",
            raw.child,
            raw.line,
            parents.len(),
            if parents.len() == 1 { "" } else { "s" }
        );
        budget.check_elements(&table, &dims, 8)?;
        let bytes = bytes_for(&dims, 8)
            .zip(rows_bytes)
            .and_then(|(t, r)| t.checked_add(r))
            .unwrap_or(u64::MAX);
        total = total.saturating_add(bytes);
        budget.check(
            format!(
                "the tables of the network up to `{}` (line {})",
                raw.child, raw.line
            ),
            total,
        )?;
        let bad = |reason: String| Error::BadCpt {
            variable: raw.child.to_owned(),
            reason: format!("{reason} (line {})", raw.line),
        };
        // Within the budget, so within u64; only a 32-bit target with a budget over 4 GiB
        // could still overflow `usize` here.
        let rows = cards.iter().try_fold(1usize, |acc, &c| acc.checked_mul(c));
        let Some((rows, entries)) = rows.and_then(|r| Some((r, r.checked_mul(child_card)?))) else {
            return Err(bad(
                "the table does not fit this platform's address space".into()
            ));
        };
        let mut values = vec![0.0; entries];
        // Which rows the block gives; the values themselves may be anything (NaN included)
        // until the table is checked as a whole.
        let mut given = vec![raw.table.is_some(); rows];
        if let Some(table) = &raw.table {
            if table.len() != values.len() {
                return Err(bad(format!(
                    "table has {} values, expected {}",
                    table.len(),
                    values.len()
                )));
            }
            // A BIF `table` lists child states slowest: P(c0 | all rows), then P(c1 | ...).
            for (k, chunk) in table.chunks(rows).enumerate() {
                for (row, &v) in chunk.iter().enumerate() {
                    values[row * child_card + k] = v;
                }
            }
        }
        for (config, probs) in &raw.rows {
            if config.len() != parents.len() || probs.len() != child_card {
                return Err(bad(format!(
                    "row ({}) has the wrong length",
                    config.join(", ")
                )));
            }
            let mut row = 0;
            for (&p, state) in parents.iter().zip(config) {
                row = row * variables[p].cardinality() + variables[p].state_index(state)?;
            }
            if given[row] && raw.table.is_none() {
                return Err(bad(format!("row ({}) given twice", config.join(", "))));
            }
            given[row] = true;
            values[row * child_card..(row + 1) * child_card].copy_from_slice(probs);
        }
        if let Some(row) = given.iter().position(|g| !g) {
            let config: Vec<String> = parent_configurations(&cards)
                .nth(row)
                .unwrap_or_default()
                .iter()
                .zip(&parents)
                .map(|(&s, &p)| format!("{}={}", variables[p].name, variables[p].states[s]))
                .collect();
            return Err(bad(format!("no row for ({})", config.join(", "))));
        }
        if cpts[child].is_some() {
            return Err(Error::Duplicate(format!("probability ( {} )", raw.child)));
        }
        let cpt = Cpt { parents, values };
        check_cpt(&variables, child, &cpt).map_err(|error| match error {
            Error::BadCpt { variable, reason } => Error::BadCpt {
                variable,
                reason: format!("{reason} (line {})", raw.line),
            },
            other => other,
        })?;
        cpts[child] = Some(cpt);
    }
    let cpts = cpts
        .into_iter()
        .zip(&variables)
        .map(|(cpt, v)| {
            cpt.ok_or_else(|| Error::BadCpt {
                variable: v.name.clone(),
                reason: "no probability block".into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    BayesNet::new(name, variables, cpts)
}

/// Writes a network as BIF, in the layout pgmpy writes. Every name of a [`BayesNet`] is a
/// BIF word ([`check_variable`]) and every number is printed in shortest round-trip form, so
/// [`read_bif`] gives back the same network, names and bits.
pub fn write_bif(net: &BayesNet) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "network {} {{\n}}", net.name());
    for v in net.variables() {
        let _ = writeln!(
            out,
            "variable {} {{\n  type discrete [ {} ] {{ {} }};\n}}",
            v.name,
            v.cardinality(),
            v.states.join(", ")
        );
    }
    for i in 0..net.len() {
        let cpt = net.cpt(i);
        let var = net.variable(i);
        let card = var.cardinality();
        let number_list = |row: &[f64]| {
            row.iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if cpt.parents.is_empty() {
            let _ = writeln!(
                out,
                "probability ( {} ) {{\n  table {};\n}}",
                var.name,
                number_list(&cpt.values)
            );
            continue;
        }
        let parent_names: Vec<&str> = cpt
            .parents
            .iter()
            .map(|&p| net.variable(p).name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "probability ( {} | {} ) {{",
            var.name,
            parent_names.join(", ")
        );
        let cards: Vec<usize> = cpt
            .parents
            .iter()
            .map(|&p| net.variable(p).cardinality())
            .collect();
        for (row, config) in parent_configurations(&cards).enumerate() {
            let states: Vec<&str> = config
                .iter()
                .zip(&cpt.parents)
                .map(|(&s, &p)| net.variable(p).states[s].as_str())
                .collect();
            let _ = writeln!(
                out,
                "  ({}) {};",
                states.join(", "),
                number_list(cpt.row(row, card))
            );
        }
        out.push_str("}\n");
    }
    out
}
