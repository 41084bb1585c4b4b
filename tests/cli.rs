//! The command line: `check` on good and bad configs, `--version`, `--help`, and every config
//! shipped in `conf/` passing `check`.

use std::process::Command;

use switchyard_tests::*;

#[allow(clippy::unwrap_used)] // a helper of the tests, failing them like their own asserts
fn switchyard(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("switchyard"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shipped_config_passes_check() {
    let mut checked = 0;
    let mut dirs = vec![repo_root().join("conf")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let (code, out, err) = switchyard(&["check", "--config", path.to_str().unwrap()]);
                assert_eq!(code, 0, "{}: {err}", path.display());
                assert!(out.contains("OK"), "{out}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 1);
}

#[test]
fn check_names_file_line_and_field() {
    let dir = TempDir::new();
    let path = dir.0.join("bad.yaml");
    std::fs::write(&path, "server:\n  listen: 127.0.0.1:8787\nproviders:\n  local:\n    kind: openai\n    api_key: ${SWITCHYARD_TEST_UNSET_VAR}\n    colour: blue\n").unwrap();
    let (code, out, err) = switchyard(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    let file = path.display().to_string();
    assert!(
        err.contains(&format!(
            "{file}:7:5: `providers.local.colour`: unknown field `colour`"
        )),
        "{err}"
    );

    std::fs::write(&path, "providers:\n  local:\n    kind: openai\n    api_key: ${SWITCHYARD_TEST_UNSET_VAR}\nroutes:\n  r:\n    targets: [ { provider: ghost } ]\n").unwrap();
    let (code, _, err) = switchyard(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{file}:4:14: `providers.local.api_key`: environment variable `SWITCHYARD_TEST_UNSET_VAR` is not set")), "{err}");
    assert!(
        err.contains(&format!(
            "{file}:7:28: `routes.r.targets[0].provider`: no provider named `ghost`"
        )),
        "{err}"
    );

    let (code, _, err) = switchyard(&["check", "--config", "/nonexistent/switchyard.yaml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent/switchyard.yaml") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn a_bad_config_stops_run_with_the_same_message() {
    let dir = TempDir::new();
    let path = dir.0.join("bad.yaml");
    std::fs::write(&path, "server:\n  threads: 0\n").unwrap();
    let (code, _, err) = switchyard(&["run", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains(":2:12: `server.threads`: must be between 1 and 1024"),
        "{err}"
    );
}

#[test]
fn version_and_help() {
    let (code, out, _) = switchyard(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("switchyard "), "{out}");
    let (code, out, _) = switchyard(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("run") && out.contains("check"), "{out}");
    let (code, out, _) = switchyard(&["run", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--config") && out.contains("--log-level"),
        "{out}"
    );
    let (code, _, err) = switchyard(&["run", "--log-level", "loud"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn check_lists_every_problem_in_plain_words() {
    let dir = TempDir::new();
    let path = dir.0.join("bad.yaml");
    // Parse problems (a wrong type, an unknown field, a duplicate key) …
    std::fs::write(
        &path,
        "server:\n  threads: x\n  nope: 1\nlog:\n  level: info\n  level: warn\n",
    )
    .unwrap();
    let (code, _, err) = switchyard(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    for want in [
        "`server.threads`: expected a whole number",
        "`server.nope`: unknown field `nope`",
        "`log`: `level` is given twice",
    ] {
        assert!(err.contains(want), "{want} not in:\n{err}");
    }
    for rust in ["DuplicateKeyPolicy", "u32", "Options"] {
        assert!(!err.contains(rust), "{rust} in:\n{err}");
    }
    // … and a provider header no request could carry, each naming its provider.
    for (value, what) in [
        ("\"caf\\u00e9\"", "non-ASCII"),
        ("\"a\\rb\"", "CR"),
        ("\"a\\nb\"", "LF"),
        ("\"a\\0b\"", "NUL"),
    ] {
        std::fs::write(
            &path,
            format!("providers:\n  acme: {{ kind: openai, base_url: \"http://127.0.0.1:9/v1\", api_key: sk-x, headers: {{ x-org: {value} }} }}\n"),
        )
        .unwrap();
        let (code, _, err) = switchyard(&["check", "--config", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{what}: {err}");
        assert!(
            err.contains("provider `acme`") && err.contains("header `x-org`"),
            "{what}: {err}"
        );
    }
}

#[tokio::test]
async fn keys_new_mints_a_key_and_the_config_lines_that_admit_it() {
    let (code, out, err) = switchyard(&["keys", "new", "--name", "team-a"]);
    assert_eq!(code, 0, "{err}");
    let key = out
        .lines()
        .find(|l| l.starts_with("sy-"))
        .unwrap_or_else(|| panic!("no key in {out}"))
        .to_owned();
    assert_eq!(key.len(), 3 + 64, "{key}");
    let lines = out
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("- name:"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        lines.contains("name: \"team-a\"") && lines.contains("key_sha256: "),
        "{out}"
    );
    // The config lines hold the digest only.
    assert!(!lines.contains(&key[3..]), "{lines}");
    // Every run mints another key.
    let (_, again, _) = switchyard(&["keys", "new", "--name", "team-a"]);
    assert!(!again.contains(&key));
    let (code, _, err) = switchyard(&["keys", "new", "--name", " "]);
    assert_eq!(code, 2, "{err}");

    // Pasted as printed, the lines admit the key and nothing else.
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}auth:\n  keys:\n{lines}\n",
        single_provider(&mock)
    ))
    .await;
    let send = |key: String| {
        let url = gw.url("/v1/chat/completions");
        async move {
            http()
                .post(url)
                .bearer_auth(key)
                .json(&chat("fast", "hi"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(send(key.clone()).await, 200);
    assert_eq!(send(format!("{key}x")).await, 401);
    assert_eq!(send(key[..key.len() - 1].to_owned()).await, 401);
    assert_eq!(mock.requests().await.len(), 1);
}
