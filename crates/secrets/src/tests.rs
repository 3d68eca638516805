use super::*;
use age::secrecy::ExposeSecret;

struct Key {
    public: String,
    ids: Identities,
}

fn key() -> Key {
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let text = id.to_string().expose_secret().to_string();
    Key {
        public,
        ids: Identities::from_text(&text, "test key").unwrap(),
    }
}

fn recipients(keys: &[&Key]) -> Recipients {
    Recipients::parse(&keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>()).unwrap()
}

const PLAIN: &str = r#"
db_password = "correct horse battery staple"
port = 5432
enabled = true
rotated = 2026-12-01
hosts = ["a.internal", "b.internal"]

[api]
token = "tok-0123456789"
"#;

/// The sealed value of `key` (a dotted path) in a sealed file's text.
/// The data key of the sealed file `text`, read with `ids`.
fn data_key(text: &str, ids: &Identities) -> super::Key {
    Sealed::parse("s.toml", text)
        .unwrap()
        .data_key("s.toml", ids)
        .unwrap()
}

fn sealed_value(text: &str, path: &[&str]) -> String {
    let mut t: &Table = &text.parse::<Table>().unwrap();
    for p in &path[..path.len() - 1] {
        t = t[*p].as_table().unwrap();
    }
    t[path[path.len() - 1]].as_str().unwrap().to_string()
}

#[test]
fn a_sealed_file_shows_its_keys_and_opens_to_the_same_values() {
    let alice = key();
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    for secret in ["correct horse", "5432", "a.internal", "tok-0123"] {
        assert!(!sealed.contains(secret), "{secret} in clear:\n{sealed}");
    }
    for key in [
        "db_password",
        "port",
        "hosts",
        "[api]",
        "token",
        &alice.public,
    ] {
        assert!(sealed.contains(key), "{key} not shown:\n{sealed}");
    }
    assert!(is_sealed(&sealed) && !is_sealed(PLAIN));
    let opened = open("s.toml", &sealed, &alice.ids).unwrap();
    assert_eq!(opened, PLAIN.parse::<Table>().unwrap());
    assert_eq!(
        recipients_of("s.toml", &sealed).unwrap(),
        vec![alice.public.clone()]
    );
}

/// `inf` and `nan` are TOML numbers that JSON has not: a tool would get `null`. Refused at
/// their key and line, on sealing and on an edit; as strings they are kept.
#[test]
fn a_number_no_tool_can_be_given_is_refused() {
    let alice = key();
    for (plain, key, line) in [
        ("a = 1\nthreshold = inf\n", "threshold", 2),
        ("[limits]\nratio = nan\n", "limits.ratio", 2),
        ("xs = [1.0, -inf]\n", "xs.1", 1),
    ] {
        let err = seal("s.toml", plain, &recipients(&[&alice])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("`{key}`")), "{text}");
        assert!(
            matches!(err, Error::Malformed { line: Some(l), .. } if l == line),
            "{err:?}"
        );
    }
    // A name set on more than one line: no line, rather than another key's.
    let err = seal(
        "s.toml",
        "port = 1\n[limits]\nport = nan\n",
        &recipients(&[&alice]),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Malformed { line: None, .. }),
        "{err:?}"
    );
    let sealed = seal("s.toml", "a = 1\n", &recipients(&[&alice])).unwrap();
    assert!(reseal("s.toml", &sealed, "a = inf\n", &alice.ids, None).is_err());
    assert!(seal("s.toml", "a = \"inf\"\n", &recipients(&[&alice])).is_ok());
}

/// An edit that keeps the data key and its recipients keeps the data key's lines as they
/// were, so its diff names only the values that changed; a recipient added wraps it anew.
/// The file keeps its mode.
#[test]
fn an_edit_keeps_the_wrapped_data_key_and_the_files_mode() {
    let (alice, bob) = (key(), key());
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    // The data key's lines (age's armour spans several).
    let line = |text: &str| {
        let start = text.find("data_key = ").unwrap();
        let end = text.find("\nmac = ").unwrap();
        text[start..end].to_string()
    };
    let edited = reseal(
        "s.toml",
        &sealed,
        &PLAIN.replace("5432", "5433"),
        &alice.ids,
        None,
    )
    .unwrap();
    assert_eq!(line(&edited), line(&sealed));
    let added = reseal(
        "s.toml",
        &sealed,
        PLAIN,
        &alice.ids,
        Some(&recipients(&[&alice, &bob])),
    )
    .unwrap();
    assert_ne!(line(&added), line(&sealed));
    assert!(open("s.toml", &added, &bob.ids).is_ok());

    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, &sealed).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(write_if_unchanged(&path, Some(&sealed), &edited).unwrap());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn only_a_recipient_can_open_it() {
    let (alice, mallory) = (key(), key());
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    let err = open("s.toml", &sealed, &mallory.ids).unwrap_err();
    assert!(matches!(err, Error::NotARecipient { .. }), "{err}");
    assert!(err.to_string().contains(&alice.public));
}

#[test]
fn a_value_moved_to_another_key_does_not_decrypt() {
    let alice = key();
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    let token = sealed_value(&sealed, &["api", "token"]);
    let password = sealed_value(&sealed, &["db_password"]);
    let swapped = sealed.replace(&password, &token);
    let err = open("s.toml", &swapped, &alice.ids).unwrap_err();
    assert!(
        matches!(err, Error::Tampered { .. } | Error::MacMismatch { .. }),
        "{err}"
    );
}

#[test]
fn a_key_removed_or_the_recipients_edited_by_hand_is_refused() {
    let (alice, bob) = (key(), key());
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    let removed: String = sealed
        .lines()
        .filter(|l| !l.starts_with("port ="))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = open("s.toml", &removed, &alice.ids).unwrap_err();
    assert!(matches!(err, Error::MacMismatch { .. }), "{err}");

    let listed = sealed.replace(
        &format!("recipients = [\"{}\"]", alice.public),
        &format!("recipients = [\"{}\", \"{}\"]", alice.public, bob.public),
    );
    assert_ne!(listed, sealed);
    let err = open("s.toml", &listed, &alice.ids).unwrap_err();
    assert!(matches!(err, Error::MacMismatch { .. }), "{err}");
}

#[test]
fn a_key_holding_a_nul_is_never_sealed_nor_opened() {
    let alice = key();
    let err = seal("s.toml", "\"a\\u0000b\" = \"x\"\n", &recipients(&[&alice])).unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
    // `a.b` and `"a\0b"` would have the same associated data: a value moved from one to
    // the other is refused, not opened under its new name.
    let sealed = seal("s.toml", "[a]\nb = \"x\"\n", &recipients(&[&alice])).unwrap();
    let value = sealed_value(&sealed, &["a", "b"]);
    let moved = sealed.replace(
        &format!("[a]\nb = \"{value}\"\n"),
        &format!("\"a\\u0000b\" = \"{value}\"\n"),
    );
    assert_ne!(moved, sealed);
    let err = open("s.toml", &moved, &alice.ids).unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[test]
fn recipients_count_as_verified_only_when_the_mac_matches() {
    let (alice, bob) = (key(), key());
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice, &bob])).unwrap();
    assert_eq!(
        verified_recipients("s.toml", &sealed, &alice.ids).unwrap(),
        [alice.public.clone(), bob.public.clone()]
    );
    // Bob taken off the list by hand: the data key is still encrypted for him.
    let edited = sealed.replace(
        &format!("recipients = [\"{}\", \"{}\"]", alice.public, bob.public),
        &format!("recipients = [\"{}\"]", alice.public),
    );
    assert_ne!(edited, sealed);
    let err = verified_recipients("s.toml", &edited, &alice.ids).unwrap_err();
    assert!(matches!(err, Error::MacMismatch { .. }), "{err}");
}

#[test]
fn a_value_in_clear_text_in_a_sealed_file_is_refused() {
    let alice = key();
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    let added = format!("extra = \"plain\"\n{sealed}");
    let err = open("s.toml", &added, &alice.ids).unwrap_err();
    assert!(
        err.to_string().contains("`extra` is in clear text"),
        "{err}"
    );
}

#[test]
fn an_empty_table_added_by_hand_is_refused_and_never_sealed() {
    let alice = key();
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    // Nothing in it is sealed, so the MAC cannot cover it: taken as it stands it would
    // reach a stack as `{}` in place of the variable's default.
    for added in [
        sealed.replace("[api]\n", "[ingress_cidrs]\n\n[api]\n"),
        sealed.replace("[api]\n", "[api.extra]\n\n[api]\n"),
    ] {
        assert_ne!(added, sealed);
        let err = open("s.toml", &added, &alice.ids).unwrap_err();
        assert!(err.to_string().contains("is an empty table"), "{err}");
    }
    let err = seal("s.toml", "a = \"x\"\n[b]\n", &recipients(&[&alice])).unwrap_err();
    assert!(err.to_string().contains("`b` is an empty table"), "{err}");
}

#[test]
fn an_edit_keeps_the_sealed_form_of_every_unchanged_value() {
    let alice = key();
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    let edited = PLAIN.replace("tok-0123456789", "tok-new") + "added = \"x\"\n";
    let resealed = reseal("s.toml", &sealed, &edited, &alice.ids, None).unwrap();
    assert_eq!(
        sealed_value(&sealed, &["db_password"]),
        sealed_value(&resealed, &["db_password"])
    );
    assert_eq!(
        sealed_value(&sealed, &["hosts"]),
        sealed_value(&resealed, &["hosts"])
    );
    assert_ne!(
        sealed_value(&sealed, &["api", "token"]),
        sealed_value(&resealed, &["api", "token"])
    );
    let opened = open("s.toml", &resealed, &alice.ids).unwrap();
    assert_eq!(opened, edited.parse::<Table>().unwrap());
}

#[test]
fn an_edit_seals_for_the_recipients_of_now_and_rotates_when_one_left() {
    let (alice, bob) = (key(), key());
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice, &bob])).unwrap();
    let edited = PLAIN.replace("tok-0123456789", "tok-after-bob-left");
    let resealed = reseal(
        "s.toml",
        &sealed,
        &edited,
        &alice.ids,
        Some(&recipients(&[&alice])),
    )
    .unwrap();
    assert!(matches!(
        open("s.toml", &resealed, &bob.ids),
        Err(Error::NotARecipient { .. })
    ));
    assert_ne!(data_key(&sealed, &bob.ids), data_key(&resealed, &alice.ids));
    assert_eq!(
        open("s.toml", &resealed, &alice.ids).unwrap(),
        edited.parse::<Table>().unwrap()
    );
    // Joining keeps the data key and every unchanged value's sealed form.
    let joined = reseal(
        "s.toml",
        &resealed,
        &edited,
        &alice.ids,
        Some(&recipients(&[&alice, &bob])),
    )
    .unwrap();
    assert_eq!(data_key(&resealed, &alice.ids), data_key(&joined, &bob.ids));
    assert_eq!(
        sealed_value(&resealed, &["db_password"]),
        sealed_value(&joined, &["db_password"])
    );
}

#[test]
fn update_keys_adding_a_recipient_keeps_the_values_and_removing_one_rotates() {
    let (alice, bob) = (key(), key());
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    let added = update_keys("s.toml", &sealed, &alice.ids, &recipients(&[&alice, &bob])).unwrap();
    assert_eq!(
        sealed_value(&sealed, &["db_password"]),
        sealed_value(&added, &["db_password"])
    );
    assert_eq!(
        open("s.toml", &added, &bob.ids).unwrap(),
        PLAIN.parse::<Table>().unwrap()
    );
    // Alice leaves: she knew the data key, so it is replaced and every value encrypted
    // again; an edit made after this is not readable with the data key she had.
    let removed = update_keys("s.toml", &added, &bob.ids, &recipients(&[&bob])).unwrap();
    assert_eq!(data_key(&sealed, &alice.ids), data_key(&added, &bob.ids));
    assert_ne!(data_key(&added, &alice.ids), data_key(&removed, &bob.ids));
    for path in [&["db_password"][..], &["port"], &["api", "token"]] {
        assert_ne!(sealed_value(&added, path), sealed_value(&removed, path));
    }
    assert_eq!(
        open("s.toml", &removed, &bob.ids).unwrap(),
        PLAIN.parse::<Table>().unwrap()
    );
    assert!(matches!(
        open("s.toml", &removed, &alice.ids),
        Err(Error::NotARecipient { .. })
    ));
}

#[test]
fn rotate_encrypts_every_value_again_under_a_new_key() {
    let (alice, bob) = (key(), key());
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    let rotated = rotate("s.toml", &sealed, &alice.ids, &recipients(&[&alice, &bob])).unwrap();
    for path in [&["db_password"][..], &["port"], &["api", "token"]] {
        assert_ne!(sealed_value(&sealed, path), sealed_value(&rotated, path));
    }
    for who in [&alice, &bob] {
        assert_eq!(
            open("s.toml", &rotated, &who.ids).unwrap(),
            PLAIN.parse::<Table>().unwrap()
        );
    }
}

#[test]
fn bad_input_is_named() {
    let alice = key();
    let err = seal("s.toml", "a = 1\nb = \n", &recipients(&[&alice])).unwrap_err();
    assert!(
        matches!(err, Error::Malformed { line: Some(2), .. }),
        "{err:?}"
    );
    let sealed = seal("s.toml", PLAIN, &recipients(&[&alice])).unwrap();
    assert!(matches!(
        seal("s.toml", &sealed, &recipients(&[&alice])),
        Err(Error::AlreadySealed { .. })
    ));
    assert!(matches!(
        seal(
            "s.toml",
            "[strata_secrets]\nx = 1\n",
            &recipients(&[&alice])
        ),
        Err(Error::Reserved { .. })
    ));
    assert!(matches!(
        open("s.toml", PLAIN, &alice.ids),
        Err(Error::NotSealed { .. })
    ));
    assert!(matches!(
        seal("s.toml", PLAIN, &Recipients::parse(&[]).unwrap()),
        Err(Error::NoRecipients { .. })
    ));
    assert!(matches!(
        Recipients::parse(&["AGE1NOPE".into()]),
        Err(Error::BadRecipient { .. })
    ));
    assert!(matches!(
        Recipients::parse(&["age1notakey".into()]),
        Err(Error::BadRecipient { .. })
    ));
    assert!(matches!(
        Identities::from_text("# nothing here\n", "k"),
        Err(Error::BadIdentity { .. })
    ));
}

#[test]
fn values_become_json_as_the_tools_take_them() {
    let t: Table = PLAIN.parse().unwrap();
    let j = to_json(&Value::Table(t));
    assert_eq!(j["port"], 5432);
    assert_eq!(j["rotated"], "2026-12-01");
    assert_eq!(j["api"]["token"], "tok-0123456789");
    assert_eq!(j["hosts"][1], "b.internal");
}
