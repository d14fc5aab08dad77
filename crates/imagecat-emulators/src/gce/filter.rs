//! The `filter` of GCE's list calls, in the two dialects the discovery
//! document describes, which cannot be mixed in one filter:
//!
//! - the regex dialect gcloud sends: `field eq literal` / `field ne
//!   literal`, the literal unquoted, `'single'` or `"double"` quoted, an
//!   RE2 regex that must match the whole field; several expressions, each
//!   in parentheses, are ANDed (`(a eq x) (b ne y)`);
//! - the AIP-160 subset: `field = value`, `!=`, `:` (`labels.k:*` tests
//!   that the key exists; `:` with a value matches it, `*` as a wildcard,
//!   against the field or any element of it), `AND` (also implied between
//!   expressions), `OR` (which binds tighter than `AND`, as AIP-160 says),
//!   `NOT` or `-`, parentheses, nested fields (`labels.team`,
//!   `deprecated.state`); `=`/`!=` take `*` wildcards in the value too.
//!   The comparisons `<`, `>`, `<=`, `>=` are refused (400): that GCE
//!   honours them on images is not confirmed.
//!
//! A field is looked up in the resource's JSON document by its dotted
//! path; numbers and booleans compare by their JSON text. A missing field
//! is the empty string to the regex dialect, absent to AIP-160 (so `=`
//! is false and `!=` true).

use regex::{Regex, RegexBuilder};
use serde_json::Value;

/// The longest filter accepted, in bytes.
const MAX_FILTER: usize = 4096;
/// The most memory a compiled regex may take.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a filter was refused (the message of the 400 `invalid` answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: Expr,
}

#[derive(Debug, Clone)]
enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        path: Vec<String>,
        op: Op,
        value: String,
    },
    Regex {
        path: Vec<String>,
        negate: bool,
        re: Regex,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Has,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
    Quoted(String),
    Sym(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' | '\'' => {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == '\\' && c == '"' {
                        // Keep escapes for the regex; `\"` is a quote.
                        match chars.next() {
                            Some((_, '"')) => s.push('"'),
                            Some((_, e)) => {
                                s.push('\\');
                                s.push(e);
                            }
                            None => break,
                        }
                    } else if d == c {
                        closed = true;
                        break;
                    } else {
                        s.push(d);
                    }
                }
                if !closed {
                    return Err(invalid(&format!("unterminated string at {at}")));
                }
                tokens.push(Token::Quoted(s));
            }
            '=' | ':' | '<' | '>' | '!' => {
                chars.next();
                let next_eq = chars.peek().is_some_and(|&(_, d)| d == '=');
                let sym = match (c, next_eq) {
                    ('!', true) => "!=",
                    ('<', true) => "<=",
                    ('>', true) => ">=",
                    ('=', _) => "=",
                    (':', _) => ":",
                    ('<', false) => "<",
                    ('>', false) => ">",
                    _ => return Err(invalid(&format!("unexpected '!' at {at}"))),
                };
                if next_eq && c != '=' && c != ':' {
                    chars.next();
                }
                tokens.push(Token::Sym(sym));
            }
            _ => {
                let mut s = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_whitespace() || "()=:<>!\"'".contains(d) {
                        break;
                    }
                    s.push(d);
                    chars.next();
                }
                tokens.push(Token::Word(s));
            }
        }
    }
    Ok(tokens)
}

fn invalid(why: &str) -> FilterError {
    FilterError(format!("Invalid list filter expression: {why}."))
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    regex: bool,
    aip: bool,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    /// A conjunction: OR-groups joined by `AND` or juxtaposition, until `)` or the end.
    fn conjunction(&mut self) -> Result<Expr, FilterError> {
        let mut all = Vec::new();
        loop {
            match self.peek() {
                None | Some(Token::Close) => break,
                Some(Token::Word(w)) if w == "AND" => {
                    self.aip = true;
                    self.next();
                    continue;
                }
                _ => all.push(self.disjunction()?),
            }
        }
        if all.is_empty() {
            return Err(invalid("empty expression"));
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Expr::All(all)
        })
    }

    fn disjunction(&mut self) -> Result<Expr, FilterError> {
        let mut any = vec![self.term()?];
        while matches!(self.peek(), Some(Token::Word(w)) if w == "OR") {
            self.aip = true;
            self.next();
            any.push(self.term()?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Any(any)
        })
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.conjunction()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(invalid("missing ')'")),
                }
            }
            Some(Token::Word(w)) if w == "NOT" => {
                self.aip = true;
                Ok(Expr::Not(Box::new(self.term()?)))
            }
            Some(Token::Word(w)) if w.starts_with('-') && w.len() > 1 => {
                self.aip = true;
                self.tokens[self.at - 1] = Token::Word(w[1..].to_owned());
                self.at -= 1;
                Ok(Expr::Not(Box::new(self.term()?)))
            }
            Some(Token::Word(field)) => self.comparison(field),
            Some(other) => Err(invalid(&format!("unexpected {other:?}"))),
            None => Err(invalid("unexpected end")),
        }
    }

    fn comparison(&mut self, field: String) -> Result<Expr, FilterError> {
        let path = parse_path(&field)?;
        let value = |p: &mut Parser| match p.next() {
            Some(Token::Word(w)) => Ok(w),
            Some(Token::Quoted(q)) => Ok(q),
            _ => Err(invalid(&format!("no value after field '{field}'"))),
        };
        match self.next() {
            Some(Token::Word(op)) if op == "eq" || op == "ne" => {
                self.regex = true;
                let literal = value(self)?;
                let re = RegexBuilder::new(&format!("^(?:{literal})$"))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|_| invalid(&format!("invalid regular expression '{literal}'")))?;
                Ok(Expr::Regex {
                    path,
                    negate: op == "ne",
                    re,
                })
            }
            Some(Token::Sym(sym)) => {
                self.aip = true;
                let op = match sym {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    ":" => Op::Has,
                    other => {
                        return Err(invalid(&format!("operator '{other}' is not supported")));
                    }
                };
                let value = value(self)?;
                Ok(Expr::Cmp { path, op, value })
            }
            _ => Err(invalid(&format!("no operator after field '{field}'"))),
        }
    }
}

fn parse_path(field: &str) -> Result<Vec<String>, FilterError> {
    let path: Vec<String> = field.split('.').map(str::to_owned).collect();
    let ok = path.iter().all(|p| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if ok {
        Ok(path)
    } else {
        Err(invalid(&format!("invalid field name '{field}'")))
    }
}

impl Filter {
    /// Parses a filter; an empty or blank text is `None` (everything).
    pub fn parse(text: &str) -> Result<Option<Filter>, FilterError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        if text.len() > MAX_FILTER {
            return Err(invalid("too long"));
        }
        let mut parser = Parser {
            tokens: tokenize(text)?,
            at: 0,
            regex: false,
            aip: false,
        };
        let expr = parser.conjunction()?;
        if parser.at < parser.tokens.len() {
            return Err(invalid("unbalanced ')'"));
        }
        if parser.regex && parser.aip {
            return Err(invalid(
                "the regular expression form (eq, ne) cannot be mixed with other operators",
            ));
        }
        Ok(Some(Filter { expr }))
    }

    /// Whether the resource document passes.
    pub fn matches(&self, doc: &Value) -> bool {
        eval(&self.expr, doc)
    }
}

fn lookup<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, key| v.get(key.as_str()))
}

/// The scalar texts of a value (each element of an array).
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Null => Vec::new(),
        Value::Object(map) => map.keys().cloned().collect(),
    }
}

fn eval(expr: &Expr, doc: &Value) -> bool {
    match expr {
        Expr::All(all) => all.iter().all(|e| eval(e, doc)),
        Expr::Any(any) => any.iter().any(|e| eval(e, doc)),
        Expr::Not(e) => !eval(e, doc),
        Expr::Regex { path, negate, re } => {
            let found = lookup(doc, path).map(texts).unwrap_or_default();
            let hit = if found.is_empty() {
                re.is_match("")
            } else {
                found.iter().any(|t| re.is_match(t))
            };
            hit != *negate
        }
        Expr::Cmp { path, op, value } => {
            let found = lookup(doc, path);
            let equal = found.is_some_and(|v| texts(v).iter().any(|t| glob(value, t)));
            match op {
                Op::Eq => equal,
                Op::Ne => !equal,
                Op::Has if value == "*" => found.is_some_and(|v| !v.is_null()),
                Op::Has => equal,
            }
        }
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run.
fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}
