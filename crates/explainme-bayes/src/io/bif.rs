//! BIF: the text format of the bnlearn repository (`variable … { type discrete [ k ] { … }; }`
//! and `probability ( child | parents ) { (p1, p2) v1, v2; … }` or `table …;`).
//!
//! The reader accepts rows in any order, `//` and `/* */` comments and `property` lines
//! (ignored); it rejects missing or repeated rows, unknown states and cycles with typed
//! errors. The writer prints numbers in Rust's shortest round-trip form, so write → read
//! gives back bit-identical tables.

use std::collections::HashMap;
use std::fmt::Write;

use crate::error::{Error, Result};
use crate::io::parent_configurations;
use crate::network::{BayesNet, Cpt, Variable, check_cpt};

#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

const PUNCTUATION: &[char] = &['{', '}', '(', ')', '[', ']', ',', ';', '|'];

fn tokenize(text: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut line = 1;
    while let Some((_, c)) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '/' if chars.peek().map(|p| p.1) == Some('/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if chars.peek().map(|p| p.1) == Some('*') => {
                chars.next();
                let mut previous = ' ';
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                    }
                    if previous == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    previous = c;
                }
                if !closed {
                    return Err(parse_error(line, "unterminated comment"));
                }
            }
            '"' => {
                let mut word = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    if c == '\n' {
                        line += 1;
                    }
                    word.push(c);
                }
                if !closed {
                    return Err(parse_error(line, "unterminated string"));
                }
                tokens.push(Token { text: word, line });
            }
            c if PUNCTUATION.contains(&c) => tokens.push(Token {
                text: c.to_string(),
                line,
            }),
            c => {
                let mut word = c.to_string();
                while let Some(&(_, next)) = chars.peek() {
                    if next.is_whitespace() || PUNCTUATION.contains(&next) || next == '"' {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push(Token { text: word, line });
            }
        }
    }
    Ok(tokens)
}

fn parse_error(line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        line,
        message: message.into(),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn line(&self) -> usize {
        self.tokens
            .get(self.at)
            .or(self.tokens.last())
            .map_or(1, |t| t.line)
    }

    fn next(&mut self) -> Result<&str> {
        let line = self.line();
        let token = self
            .tokens
            .get(self.at)
            .ok_or_else(|| parse_error(line, "unexpected end of file"))?;
        self.at += 1;
        Ok(&token.text)
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(|t| t.text.as_str())
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

    fn word(&mut self) -> Result<String> {
        let line = self.line();
        let found = self.next()?;
        if found.len() == 1 && PUNCTUATION.contains(&found.chars().next().unwrap_or(' ')) {
            return Err(parse_error(
                line,
                format!("expected a name, found `{found}`"),
            ));
        }
        Ok(found.to_owned())
    }

    fn number(&mut self) -> Result<f64> {
        let line = self.line();
        let found = self.next()?;
        found
            .parse()
            .map_err(|_| parse_error(line, format!("expected a number, found `{found}`")))
    }

    /// Names separated by commas until `close`, consuming it.
    fn list(&mut self, close: &str) -> Result<Vec<String>> {
        let mut items = Vec::new();
        loop {
            items.push(self.word()?);
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
        loop {
            values.push(self.number()?);
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

struct RawProbability {
    line: usize,
    child: String,
    parents: Vec<String>,
    table: Option<Vec<f64>>,
    rows: Vec<(Vec<String>, Vec<f64>)>,
}

/// Parses a BIF document into a validated [`BayesNet`].
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
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
    };
    let mut name = String::from("unknown");
    let mut variables = Vec::new();
    let mut probabilities = Vec::new();
    while let Some(keyword) = parser.peek() {
        let line = parser.line();
        match keyword {
            "network" => {
                parser.next()?;
                name = parser.word()?;
                parser.expect("{")?;
                while parser.peek() == Some("property") {
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
    assemble(name, variables, probabilities)
}

fn assemble(
    name: String,
    variables: Vec<Variable>,
    probabilities: Vec<RawProbability>,
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
    for raw in probabilities {
        let child = lookup(&raw.child)?;
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
        let rows: usize = cards.iter().product();
        let bad = |reason: String| Error::BadCpt {
            variable: raw.child.clone(),
            reason: format!("{reason} (line {})", raw.line),
        };
        let mut values = vec![0.0; rows * child_card];
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

/// Writes a network as BIF, in the layout pgmpy writes.
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
