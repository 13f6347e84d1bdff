//! Resolving `$filter` property names against a schema and evaluating an expression against a directory
//! object. String comparisons ignore case, as in the directory.

use std::cmp::Ordering;

use serde_json::Value;

use super::QueryError;
use super::filter::{CmpOp, Expr, Literal, Operand};
use crate::store::{Entity, Kind, schema};

impl Expr {
    /// Whether the expression needs advanced query capabilities (`ne`, `not`, `endswith`).
    pub(crate) fn is_advanced(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.is_advanced() || b.is_advanced(),
            Expr::Not(_) | Expr::EndsWith(..) => true,
            Expr::Cmp(_, op, _) => *op == CmpOp::Ne,
            Expr::In(..) | Expr::StartsWith(..) => false,
            Expr::Any { body, .. } => body.is_advanced(),
        }
    }

    /// Replaces property names by their canonical spelling in the schemas of `kinds` (any kind may
    /// declare it); an unknown property is Graph's 400.
    pub(crate) fn resolve(&mut self, kinds: &[Kind]) -> Result<(), QueryError> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.resolve(kinds)?;
                b.resolve(kinds)
            }
            Expr::Not(a) => a.resolve(kinds),
            Expr::Cmp(a, _, b) | Expr::StartsWith(a, b) | Expr::EndsWith(a, b) => {
                resolve_operand(a, kinds)?;
                resolve_operand(b, kinds)
            }
            Expr::In(a, _) => resolve_operand(a, kinds),
            Expr::Any {
                collection, body, ..
            } => {
                *collection = resolve_name(collection, kinds)?;
                body.resolve(kinds)
            }
        }
    }

    /// Evaluates the expression against an object.
    pub(crate) fn matches(&self, e: &Entity) -> bool {
        self.eval(e, None)
    }

    fn eval(&self, e: &Entity, var: Option<(&str, &Value)>) -> bool {
        match self {
            Expr::And(a, b) => a.eval(e, var) && b.eval(e, var),
            Expr::Or(a, b) => a.eval(e, var) || b.eval(e, var),
            Expr::Not(a) => !a.eval(e, var),
            Expr::Cmp(a, op, b) => {
                let (l, r) = (value_of(a, e, var), value_of(b, e, var));
                compare(&l, *op, &r)
            }
            Expr::In(a, values) => {
                let l = value_of(a, e, var);
                values
                    .iter()
                    .any(|v| compare(&l, CmpOp::Eq, &literal_value(v)))
            }
            Expr::StartsWith(a, b) | Expr::EndsWith(a, b) => {
                let (l, r) = (value_of(a, e, var), value_of(b, e, var));
                match (l.as_str(), r.as_str()) {
                    (Some(l), Some(r)) => {
                        let (l, r) = (l.to_lowercase(), r.to_lowercase());
                        if matches!(self, Expr::StartsWith(..)) {
                            l.starts_with(&r)
                        } else {
                            l.ends_with(&r)
                        }
                    }
                    _ => false,
                }
            }
            Expr::Any {
                collection,
                var: name,
                body,
            } => match e.property(collection).as_deref() {
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|item| body.eval(e, Some((name.as_str(), item)))),
                _ => false,
            },
        }
    }
}

fn resolve_name(name: &str, kinds: &[Kind]) -> Result<String, QueryError> {
    kinds
        .iter()
        .find_map(|k| schema::find(k.schema(), name))
        .filter(|p| p.name != "passwordProfile")
        .map(|p| p.name.to_owned())
        .ok_or_else(|| {
            QueryError::bad_request(
                "Request_BadRequest",
                format!(
                    "Property '{name}' does not exist as a declared property or extension property."
                ),
            )
        })
}

fn resolve_operand(op: &mut Operand, kinds: &[Kind]) -> Result<(), QueryError> {
    if let Operand::Prop(name) = op {
        *name = resolve_name(name, kinds)?;
    }
    Ok(())
}

fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Str(s) => Value::String(s.clone()),
        Literal::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    }
}

fn value_of(op: &Operand, e: &Entity, var: Option<(&str, &Value)>) -> Value {
    match op {
        Operand::Prop(name) => e.property(name).map_or(Value::Null, |v| v.into_owned()),
        Operand::Var(name) => match var {
            Some((v, value)) if v == name => value.clone(),
            _ => Value::Null,
        },
        Operand::Lit(l) => literal_value(l),
    }
}

fn order(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::String(a), Value::String(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    let eq = match (l, r) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => order(l, r) == Some(Ordering::Equal),
    };
    match op {
        CmpOp::Eq => eq,
        CmpOp::Ne => !eq,
        CmpOp::Gt => order(l, r) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(l, r), Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Lt => order(l, r) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(l, r), Some(Ordering::Less | Ordering::Equal)),
    }
}
