//! `$filter`: a tokenizer and a recursive-descent parser into an expression tree (name resolution and
//! evaluation are in `eval`).
//!
//! Supported: `eq ne gt ge lt le`, `and or not`, parentheses, `in (...)`, `startswith`/`endswith`, and
//! `any` lambdas on string collections (`groupTypes/any(c:c eq 'Unified')`). Literals: `'strings'`
//! (with `''` escapes), numbers, `true`, `false`, `null`. String comparisons ignore case, as in the
//! directory.

use super::QueryError;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `not a`
    Not(Box<Expr>),
    /// `left op right`
    Cmp(Operand, CmpOp, Operand),
    /// `left in (v1, v2, ...)`
    In(Operand, Vec<Literal>),
    /// `startswith(left, right)`
    StartsWith(Operand, Operand),
    /// `endswith(left, right)`
    EndsWith(Operand, Operand),
    /// `collection/any(var: body)`
    Any {
        /// The collection property.
        collection: String,
        /// The range variable.
        var: String,
        /// The predicate over each element.
        body: Box<Expr>,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// A property of the object (a path of one segment).
    Prop(String),
    /// A lambda range variable.
    Var(String),
    /// A literal.
    Lit(Literal),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    Comma,
    Slash,
    Colon,
}

fn syntax(detail: impl std::fmt::Display) -> QueryError {
    QueryError::bad_request("BadRequest", format!("Invalid filter clause: {detail}"))
}

fn tokenize(input: &str) -> Result<Vec<Tok>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '/' => {
                out.push(Tok::Slash);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(syntax("unterminated string literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| syntax(format!("bad number '{text}'")))?;
                out.push(Tok::Num(n));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' || c == '@' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$' | '@' | '.'))
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(syntax(format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

/// Deepest nesting of parentheses, `not` and lambdas accepted (keeps recursion bounded).
const MAX_DEPTH: usize = 64;
/// Longest expression accepted, in tokens (bounds the depth of `and`/`or` chains too).
const MAX_TOKENS: usize = 1000;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    vars: Vec<String>,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect_token(&mut self, want: &Tok) -> Result<(), QueryError> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            Some(t) => Err(syntax(format!("expected {want:?}, found {t:?}"))),
            None => Err(syntax(format!("expected {want:?} at the end"))),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(syntax("the expression is nested too deeply"));
        }
        let result = self.or_inner();
        self.depth -= 1;
        result
    }

    fn or_inner(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if self.keyword("not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(syntax("the expression is nested too deeply"));
            }
            let inner = self.unary();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect_token(&Tok::RParen)?;
            return Ok(inner);
        }
        // Function calls.
        if let Some(Tok::Ident(name)) = self.peek().cloned() {
            if self.toks.get(self.pos + 1) == Some(&Tok::LParen) {
                let lower = name.to_ascii_lowercase();
                if lower == "startswith" || lower == "endswith" {
                    self.pos += 2;
                    let a = self.operand()?;
                    self.expect_token(&Tok::Comma)?;
                    let b = self.operand()?;
                    self.expect_token(&Tok::RParen)?;
                    return Ok(if lower == "startswith" {
                        Expr::StartsWith(a, b)
                    } else {
                        Expr::EndsWith(a, b)
                    });
                }
                return Err(QueryError::bad_request(
                    "Request_UnsupportedQuery",
                    format!(
                        "Unsupported or invalid query filter clause specified for property '{name}'."
                    ),
                ));
            }
            // Lambda: prop/any(x: ...)
            if self.toks.get(self.pos + 1) == Some(&Tok::Slash) {
                return self.lambda(name);
            }
        }
        let left = self.operand()?;
        if self.keyword("in") {
            self.pos += 1;
            self.expect_token(&Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                values.push(self.literal()?);
            }
            self.expect_token(&Tok::RParen)?;
            return Ok(Expr::In(left, values));
        }
        let op = match self.next() {
            Some(Tok::Ident(w)) => match w.to_ascii_lowercase().as_str() {
                "eq" => CmpOp::Eq,
                "ne" => CmpOp::Ne,
                "gt" => CmpOp::Gt,
                "ge" => CmpOp::Ge,
                "lt" => CmpOp::Lt,
                "le" => CmpOp::Le,
                _ => return Err(syntax(format!("unknown operator '{w}'"))),
            },
            Some(t) => return Err(syntax(format!("expected an operator, found {t:?}"))),
            None => return Err(syntax("expected an operator at the end")),
        };
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn lambda(&mut self, collection: String) -> Result<Expr, QueryError> {
        self.pos += 2; // name, '/'
        match self.next() {
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("any") => {}
            Some(Tok::Ident(w)) if w == "$count" => {
                return Err(QueryError::bad_request(
                    "Request_UnsupportedQuery",
                    format!("Filtering on '{collection}/$count' is not supported by the emulator."),
                ));
            }
            other => return Err(syntax(format!("expected 'any' after '/', found {other:?}"))),
        }
        self.expect_token(&Tok::LParen)?;
        let var = match self.next() {
            Some(Tok::Ident(v)) => v,
            other => {
                return Err(syntax(format!(
                    "expected a lambda variable, found {other:?}"
                )));
            }
        };
        self.expect_token(&Tok::Colon)?;
        self.vars.push(var.clone());
        let body = self.or()?;
        self.vars.pop();
        self.expect_token(&Tok::RParen)?;
        Ok(Expr::Any {
            collection,
            var,
            body: Box::new(body),
        })
    }

    fn operand(&mut self) -> Result<Operand, QueryError> {
        match self.peek().cloned() {
            Some(Tok::Ident(w)) => {
                self.pos += 1;
                if self.vars.contains(&w) {
                    return Ok(Operand::Var(w));
                }
                match w.to_ascii_lowercase().as_str() {
                    "true" => Ok(Operand::Lit(Literal::Bool(true))),
                    "false" => Ok(Operand::Lit(Literal::Bool(false))),
                    "null" => Ok(Operand::Lit(Literal::Null)),
                    _ => {
                        if self.peek() == Some(&Tok::Slash) {
                            return Err(QueryError::bad_request(
                                "Request_UnsupportedQuery",
                                format!(
                                    "Property paths such as '{w}/...' are not supported in this filter."
                                ),
                            ));
                        }
                        Ok(Operand::Prop(w))
                    }
                }
            }
            Some(_) => Ok(Operand::Lit(self.literal()?)),
            None => Err(syntax("expected an operand at the end")),
        }
    }

    fn literal(&mut self) -> Result<Literal, QueryError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            Some(t) => Err(syntax(format!("expected a literal, found {t:?}"))),
            None => Err(syntax("expected a literal at the end")),
        }
    }
}

/// Parses a `$filter` value.
pub(crate) fn parse(input: &str) -> Result<Expr, QueryError> {
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err(syntax("the expression is empty"));
    }
    if toks.len() > MAX_TOKENS {
        return Err(syntax("the expression is too long"));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        vars: Vec::new(),
        depth: 0,
    };
    let expr = p.or()?;
    if let Some(t) = p.peek() {
        return Err(syntax(format!("unexpected {t:?} after the expression")));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Entity, Kind};
    use serde_json::json;

    fn user() -> Entity {
        Entity::new(Kind::User, "1", "Adele Vance")
            .with("userPrincipalName", json!("AdeleV@contoso.com"))
            .with("mail", json!("AdeleV@contoso.com"))
            .with("accountEnabled", json!(true))
            .with("businessPhones", json!(["+1 425", "+44 20"]))
    }

    fn eval(f: &str) -> bool {
        let mut e = parse(f).unwrap();
        e.resolve(&[Kind::User]).unwrap();
        e.matches(&user())
    }

    #[test]
    fn evaluates_comparisons_functions_and_logic() {
        assert!(eval("displayName eq 'adele vance'"));
        assert!(eval(
            "startswith(displayName,'Ad') and accountEnabled eq true"
        ));
        assert!(eval("endsWith(mail,'@contoso.com')"));
        assert!(eval("not (givenName eq 'x') or mail eq null"));
        assert!(eval("givenName eq null"));
        assert!(eval("userPrincipalName in ('x@y', 'adelev@contoso.com')"));
        assert!(eval("businessPhones/any(p:startswith(p, '+44'))"));
        assert!(!eval("businessPhones/any(p:p eq '+1')"));
        assert!(eval(
            "displayName ne 'Bob' and (mail ge 'A' and mail lt 'B')"
        ));
        assert!(!eval("accountEnabled eq false"));
        assert!(eval("displayName eq 'it''s' or true eq true"));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let e = parse("a eq 'x' or b eq 'y' and not c eq 'z'").unwrap();
        match e {
            Expr::Or(_, right) => assert!(matches!(*right, Expr::And(_, _))),
            other => panic!("unexpected tree {other:?}"),
        }
    }

    #[test]
    fn advanced_detection() {
        assert!(parse("endswith(mail,'x')").unwrap().is_advanced());
        assert!(parse("mail ne null").unwrap().is_advanced());
        assert!(parse("not(mail eq 'x')").unwrap().is_advanced());
        assert!(
            !parse("startswith(mail,'x') or mail in ('a')")
                .unwrap()
                .is_advanced()
        );
    }

    #[test]
    fn rejects_bad_syntax_and_unknown_properties() {
        for bad in [
            "",
            "displayName eq",
            "displayName eq 'x",
            "(displayName eq 'x'",
            "displayName eq 'x')",
            "displayName foo 'x'",
            "startswith(displayName 'x')",
            "displayName eq 'x' and",
            "displayName eq #",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(
                err.message.starts_with("Invalid filter clause"),
                "{bad}: {err:?}"
            );
        }
        let deep = format!("{}displayName eq 'x'{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep).is_err());
        assert!(parse(&format!("{}displayName eq 'x'", "not ".repeat(5000))).is_err());
        let mut e = parse("shoeSize eq 4").unwrap();
        assert!(e.resolve(&[Kind::User]).is_err());
        assert!(parse("contains(displayName,'x')").is_err());
    }
}
