//! Encrypted secrets files, end to end with real keys (`age-keygen`, `ssh-keygen`), the real
//! `age` reading what strata wrote, and the pinned terraform receiving the values: a secret
//! reaches the tool and nothing strata writes holds it in clear text.
#![allow(clippy::disallowed_methods)] // tests drive git, the real strata binary and tools

mod common;

use common::{files_containing, tools_repo, Repo, Run, NULL_PROVIDER};
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD: &str = "hunter2-S3CRET-7c1e";
const TOKEN: &str = "tok-4f1a-S3CRET-b2";
const SECRETS: &str = "environments/dev/stacks/db/secrets.toml";
/// A password with the characters Go's JSON escapes.
const DB_PASSWORD: &str = "Pw&Secret<42>";
/// A passphrase of many words, longer than the line helm's `toYaml` writes before folding.
const PASSPHRASE: &str = "Quartz7731 marble lantern violet dolphin umbrella ochre staple horse battery correct zebra xylophone";
/// A private key's lines (not a real key).
const TLS_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7S3CRET\nq1w2e3r4t5y6u7i8o9p0aAsSdDfFgGhHjJkKlLzZxXcCvVbBnNmM1234567\n-----END PRIVATE KEY-----\n";

/// An age key made by the real `age-keygen`: (identity file, public key).
fn age_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .expect("age-keygen (scripts/test installs age)");
    assert!(out.status.success(), "{out:?}");
    let public = Command::new("age-keygen")
        .arg("-y")
        .arg(&path)
        .output()
        .unwrap();
    (
        path,
        String::from_utf8(public.stdout).unwrap().trim().to_string(),
    )
}

/// An ed25519 SSH key made by the real `ssh-keygen`: (private key file, public key line).
fn ssh_key(dir: &Path, name: &str, passphrase: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-C",
            "ops@example.com",
            "-N",
            passphrase,
            "-f",
        ])
        .arg(&path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

/// `strata ARGS` with `key` as the identity and TMPDIR under `tmp`.
fn with_key(repo: &Repo, key: Option<&Path>, tmp: &Path, args: &[&str]) -> Run {
    let mut cmd = repo.command(args);
    cmd.env_remove("STRATA_AGE_KEY")
        .env_remove("STRATA_AGE_KEY_FILE")
        .env("HOME", tmp)
        .env("TMPDIR", tmp);
    if let Some(key) = key {
        cmd.env("STRATA_AGE_KEY_FILE", key);
    }
    cmd.output().unwrap().into()
}

/// An editor: a shell script in `dir` running `script` on the file (`$1`).
fn editor(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("editor.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `strata secrets edit FILE` with `editor`, `key` as the identity and TMPDIR under `tmp`.
fn edit(repo: &Repo, editor: &Path, key: &Path, tmp: &Path, file: &str) -> Run {
    let mut cmd = repo.command(&["secrets", "edit", file]);
    cmd.env("EDITOR", editor)
        .env_remove("VISUAL")
        .env("STRATA_AGE_KEY_FILE", key)
        .env("TMPDIR", tmp);
    cmd.output().unwrap().into()
}

/// `strata ARGS` on a pseudo-terminal (util-linux `script`), in `repo`, with `key` as the
/// identity and TMPDIR `tmp`.
fn on_terminal(repo: &Repo, key: &Path, tmp: &Path, args: &str) -> Command {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_strata"));
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &command, "/dev/null"])
        .current_dir(repo.path())
        .env("STRATA_AGE_KEY_FILE", key)
        .env("TMPDIR", tmp)
        .env("STRATA_DAEMON", "0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Runs `cmd` with `input` typed on its terminal.
fn answered(mut cmd: Command, input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = cmd
        .spawn()
        .expect("util-linux `script` runs commands on a pseudo-terminal");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap().into()
}

/// The reason `stacks/db`'s plan in dev failed.
fn failed_plan_reason(repo: &Repo, key: &Path, tmp: &Path) -> String {
    let run = with_key(repo, Some(key), tmp, &["plan", "--env", "dev", "--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    common::task(&run.json(), "stacks/db", "plan")["reason"].to_string()
}

/// A stack reading `db_password`, which it does not declare sensitive.
fn db_stack(repo: &Repo) {
    repo.write(
        "stacks/db/main.tf",
        &format!(
            r#"{NULL_PROVIDER}
variable "db_password" {{}}

resource "null_resource" "db" {{
  triggers = {{
    password = var.db_password
  }}
}}

output "password_length" {{
  value     = length(var.db_password)
  sensitive = true
}}
"#
        ),
    );
}

fn recipients_toml(keys: &[&str]) -> String {
    let list: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!(
        "[state]\nbackend = \"local\"\n\n[secrets]\nrecipients = [{}]\n",
        list.join(", ")
    )
}

/// A workspace whose dev environment encrypts for a new age key (`key`, `public`), with
/// a directory for keys and editors and one for strata's temporary files.
struct Setup {
    /// Bind it for the whole test: the key file goes with it.
    keys: tempfile::TempDir,
    tmp: tempfile::TempDir,
    key: PathBuf,
    public: String,
    repo: Repo,
}

fn setup(repo: Repo) -> Setup {
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = age_key(keys.path(), "key.txt");
    repo.write("environments/dev/env.toml", &recipients_toml(&[&public]));
    Setup {
        tmp: tempfile::tempdir().unwrap(),
        keys,
        key,
        public,
        repo,
    }
}

/// `gitops render --env dev --out OUT`.
fn gitops_render_args(out: &Path) -> [&str; 6] {
    [
        "gitops",
        "render",
        "--env",
        "dev",
        "--out",
        out.to_str().unwrap(),
    ]
}

/// A workspace with no target and no tools.
fn plain_repo() -> Repo {
    let repo = Repo::new();
    repo.write("WORKSPACE.toml", "[workspace]\nname = \"t\"\n");
    repo
}

#[test]
fn a_secret_reaches_terraform_and_nothing_strata_writes_holds_it() {
    let Setup {
        keys,
        tmp,
        key,
        public,
        repo,
    } = setup(tools_repo());
    db_stack(&repo);
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    // Environment-wide: given to the stacks that declare the variable (none here).
    repo.write(
        "environments/dev/secrets.toml",
        &format!("api_token = \"{TOKEN}\"\n"),
    );
    with_key(
        &repo,
        None,
        tmp.path(),
        &["secrets", "encrypt", "environments/dev/secrets.toml"],
    )
    .assert_ok();
    let run = with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]);
    run.assert_ok();
    assert!(run.stdout.contains(&public), "{}", run.stdout);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let sealed = std::fs::read_to_string(repo.path().join(SECRETS)).unwrap();
    assert!(!sealed.contains(PASSWORD) && sealed.contains("db_password = \"ENC["));

    // The data key is a standard age file: the real age opens it with the same key.
    let data_key: toml::Table = sealed.parse().unwrap();
    let armored = data_key["strata_secrets"]["data_key"].as_str().unwrap();
    std::fs::write(tmp.path().join("data_key.age"), armored).unwrap();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(tmp.path().join("data_key.age"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout.len(), 32);
    repo.commit("db with a secret");

    // Without an identity the plan fails and says how to give one; nothing is cached.
    let run = with_key(&repo, None, tmp.path(), &["plan", "--env", "dev", "--json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let reason = common::task(&run.json(), "stacks/db", "plan")["reason"].to_string();
    assert!(reason.contains("STRATA_AGE_KEY_FILE"), "{reason}");

    // With one, apply gives the value to terraform.
    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["apply", "--env", "dev", "--auto-approve"],
    );
    run.assert_ok();
    let state = std::fs::read_to_string(repo.state_file("dev", "stacks/db")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(
        state["outputs"]["password_length"]["value"],
        PASSWORD.len(),
        "{state}"
    );
    let plan = with_key(&repo, Some(&key), tmp.path(), &["plan", "--env", "dev"]);
    plan.assert_ok();
    for text in [&plan.stdout, &plan.stderr] {
        assert!(!text.contains(PASSWORD) && !text.contains(TOKEN), "{text}");
    }
    // Cached under a key that covers the encrypted file: a runner without the key reads the
    // result (it holds no plain value) and decrypts nothing.
    let without = with_key(&repo, None, tmp.path(), &["plan", "--env", "dev", "--json"]);
    without.assert_ok();
    let json = without.json();
    assert_eq!(common::task(&json, "stacks/db", "plan")["cached"], true);
    // The plan as cached, shown again.
    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["show", "stacks/db", "--env", "dev"],
    );
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(PASSWORD) && !text.contains(TOKEN), "{text}");
    }
    // The state holds the secret in clear text: `hash --explain` shows its lineage and
    // serial, never its digest (a guess could be checked against it), and the digest enters
    // the key keyed with STRATA_SECRET_SALT.
    let explain = |salt: &str| {
        let mut cmd = repo.command(&["--json", "hash", "--explain", "--env", "dev", "stacks/db"]);
        cmd.env("STRATA_SECRET_SALT", salt);
        let run: Run = cmd.output().unwrap().into();
        run.assert_ok();
        let json = run.json();
        let plan = common::task(&json, "stacks/db", "plan");
        (plan["key"].clone(), plan["fingerprint"]["state"].clone())
    };
    let (key_a, state_a) = explain("salt-a");
    let (key_b, _) = explain("salt-b");
    let (key_none, state_none) = explain("");
    for state in [&state_a, &state_none] {
        let state = state.as_str().unwrap();
        assert!(
            state.ends_with(":1:(digest not shown: a state holds sensitive values)"),
            "{state}"
        );
    }
    assert_ne!(key_a, key_b);
    assert_ne!(key_a, key_none);
    // A changed secret affects its stack and is planned again (the sealed file is an
    // input of the stack in the environment).
    let sed = editor(keys.path(), "sed -i 's/7c1e/0000/' \"$1\"");
    edit(&repo, &sed, &key, tmp.path(), SECRETS).assert_ok();
    assert!(repo
        .affected_labels(&["--base", "HEAD"])
        .contains(&"stacks/db".to_string()));
    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["plan", "--env", "dev", "--json"],
    );
    run.assert_ok();
    let json = run.json();
    let plan = common::task(&json, "stacks/db", "plan");
    assert_eq!(plan["cached"], false, "{plan}");
    let seen = files_containing(repo.path(), PASSWORD.as_bytes(), &[".git"]);
    assert!(seen.is_empty(), "plain secret in {seen:?}");
    let seen = files_containing(tmp.path(), PASSWORD.as_bytes(), &[]);
    assert!(seen.is_empty(), "plain secret in temporary files {seen:?}");
    let seen = files_containing(repo.path(), TOKEN.as_bytes(), &[".git"]);
    assert!(seen.is_empty(), "plain secret in {seen:?}");
}

/// A stack gets only the secrets it declares, in every terraform process strata starts for
/// it (a provider reads its process's environment); and a plan not approved for apply
/// leaves no binary plan (it holds every value in clear text) behind.
#[test]
fn an_undeclared_secret_reaches_no_terraform_and_an_unapproved_plan_leaves_nothing() {
    let Setup {
        keys,
        tmp,
        key,
        repo,
        ..
    } = setup(tools_repo());
    // terraform behind a wrapper that records the TF_VAR_ names each process gets.
    let bin = keys.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = keys.path().join("tf-env.log");
    let real = common::repo_root().join(".tools/bin");
    std::os::unix::fs::symlink(real.join("helm"), bin.join("helm")).unwrap();
    editor(
        keys.path(),
        &format!(
            "echo \"$1: $(env | grep ^TF_VAR_ | cut -d= -f1 | sort | tr '\\n' ' ')\" >> {log}\nexec {tf} \"$@\"",
            log = log.display(),
            tf = real.join("terraform").display()
        ),
    );
    std::fs::rename(keys.path().join("editor.sh"), bin.join("terraform")).unwrap();
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &workspace.replace(
            "tools_dir = \".tools/bin\"",
            &format!("tools_dir = \"{}\"", bin.display()),
        ),
    );
    db_stack(&repo);
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    repo.write(
        "environments/dev/secrets.toml",
        &format!("api_token = \"{TOKEN}\"\ndb_password = \"overridden\"\n"),
    );
    for file in [SECRETS, "environments/dev/secrets.toml"] {
        with_key(&repo, None, tmp.path(), &["secrets", "encrypt", file]).assert_ok();
    }
    repo.commit("a stack and secrets");

    // On a terminal, the plan shown and the question answered no: planned, not applied.
    let mut cmd = on_terminal(&repo, &key, tmp.path(), "apply --env dev");
    cmd.env("HOME", tmp.path())
        .env("STRATA_STATE_DIR", repo.state_dir());
    let run = answered(cmd, b"n\n");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("not approved"), "{}", run.stdout);
    assert!(common::local_state_files(&repo).is_empty());
    let plans = common::files_under(&repo.path().join(".strata"))
        .into_iter()
        .filter(|p| p.ends_with("strata.tfplan"))
        .collect::<Vec<_>>();
    assert!(plans.is_empty(), "binary plans left: {plans:?}");
    for needle in [PASSWORD, TOKEN] {
        let seen = files_containing(repo.path(), needle.as_bytes(), &[".git"]);
        assert!(seen.is_empty(), "{needle} in {seen:?}");
    }

    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("plan: TF_VAR_db_password"), "{log}");
    assert!(!log.contains("TF_VAR_api_token"), "{log}");
}

#[test]
fn a_secrets_file_in_clear_text_or_with_an_undeclared_key_fails_the_plan() {
    let Setup {
        keys: _keys,
        tmp,
        key,
        repo,
        ..
    } = setup(tools_repo());
    db_stack(&repo);
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    repo.commit("a secret committed in clear text");
    let reason = failed_plan_reason(&repo, &key, tmp.path());
    assert!(
        reason.contains("is not encrypted") && reason.contains("strata secrets encrypt"),
        "{reason}"
    );
    // No copy of it is left in a sandbox (where it stayed after the file was encrypted).
    assert_eq!(
        files_containing(&repo.path().join(".strata"), PASSWORD.as_bytes(), &[]),
        Vec::<PathBuf>::new()
    );

    repo.write(
        SECRETS,
        &format!("db_password = \"{PASSWORD}\"\ndb_pasword = \"typo\"\n"),
    );
    // The clear text stays in the commit above: said, with what to do.
    let run = with_key(
        &repo,
        None,
        tmp.path(),
        &["--json", "secrets", "encrypt", SECRETS],
    );
    run.assert_ok();
    assert!(
        run.stderr.contains("is in clear text in 1 commit(s)")
            && run.stderr.contains("Change these secrets"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.json()["plain_in_history"][0].as_str(),
        Some(repo.git(&["rev-parse", "HEAD"]).as_str())
    );
    repo.commit("encrypted, with a typo");
    let reason = failed_plan_reason(&repo, &key, tmp.path());
    assert!(
        reason.contains("sets `db_pasword`, which this stack does not declare")
            && reason.contains("declare it (`variable "),
        "{reason}"
    );
    // A key terraform takes for no variable: renamed, not declared.
    repo.write(
        SECRETS,
        &format!("db_password = \"{PASSWORD}\"\n\"db.user\" = \"app\"\n"),
    );
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.commit("a dotted key");
    let reason = failed_plan_reason(&repo, &key, tmp.path());
    assert!(
        reason.contains("`db.user` is no name terraform takes for a variable")
            && !reason.contains("declare it (`variable "),
        "{reason}"
    );
    // Nor one terraform reserves.
    repo.write(
        SECRETS,
        &format!("db_password = \"{PASSWORD}\"\ncount = \"3\"\n"),
    );
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.commit("a reserved name");
    let reason = failed_plan_reason(&repo, &key, tmp.path());
    assert!(
        reason.contains("`count` is no name terraform takes for a variable"),
        "{reason}"
    );

    // A secret with the name of one of the stack's [inputs]: which one would win is not
    // guessed.
    common::network_stack(&repo, "1");
    common::app_stack(&repo);
    let app = "environments/dev/stacks/app/secrets.toml";
    repo.write(app, "vpc_id = \"from-a-secret\"\n");
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", app]).assert_ok();
    repo.commit("an input and a secret of one name");
    with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["apply", "--env", "dev", "--auto-approve", "stacks/network"],
    )
    .assert_ok();
    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["plan", "--env", "dev", "stacks/app", "--json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    let reason = common::task(&json, "stacks/app", "plan")["reason"].to_string();
    assert!(reason.contains("`vpc_id` is both one of"), "{reason}");
}

#[test]
fn edit_changes_only_what_changed_and_leaves_no_plain_text_behind() {
    let Setup {
        keys,
        tmp,
        key,
        repo,
        ..
    } = setup(plain_repo());
    let write_editor = |script: &str| editor(keys.path(), script);
    let edit = |file: &str| {
        edit(
            &repo,
            &keys.path().join("editor.sh"),
            &key,
            tmp.path(),
            file,
        )
    };
    // A new file.
    write_editor(&format!(
        "printf 'db_password = \"{PASSWORD}\"\\napi_token = \"{TOKEN}\"\\n' > \"$1\""
    ));
    let run = edit(SECRETS);
    run.assert_ok();
    assert!(run.stdout.contains("saved"), "{}", run.stdout);
    repo.commit("secrets");
    let before = std::fs::read_to_string(repo.path().join(SECRETS)).unwrap();
    assert!(!before.contains(PASSWORD));

    // An edit ended by Ctrl-C, a hang-up or a termination is an interruption (exit 130),
    // not a broken editor, and changes nothing.
    for signal in ["INT", "HUP", "TERM"] {
        write_editor(&format!("kill -{signal} $$"));
        let run = edit(SECRETS);
        assert_eq!(run.code, 130, "{signal}: {}", run.stderr);
        assert!(
            run.stderr.contains("strata: interrupted (")
                && !run.stderr.contains("VISUAL or EDITOR"),
            "{signal}: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::read_to_string(repo.path().join(SECRETS)).unwrap(),
            before
        );
    }

    // One value changed: the diff names that key only.
    write_editor("sed -i 's/tok-4f1a/tok-9999/' \"$1\"");
    edit(SECRETS).assert_ok();
    let diff = repo.git(&["diff", "-U0", "--", SECRETS]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert!(
        changed.iter().any(|l| l.starts_with("-api_token"))
            && !changed.iter().any(|l| l.contains("db_password")),
        "{diff}"
    );
    let plain = repo.strata(&[
        "secrets",
        "decrypt",
        SECRETS,
        "--identity",
        key.to_str().unwrap(),
    ]);
    plain.assert_ok();
    assert!(plain.stdout.contains("tok-9999") && plain.stdout.contains(PASSWORD));

    // Invalid TOML without a terminal: nothing saved, the file as it was.
    let saved = std::fs::read_to_string(repo.path().join(SECRETS)).unwrap();
    write_editor("echo 'not = valid = toml' >> \"$1\"");
    let run = edit(SECRETS);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not valid TOML"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(repo.path().join(SECRETS)).unwrap(),
        saved
    );

    // A failing editor: nothing saved.
    write_editor("exit 3");
    let run = edit(SECRETS);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(repo.path().join(SECRETS)).unwrap(),
        saved
    );

    // No plain text left in the temporary directory after any of these.
    let left = common::files_under(tmp.path());
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn ssh_keys_read_secrets_and_updatekeys_and_rotate_change_who_can() {
    let keys = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (ssh, ssh_public) = ssh_key(keys.path(), "id_ed25519", "");
    let (age, age_public) = age_key(keys.path(), "key.txt");
    let repo = plain_repo();
    repo.write(
        "environments/dev/env.toml",
        &recipients_toml(&[&ssh_public]),
    );
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    let decrypt = |key: &Path| {
        with_key(
            &repo,
            None,
            tmp.path(),
            &["secrets", "decrypt", SECRETS, "-i", key.to_str().unwrap()],
        )
    };
    let run = decrypt(&ssh);
    run.assert_ok();
    assert!(run.stdout.contains(PASSWORD), "{}", run.stdout);
    let run = decrypt(&age);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("none of the identities given can decrypt it"),
        "{}",
        run.stderr
    );

    // The age key joins: its holder can read, the values are untouched.
    let before = std::fs::read_to_string(repo.path().join(SECRETS)).unwrap();
    repo.write(
        "environments/dev/env.toml",
        &recipients_toml(&[&ssh_public, &age_public]),
    );
    let run = with_key(
        &repo,
        Some(&ssh),
        tmp.path(),
        &["secrets", "updatekeys", SECRETS],
    );
    run.assert_ok();
    decrypt(&age).assert_ok();
    let after = std::fs::read_to_string(repo.path().join(SECRETS)).unwrap();
    let line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("db_password"))
            .unwrap()
            .to_string()
    };
    assert_eq!(line(&before), line(&after));

    // The SSH key leaves: an edit made before anyone runs `updatekeys` is sealed for the
    // recipients of now, under a new data key (the SSH key knew the old one).
    repo.write(
        "environments/dev/env.toml",
        &recipients_toml(&[&age_public]),
    );
    let edited = edit(
        &repo,
        &editor(tmp.path(), "echo 'added = \"after-ssh-left\"' >> \"$1\""),
        &age,
        tmp.path(),
        SECRETS,
    );
    edited.assert_ok();
    assert!(edited.stdout.contains("new data key"), "{}", edited.stdout);
    assert_eq!(decrypt(&ssh).code, 2);
    assert!(decrypt(&age).stdout.contains("after-ssh-left"));
    // `updatekeys` does the same to a file not edited since (here: put back as it was).
    std::fs::write(repo.path().join(SECRETS), &after).unwrap();
    let run = with_key(
        &repo,
        Some(&age),
        tmp.path(),
        &["secrets", "updatekeys", SECRETS],
    );
    run.assert_ok();
    assert!(
        run.stdout.contains("a recipient was removed"),
        "{}",
        run.stdout
    );
    let removed = std::fs::read_to_string(repo.path().join(SECRETS)).unwrap();
    // Values are encrypted again only under a new data key (adding a recipient kept them).
    assert_ne!(line(&after), line(&removed));
    assert_eq!(decrypt(&ssh).code, 2);
    // `rotate` does the same whenever it is asked to.
    with_key(
        &repo,
        Some(&age),
        tmp.path(),
        &["secrets", "rotate", SECRETS],
    )
    .assert_ok();
    let rotated = std::fs::read_to_string(repo.path().join(SECRETS)).unwrap();
    assert_ne!(line(&removed), line(&rotated));
    assert_eq!(decrypt(&ssh).code, 2);
    assert!(decrypt(&age).stdout.contains(PASSWORD));

    // A passphrase-protected SSH key is refused with a reason, not a prompt.
    let (locked, _) = ssh_key(keys.path(), "id_locked", "a passphrase");
    let run = decrypt(&locked);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("passphrase"), "{}", run.stderr);

    // A recipient that is no key is named with its file.
    repo.write("environments/dev/env.toml", &recipients_toml(&["age1nope"]));
    let run = with_key(
        &repo,
        Some(&age),
        tmp.path(),
        &["secrets", "updatekeys", SECRETS],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("age1nope") && run.stderr.contains("environments/dev/env.toml"),
        "{}",
        run.stderr
    );
}

/// With no recipients in env.toml, an edit keeps the file's own and adds those given with
/// `-r`: it replaced them, so that no one but the new recipient could read the file.
#[test]
fn edit_with_a_recipient_given_adds_it_when_the_environment_lists_none() {
    let keys = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (alice, alice_public) = age_key(keys.path(), "alice.txt");
    let (bob, bob_public) = age_key(keys.path(), "bob.txt");
    let (carol, carol_public) = age_key(keys.path(), "carol.txt");
    let repo = plain_repo();
    repo.write(
        "environments/dev/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    with_key(
        &repo,
        None,
        tmp.path(),
        &[
            "secrets",
            "encrypt",
            SECRETS,
            "-r",
            &alice_public,
            "-r",
            &bob_public,
        ],
    )
    .assert_ok();
    let script = editor(tmp.path(), "echo 'added = \"by-alice\"' >> \"$1\"");
    let mut cmd = repo.command(&["secrets", "edit", SECRETS, "-r", &carol_public]);
    cmd.env("EDITOR", &script)
        .env_remove("VISUAL")
        .env("STRATA_AGE_KEY_FILE", &alice)
        .env("TMPDIR", tmp.path());
    let run: Run = cmd.output().unwrap().into();
    run.assert_ok();
    assert!(!run.stdout.contains("new data key"), "{}", run.stdout);
    for key in [&alice, &bob, &carol] {
        let run = with_key(
            &repo,
            None,
            tmp.path(),
            &["secrets", "decrypt", SECRETS, "-i", key.to_str().unwrap()],
        );
        run.assert_ok();
        assert!(run.stdout.contains("by-alice"), "{}", run.stdout);
    }

    // `updatekeys -r` and `rotate -r` add the same way: they replaced the file's own
    // recipients, locking out whoever ran them.
    let (dave, dave_public) = age_key(keys.path(), "dave.txt");
    let (erin, erin_public) = age_key(keys.path(), "erin.txt");
    for (command, key) in [("updatekeys", &dave_public), ("rotate", &erin_public)] {
        with_key(
            &repo,
            Some(&alice),
            tmp.path(),
            &["secrets", command, SECRETS, "-r", key],
        )
        .assert_ok();
    }
    for key in [&alice, &bob, &carol, &dave, &erin] {
        let run = with_key(
            &repo,
            None,
            tmp.path(),
            &["secrets", "decrypt", SECRETS, "-i", key.to_str().unwrap()],
        );
        run.assert_ok();
        assert!(run.stdout.contains("by-alice"), "{}", run.stdout);
    }
}

#[test]
fn a_charts_secrets_render_redacted_and_stay_out_of_gitops_output() {
    use base64::Engine;
    let Setup {
        keys: _keys,
        tmp,
        key,
        repo,
        ..
    } = setup(tools_repo());
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/web/values.yaml",
        "apiKey: \"\"\nreplicas: 1\ntlsKey: \"\"\ndbPassword: \"\"\nregistryUser: robot1\nregistryPassword: \"\"\nsmtp: {}\n",
    );
    repo.write(
        "charts/web/templates/secret.yaml",
        // Fails to render unless the secret arrived. The other values are written the
        // ways templates commonly write secrets, none of them as the value itself: a key
        // of several lines indented, a password inside JSON (Go escapes `&`, `<`, `>`)
        // inside a quoted string, base64 of `user:password`, a password URL-encoded in a
        // connection string, and one in capitals.
        "{{ if not .Values.apiKey }}{{ fail \"no apiKey\" }}{{ end }}\napiVersion: v1\nkind: Secret\nmetadata:\n  name: web\ndata:\n  apiKey: {{ .Values.apiKey | b64enc }}\n  auth: {{ printf \"%s:%s\" .Values.registryUser .Values.registryPassword | b64enc }}\nstringData:\n  tls.key: |{{ .Values.tlsKey | nindent 4 }}\n  config.json: {{ dict \"password\" .Values.dbPassword | toJson | quote }}\n  dsn: \"postgres://app:{{ .Values.dbPassword | urlquery }}@db/app\"\n  shout: {{ .Values.registryPassword | upper | quote }}\n  smtp.yaml: |{{ toYaml .Values.smtp | nindent 4 }}\n",
    );
    let secrets = "environments/dev/charts/web/secrets.toml";
    repo.write(
        secrets,
        &format!(
            "apiKey = \"{TOKEN}\"\ntlsKey = \"\"\"\n{TLS_KEY}\"\"\"\ndbPassword = \"{DB_PASSWORD}\"\nregistryPassword = \"{PASSWORD}\"\n[smtp]\npassword = \"{PASSPHRASE}\"\n"
        ),
    );
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", secrets]).assert_ok();
    repo.commit("a chart with a secret");

    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["check", "--env", "dev", "--json"],
    );
    run.assert_ok();
    assert_eq!(
        common::task(&run.json(), "charts/web", "render")["status"],
        "ok"
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(TOKEN);
    // Base64 of `robot1:` and the password: the characters only the password determines.
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("robot1:{PASSWORD}"));
    let auth = &auth[12..auth.len() - 4];
    let key_lines: Vec<&str> = TLS_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut needles = vec![
        TOKEN,
        encoded.as_str(),
        auth,
        DB_PASSWORD,
        "Pw\\u0026Secret\\u003c42\\u003e",
        "Pw\\\\u0026Secret",
        "Pw%26Secret%3C42%3E",
        "HUNTER2-S3CRET-7C1E",
        // `toYaml` folds the long passphrase onto a second line: no line holds it whole.
        "Quartz7731",
        "xylophone",
    ];
    needles.extend(&key_lines);
    let render = common::task(&run.json(), "charts/web", "render").to_string();
    assert!(render.contains("ok"), "{render}");
    for needle in needles {
        let seen = files_containing(repo.path(), needle.as_bytes(), &[".git"]);
        assert!(seen.is_empty(), "{needle} in {seen:?}");
        let seen = files_containing(tmp.path(), needle.as_bytes(), &[]);
        assert!(seen.is_empty(), "{needle} in temporary files {seen:?}");
        assert!(!run.stdout.contains(needle) && !run.stderr.contains(needle));
    }

    // Rendered manifests in git would hold it: refused, naming the key.
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("argocd");
    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &[
            "gitops",
            "render",
            "--env",
            "dev",
            "--format",
            "argocd",
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("apiKey"), "{}", run.stderr);
    // An apply in dev, whose GitOps output is made after it, is refused before it changes
    // anything: the chart's secrets file says so by its key names.
    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("charts/web reads sensitive values (apiKey, dbPassword")
            && run.stderr.contains("nothing was applied"),
        "{}",
        run.stderr
    );
    assert!(!repo
        .path()
        .join("environments/dev/release.lock.toml")
        .exists());
    // flux-helm takes it from a Secret by reference.
    let dir = out.path().join("flux-helm");
    with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &[
            "gitops",
            "render",
            "--env",
            "dev",
            "--format",
            "flux-helm",
            "--out",
            dir.to_str().unwrap(),
        ],
    )
    .assert_ok();
    let release = std::fs::read_to_string(dir.join("flux/helmreleases/web.yaml")).unwrap();
    // One values document in the Secret, no per-leaf `targetPath` (which Flux would parse
    // as `--set` does), and the secret's key is not among the inline values.
    let release: serde_json::Value = serde_norway::from_str(&release).unwrap();
    assert_eq!(
        release["spec"]["valuesFrom"],
        serde_json::json!([{"kind": "Secret", "name": "dev-web-inputs", "valuesKey": "values.yaml"}])
    );
    assert!(
        release["spec"]["values"].get("apiKey").is_none(),
        "{release}"
    );
    assert!(
        release["spec"]["values"]["smtp"].get("password").is_none(),
        "{release}"
    );
    // What that document holds: `decrypt --format yaml`, each value with its type. (The
    // identity list has empty entries, as a list joined by hand often has: they name no
    // file.)
    let listed = PathBuf::from(format!(":{}:", key.display()));
    let run = with_key(
        &repo,
        Some(&listed),
        tmp.path(),
        &["secrets", "decrypt", secrets, "--format", "yaml"],
    );
    run.assert_ok();
    let document: serde_json::Value = serde_norway::from_str(&run.stdout).unwrap();
    assert_eq!(
        document,
        serde_json::json!({
            "apiKey": TOKEN,
            "tlsKey": TLS_KEY,
            "dbPassword": DB_PASSWORD,
            "registryPassword": PASSWORD,
            "smtp": {"password": PASSPHRASE},
        })
    );
    for needle in [TOKEN, encoded.as_str()] {
        let seen = files_containing(out.path(), needle.as_bytes(), &[]);
        assert!(seen.is_empty(), "{needle} in {seen:?}");
    }
}

/// Commits `SECRETS` holding `PASSWORD`, sealed.
fn seal_db_password(repo: &Repo, tmp: &Path) {
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    with_key(repo, None, tmp, &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.commit("a sealed file");
}

/// An edit killed while its editor is open leaves its plain text in its private temporary
/// directory; the next edit removes it.
#[test]
fn the_plain_text_a_killed_edit_left_goes_at_the_next_edit() {
    let Setup {
        keys,
        tmp,
        key,
        repo,
        ..
    } = setup(plain_repo());
    seal_db_password(&repo, tmp.path());
    // The editor kills strata (its shell's parent) with SIGKILL.
    let killer = editor(
        keys.path(),
        "kill -9 \"$(awk '{print $4}' /proc/$PPID/stat)\"; sleep 1",
    );
    let killed = edit(&repo, &killer, &key, tmp.path(), SECRETS);
    assert_ne!(killed.code, 0, "{}", killed.stderr);
    assert!(
        !files_containing(tmp.path(), PASSWORD.as_bytes(), &[]).is_empty(),
        "the killed edit left its plain text"
    );
    let unchanged = editor(keys.path(), "true");
    edit(&repo, &unchanged, &key, tmp.path(), SECRETS).assert_ok();
    let left = files_containing(tmp.path(), PASSWORD.as_bytes(), &[]);
    assert!(left.is_empty(), "{left:?}");
}

/// Two edits of one file at once: the later save does not write over the earlier one
/// unseen. It is refused, and the edit it carried is kept beside the file, sealed.
#[test]
fn two_edits_of_one_file_at_once_lose_neither() {
    use std::os::unix::fs::PermissionsExt;
    let Setup {
        keys,
        tmp,
        key,
        repo,
        ..
    } = setup(plain_repo());
    seal_db_password(&repo, tmp.path());
    let marks = keys.path().to_path_buf();
    let script = |name: &str, body: String| {
        let path = marks.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let m = marks.display();
    // A opens first and saves last; B opens and saves while A's editor is open.
    let a = script(
        "a.sh",
        format!("touch {m}/a-open\nwhile [ ! -e {m}/b-done ]; do sleep 0.1; done\nprintf 'alpha = \"from-a-9d2f\"\\n' >> \"$1\""),
    );
    let b = script(
        "b.sh",
        format!("while [ ! -e {m}/a-open ]; do sleep 0.1; done\nprintf 'beta = \"from-b\"\\n' >> \"$1\""),
    );
    let first = std::thread::scope(|s| {
        let first = s.spawn(|| edit(&repo, &a, &key, tmp.path(), SECRETS));
        edit(&repo, &b, &key, tmp.path(), SECRETS).assert_ok();
        std::fs::write(marks.join("b-done"), "").unwrap();
        first.join().unwrap()
    });
    assert_eq!(first.code, 2, "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stderr.contains("changed while you edited it"),
        "{}",
        first.stderr
    );
    let now = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["secrets", "decrypt", SECRETS],
    );
    now.assert_ok();
    assert!(
        now.stdout.contains("beta") && !now.stdout.contains("alpha"),
        "{}",
        now.stdout
    );
    let dir = repo.path().join("environments/dev/stacks/db");
    let kept: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("secrets.toml.edited-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let kept = format!("environments/dev/stacks/db/{}", kept[0]);
    assert!(first.stderr.contains(&kept), "{}", first.stderr);
    let raw = std::fs::read_to_string(repo.path().join(&kept)).unwrap();
    assert!(!raw.contains("from-a-9d2f"), "kept in clear text: {raw}");
    let theirs = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["secrets", "decrypt", &kept],
    );
    theirs.assert_ok();
    assert!(theirs.stdout.contains("from-a-9d2f"), "{}", theirs.stdout);
}

/// `rotate` of several files writes none when one cannot be rotated; `edit` of a new file in
/// an environment without recipients says so before the editor opens (nothing typed is
/// lost).
#[test]
fn rotate_writes_all_files_or_none_and_edit_checks_recipients_first() {
    let Setup {
        keys,
        tmp,
        key,
        repo,
        ..
    } = setup(plain_repo());
    let other = "environments/dev/stacks/app/secrets.toml";
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.write(other, &format!("token = \"{TOKEN}\"\n"));
    repo.commit("one sealed file, one in clear text");
    let rotate = |files: &[&str]| {
        let mut args = vec!["--json", "secrets", "rotate"];
        args.extend_from_slice(files);
        with_key(&repo, Some(&key), tmp.path(), &args)
    };
    let run = rotate(&[SECRETS, other]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(other), "{}", run.stderr);
    assert_eq!(repo.git(&["status", "--porcelain"]).trim(), "");
    // A file named twice (overlapping globs, `./`) is rotated once, and the run goes on
    // to the next; the second naming took the first one's write for someone else's edit.
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", other]).assert_ok();
    repo.commit("both sealed");
    let twice = format!("./{SECRETS}");
    let run = rotate(&[SECRETS, &twice, other]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let changed = repo.git(&["status", "--porcelain"]);
    assert!(
        changed.contains(SECRETS) && changed.contains(other),
        "{changed}"
    );
    repo.git(&["checkout", "--", "."]);
    // Named through a link first: the file is rotated where it is, and the link stays one
    // (it was written over the link, and the file itself, taken as seen, was not rotated).
    let dir = SECRETS.rsplit_once('/').unwrap().0;
    let link = format!("{dir}/current.toml");
    let link = link.as_str();
    std::os::unix::fs::symlink(SECRETS.rsplit('/').next().unwrap(), repo.path().join(link))
        .unwrap();
    repo.commit("a link to the secrets file");
    let run = rotate(&[link, SECRETS]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let linked = std::fs::symlink_metadata(repo.path().join(link)).unwrap();
    assert!(linked.file_type().is_symlink());
    let changed = repo.git(&["status", "--porcelain"]);
    assert!(
        changed.contains(SECRETS) && !changed.contains(link),
        "{changed}"
    );
    repo.git(&["checkout", "--", "."]);

    let opened = keys.path().join("opened");
    let editor = editor(
        keys.path(),
        &format!("touch {}\necho 'x = \"typed\"' > \"$1\"", opened.display()),
    );
    repo.write(
        "environments/prod/env.toml",
        "[state]\nbackend = \"local\"\n",
    );
    let run = edit(
        &repo,
        &editor,
        &key,
        tmp.path(),
        "environments/prod/stacks/db/secrets.toml",
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no recipients"), "{}", run.stderr);
    assert!(!opened.exists(), "the editor opened");
}

#[test]
fn on_a_terminal_an_edit_that_is_not_toml_opens_the_editor_again() {
    let Setup {
        keys,
        tmp,
        key,
        repo,
        ..
    } = setup(plain_repo());
    // First round: not TOML; second round (after Enter): fixed.
    let count = keys.path().join("rounds");
    let editor = editor(
        keys.path(),
        &format!(
            "echo x >> {count}\nif [ \"$(wc -l < {count})\" -eq 1 ]; then echo 'token = ' > \"$1\"; else echo 'token = \"{TOKEN}\"' > \"$1\"; fi",
            count = count.display()
        ),
    );
    let mut cmd = on_terminal(&repo, &key, tmp.path(), &format!("secrets edit {SECRETS}"));
    cmd.env("EDITOR", &editor).env_remove("VISUAL");
    let run = answered(cmd, b"\n");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("not valid TOML"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 2);
    let plain = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["secrets", "decrypt", SECRETS],
    );
    assert!(plain.stdout.contains(TOKEN), "{}", plain.stdout);
    assert!(common::files_under(tmp.path()).is_empty());
}

/// A rule can undo a transformation the render's redaction does not know (a secret written
/// as `b64enc | b64enc | b64enc`) and print the value: a policy task's output is redacted of the
/// sensitive values of the target it governs, like the render's.
#[test]
fn a_policy_that_decodes_a_charts_secret_prints_it_redacted() {
    let Setup {
        keys: _keys,
        tmp,
        key,
        repo,
        public,
    } = setup(tools_repo());
    repo.write(
        "environments/dev/env.toml",
        &format!(
            "[gates]\nrequire = [\"policy\"]\n{}",
            recipients_toml(&[&public])
        ),
    );
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    );
    repo.write("charts/web/values.yaml", "apiKey: \"\"\n");
    repo.write(
        "charts/web/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web\ndata:\n  thrice: {{ .Values.apiKey | b64enc | b64enc | b64enc | quote }}\n",
    );
    repo.write("policies/decode/policy.toml", "kinds = [\"chart\"]\n");
    repo.write(
        "policies/decode/p.rego",
        "package main\n\nimport rego.v1\n\nwarn contains msg if {\n  input.kind == \"Secret\"\n  msg := sprintf(\"decoded %s\", [base64.decode(base64.decode(base64.decode(input.data.thrice)))])\n}\n",
    );
    let secrets = "environments/dev/charts/web/secrets.toml";
    repo.write(secrets, &format!("apiKey = \"{TOKEN}\"\n"));
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", secrets]).assert_ok();
    repo.commit("a chart whose secret a policy decodes");
    let sarif = tmp.path().join("report.sarif");
    let run = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &[
            "check",
            "--env",
            "dev",
            "charts/web",
            "--json",
            "--sarif",
            sarif.to_str().unwrap(),
        ],
    );
    run.assert_ok();
    let policy = common::task(&run.json(), "charts/web", "policy").to_string();
    assert!(policy.contains("decoded (sensitive value)"), "{policy}");
    let seen = files_containing(repo.path(), TOKEN.as_bytes(), &[".git"]);
    assert!(seen.is_empty(), "{TOKEN} in {seen:?}");
    let seen = files_containing(tmp.path(), TOKEN.as_bytes(), &[]);
    assert!(seen.is_empty(), "{TOKEN} in temporary files {seen:?}");
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
}

/// `strata secrets edit`'s temporary directory is private whatever the umask: an editor's
/// backup and swap files land beside the plain text, with modes of their own.
#[test]
fn the_directory_an_edit_happens_in_is_private_under_a_common_umask() {
    let Setup {
        keys,
        tmp,
        key,
        repo,
        ..
    } = setup(plain_repo());
    let seen = keys.path().join("modes");
    let script = editor(
        keys.path(),
        &format!(
            "stat -c %a \"$(dirname \"$1\")\" \"$1\" > '{}'\nprintf 'db_password = \"{PASSWORD}\"\\n' > \"$1\"",
            seen.display()
        ),
    );
    let inner = repo.command(&["secrets", "edit", SECRETS]);
    // The same command, run under umask 022 (a shell sets it, then runs strata).
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "umask 022 && exec \"$@\"", "sh"])
        .arg(inner.get_program())
        .args(inner.get_args());
    if let Some(dir) = inner.get_current_dir() {
        cmd.current_dir(dir);
    }
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    cmd.env("EDITOR", &script)
        .env_remove("VISUAL")
        .env("STRATA_AGE_KEY_FILE", &key)
        .env("TMPDIR", tmp.path());
    let run: Run = cmd.output().unwrap().into();
    run.assert_ok();
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "700\n600\n");
}

/// `updatekeys` counts a file as already encrypted for its recipients only when the file's
/// MAC (which covers the list) matches: a list edited by hand no longer passes for the keys
/// the data key is encrypted for.
#[test]
fn updatekeys_does_not_take_a_recipient_list_edited_by_hand_at_its_word() {
    let keys = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (alice, alice_public) = age_key(keys.path(), "alice.txt");
    let (carol, carol_public) = age_key(keys.path(), "carol.txt");
    let repo = plain_repo();
    repo.write(
        "environments/dev/env.toml",
        &recipients_toml(&[&alice_public, &carol_public]),
    );
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    let file = repo.path().join(SECRETS);
    // Carol leaves: taken off env.toml, and off the file's list by hand.
    repo.write(
        "environments/dev/env.toml",
        &recipients_toml(&[&alice_public]),
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replace(
        &format!("recipients = [\"{alice_public}\", \"{carol_public}\"]"),
        &format!("recipients = [\"{alice_public}\"]"),
    );
    assert_ne!(edited, text);
    std::fs::write(&file, &edited).unwrap();
    let run = with_key(
        &repo,
        Some(&alice),
        tmp.path(),
        &["secrets", "updatekeys", SECRETS],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("MAC"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        edited,
        "nothing written"
    );
    // The file as strata wrote it, with carol gone from env.toml: carol's key is taken off
    // the data key, and she reads nothing any more.
    std::fs::write(&file, &text).unwrap();
    with_key(
        &repo,
        Some(&alice),
        tmp.path(),
        &["secrets", "updatekeys", SECRETS],
    )
    .assert_ok();
    let run = with_key(
        &repo,
        None,
        tmp.path(),
        &["secrets", "decrypt", SECRETS, "-i", carol.to_str().unwrap()],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// A secret in a table or an array, and an upstream output that is a map, reach terraform
/// as HCL expressions (`TF_VAR_<name>`): the text inside them arrives as written, `${`,
/// `%{`, `$${`, quotes, backslashes and control characters included, never evaluated as a
/// template (a `${aws:username}` in a policy document, a password holding `%{`).
#[test]
fn template_sequences_in_map_and_list_values_arrive_as_written() {
    let Setup {
        keys: _keys,
        tmp,
        key,
        repo,
        ..
    } = setup(tools_repo());
    repo.write(
        "stacks/policy/main.tf",
        &format!(
            r#"{NULL_PROVIDER}
output "documents" {{
  value = {{
    self = "arn:aws:iam::*:user/$${{aws:username}}"
    tpl  = "%%{{ if true }}on%%{{ endif }}"
  }}
}}

output "label" {{
  value = "team-$${{env}}"
}}
"#
        ),
    );
    repo.write(
        "stacks/app/main.tf",
        &format!(
            r#"{NULL_PROVIDER}
variable "documents" {{
  type = map(string)
}}
variable "label" {{
  type = any
}}
variable "untyped" {{}}
variable "token" {{
  type      = string
  sensitive = true
}}
variable "hosts" {{
  type      = list(string)
  sensitive = true
}}
variable "db" {{
  type      = map(string)
  sensitive = true
}}

resource "null_resource" "app" {{
  triggers = {{
    all = jsonencode({{ documents = var.documents, token = var.token, hosts = var.hosts, db = var.db, label = var.label, untyped = var.untyped }})
  }}
}}
"#
        ),
    );
    repo.write(
        "stacks/app/stack.toml",
        "deps = [\"stacks/policy\"]\n\n[inputs]\ndocuments = \"stacks/policy:documents\"\nlabel = \"stacks/policy:label\"\nuntyped = \"stacks/policy:label\"\n",
    );
    let secrets = "environments/dev/stacks/app/secrets.toml";
    repo.write(
        secrets,
        "token = 'b${1}'\nhosts = ['b${1}', '%{ if true }yes%{ endif }', 'x$${y}']\n\n[db]\npassword = \"q\\\"uo\\\\te\\b${path.module}\"\n\"${k}\" = 'v'\n",
    );
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", secrets]).assert_ok();
    repo.commit("stacks");
    with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["apply", "--env", "dev", "--auto-approve"],
    )
    .assert_ok();
    let state = std::fs::read_to_string(repo.state_file("dev", "stacks/app")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let all = state["resources"][0]["instances"][0]["attributes"]["triggers"]["all"]
        .as_str()
        .unwrap();
    let all: serde_json::Value = serde_json::from_str(all).unwrap();
    assert_eq!(
        all,
        serde_json::json!({
            "documents": {"self": "arn:aws:iam::*:user/${aws:username}", "tpl": "%{ if true }on%{ endif }"},
            "token": "b${1}",
            "hosts": ["b${1}", "%{ if true }yes%{ endif }", "x$${y}"],
            "db": {"password": "q\"uo\\te\u{8}${path.module}", "${k}": "v"},
            // A string for a variable of type `any` (read as HCL) and one without a type
            // (read literally) both arrive as written.
            "label": "team-${env}",
            "untyped": "team-${env}",
        })
    );
}

/// A secret passed through what terraform does not mark sensitive (a data source's result)
/// comes out in an output not declared `sensitive`: terraform 1.0 accepts that. The output
/// carries a value of the stack's secrets file, so it stays sensitive wherever it flows. It
/// used to reach a dependent's plan log (and the cache) and a chart's GitOps render, which
/// is committed, in clear text.
#[test]
fn an_output_carrying_a_secret_stays_sensitive_though_terraform_does_not_mark_it() {
    let Setup {
        keys: _keys,
        tmp,
        key,
        repo,
        ..
    } = setup(tools_repo());
    repo.write(
        "stacks/db/main.tf",
        &format!(
            "{NULL_PROVIDER}\nvariable \"db_password\" {{}}\n\ndata \"null_data_source\" \"conn\" {{\n  inputs = {{\n    dsn = \"postgres://app:${{var.db_password}}@db/app\"\n  }}\n}}\n\noutput \"dsn\" {{\n  value = data.null_data_source.conn.outputs[\"dsn\"]\n}}\n\noutput \"port\" {{\n  value = 5432\n}}\n"
        ),
    );
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.write(
        "stacks/consumer/main.tf",
        &format!("{NULL_PROVIDER}\nvariable \"dsn\" {{}}\nvariable \"port\" {{}}\n\nresource \"null_resource\" \"a\" {{\n  triggers = {{ dsn = var.dsn, port = var.port }}\n}}\n"),
    );
    repo.write(
        "stacks/consumer/stack.toml",
        "[inputs]\ndsn = \"stacks/db:dsn\"\nport = \"stacks/db:port\"\n",
    );
    // Passed on again, through a second stack, to a third.
    repo.write(
        "stacks/mid/main.tf",
        &format!("{NULL_PROVIDER}\nvariable \"dsn\" {{}}\n\ndata \"null_data_source\" \"again\" {{\n  inputs = {{\n    dsn = \"${{var.dsn}}?sslmode=require\"\n  }}\n}}\n\noutput \"dsn2\" {{\n  value = data.null_data_source.again.outputs[\"dsn\"]\n}}\n"),
    );
    repo.write(
        "stacks/mid/stack.toml",
        "[inputs]\ndsn = \"stacks/db:dsn\"\n",
    );
    repo.write(
        "stacks/far/main.tf",
        &format!("{NULL_PROVIDER}\nvariable \"dsn\" {{}}\n\nresource \"null_resource\" \"f\" {{\n  triggers = {{ dsn = var.dsn }}\n}}\n"),
    );
    repo.write(
        "stacks/far/stack.toml",
        "[inputs]\ndsn = \"stacks/mid:dsn2\"\n",
    );
    repo.commit("a secret passed through a data source");
    let apply = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["apply", "-v", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        !apply.stdout.contains(PASSWORD) && !apply.stderr.contains(PASSWORD),
        "{}\n{}",
        apply.stdout,
        apply.stderr
    );
    assert_eq!(
        files_containing(&repo.path().join(".strata"), PASSWORD.as_bytes(), &[]),
        Vec::<PathBuf>::new()
    );
    // The consumer knows its input as sensitive; the output without the secret is not.
    let explain = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["hash", "--explain", "--env", "dev", "stacks/consumer"],
    );
    explain.assert_ok();
    assert!(
        explain.stdout.contains("including sensitive dsn;"),
        "{}",
        explain.stdout
    );
    // Without the identity, the stack's cached plan is still reused (nothing needs to be
    // decrypted for its key), and its reader's too (which outputs carry the secret is not
    // part of a key).
    for label in ["stacks/db", "stacks/consumer"] {
        with_key(
            &repo,
            Some(&key),
            tmp.path(),
            &["plan", "--env", "dev", label],
        )
        .assert_ok();
        let keyless = with_key(&repo, None, tmp.path(), &["plan", "--env", "dev", label]);
        assert_eq!(keyless.code, 0, "{}\n{}", keyless.stdout, keyless.stderr);
        let said = format!("{}{}", keyless.stdout, keyless.stderr);
        assert!(
            said.contains(&format!("cached          {label} plan [dev]")),
            "{said}"
        );
    }

    // The secret is rotated and committed; the stack is not applied again yet, so its
    // state still holds the old value (the one in use): still recognised.
    repo.write(SECRETS, "db_password = \"rotated-S3CRET-5a9d\"\n");
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.commit("the secret rotated");

    // A chart reading it: no render in git holds it.
    let workspace = std::fs::read_to_string(repo.path().join("WORKSPACE.toml")).unwrap();
    repo.write(
        "WORKSPACE.toml",
        &format!("{workspace}\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n"),
    );
    repo.write(
        "charts/app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    );
    repo.write(
        "charts/app/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  dsn: {{ .Values.dsn | quote }}\n",
    );
    repo.write(
        "charts/app/chart.toml",
        "[inputs]\ndsn = \"stacks/db:dsn\"\n",
    );
    repo.commit("a chart reading it");
    let out = tmp.path().join("gitops");
    let render = with_key(&repo, Some(&key), tmp.path(), &gitops_render_args(&out));
    assert_ne!(render.code, 0, "{}\n{}", render.stdout, render.stderr);
    assert!(
        render.stderr.contains("reads sensitive values (dsn)"),
        "{}",
        render.stderr
    );
    assert!(!render.stdout.contains(PASSWORD) && !render.stderr.contains(PASSWORD));
    if out.exists() {
        assert_eq!(
            files_containing(&out, PASSWORD.as_bytes(), &[]),
            Vec::<PathBuf>::new()
        );
    }

    // The secret moved to the environment's file with a new value, the stack's own file
    // gone: its state still holds the old value, found in the history of the file it left.
    let wide = "environments/dev/secrets.toml";
    repo.write(wide, "db_password = \"moved-S3CRET-77c2\"\n");
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", wide]).assert_ok();
    repo.remove(SECRETS);
    repo.commit("the secret moved to the environment's file");
    let consumer_sees = |what: &str, sensitive: &str| {
        let explain = with_key(
            &repo,
            Some(&key),
            tmp.path(),
            &["hash", "--explain", "--env", "dev", "stacks/consumer"],
        );
        explain.assert_ok();
        assert!(
            explain
                .stdout
                .contains(&format!("including sensitive {sensitive};")),
            "{what}: {}",
            explain.stdout
        );
    };
    consumer_sees("moved", "dsn");
    // In a shallow clone the earlier versions cannot be read: every output of the stack
    // counts as sensitive.
    let head = repo.git(&["rev-parse", "HEAD"]);
    std::fs::write(repo.path().join(".git/shallow"), format!("{head}\n")).unwrap();
    consumer_sees("shallow", "dsn, port");
    std::fs::remove_file(repo.path().join(".git/shallow")).unwrap();
}

/// A version of a secrets file that exists only in a merge commit (written while resolving
/// it) is one of its versions: `secrets encrypt` names the merge among the commits holding
/// the file in clear text, and the same history gives the earlier values whose plaintext
/// readers' outputs are searched for. git lists no diff for a merge without `-m`, so such
/// a version went unseen.
/// A secret that comes back whole from a chain of stacks (`base64decode` of an upstream
/// `base64encode`), or that a chart decodes from a sensitive output, is still the secret:
/// redacted from plans and renders, and a chart reading it is kept out of rendered GitOps
/// output. After a rotation, the old value a plan shows (the state still holds it) is
/// redacted too. Before, only the values passed in were known, not the secrets behind
/// them, nor their earlier versions.
#[test]
fn a_secret_decoded_downstream_or_rotated_stays_out_of_everything_strata_writes() {
    let Setup {
        keys: _keys,
        tmp,
        key,
        repo,
        ..
    } = setup(tools_repo());
    repo.append(
        "WORKSPACE.toml",
        "\n[gitops]\nrepo_url = \"https://git.example.com/t.git\"\n",
    );
    repo.write(
        "stacks/db/main.tf",
        &format!(
            "{NULL_PROVIDER}\nvariable \"db_password\" {{\n  sensitive = true\n}}\n\noutput \"pw\" {{\n  value     = var.db_password\n  sensitive = true\n}}\n\noutput \"conn_b64\" {{\n  value     = base64encode(\"app:${{var.db_password}}\")\n  sensitive = true\n}}\n\noutput \"dsn\" {{\n  value = nonsensitive(\"postgres://app:${{var.db_password}}@db/app\")\n}}\n"
        ),
    );
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.write(
        "stacks/mid/main.tf",
        "variable \"pw\" {}\n\noutput \"pw_b64\" {\n  value = nonsensitive(base64encode(var.pw))\n}\n",
    );
    repo.write("stacks/mid/stack.toml", "[inputs]\npw = \"stacks/db:pw\"\n");
    repo.write(
        "stacks/dec/main.tf",
        "variable \"b\" {}\n\noutput \"pw\" {\n  value = nonsensitive(base64decode(var.b))\n}\n",
    );
    repo.write(
        "stacks/dec/stack.toml",
        "[inputs]\nb = \"stacks/mid:pw_b64\"\n",
    );
    for (chart, input, value) in [
        ("decoded", "stacks/dec:pw", "{{ .Values.pw | quote }}"),
        (
            "b64",
            "stacks/db:conn_b64",
            "{{ .Values.pw | b64dec | quote }}",
        ),
    ] {
        repo.write(
            &format!("charts/{chart}/Chart.yaml"),
            &format!("apiVersion: v2\nname: {chart}\nversion: 0.1.0\n"),
        );
        repo.write(
            &format!("charts/{chart}/chart.toml"),
            &format!("[inputs]\npw = \"{input}\"\n"),
        );
        repo.write(
            &format!("charts/{chart}/templates/cm.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {chart}\ndata:\n  pw: {value}\n"),
        );
    }
    repo.commit("a secret decoded downstream");
    let apply = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &[
            "apply",
            "--env",
            "dev",
            "--auto-approve",
            "stacks/db",
            "stacks/mid",
            "stacks/dec",
        ],
    );
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let check = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["check", "-v", "--env", "dev", "--json"],
    );
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    for chart in ["charts/decoded", "charts/b64"] {
        assert_eq!(
            common::task(&check.json(), chart, "render")["status"],
            "ok",
            "{chart}"
        );
    }
    let out = tmp.path().join("gitops-out");
    let render = with_key(&repo, Some(&key), tmp.path(), &gitops_render_args(&out));
    assert_eq!(render.code, 1, "{}\n{}", render.stdout, render.stderr);
    assert!(
        render
            .stderr
            .contains("charts/decoded reads sensitive values (pw)"),
        "{}",
        render.stderr
    );
    for run in [&apply, &check, &render] {
        assert!(
            !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    assert_eq!(
        files_containing(repo.path(), PASSWORD.as_bytes(), &[".git"]),
        Vec::<PathBuf>::new()
    );
    assert_eq!(
        files_containing(tmp.path(), PASSWORD.as_bytes(), &[]),
        Vec::<PathBuf>::new()
    );

    // A shallow clone (CI's usual checkout) cannot read the secrets' earlier versions:
    // what it can read is still redacted. Before, nothing reaching the chart was.
    repo.commit("one more commit, so the clone lacks history");
    let shallow = tempfile::tempdir().unwrap();
    let clone = shallow.path().join("clone");
    let cloned = Command::new("git")
        .args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", repo.path().display()))
        .arg(&clone)
        .output()
        .unwrap();
    assert!(cloned.status.success(), "{cloned:?}");
    let configured = Command::new("git")
        .arg("-C")
        .arg(&clone)
        .args(["config", "user.email", "ci@example.com"])
        .status()
        .unwrap();
    assert!(configured.success());
    std::os::unix::fs::symlink(common::repo_root().join(".tools"), clone.join(".tools")).unwrap();
    let in_clone = |args: &[&str]| -> Run {
        let mut cmd = repo.command(args);
        cmd.current_dir(&clone)
            .env("STRATA_AGE_KEY_FILE", &key)
            .env("HOME", tmp.path())
            .env("TMPDIR", tmp.path());
        cmd.output().unwrap().into()
    };
    // The clone has no state of its own: dev's lock (committed above) is set aside.
    std::fs::remove_file(clone.join("environments/dev/release.lock.toml")).unwrap();
    let apply = in_clone(&["apply", "--env", "dev", "--auto-approve", "stacks/db"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let check = in_clone(&["check", "-v", "--env", "dev", "charts/b64"]);
    assert!(!check.stdout.contains(PASSWORD), "{}", check.stdout);
    assert_eq!(
        files_containing(&clone, PASSWORD.as_bytes(), &[".git"]),
        Vec::<PathBuf>::new()
    );

    // Rotated: the state still holds the old value, which the plans show as it was.
    repo.write(SECRETS, "db_password = \"a-new-password-9d2\"\n");
    with_key(&repo, None, tmp.path(), &["secrets", "encrypt", SECRETS]).assert_ok();
    repo.commit("rotated");
    let plan = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["plan", "--env", "dev", "stacks/db", "stacks/mid"],
    );
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("dsn"), "{}", plan.stdout);
    let show = with_key(
        &repo,
        Some(&key),
        tmp.path(),
        &["--json", "show", "stacks/db", "--env", "dev"],
    );
    show.assert_ok();
    for run in [&plan, &show] {
        assert!(
            !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    assert_eq!(
        files_containing(repo.path(), PASSWORD.as_bytes(), &[".git"]),
        Vec::<PathBuf>::new()
    );
}

#[test]
fn a_version_made_in_a_merge_commit_is_found() {
    let Setup {
        keys: _keys,
        tmp,
        repo,
        ..
    } = setup(tools_repo());
    db_stack(&repo);
    repo.commit("the db stack");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("stacks/db/side.tf", "# side\n");
    repo.commit("side work");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("stacks/db/main2.tf", "# main\n");
    repo.commit("main work");
    repo.git(&["merge", "-q", "--no-commit", "--no-ff", "side"]);
    repo.write(SECRETS, &format!("db_password = \"{PASSWORD}\"\n"));
    repo.git(&["add", "-A"]);
    repo.git(&[
        "commit",
        "-q",
        "-m",
        "merge side, a secret added in clear text",
    ]);
    let merge = repo.git(&["rev-parse", "HEAD"]);
    let run = with_key(
        &repo,
        None,
        tmp.path(),
        &["--json", "secrets", "encrypt", SECRETS],
    );
    run.assert_ok();
    assert!(
        run.stderr.contains("is in clear text in 1 commit(s)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.json()["plain_in_history"][0].as_str(),
        Some(merge.as_str())
    );
}
