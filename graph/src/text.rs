//! Bytes as text.

use std::borrow::Cow;

/// `bytes` of the configuration file `path` as UTF-8; an error naming the line of the first
/// invalid byte otherwise (a setting decoded with U+FFFD in it would be another setting).
pub fn strict_utf8<'b>(bytes: &'b [u8], path: &str) -> crate::error::Result<&'b str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        crate::error::Error::Invalid {
            message: format!("`{path}` is not valid UTF-8"),
            location: crate::error::Location::at(path, line),
            hint: "save the file as UTF-8".into(),
        }
    })
}

/// `bytes` as UTF-8, with U+FFFD for invalid sequences, like `String::from_utf8_lossy`, but
/// checking valid input (nearly all of it) with the standard library's fast validator first.
pub fn lossy_utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_is_borrowed_and_invalid_bytes_are_replaced() {
        assert!(matches!(
            lossy_utf8("ok é".as_bytes()),
            Cow::Borrowed("ok é")
        ));
        assert_eq!(lossy_utf8(b"a\xffb"), "a\u{fffd}b");
    }
}
