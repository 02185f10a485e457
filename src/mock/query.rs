//! The ConnectWise Manage query language: the `conditions`, `orderBy` and `fields` query
//! parameters of REST list endpoints.
//!
//! This module owns parsing those parameters ([`Conditions`], [`OrderBy`], [`Fields`]) and
//! applying them to records shaped like ConnectWise JSON (`serde_json::Value` objects). It does
//! no I/O: callers pass in strings and records and get back values or a [`QueryError`] whose
//! message is meant for a human (e.g. an HTTP 400 body).
//!
//! Positions in errors are 0-based character (not byte) offsets into the parameter value.
//!
//! # Limits
//!
//! Parsing and matching recurse, so hostile input is bounded before it can exhaust the stack:
//! `conditions` (and `childConditions`, parsed the same way) nest parentheses and `not (…)`
//! at most [`MAX_NESTING`] deep, and a field path in `conditions`, `orderBy` or `fields`
//! has at most [`MAX_PATH_SEGMENTS`] segments (`board/name` has two). Beyond either limit
//! parsing fails with [`QueryError::TooDeep`] or [`QueryError::PathTooLong`], which the
//! mock answers with ConnectWise's 400. Everything else is iterative (`and`/`or` chains,
//! `in` lists, `orderBy` keys, `fields` items), so its cost grows only with the input's
//! length.
#![allow(clippy::doc_markdown)] // "ConnectWise" is a product name, not code.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::store::AsValue;

/// How deep parentheses and `not (…)` may nest in `conditions`; ConnectWise's own queries
/// rarely pass 5.
pub const MAX_NESTING: usize = 64;

/// How many `/`-separated segments a field path may have (`_info/lastUpdated` has two).
pub const MAX_PATH_SEGMENTS: usize = 16;

/// The query parameter an error refers to; displays as its URL name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryParam {
    Conditions,
    OrderBy,
    Fields,
}

impl fmt::Display for QueryParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Conditions => "conditions",
            Self::OrderBy => "orderBy",
            Self::Fields => "fields",
        })
    }
}

/// A syntax error in a query parameter, meant to become an HTTP 400 message.
///
/// `position` is a 0-based character offset; an empty `token` stands for the end of the input.
/// Variants without a `param` only arise from `conditions`.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum QueryError {
    #[error("{param} must not be empty")]
    Empty { param: QueryParam },
    #[error("unexpected {} at position {position} in {param}; expected {expected}", show(.token))]
    Unexpected {
        param: QueryParam,
        token: String,
        position: usize,
        expected: &'static str,
    },
    #[error("unknown operator {} at position {position} in conditions; expected one of \
             =, !=, <, <=, >, >=, contains, like, in, not", show(.token))]
    UnknownOperator { token: String, position: usize },
    #[error("missing value after {} at position {position} in conditions", show(.operator))]
    MissingValue { operator: String, position: usize },
    #[error("expected a list such as (1, 2) after {} at position {position} in conditions",
            show(.operator))]
    ExpectedList { operator: String, position: usize },
    #[error("unterminated string {} starting at position {position} in conditions", show(.token))]
    UnterminatedString { token: String, position: usize },
    #[error("unterminated datetime {} starting at position {position} in conditions", show(.token))]
    UnterminatedDateTime { token: String, position: usize },
    #[error("invalid datetime {} at position {position} in conditions; expected [YYYY-MM-DD] or \
             [YYYY-MM-DDThh:mm:ssZ]", show(.token))]
    InvalidDateTime { token: String, position: usize },
    #[error("unclosed \"(\" at position {position} in conditions")]
    UnclosedParen { position: usize },
    #[error("unmatched \")\" at position {position} in conditions")]
    UnmatchedParen { position: usize },
    #[error("invalid field path {} at position {position} in {param}; expected names separated \
             by \"/\"", show(.token))]
    InvalidPath {
        param: QueryParam,
        token: String,
        position: usize,
    },
    #[error("parentheses nest deeper than {limit} at position {position} in conditions")]
    TooDeep { position: usize, limit: usize },
    #[error("field path {} at position {position} in {param} has {segments} segments; at \
             most {limit} are allowed", show(.token))]
    PathTooLong {
        param: QueryParam,
        token: String,
        position: usize,
        segments: usize,
        limit: usize,
    },
    #[error("invalid sort direction {} at position {position} in orderBy; expected asc or desc",
            show(.token))]
    InvalidDirection { token: String, position: usize },
}

impl QueryError {
    fn unexpected(param: QueryParam, token: &str, position: usize, expected: &'static str) -> Self {
        let token = token.to_owned();
        QueryError::Unexpected {
            param,
            token,
            position,
            expected,
        }
    }
}

/// Quotes a token for an error message; the empty token means end of input.
fn show(token: &str) -> String {
    match token {
        "" => "end of input".to_owned(),
        t if t.contains('"') => format!("'{t}'"),
        t => format!("\"{t}\""),
    }
}

const EXPECT_VALUE: &str = "a value (quoted string, number, true, false, null or [datetime])";
const EXPECT_OPERATOR: &str = "an operator such as =, !=, <, contains, like or in";
const EXPECT_CONNECTIVE: &str = "\"and\", \"or\" or end of input";

/// Operator spellings (lowercase): the test, whether it is negated, whether it takes a list.
const OPERATORS: [(&str, Op, bool, bool); 13] = [
    ("=", Op::Eq, false, false),
    ("!=", Op::Eq, true, false),
    ("<", Op::Lt, false, false),
    ("<=", Op::Le, false, false),
    (">", Op::Gt, false, false),
    (">=", Op::Ge, false, false),
    ("contains", Op::Contains, false, false),
    ("like", Op::Like, false, false),
    ("in", Op::Eq, false, true),
    ("not", Op::Eq, true, false),
    ("not contains", Op::Contains, true, false),
    ("not like", Op::Like, true, false),
    ("not in", Op::Eq, true, true),
];

/// A point in time as seconds since the Unix epoch plus nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|±hh[:]mm]`
/// (no offset means UTC).
fn parse_datetime(s: &str) -> Option<Timestamp> {
    let mut c = Cursor {
        b: s.trim().as_bytes(),
        i: 0,
    };
    let year = c.digits(4)?;
    c.eat(b"-")?;
    let month = c.digits(2).filter(|m| (1..=12).contains(m))?;
    c.eat(b"-")?;
    let day = c.digits(2)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=month_days).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let mut nanos = 0;
    if c.eat(b"Tt ").is_some() {
        let hour = c.digits(2).filter(|h| *h < 24)?;
        c.eat(b":")?;
        let minute = c.digits(2).filter(|m| *m < 60)?;
        let mut second = 0;
        if c.eat(b":").is_some() {
            second = c.digits(2).filter(|s| *s <= 60)?;
            if c.eat(b".").is_some() {
                let start = c.i;
                while c.eat(b"0123456789").is_some() {}
                let frac = c.b.get(start..c.i).filter(|f| !f.is_empty())?;
                nanos = (0..9).fold(0, |acc, k| {
                    acc * 10 + frac.get(k).map_or(0, |d| u32::from(d - b'0'))
                });
            }
        }
        secs += hour * 3600 + minute * 60 + second;
        if let Some(sign @ (b'+' | b'-')) = c.eat(b"Zz+-") {
            let hours = c.digits(2).filter(|h| *h < 24)?;
            c.eat(b":");
            let offset = hours * 3600 + c.digits(2).filter(|m| *m < 60)? * 60;
            secs += if sign == b'+' { -offset } else { offset };
        }
    }
    (c.i == c.b.len()).then_some(Timestamp { secs, nanos })
}

/// A byte cursor for [`parse_datetime`].
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// Consumes exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let part = self.b.get(self.i..self.i + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(part.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    }

    /// Consumes one byte if it is one of `options`.
    fn eat(&mut self, options: &[u8]) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        options.contains(&c).then(|| {
            self.i += 1;
            c
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Like,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A field path or keyword.
    Word,
    Str(String),
    Num(f64),
    Date(Timestamp, String),
    /// A run of punctuation such as `=`, `>=` or `~`; only some are operators.
    Sym,
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// The source text of the token (empty for [`Tok::End`]).
    raw: String,
    pos: usize,
}

impl Token {
    fn is_word(&self, keyword: &str) -> bool {
        self.tok == Tok::Word && self.raw.eq_ignore_ascii_case(keyword)
    }

    fn is_connective(&self) -> bool {
        self.is_word("and") || self.is_word("or")
    }

    fn unexpected(&self, expected: &'static str) -> QueryError {
        QueryError::unexpected(QueryParam::Conditions, &self.raw, self.pos, expected)
    }
}

fn lex(input: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let text = |from: usize, to: usize| -> String { chars[from..to].iter().collect() };
    let digits_from = |i: usize| chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let (start, position) = (i, i);
        i += 1;
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '"' | '\'' => {
                let (value, end) = lex_string(&chars, start)?;
                i = end;
                Tok::Str(value)
            }
            '[' => {
                let close = chars[start..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|n| start + n);
                i = close.map_or(chars.len(), |close| close + 1);
                let token = text(start, i);
                let Some(close) = close else {
                    return Err(QueryError::UnterminatedDateTime { token, position });
                };
                let inner = text(start + 1, close);
                let at = parse_datetime(&inner);
                let at = at.ok_or(QueryError::InvalidDateTime { token, position })?;
                Tok::Date(at, inner.trim().to_owned())
            }
            c if c.is_ascii_digit() || (c == '-' && digits_from(i) > 0) => {
                i += digits_from(i);
                if chars.get(i) == Some(&'.') && digits_from(i + 1) > 0 {
                    i += 1 + digits_from(i + 1);
                }
                text(start, i).parse().map_or(Tok::Sym, Tok::Num)
            }
            c if c.is_alphabetic() || c == '_' => {
                let word = |c: &&char| c.is_alphanumeric() || matches!(c, '_' | '/');
                i += chars[i..].iter().take_while(word).count();
                Tok::Word
            }
            _ => {
                let symbol = |i: usize| {
                    chars.get(i).is_some_and(|&c| {
                        c.is_ascii_punctuation()
                            && !"()[],'\"_".contains(c)
                            && !(c == '-' && digits_from(i + 1) > 0)
                    })
                };
                while symbol(i) {
                    i += 1;
                }
                Tok::Sym
            }
        };
        tokens.push(Token {
            tok,
            raw: text(start, i),
            pos: start,
        });
    }
    tokens.push(Token {
        tok: Tok::End,
        raw: String::new(),
        pos: chars.len(),
    });
    Ok(tokens)
}

/// Lexes a string opened by the quote at `start`. A backslash escapes `"`, `'` or `\`; any
/// other backslash is kept literally. Returns the value and the index after the closing quote.
fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), QueryError> {
    let quote = chars[start];
    let mut value = String::new();
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        match (c, chars.get(i + 1)) {
            ('\\', Some(&next @ ('"' | '\'' | '\\'))) => {
                value.push(next);
                i += 1;
            }
            (c, _) if c == quote => return Ok((value, i + 1)),
            (c, _) => value.push(c),
        }
        i += 1;
    }
    let token = chars[start..].iter().collect();
    Err(QueryError::UnterminatedString {
        token,
        position: start,
    })
}

/// A parsed `conditions` expression.
///
/// Grammar (keywords case-insensitive, `and` binds tighter than `or`):
///
/// ```text
/// expr       := and ("or" and)*
/// and        := primary ("and" primary)*
/// primary    := "(" expr ")" | "not" "(" expr ")" | comparison
/// comparison := path op value | path ["not"] "in" "(" value ("," value)* ")"
/// op         := = | != | < | <= | > | >= | contains | like | not | not contains | not like
/// value      := "text" | 'text' | 12 | -1.5 | true | false | null | [2016-08-20T18:04:26Z]
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Comparison),
}

#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    path: Vec<String>,
    op: Op,
    /// `!=`, `not` and the `not …` forms invert the result of `op`.
    negated: bool,
    /// One value, or the members of an `in (…)` list (matched if any matches).
    values: Vec<Literal>,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    /// The value and its source text (searched by `contains`/`like`).
    Number(f64, String),
    Text(String),
    DateTime(Timestamp, String),
}

struct Parser {
    tokens: Vec<Token>,
    i: usize,
    /// How many `(` are open at the current token.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.i]
    }

    /// Returns the current token and advances (never past the end token).
    fn bump(&mut self) -> Token {
        let token = self.tokens[self.i].clone();
        if token.tok != Tok::End {
            self.i += 1;
        }
        token
    }

    /// Parses `item (keyword item)*`, wrapping two or more items with `join`.
    fn chain(
        &mut self,
        keyword: &str,
        item: fn(&mut Self) -> Result<Expr, QueryError>,
        join: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, QueryError> {
        let mut items = vec![item(self)?];
        while self.peek().is_word(keyword) {
            self.bump();
            items.push(item(self)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            join(items)
        })
    }

    fn parse_or(&mut self) -> Result<Expr, QueryError> {
        self.chain(
            "or",
            |p| p.chain("and", Self::parse_primary, Expr::And),
            Expr::Or,
        )
    }

    fn parse_primary(&mut self) -> Result<Expr, QueryError> {
        let token = self.peek().clone();
        let paren_next = self
            .tokens
            .get(self.i + 1)
            .is_some_and(|t| t.tok == Tok::LParen);
        if token.tok == Tok::LParen {
            self.bump();
            self.enter(token.pos)?;
            let expr = self.parse_or()?;
            self.close_paren(token.pos, "\"and\", \"or\" or \")\"")?;
            self.depth -= 1;
            Ok(expr)
        } else if token.is_word("not") && paren_next {
            // `not` is always followed by `(`, whose nesting `enter` counts.
            self.bump();
            Ok(Expr::Not(Box::new(self.parse_primary()?)))
        } else if token.tok == Tok::Word && !token.is_connective() {
            self.parse_comparison()
        } else {
            Err(token.unexpected("a field name or \"(\""))
        }
    }

    /// Opens a parenthesis at `position`, refusing to nest deeper than [`MAX_NESTING`].
    fn enter(&mut self, position: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(QueryError::TooDeep {
                position,
                limit: MAX_NESTING,
            });
        }
        Ok(())
    }

    fn close_paren(&mut self, open: usize, expected: &'static str) -> Result<(), QueryError> {
        let token = self.bump();
        match token.tok {
            Tok::RParen => Ok(()),
            Tok::End => Err(QueryError::UnclosedParen { position: open }),
            _ => Err(token.unexpected(expected)),
        }
    }

    fn parse_comparison(&mut self) -> Result<Expr, QueryError> {
        let field = self.bump();
        let path = parse_path(&field.raw, field.pos, QueryParam::Conditions)?;
        let op_token = self.bump();
        if !matches!(op_token.tok, Tok::Word | Tok::Sym) {
            return Err(op_token.unexpected(EXPECT_OPERATOR));
        }
        let mut operator = op_token.raw.clone();
        let next = self.peek().clone();
        if op_token.is_word("not") && ["contains", "like", "in"].iter().any(|w| next.is_word(w)) {
            self.bump();
            operator = format!("{operator} {}", next.raw);
        }
        let position = op_token.pos;
        let spelling = operator.to_ascii_lowercase();
        let Some(&(_, op, negated, list)) = OPERATORS.iter().find(|o| o.0 == spelling) else {
            return Err(QueryError::UnknownOperator {
                token: operator,
                position,
            });
        };
        let next = self.peek().clone();
        let values = if list {
            if next.tok != Tok::LParen {
                return Err(QueryError::ExpectedList { operator, position });
            }
            self.bump();
            let mut values = vec![self.parse_literal()?];
            while self.peek().tok == Tok::Comma {
                self.bump();
                values.push(self.parse_literal()?);
            }
            self.close_paren(next.pos, "\",\" or \")\"")?;
            values
        } else if matches!(next.tok, Tok::End | Tok::RParen) || next.is_connective() {
            return Err(QueryError::MissingValue { operator, position });
        } else if next.tok == Tok::LParen {
            return Err(next.unexpected("a single value; lists are only allowed after \"in\""));
        } else {
            vec![self.parse_literal()?]
        };
        Ok(Expr::Cmp(Comparison {
            path,
            op,
            negated,
            values,
        }))
    }

    fn parse_literal(&mut self) -> Result<Literal, QueryError> {
        let token = self.bump();
        Ok(match token.tok {
            Tok::Str(value) => Literal::Text(value),
            Tok::Num(n) => Literal::Number(n, token.raw),
            Tok::Date(at, text) => Literal::DateTime(at, text),
            _ if token.is_word("true") => Literal::Bool(true),
            _ if token.is_word("false") => Literal::Bool(false),
            _ if token.is_word("null") => Literal::Null,
            _ => return Err(token.unexpected(EXPECT_VALUE)),
        })
    }
}

/// Splits `a/b/c` into segments; each must be a non-empty run of letters, digits or `_`,
/// and there may be at most [`MAX_PATH_SEGMENTS`] of them.
fn parse_path(raw: &str, position: usize, param: QueryParam) -> Result<Vec<String>, QueryError> {
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let segments = raw.split('/').count();
    if segments > MAX_PATH_SEGMENTS {
        return Err(QueryError::PathTooLong {
            param,
            token: raw.to_owned(),
            position,
            segments,
            limit: MAX_PATH_SEGMENTS,
        });
    }
    if raw.split('/').all(valid) {
        Ok(raw.split('/').map(str::to_owned).collect())
    } else {
        Err(QueryError::InvalidPath {
            param,
            token: raw.to_owned(),
            position,
        })
    }
}

impl Conditions {
    /// Parses a `conditions` value such as `board/name = "Help Desk" and closedFlag = false`.
    ///
    /// # Errors
    /// A [`QueryError`] naming the position and offending token of the first syntax error.
    pub fn parse(input: &str) -> Result<Conditions, QueryError> {
        if input.trim().is_empty() {
            return Err(QueryError::Empty {
                param: QueryParam::Conditions,
            });
        }
        let mut parser = Parser {
            tokens: lex(input)?,
            i: 0,
            depth: 0,
        };
        let expr = parser.parse_or()?;
        let rest = parser.peek();
        match rest.tok {
            Tok::End => Ok(Conditions { expr }),
            Tok::RParen => Err(QueryError::UnmatchedParen { position: rest.pos }),
            _ => Err(rest.unexpected(EXPECT_CONNECTIVE)),
        }
    }

    /// Whether `record` satisfies the conditions.
    ///
    /// - Field names match case-insensitively; a path through an array matches if any element
    ///   matches; objects never match a value.
    /// - `=`/`in`: text case-insensitively, numbers numerically (a numeric string in the record
    ///   equals the number), booleans exactly, `[datetimes]` chronologically against ISO 8601
    ///   strings. `= null` holds for a missing or null field.
    /// - `<`, `<=`, `>`, `>=`: the same comparisons; a missing or null field never matches.
    /// - `contains` and `like` search text case-insensitively (numbers and booleans as written
    ///   in JSON); in `like` patterns `*` and `%` match any run of characters.
    /// - Negated operators (`!=`, `not`, `not in`, `not contains`, `not like`) are the exact
    ///   negation of their positive form, so e.g. a missing field satisfies `!= 5`.
    #[must_use]
    pub fn matches(&self, record: &Value) -> bool {
        self.expr.eval(record)
    }
}

impl Conditions {
    /// Reads each field named by an alias (`lastUpdated`) as the path it maps to
    /// (`_info/lastUpdated`), unless some record of `records` has a field of that name.
    #[must_use]
    pub fn with_aliases(
        mut self,
        aliases: &BTreeMap<String, String>,
        records: &[impl AsValue],
    ) -> Self {
        self.expr
            .each_path(&mut |path| alias_path(path, aliases, records));
        self
    }

    /// The fields (`/`-joined paths) the conditions name that no record of `records` has
    /// and whose first segment is not among `declared`: fields unknown to the collection.
    #[must_use]
    pub fn unknown_fields(&self, records: &[impl AsValue], declared: &[&str]) -> Vec<String> {
        let mut unknown = Vec::new();
        let mut expr = self.expr.clone();
        expr.each_path(&mut |path| {
            let is_declared = path.first().is_some_and(|head| {
                declared
                    .iter()
                    .any(|d| first_segment(d).eq_ignore_ascii_case(head))
            });
            let present = records.iter().any(|r| {
                let mut leaves = Vec::new();
                resolve(r.as_value(), path, &mut leaves);
                !leaves.is_empty()
            });
            let shown = path.join("/");
            if !is_declared && !present && !unknown.contains(&shown) {
                unknown.push(shown);
            }
        });
        unknown
    }
}

fn first_segment(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

/// Replaces the first segment of `path` by its alias's path when no record has it.
fn alias_path(
    path: &mut Vec<String>,
    aliases: &BTreeMap<String, String>,
    records: &[impl AsValue],
) {
    let Some(head) = path.first() else {
        return;
    };
    let Some((_, target)) = aliases
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(head))
    else {
        return;
    };
    let own_field = records.iter().any(|r| {
        r.as_value()
            .as_object()
            .is_some_and(|map| map.keys().any(|k| k.eq_ignore_ascii_case(head)))
    });
    if !own_field {
        let rest = path.split_off(1);
        *path = target.split('/').map(str::to_owned).chain(rest).collect();
    }
}

impl Expr {
    fn each_path(&mut self, visit: &mut impl FnMut(&mut Vec<String>)) {
        match self {
            Expr::Or(items) | Expr::And(items) => {
                for item in items.iter_mut() {
                    item.each_path(visit);
                }
            }
            Expr::Not(inner) => inner.each_path(visit),
            Expr::Cmp(cmp) => visit(&mut cmp.path),
        }
    }

    fn eval(&self, record: &Value) -> bool {
        match self {
            Expr::Or(items) => items.iter().any(|e| e.eval(record)),
            Expr::And(items) => items.iter().all(|e| e.eval(record)),
            Expr::Not(inner) => !inner.eval(record),
            Expr::Cmp(cmp) => cmp.eval(record),
        }
    }
}

impl Comparison {
    fn eval(&self, record: &Value) -> bool {
        let mut leaves = Vec::new();
        resolve(record, &self.path, &mut leaves);
        let ordered = |lit: &Literal, accept: fn(Ordering) -> bool| {
            leaves.iter().any(|v| compare(v, lit).is_some_and(accept))
        };
        let positive = self.values.iter().any(|lit| match self.op {
            Op::Eq if *lit == Literal::Null => {
                leaves.is_empty() || leaves.iter().any(|v| v.is_null())
            }
            Op::Eq => ordered(lit, Ordering::is_eq),
            Op::Lt => ordered(lit, Ordering::is_lt),
            Op::Le => ordered(lit, Ordering::is_le),
            Op::Gt => ordered(lit, Ordering::is_gt),
            Op::Ge => ordered(lit, Ordering::is_ge),
            Op::Contains | Op::Like => literal_text(lit).is_some_and(|pattern| {
                let pattern = pattern.to_lowercase();
                leaves
                    .iter()
                    .filter_map(|v| leaf_text(v))
                    .any(|text| match self.op {
                        Op::Contains => text.to_lowercase().contains(&pattern),
                        _ => wildcard_match(&text.to_lowercase(), &pattern),
                    })
            }),
        });
        positive != self.negated
    }
}

/// Collects the values at `path` (keys matched case-insensitively), fanning out over arrays.
fn resolve<'a>(value: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    match (value, path.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|item| resolve(item, path, out)),
        (_, None) => out.push(value),
        (Value::Object(map), Some((head, rest))) => {
            let found = map.get(head.as_str()).or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(head))
                    .map(|(_, v)| v)
            });
            if let Some(v) = found {
                resolve(v, rest, out);
            }
        }
        _ => {}
    }
}

/// A number in a record: JSON numbers and strings holding a finite number (`"42"`).
fn leaf_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => text_number(s),
        _ => None,
    }
}

fn text_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Orders a record value against a literal, or `None` when they are not comparable.
fn compare(value: &Value, lit: &Literal) -> Option<Ordering> {
    match (lit, value) {
        (Literal::Bool(b), _) => value.as_bool().map(|v| v.cmp(b)),
        (Literal::Number(n, _), _) => leaf_number(value)?.partial_cmp(n),
        (Literal::DateTime(at, _), _) => Some(parse_datetime(value.as_str()?)?.cmp(at)),
        (Literal::Text(text), Value::String(s)) => Some(s.to_lowercase().cmp(&text.to_lowercase())),
        (Literal::Text(text), Value::Number(_)) => {
            leaf_number(value)?.partial_cmp(&text_number(text)?)
        }
        _ => None,
    }
}

/// The text `contains`/`like` search: strings, and numbers/booleans as written in JSON.
fn leaf_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

fn literal_text(lit: &Literal) -> Option<&str> {
    match lit {
        Literal::Null => None,
        Literal::Bool(b) => Some(if *b { "true" } else { "false" }),
        Literal::Number(_, text) | Literal::Text(text) | Literal::DateTime(_, text) => Some(text),
    }
}

/// Matches all of `text` against `pattern`, where `*` and `%` match any run of characters.
fn wildcard_match(text: &str, pattern: &str) -> bool {
    let (text, pattern): (Vec<char>, Vec<char>) =
        (text.chars().collect(), pattern.chars().collect());
    let (mut t, mut p) = (0, 0);
    let mut retry: Option<(usize, usize)> = None; // (wildcard index, text index it resumes at)
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some('*' | '%') => {
                retry = Some((p, t));
                p += 1;
            }
            Some(&pc) if pc == c => (p, t) = (p + 1, t + 1),
            _ => match retry {
                Some((star, from)) => {
                    retry = Some((star, from + 1));
                    (p, t) = (star + 1, from + 1);
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| matches!(c, '*' | '%'))
}

/// One comma-separated item of `orderBy` or `fields`: its path and the words after it.
type Item = (Vec<String>, std::vec::IntoIter<(usize, String)>);

/// Splits a comma-separated parameter into items of whitespace-separated words.
fn split_items(input: &str, param: QueryParam) -> Result<Vec<Item>, QueryError> {
    if input.trim().is_empty() {
        return Err(QueryError::Empty { param });
    }
    let end = input.chars().count();
    let (mut items, mut words) = (Vec::new(), Vec::new());
    let mut word: Option<(usize, String)> = None;
    for (i, c) in input.chars().chain(Some(',')).enumerate() {
        if c != ',' && !c.is_whitespace() {
            word.get_or_insert_with(|| (i, String::new())).1.push(c);
            continue;
        }
        words.extend(word.take());
        if c == ',' && words.is_empty() {
            let token = if i == end { "" } else { "," };
            return Err(QueryError::unexpected(param, token, i, "a field name"));
        } else if c == ',' {
            let mut words = std::mem::take(&mut words).into_iter();
            let (position, field) = words.next().unwrap_or_default();
            items.push((parse_path(&field, position, param)?, words));
        }
    }
    Ok(items)
}

fn trailing_word(param: QueryParam, (position, token): (usize, String)) -> QueryError {
    QueryError::unexpected(param, &token, position, "\",\" or end of input")
}

/// A parsed `orderBy` parameter: `path [asc|desc]` keys separated by commas.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// Each key's path and whether it sorts descending.
    keys: Vec<(Vec<String>, bool)>,
}

impl OrderBy {
    /// Parses e.g. `board/name desc, id asc`. The direction defaults to `asc`; directions and
    /// field names are case-insensitive.
    ///
    /// # Errors
    /// A [`QueryError`] for an empty value, an empty key, a bad path or direction.
    pub fn parse(input: &str) -> Result<OrderBy, QueryError> {
        let param = QueryParam::OrderBy;
        let mut keys = Vec::new();
        for (path, mut words) in split_items(input, param)? {
            let descending = match words.next() {
                None => false,
                Some((_, dir)) if dir.eq_ignore_ascii_case("asc") => false,
                Some((_, dir)) if dir.eq_ignore_ascii_case("desc") => true,
                Some((position, token)) => {
                    return Err(QueryError::InvalidDirection { token, position });
                }
            };
            if let Some(extra) = words.next() {
                return Err(trailing_word(param, extra));
            }
            keys.push((path, descending));
        }
        Ok(OrderBy { keys })
    }

    /// Reads each key named by an alias (`lastUpdated`) as the path it maps to, unless some
    /// record of `records` has a field of that name (see [`Conditions::with_aliases`]).
    #[must_use]
    pub fn with_aliases(
        mut self,
        aliases: &BTreeMap<String, String>,
        records: &[impl AsValue],
    ) -> Self {
        for (path, _) in &mut self.keys {
            alias_path(path, aliases, records);
        }
        self
    }

    /// Sorts `records` stably by the keys in order. Missing and null values sort first when
    /// ascending (last when descending), then booleans, numbers, datetimes (strings that parse
    /// as ISO datetimes, compared chronologically), then other strings (case-insensitive).
    /// A path through an array sorts by its first value; objects sort like null.
    pub fn sort<R: AsValue>(&self, records: &mut Vec<R>) {
        let mut keyed: Vec<(Vec<SortKey>, R)> = records
            .drain(..)
            .map(|r| {
                let keys = self
                    .keys
                    .iter()
                    .map(|(path, _)| SortKey::of(r.as_value(), path))
                    .collect();
                (keys, r)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            let pairs = a.iter().zip(b).zip(&self.keys);
            let mut orderings =
                pairs.map(|((x, y), (_, desc))| if *desc { y.cmp(x) } else { x.cmp(y) });
            orderings.find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
        });
        records.extend(keyed.into_iter().map(|(_, r)| r));
    }
}

/// A sort key; variant order is the order between kinds of values.
#[derive(Debug, PartialEq, PartialOrd)]
enum SortKey {
    Null,
    Bool(bool),
    Number(f64),
    Time(Timestamp),
    Text(String),
}

impl SortKey {
    fn of(record: &Value, path: &[String]) -> SortKey {
        let mut leaves = Vec::new();
        resolve(record, path, &mut leaves);
        match leaves.first() {
            Some(Value::Bool(b)) => SortKey::Bool(*b),
            Some(Value::Number(n)) => n.as_f64().map_or(SortKey::Null, SortKey::Number),
            Some(Value::String(s)) => {
                parse_datetime(s).map_or_else(|| SortKey::Text(s.to_lowercase()), SortKey::Time)
            }
            _ => SortKey::Null,
        }
    }

    /// Total order (JSON numbers are never NaN, so `partial_cmp` never fails).
    fn cmp(&self, other: &SortKey) -> Ordering {
        self.partial_cmp(other).unwrap_or(Ordering::Equal)
    }
}

/// A parsed `fields` parameter: comma-separated paths such as `id,name,status/id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    /// This node is selected whole (e.g. `board` rather than `board/name`).
    whole: bool,
    /// Selected sub-fields by name, matched case-insensitively.
    children: Vec<(String, Fields)>,
}

impl Fields {
    /// An empty selection node.
    fn node() -> Fields {
        let children = Vec::new();
        Fields {
            whole: false,
            children,
        }
    }

    /// Parses a `fields` value; whitespace around names is ignored.
    ///
    /// # Errors
    /// A [`QueryError`] for an empty value, an empty item, a bad path or a stray word.
    pub fn parse(input: &str) -> Result<Fields, QueryError> {
        let param = QueryParam::Fields;
        let mut root = Fields::node();
        for (path, mut words) in split_items(input, param)? {
            if let Some(extra) = words.next() {
                return Err(trailing_word(param, extra));
            }
            let mut node = &mut root;
            for segment in path {
                let found = node
                    .children
                    .iter()
                    .position(|(n, _)| n.eq_ignore_ascii_case(&segment));
                let index = found.unwrap_or_else(|| {
                    node.children.push((segment, Fields::node()));
                    node.children.len() - 1
                });
                node = &mut node.children[index].1;
            }
            node.whole = true;
        }
        Ok(root)
    }

    /// Returns an object with only the listed paths of `record`, in the record's key order and
    /// spelling. A listed field (`board`) is kept whole; sub-paths (`board/name`) keep only the
    /// listed sub-fields, applied to each element of an array. Missing fields are omitted, as
    /// is a parent none of whose listed sub-fields are present.
    #[must_use]
    pub fn project(&self, record: &Value) -> Value {
        self.select(record)
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    fn select(&self, value: &Value) -> Option<Value> {
        if self.whole {
            return Some(value.clone());
        }
        match value {
            Value::Object(map) => {
                let kept: Map<String, Value> = map
                    .iter()
                    .filter_map(|(key, v)| {
                        let child = self
                            .children
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(key));
                        Some((key.clone(), child?.1.select(v)?))
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) => Some(Value::Array(
                items.iter().filter_map(|v| self.select(v)).collect(),
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn ticket() -> Value {
        json!({
            "id": 5, "summary": "Printer down", "ticketNumber": "42", "balance": -12.5,
            "board": {"id": 1, "name": "Help Desk"}, "contact": {"name": "O'Brien \"Bob\""},
            "closedFlag": false, "closedDate": null,
            "types": [{"id": 1, "name": "Hardware"}, {"id": 2, "name": "Software"}],
            "tags": ["urgent", "vip"], "_info": {"lastUpdated": "2026-01-02T03:04:05Z"}
        })
    }

    #[rstest]
    // every operator, positive and negative; symbols with and without spaces
    #[case("id = 5", true)]
    #[case("id = 6", false)]
    #[case("id != 6", true)]
    #[case("id != 5", false)]
    #[case("id < 6", true)]
    #[case("id < 5", false)]
    #[case("id <= 5", true)]
    #[case("id <= 4", false)]
    #[case("id > 4", true)]
    #[case("id > 5", false)]
    #[case("id >= 5", true)]
    #[case("id >= 6", false)]
    #[case("board/id=1", true)]
    #[case("id!=5", false)]
    #[case("id>=6", false)]
    #[case(r#"summary contains "printer""#, true)]
    #[case(r#"summary contains "scanner""#, false)]
    #[case("summary not contains 'DOWN'", false)]
    #[case("summary not contains 'scanner'", true)]
    #[case("summary like 'print*'", true)]
    #[case("summary like '%DOWN'", true)]
    #[case("summary like 'p*r d%n'", true)]
    #[case("summary like '*up'", false)]
    #[case("summary like 'printer down'", true)]
    #[case("summary like 'print'", false)]
    #[case("summary not like 'scan%'", true)]
    #[case("summary not like '*down'", false)]
    #[case("id in (3, 5, 7)", true)]
    #[case("id in (1, 2)", false)]
    #[case("board/name in ('Sales', \"help desk\")", true)]
    #[case("id not in (1, 2)", true)]
    #[case("id not in (5)", false)]
    #[case("closedFlag not true", true)]
    #[case("closedFlag not false", false)]
    // strings: both quote styles, case-insensitive equality, escapes
    #[case(r#"summary = "PRINTER DOWN""#, true)]
    #[case("summary = 'Printer'", false)]
    #[case(r#"contact/name = 'O\'Brien "Bob"'"#, true)]
    #[case(r#"contact/name = "O'Brien \"Bob\"""#, true)]
    #[case(r#"contact/name = "O'Brien""#, false)]
    #[case("summary > 'printer a'", true)]
    #[case("summary < 'PRINTER A'", false)]
    // numbers: negative, decimal, numeric strings
    #[case("balance = -12.5", true)]
    #[case("balance < -12", true)]
    #[case("balance > 0", false)]
    #[case("ticketNumber = 42", true)]
    #[case("ticketNumber > 41.5", true)]
    #[case("ticketNumber = 43", false)]
    #[case("id = '5'", true)]
    #[case("id contains 5", true)]
    // booleans
    #[case("closedFlag = False", true)]
    #[case("closedFlag = TRUE", false)]
    #[case("closedFlag != true", true)]
    #[case("closedFlag = 'false'", false)]
    // null and missing fields
    #[case("closedDate = null", true)]
    #[case("resolution = NULL", true)]
    #[case("board = null", false)]
    #[case("closedDate != null", false)]
    #[case("board != null", true)]
    #[case("resolution > 1", false)]
    #[case("resolution < 1", false)]
    #[case("resolution != 1", true)]
    #[case("resolution contains ''", false)]
    // datetimes
    #[case("_info/lastUpdated > [2026-01-01T00:00:00Z]", true)]
    #[case("_info/lastUpdated < [2026-01-01T00:00:00Z]", false)]
    #[case("_info/lastUpdated >= [2026-01-02]", true)]
    #[case("_info/lastUpdated < [2026-01-02]", false)]
    #[case("_info/lastUpdated = [2026-01-02T04:04:05+01:00]", true)]
    #[case("_info/lastUpdated = [2026-01-02T03:04:05.000Z]", true)]
    #[case("_info/lastUpdated < [2026-01-02T03:04:05.5Z]", true)]
    #[case("_info/lastUpdated = [2026-01-02T03:04:06Z]", false)]
    #[case("summary < [2030-01-01]", false)]
    // case-insensitive field names and keywords
    #[case("Board/Name = 'help desk'", true)]
    #[case("ClosedFlag = false AND ID In (5)", true)]
    #[case("SUMMARY CONTAINS 'printer' and id NOT IN (5)", false)]
    #[case("_INFO/LASTUPDATED > [2026-01-01] Or id = 0", true)]
    // arrays: any element matches
    #[case("types/name = 'hardware'", true)]
    #[case("types/name = 'Network'", false)]
    #[case("types/id > 1", true)]
    #[case("types/id > 2", false)]
    #[case("types/name != 'Hardware'", false)]
    #[case("tags contains 'urg'", true)]
    #[case("tags = 'vip'", true)]
    #[case("tags = 'none'", false)]
    // logic: and binds tighter than or; parentheses; not (...)
    #[case("id = 1 and id = 2 or id = 5", true)]
    #[case("id = 1 and (id = 2 or id = 5)", false)]
    #[case("id = 5 or id = 1 and id = 2", true)]
    #[case("(id = 5 or id = 1) and id = 2", false)]
    #[case("((id = 5)) and (board/id = 2 or closedFlag = false)", true)]
    #[case("id = 5 and board/id = 2", false)]
    #[case("id = 6 OR id = 7", false)]
    #[case("not (id = 5)", false)]
    #[case("NOT (id = 1 or id = 2)", true)]
    // a reference object is not a scalar
    #[case("board = 1", false)]
    #[case("board contains 'Help'", false)]
    fn conditions_match(#[case] conditions: &str, #[case] expected: bool) {
        let parsed = Conditions::parse(conditions).unwrap();
        assert_eq!(parsed.matches(&ticket()), expected, "{conditions}");
    }

    #[rstest]
    #[case("", "conditions must not be empty")]
    #[case("   ", "conditions must not be empty")]
    #[case("(id = 1", r#"unclosed "(" at position 0 in conditions"#)]
    #[case("id in (1, 2", r#"unclosed "(" at position 6 in conditions"#)]
    #[case("id = 1)", r#"unmatched ")" at position 6 in conditions"#)]
    #[case(
        r#"summary = "abc"#,
        r#"unterminated string '"abc' starting at position 10 in conditions"#
    )]
    #[case(
        r"summary = 'abc\'",
        r#"unterminated string "'abc\'" starting at position 10 in conditions"#
    )]
    #[case(
        "date > [2016-08-20",
        r#"unterminated datetime "[2016-08-20" starting at position 7 in conditions"#
    )]
    #[case("date > [2016-13-01]", r#"invalid datetime "[2016-13-01]" at position 7 in conditions; expected [YYYY-MM-DD] or [YYYY-MM-DDThh:mm:ssZ]"#)]
    #[case("date > [2016-02-30]", r#"invalid datetime "[2016-02-30]" at position 7 in conditions; expected [YYYY-MM-DD] or [YYYY-MM-DDThh:mm:ssZ]"#)]
    #[case("d = [2016-01-01T25:00Z]", r#"invalid datetime "[2016-01-01T25:00Z]" at position 4 in conditions; expected [YYYY-MM-DD] or [YYYY-MM-DDThh:mm:ssZ]"#)]
    #[case("id = ", r#"missing value after "=" at position 3 in conditions"#)]
    #[case(
        "id = and x = 1",
        r#"missing value after "=" at position 3 in conditions"#
    )]
    #[case(
        "(summary NOT like)",
        r#"missing value after "NOT like" at position 9 in conditions"#
    )]
    #[case("id ~ 5", r#"unknown operator "~" at position 3 in conditions; expected one of =, !=, <, <=, >, >=, contains, like, in, not"#)]
    #[case("id == 5", r#"unknown operator "==" at position 3 in conditions; expected one of =, !=, <, <=, >, >=, contains, like, in, not"#)]
    #[case("id equals 5", r#"unknown operator "equals" at position 3 in conditions; expected one of =, !=, <, <=, >, >=, contains, like, in, not"#)]
    #[case("id 5", r#"unexpected "5" at position 3 in conditions; expected an operator such as =, !=, <, contains, like or in"#)]
    #[case(
        "id",
        "unexpected end of input at position 2 in conditions; expected an operator such as =, !=, <, contains, like or in"
    )]
    #[case(
        "id = 1 xyz",
        r#"unexpected "xyz" at position 7 in conditions; expected "and", "or" or end of input"#
    )]
    #[case(
        "id = 1 && id = 2",
        r#"unexpected "&&" at position 7 in conditions; expected "and", "or" or end of input"#
    )]
    #[case(
        "(id = 1 xyz)",
        r#"unexpected "xyz" at position 8 in conditions; expected "and", "or" or ")""#
    )]
    #[case(
        "id = 1 and",
        r#"unexpected end of input at position 10 in conditions; expected a field name or "(""#
    )]
    #[case(
        "or id = 1",
        r#"unexpected "or" at position 0 in conditions; expected a field name or "(""#
    )]
    #[case(
        "()",
        r#"unexpected ")" at position 1 in conditions; expected a field name or "(""#
    )]
    #[case("status/name = Open", r#"unexpected "Open" at position 14 in conditions; expected a value (quoted string, number, true, false, null or [datetime])"#)]
    #[case(
        "id in 5",
        r#"expected a list such as (1, 2) after "in" at position 3 in conditions"#
    )]
    #[case(
        "id Not In 'a'",
        r#"expected a list such as (1, 2) after "Not In" at position 3 in conditions"#
    )]
    #[case("id in ()", r#"unexpected ")" at position 7 in conditions; expected a value (quoted string, number, true, false, null or [datetime])"#)]
    #[case(
        "id in (1 2)",
        r#"unexpected "2" at position 9 in conditions; expected "," or ")""#
    )]
    #[case("id = (1)", r#"unexpected "(" at position 5 in conditions; expected a single value; lists are only allowed after "in""#)]
    #[case("board/ = 1", r#"invalid field path "board/" at position 0 in conditions; expected names separated by "/""#)]
    fn conditions_errors(#[case] conditions: &str, #[case] message: &str) {
        assert_eq!(
            Conditions::parse(conditions).unwrap_err().to_string(),
            message
        );
    }

    #[test]
    fn errors_carry_token_and_position() {
        let err = Conditions::parse("id ~ 5").unwrap_err();
        assert_eq!(
            err,
            QueryError::UnknownOperator {
                token: "~".into(),
                position: 3
            }
        );
        let err = Conditions::parse("naïve = 1 x").unwrap_err(); // positions count characters
        assert_eq!(
            err,
            QueryError::unexpected(QueryParam::Conditions, "x", 10, EXPECT_CONNECTIVE)
        );
    }

    /// `depth` parentheses around `id = 5`, with `not` before every other one.
    fn nested(depth: usize) -> String {
        let open: String = (0..depth)
            .map(|i| if i % 2 == 0 { "(" } else { "not (" })
            .collect();
        format!("{open}id = 5{}", ")".repeat(depth))
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        let parsed = Conditions::parse(&nested(MAX_NESTING)).unwrap();
        // An even count of `not` keeps the comparison's sense.
        assert_eq!(
            parsed.matches(&ticket()),
            (MAX_NESTING / 2).is_multiple_of(2)
        );
    }

    #[rstest]
    #[case(MAX_NESTING + 1)]
    #[case(2_000)]
    #[case(100_000)]
    fn nesting_beyond_the_limit_is_refused_not_overflowed(#[case] depth: usize) {
        let err = Conditions::parse(&nested(depth)).unwrap_err();
        let QueryError::TooDeep { position, limit } = err else {
            panic!("expected TooDeep, got {err}");
        };
        assert_eq!(limit, MAX_NESTING);
        // The parenthesis that went one too deep is named.
        let opened: String = nested(depth).chars().take(position + 1).collect();
        assert_eq!(opened.matches('(').count(), MAX_NESTING + 1, "{opened}");
    }

    #[test]
    fn too_deep_names_the_limit_and_position() {
        let input = format!("{}id = 5{}", "(".repeat(70), ")".repeat(70));
        assert_eq!(
            Conditions::parse(&input).unwrap_err().to_string(),
            "parentheses nest deeper than 64 at position 64 in conditions"
        );
    }

    #[rstest]
    #[case::conditions(QueryParam::Conditions)]
    #[case::order_by(QueryParam::OrderBy)]
    #[case::fields(QueryParam::Fields)]
    fn field_paths_longer_than_the_limit_are_refused(#[case] param: QueryParam) {
        let allowed = vec!["a"; MAX_PATH_SEGMENTS].join("/");
        let too_long = vec!["a"; MAX_PATH_SEGMENTS + 1].join("/");
        let huge = vec!["a"; 50_000].join("/");
        let parse = |path: &str| match param {
            QueryParam::Conditions => Conditions::parse(&format!("{path} = 1")).map(|_| ()),
            QueryParam::OrderBy => OrderBy::parse(path).map(|_| ()),
            QueryParam::Fields => Fields::parse(path).map(|_| ()),
        };
        parse(&allowed).unwrap();
        assert_eq!(
            parse(&too_long).unwrap_err().to_string(),
            format!(
                "field path \"{too_long}\" at position 0 in {param} has 17 segments; at most 16 \
                 are allowed"
            )
        );
        assert!(matches!(
            parse(&huge).unwrap_err(),
            QueryError::PathTooLong {
                segments: 50_000,
                ..
            }
        ));
    }

    fn tickets() -> Vec<Value> {
        vec![
            json!({"id": 1, "summary": "beta", "board": {"name": "Help Desk"}, "priority": 3,
                   "_info": {"lastUpdated": "2026-01-02T00:00:00Z"}}),
            json!({"id": 2, "summary": "Alpha", "board": {"name": "Sales"}, "priority": 1,
                   "_info": {"lastUpdated": "2026-01-01T23:00:00-02:00"}}),
            json!({"id": 3, "summary": "gamma", "board": {"name": "help desk"}, "priority": 10,
                   "_info": {"lastUpdated": "2025-12-31T00:00:00Z"}}),
            json!({"id": 4, "board": null}),
        ]
    }

    #[rstest]
    #[case("id desc", [4, 3, 2, 1])]
    #[case("summary", [4, 2, 1, 3])]
    #[case("summary DESC", [3, 1, 2, 4])]
    #[case("priority asc", [4, 2, 1, 3])]
    #[case("priority desc", [3, 1, 2, 4])]
    #[case("Board/Name asc, id desc", [4, 3, 1, 2])]
    #[case("board/name desc, id", [2, 1, 3, 4])]
    #[case("board/name", [4, 1, 3, 2])]
    #[case("_info/lastUpdated", [4, 3, 1, 2])]
    #[case("  id   desc  ,  summary  ", [4, 3, 2, 1])]
    fn order_by_sorts(#[case] order_by: &str, #[case] expected: [i64; 4]) {
        let mut records = tickets();
        OrderBy::parse(order_by).unwrap().sort(&mut records);
        let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, expected);
    }

    #[rstest]
    #[case("", "orderBy must not be empty")]
    #[case(
        "id up",
        r#"invalid sort direction "up" at position 3 in orderBy; expected asc or desc"#
    )]
    #[case(
        "id asc extra",
        r#"unexpected "extra" at position 7 in orderBy; expected "," or end of input"#
    )]
    #[case(
        "id,,name",
        r#"unexpected "," at position 3 in orderBy; expected a field name"#
    )]
    #[case(
        "id,",
        "unexpected end of input at position 3 in orderBy; expected a field name"
    )]
    #[case("board//name", r#"invalid field path "board//name" at position 0 in orderBy; expected names separated by "/""#)]
    #[case("", "fields must not be empty")]
    #[case(
        "id name",
        r#"unexpected "name" at position 3 in fields; expected "," or end of input"#
    )]
    #[case(
        " , id",
        r#"unexpected "," at position 1 in fields; expected a field name"#
    )]
    #[case(
        "id, a.b",
        r#"invalid field path "a.b" at position 4 in fields; expected names separated by "/""#
    )]
    fn order_by_and_fields_errors(#[case] input: &str, #[case] message: &str) {
        let err = if message.contains("orderBy") {
            OrderBy::parse(input).unwrap_err()
        } else {
            Fields::parse(input).unwrap_err()
        };
        assert_eq!(err.to_string(), message);
    }

    #[rstest]
    #[case("id,summary", json!({"id": 5, "summary": "Printer down"}))]
    #[case(" id , board/name ", json!({"id": 5, "board": {"name": "Help Desk"}}))]
    #[case("board/name,board", json!({"board": {"id": 1, "name": "Help Desk"}}))]
    #[case("nope, board/nope, id/nope, id", json!({"id": 5}))]
    #[case("types/name", json!({"types": [{"name": "Hardware"}, {"name": "Software"}]}))]
    #[case("ID,Board/NAME", json!({"id": 5, "board": {"name": "Help Desk"}}))]
    #[case("_info/lastUpdated, closedDate", json!({"closedDate": null, "_info": {"lastUpdated": "2026-01-02T03:04:05Z"}}))]
    #[case("nope", json!({}))]
    fn fields_project(#[case] fields: &str, #[case] expected: Value) {
        assert_eq!(Fields::parse(fields).unwrap().project(&ticket()), expected);
    }

    #[test]
    fn fields_keep_record_key_order() {
        let projected = Fields::parse("summary,id").unwrap().project(&ticket());
        assert_eq!(
            projected.to_string(),
            r#"{"id":5,"summary":"Printer down"}"#
        );
    }

    fn aliases() -> BTreeMap<String, String> {
        BTreeMap::from([("lastUpdated".to_owned(), "_info/lastUpdated".to_owned())])
    }

    #[test]
    fn an_alias_reads_the_path_it_maps_to_unless_records_have_the_field() {
        let record = json!({"id": 1, "_info": {"lastUpdated": "2026-10-02T00:00:00Z"}});
        let own = json!({"id": 2, "lastUpdated": "2020-01-01T00:00:00Z",
                         "_info": {"lastUpdated": "2026-10-02T00:00:00Z"}});
        let text = "LASTUPDATED > [2026-10-01]";
        let aliased = Conditions::parse(text)
            .unwrap()
            .with_aliases(&aliases(), std::slice::from_ref(&record));
        assert!(aliased.matches(&record));
        let kept = Conditions::parse(text)
            .unwrap()
            .with_aliases(&aliases(), std::slice::from_ref(&own));
        assert!(!kept.matches(&own), "a record's own lastUpdated wins");
        let mut records = vec![own.clone(), record.clone()];
        OrderBy::parse("lastUpdated desc")
            .unwrap()
            .with_aliases(&aliases(), std::slice::from_ref(&record))
            .sort(&mut records);
        assert_eq!(records[0]["id"], 2, "equal _info times keep their order");
    }

    #[rstest]
    #[case("summary = 'x'", &[])]
    #[case("closedDate = null", &[])]
    #[case("board/name = 'x'", &[])]
    #[case("contact/id = 1", &[])]
    #[case("bord/id = 1 or summary = 'x' or bord/id = 2", &["bord/id"])]
    #[case("board/colour = 'red' and nope = 1", &["board/colour", "nope"])]
    fn unknown_fields_are_those_no_record_has_and_none_declares(
        #[case] text: &str,
        #[case] unknown: &[&str],
    ) {
        let records = [
            json!({"id": 1, "summary": "a", "closedDate": null, "board": {"id": 1, "name": "x"}}),
            json!({"id": 2, "summary": "b"}),
        ];
        let conditions = Conditions::parse(text).unwrap();
        assert_eq!(
            conditions.unknown_fields(&records, &["id", "contact"]),
            unknown
        );
    }
}
