use super::*;

fn event(action: &str, label: &str) -> NewEvent {
    NewEvent {
        time: "2026-12-04T10:00:00Z".into(),
        actor: "alice@example.com".into(),
        action: action.into(),
        env: "dev".into(),
        head: Some("c0ffee".into()),
        outcome: "succeeded".into(),
        message: None,
        targets: vec![TargetEvent {
            label: label.into(),
            result: "applied".into(),
            hash: Some("ab".repeat(32)),
            commit: Some("c0ffee".into()),
            reason: None,
            entry: None,
        }],
        details: BTreeMap::new(),
        signer: None,
    }
}

fn ledger_path(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("environments/dev/audit.jsonl")
}

fn add(dir: &std::path::Path, e: NewEvent) -> Event {
    append(
        &ledger_path(dir),
        &dir.join(".strata/audit-dev.lock"),
        "dev",
        e,
        None,
    )
    .unwrap()
}

fn ledger(n: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        add(dir.path(), event("apply", &format!("stacks/s{i}")));
    }
    let text = std::fs::read_to_string(ledger_path(dir.path())).unwrap();
    (dir, text)
}

#[test]
fn events_are_numbered_and_chained() {
    let (dir, text) = ledger(3);
    let checked = check(&ledger_path(dir.path()), "dev").unwrap();
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    let events = checked.events;
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(events[0].prev, GENESIS);
    assert_eq!(events[1].prev, events[0].hash);
    assert_eq!(events[2].prev, events[1].hash);
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn an_edited_event_is_found() {
    let (_dir, text) = ledger(3);
    let edited = text.replacen("alice@example.com", "mallory@example.com", 2);
    let problems = check_text(&edited, "dev").problems;
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].line, 1);
    assert!(problems[0].message.contains("changed after it was written"));
}

#[test]
fn an_edit_with_its_hash_recomputed_breaks_the_next_link() {
    let (_dir, text) = ledger(3);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut second: Event = serde_json::from_str(&lines[1]).unwrap();
    second.outcome = "failed".into();
    second.hash = second.compute_hash();
    lines[1] = serde_json::to_string(&second).unwrap();
    let problems = check_text(&lines.join("\n"), "dev").problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 3);
    assert!(problems[0].message.contains("does not follow"));
}

#[test]
fn a_removed_or_reordered_event_is_found() {
    let (_dir, text) = ledger(4);
    let lines: Vec<&str> = text.lines().collect();
    let removed = [lines[0], lines[1], lines[3]].join("\n");
    let problems = check_text(&removed, "dev").problems;
    assert!(problems.iter().any(|p| p.line == 3), "{problems:?}");
    let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n");
    assert!(!check_text(&swapped, "dev").problems.is_empty());
}

#[test]
fn a_line_that_is_no_event_is_reported_and_the_next_append_still_chains() {
    let (dir, text) = ledger(2);
    let path = ledger_path(dir.path());
    std::fs::write(&path, format!("{text}{{\"truncated\n")).unwrap();
    let appended = add(dir.path(), event("destroy", "stacks/x"));
    assert_eq!(appended.seq, 4);
    let checked = check(&path, "dev").unwrap();
    assert_eq!(checked.problems.len(), 1, "{:?}", checked.problems);
    assert_eq!(checked.problems[0].line, 3);
    assert_eq!(checked.events.len(), 3);
}

#[test]
fn a_line_that_is_not_utf8_is_reported_on_its_line_and_appends_go_on() {
    let (dir, text) = ledger(2);
    let path = ledger_path(dir.path());
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"{\"damaged\": \"\xff\xfe\"}\n");
    std::fs::write(&path, &bytes).unwrap();
    let appended = add(dir.path(), event("apply", "stacks/y"));
    assert_eq!(appended.seq, 4);
    let checked = check(&path, "dev").unwrap();
    assert_eq!(checked.problems.len(), 1, "{:?}", checked.problems);
    assert_eq!(checked.problems[0].line, 3);
    assert!(checked.problems[0].message.contains("UTF-8"));
    assert_eq!(checked.events.len(), 3);
}

#[test]
fn the_largest_seq_is_reported_not_a_crash() {
    let (dir, text) = ledger(1);
    let path = ledger_path(dir.path());
    let mut edited: Event = serde_json::from_str(text.trim()).unwrap();
    edited.seq = u64::MAX;
    edited.hash = edited.compute_hash();
    std::fs::write(
        &path,
        format!("{}\n", serde_json::to_string(&edited).unwrap()),
    )
    .unwrap();
    let appended = add(dir.path(), event("apply", "stacks/z"));
    assert_eq!(appended.seq, u64::MAX);
    let checked = check(&path, "dev").unwrap();
    assert_eq!(checked.events.len(), 2);
    let lines: Vec<usize> = checked.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [1, 2], "{:?}", checked.problems);
}

#[test]
fn an_event_of_another_environment_is_found() {
    let (_dir, text) = ledger(1);
    let problems = check_text(&text, "prod").problems;
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("environment `dev`"));
}

#[test]
fn appenders_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let root = dir.path();
            s.spawn(move || {
                for i in 0..10 {
                    add(root, event("apply", &format!("stacks/t{t}-{i}")));
                }
            });
        }
    });
    let checked = check(&ledger_path(dir.path()), "dev").unwrap();
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(checked.events.len(), 40);
}

#[test]
fn a_signature_signs_the_hash_and_is_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(dir.path());
    let lock = dir.path().join(".strata/audit-dev.lock");
    let mut new = event("apply", "stacks/a");
    new.signer = Some("deployer@example.com".into());
    let signed = std::cell::RefCell::new(Vec::new());
    let sign = |message: &[u8]| {
        signed.borrow_mut().push(message.to_vec());
        Ok::<_, String>("-----BEGIN SSH SIGNATURE-----\nxyz\n-----END SSH SIGNATURE-----".into())
    };
    let e = append(&path, &lock, "dev", new, Some(&sign)).unwrap();
    assert_eq!(signed.borrow().as_slice(), [signed_message(&e)]);
    assert_eq!(
        String::from_utf8(signed_message(&e)).unwrap(),
        format!("strata audit event dev 1 {}\n", e.hash)
    );
    assert_eq!(e.signer.as_deref(), Some("deployer@example.com"));
    assert!(e.signature.is_some());
    // The chain holds with the signature in place; the signer is inside the hash.
    let checked = check(&path, "dev").unwrap();
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(checked.events[0], e);
    let mut other = e.clone();
    other.signer = Some("mallory@example.com".into());
    assert_ne!(other.compute_hash(), e.hash);
    other = e.clone();
    other.signature = None;
    assert_eq!(other.compute_hash(), e.hash);
}

#[test]
fn an_event_that_cannot_be_signed_is_written_unsigned_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(dir.path());
    let lock = dir.path().join(".strata/audit-dev.lock");
    let mut new = event("apply", "stacks/a");
    new.signer = Some("deployer@example.com".into());
    let sign = |_: &[u8]| Err::<String, _>("ssh-keygen is not installed".to_string());
    let e = append(&path, &lock, "dev", new, Some(&sign)).unwrap();
    assert_eq!(e.signer, None);
    assert_eq!(e.signature, None);
    assert!(e.details[UNSIGNED_DETAIL].contains("ssh-keygen is not installed"));
    let checked = check(&path, "dev").unwrap();
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(checked.events.len(), 1);
}

#[test]
fn events_written_before_signatures_keep_their_hashes() {
    // An event as the first format wrote it (no signer, no signature), hash included.
    let line = r#"{"version":1,"seq":1,"time":"2026-12-04T14:02:18Z","actor":"r@example.com","action":"apply","env":"dev","head":"609b7b9c6b6c1c042ad93fdbf3cb9c3e789d357d","outcome":"failed","targets":[{"label":"stacks/db","result":"not-recorded","hash":"bbce15133b95ef5506a2003ded70e3b4455f82aa5fa6c7a32a6428b460bf6a75","commit":"609b7b9c6b6c1c042ad93fdbf3cb9c3e789d357d","reason":"the GitOps output of dev cannot be made: rendering charts/api at 609b7b9c6b6c did not pass"},{"label":"charts/api","result":"not-recorded","commit":"609b7b9c6b6c1c042ad93fdbf3cb9c3e789d357d","reason":"the GitOps output of dev cannot be made: rendering charts/api at 609b7b9c6b6c did not pass"}],"details":{},"prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"a1a42c61d811539af6ad08c5a7c40260b1062fc730c4e9a4b5fef3ef08b55ce0"}"#;
    let checked = check_text(&format!("{line}\n"), "dev");
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(serde_json::to_string(&checked.events[0]).unwrap(), line);
}
