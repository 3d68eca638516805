//! The password in a PostgreSQL connection string, in each form libpq reads it: strata hands
//! it to terraform in `PGPASSWORD` and writes the string without it, so that it reaches no
//! file (the backend block terraform records, the sandbox's override).

/// A libpq connection string without its password, and the password: from a URI's user
/// information (`postgres://u:pw@host/db`) or its `password` parameter (`?password=pw`, which
/// libpq takes over the user information), or from a `password` keyword
/// (`host=db password=pw`, `password = 'p w'`). `None` when it names none.
pub fn split_password(conn: &str) -> Option<(String, String)> {
    match conn.find("://") {
        Some(scheme_end) => split_uri_password(conn, scheme_end),
        None => split_keyword_password(conn),
    }
}

fn split_uri_password(conn: &str, scheme_end: usize) -> Option<(String, String)> {
    let rest = &conn[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let mut password = None;
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, pw)) => {
                password = Some(percent_decode(pw));
                format!("{user}@{host}")
            }
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let path = match path.split_once('?') {
        Some((path, query)) => {
            let mut kept = Vec::new();
            for param in query.split('&') {
                match param.split_once('=') {
                    Some((key, value)) if percent_decode(key) == "password" => {
                        password = Some(percent_decode(value));
                    }
                    _ => kept.push(param),
                }
            }
            match kept.is_empty() {
                true => path.to_string(),
                false => format!("{path}?{}", kept.join("&")),
            }
        }
        None => path.to_string(),
    };
    let password = password?;
    Some((
        format!("{}{authority}{path}", &conn[..scheme_end + 3]),
        password,
    ))
}

/// The keyword form: `key = value` pairs, spaces around `=` optional, a value either
/// single-quoted (`\'` and `\\` escaped) or running to the next space.
fn split_keyword_password(conn: &str) -> Option<(String, String)> {
    let mut kept: Vec<&str> = Vec::new();
    let mut password = None;
    let bytes = conn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &conn[start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() || bytes[i] != b'=' {
            // Not a pair libpq would take: left as it is.
            kept.push(key);
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'\'' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let c = conn[i..].chars().next().expect("in bounds");
                value.push(c);
                i += c.len_utf8();
            }
            i += 1;
        } else {
            let from = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            value.push_str(&conn[from..i]);
        }
        let end = i.min(conn.len());
        if key == "password" {
            password = Some(value);
        } else {
            kept.push(conn[start..end].trim());
        }
    }
    password.map(|p| (kept.join(" "), p))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_connection_strings() {
        assert_eq!(
            split_password("postgres://strata:s%40cret@127.0.0.1:5432/tf?sslmode=disable"),
            Some((
                "postgres://strata@127.0.0.1:5432/tf?sslmode=disable".to_string(),
                "s@cret".to_string()
            ))
        );
        assert_eq!(split_password("postgres://strata@127.0.0.1/tf"), None);
        assert_eq!(
            split_password("host=db user=u password=pw dbname=tf"),
            Some(("host=db user=u dbname=tf".to_string(), "pw".to_string()))
        );
        // libpq's other forms.
        let split = |conn: &str| split_password(conn).unwrap();
        assert_eq!(
            split("postgres://127.0.0.1:5432/tf?sslmode=disable&user=u&password=p%26w"),
            (
                "postgres://127.0.0.1:5432/tf?sslmode=disable&user=u".to_string(),
                "p&w".to_string()
            )
        );
        assert_eq!(
            split("postgresql://u:old@h/tf?password=new"),
            ("postgresql://u@h/tf".to_string(), "new".to_string())
        );
        assert_eq!(
            split("host=db password = 'p w\\'s' dbname = tf"),
            ("host=db dbname = tf".to_string(), "p w's".to_string())
        );
        assert_eq!(
            split("host=db password= pw user=u"),
            ("host=db user=u".to_string(), "pw".to_string())
        );
        assert_eq!(split_password("postgres://h/tf?sslmode=disable"), None);
        assert_eq!(split_password("host=db user=u"), None);
    }
}
