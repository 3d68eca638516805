//! The builtins OPA deprecated but still gives a Rego v0 policy (`rego_version = "v0"`),
//! which conftest therefore runs and regorus does not have: `re_match`, `any`, `all`,
//! `set_diff`, `cast_array`, `cast_set`, `cast_string`, `cast_boolean`, `cast_null`,
//! `cast_object` and `net.cidr_overlap`. Each is what OPA's documentation of the builtin
//! says it is (most are another builtin under an older name). A v1 policy does not get
//! them, as in OPA 1.0.
//!
//! They are regorus extensions. A call with arguments of the wrong type, an invalid
//! pattern or network, is undefined, as a failing builtin is under conftest's default; an
//! error with strict builtin errors (`show_builtin_errors`), as OPA's are.

use regorus::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The deprecated builtins, each with the number of its arguments.
pub const NAMES: [(&str, u8); 11] = [
    ("re_match", 2),
    ("any", 1),
    ("all", 1),
    ("set_diff", 2),
    ("cast_array", 1),
    ("cast_set", 1),
    ("cast_string", 1),
    ("cast_boolean", 1),
    ("cast_null", 1),
    ("cast_object", 1),
    ("net.cidr_overlap", 2),
];

/// Whether `path` names one of [`NAMES`].
pub fn is_builtin(path: &str) -> bool {
    NAMES.iter().any(|(n, _)| *n == path)
}

/// Whether a failing call is an error (strict builtin errors) or undefined; shared by an
/// engine's copies, set before each evaluation.
#[derive(Debug, Clone, Default)]
pub struct Strict(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Strict {
    pub fn set(&self, strict: bool) {
        self.0.store(strict, std::sync::atomic::Ordering::Relaxed);
    }

    pub(super) fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Adds the builtins to a v0 policy's engine.
pub fn add(engine: &mut regorus::Engine, strict: &Strict) -> anyhow::Result<()> {
    for (name, nargs) in NAMES {
        let strict = strict.clone();
        let f = move |args: Vec<Value>| -> anyhow::Result<Value> {
            match call(name, &args) {
                Some(v) => Ok(v),
                None if strict.get() => Err(anyhow::anyhow!(
                    "{name}: invalid arguments (a wrong type, or an invalid pattern or network)"
                )),
                None => Ok(Value::Undefined),
            }
        };
        engine.add_extension(name.to_string(), nargs, Box::new(f))?;
    }
    Ok(())
}

/// The value of `name` applied to `args`; `None` when the arguments are not of its types.
fn call(name: &str, args: &[Value]) -> Option<Value> {
    let one = args.first()?;
    match name {
        // OPA: `re_match` is `regex.match`.
        "re_match" => {
            let pattern = one.as_string().ok()?;
            let value = args.get(1)?.as_string().ok()?;
            let re = regex::Regex::new(pattern).ok()?;
            Some(Value::Bool(re.is_match(value)))
        }
        "any" | "all" => {
            let items: Vec<&Value> = match one {
                Value::Array(a) => a.iter().collect(),
                Value::Set(s) => s.iter().collect(),
                _ => return None,
            };
            let truth = |v: &&Value| **v == Value::Bool(true);
            Some(Value::Bool(if name == "any" {
                items.iter().any(truth)
            } else {
                items.iter().all(truth)
            }))
        }
        // OPA: `set_diff(a, b)` is `a - b`.
        "set_diff" => {
            let (Value::Set(a), Value::Set(b)) = (one, args.get(1)?) else {
                return None;
            };
            let diff: BTreeSet<Value> = a.iter().filter(|v| !b.contains(v)).cloned().collect();
            Some(Value::from(diff))
        }
        "cast_array" => match one {
            Value::Array(_) => Some(one.clone()),
            Value::Set(s) => Some(Value::from(s.iter().cloned().collect::<Vec<_>>())),
            _ => None,
        },
        "cast_set" => match one {
            Value::Set(_) => Some(one.clone()),
            Value::Array(a) => Some(Value::from(a.iter().cloned().collect::<BTreeSet<_>>())),
            _ => None,
        },
        "cast_string" => matches!(one, Value::String(_)).then(|| one.clone()),
        "cast_boolean" => matches!(one, Value::Bool(_)).then(|| one.clone()),
        "cast_null" => matches!(one, Value::Null).then(|| one.clone()),
        "cast_object" => matches!(one, Value::Object(_)).then(|| one.clone()),
        // OPA: `net.cidr_overlap` is `net.cidr_contains`.
        "net.cidr_overlap" => {
            let outer = cidr(one.as_string().ok()?)?;
            let inner = args.get(1)?.as_string().ok()?;
            let inner = cidr(inner).or_else(|| {
                let ip: IpAddr = inner.parse().ok()?;
                Some((ip, if ip.is_ipv4() { 32 } else { 128 }))
            })?;
            Some(Value::Bool(contains(outer, inner)))
        }
        _ => None,
    }
}

/// `a.b.c.d/n` or an IPv6 network, as its address and prefix length.
fn cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = text.split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// Whether network `outer` holds every address of `inner` (of the same family).
fn contains(outer: (IpAddr, u8), inner: (IpAddr, u8)) -> bool {
    let bits = |ip: IpAddr| -> (u128, u8) {
        match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    };
    let ((a, fa), (b, fb)) = (bits(outer.0), bits(inner.0));
    if fa != fb || inner.1 < outer.1 {
        return false;
    }
    let mask = if outer.1 == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(outer.1))
    };
    a & mask == b & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Value {
        Value::from(t)
    }

    #[test]
    fn each_is_what_opa_documents() {
        assert_eq!(
            call("re_match", &[s("^lat"), s("latest")]),
            Some(Value::Bool(true))
        );
        assert_eq!(
            call("re_match", &[s("^x"), s("latest")]),
            Some(Value::Bool(false))
        );
        assert_eq!(call("re_match", &[s("("), s("x")]), None);
        let arr = |v: Vec<Value>| Value::from(v);
        let set = |v: Vec<Value>| Value::from(v.into_iter().collect::<BTreeSet<_>>());
        let t = Value::Bool(true);
        let f = Value::Bool(false);
        assert_eq!(
            call("any", &[arr(vec![f.clone(), t.clone()])]),
            Some(t.clone())
        );
        assert_eq!(call("any", &[arr(vec![])]), Some(f.clone()));
        assert_eq!(call("all", &[arr(vec![])]), Some(t.clone()));
        assert_eq!(
            call("all", &[set(vec![t.clone(), f.clone()])]),
            Some(f.clone())
        );
        assert_eq!(call("any", &[s("x")]), None);
        assert_eq!(
            call("set_diff", &[set(vec![s("a"), s("b")]), set(vec![s("b")])]),
            Some(set(vec![s("a")]))
        );
        assert_eq!(call("set_diff", &[arr(vec![]), set(vec![])]), None);
        assert_eq!(
            call("cast_set", &[arr(vec![s("b"), s("a"), s("b")])]),
            Some(set(vec![s("a"), s("b")]))
        );
        assert_eq!(
            call("cast_array", &[set(vec![s("b"), s("a")])]),
            Some(arr(vec![s("a"), s("b")]))
        );
        assert_eq!(call("cast_string", &[s("x")]), Some(s("x")));
        assert_eq!(call("cast_string", std::slice::from_ref(&t)), None);
        assert_eq!(
            call("cast_boolean", std::slice::from_ref(&t)),
            Some(t.clone())
        );
        assert_eq!(call("cast_null", &[Value::Null]), Some(Value::Null));
        for (outer, inner, expected) in [
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.1.2.3", false),
            ("10.0.0.0/8", "10.1.0.0/16", true),
            ("10.1.0.0/16", "10.0.0.0/8", false),
            ("0.0.0.0/0", "192.168.1.1", true),
            ("2001:db8::/32", "2001:db8::1", true),
            ("2001:db8::/32", "10.0.0.1", false),
        ] {
            assert_eq!(
                call("net.cidr_overlap", &[s(outer), s(inner)]),
                Some(Value::Bool(expected)),
                "{outer} {inner}"
            );
        }
        assert_eq!(call("net.cidr_overlap", &[s("nope"), s("10.0.0.1")]), None);
    }
}
