//! The error table: every kind of mistake in `.autogate.toml`, with its exact position.
//!
//! Each case is a policy text and the exact errors, `file:line:col: message (hint: ...)`.

use autogate_policy::Policy;

/// Parses `text` and returns the errors as display lines (none if it parses).
fn errors(text: &str) -> Vec<String> {
    match Policy::from_toml(text, ".autogate.toml") {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn check(text: &str, expected: &[&str]) {
    assert_eq!(errors(text), expected, "policy text:\n{text}");
}

#[test]
fn syntax_error() {
    check(
        "mode = \"auto\"\n[rules\n",
        &[
            ".autogate.toml:2:7: unclosed table, expected `]` (hint: check the TOML syntax here: quotes, brackets, commas and `key = value`)",
        ],
    );
}

#[test]
fn unknown_top_level_key() {
    check(
        "mode = \"auto\"\nmdoe = \"ask\"\n",
        &[".autogate.toml:2:1: unknown key `mdoe` (hint: did you mean `mode`?)"],
    );
}

#[test]
fn unknown_top_level_table() {
    check(
        "[verfy]\ncommands = []\n",
        &[".autogate.toml:1:2: unknown key `verfy` (hint: did you mean `verify`?)"],
    );
}

#[test]
fn unknown_key_in_rule() {
    check(
        "[[rules]]\npaths = [\"docs/**\"]\ndecision = \"auto\"\npath = [\"x\"]\n",
        &[".autogate.toml:4:1: unknown key `path` (hint: did you mean `paths`?)"],
    );
}

#[test]
fn unknown_key_in_environment() {
    check(
        "[environments.production]\nauto = \"low\"\n",
        &[
            ".autogate.toml:2:1: unknown key `auto` (hint: known keys here: branches, auto_up_to, deny_from)",
        ],
    );
}

#[test]
fn wrong_type_list() {
    check(
        "[[rules]]\npaths = \"docs/**\"\ndecision = \"auto\"\n",
        &[
            ".autogate.toml:2:9: wrong type: found string, expected a list (hint: write a list, e.g. [\"docs/**\"])",
        ],
    );
}

#[test]
fn wrong_type_string() {
    check(
        "mode = 3\n",
        &[
            ".autogate.toml:1:8: wrong type: found integer, expected a string (hint: write a quoted string)",
        ],
    );
}

#[test]
fn wrong_type_integer() {
    check(
        "[llm]\nprovider = \"openai\"\ntimeout_secs = \"sk-abc\"\n",
        &[
            ".autogate.toml:3:16: wrong type: found string, expected an integer (hint: write a whole number without quotes, e.g. 120)",
        ],
    );
}

#[test]
fn bad_level() {
    check(
        "[environments.production]\nauto_up_to = \"hihg\"\n",
        &[
            ".autogate.toml:2:14: `auto_up_to`: unknown level `hihg`: expected one of low, medium, high, critical (hint: did you mean `high`?)",
        ],
    );
}

#[test]
fn bad_min_level() {
    check(
        "[[rules]]\npaths = [\"src/**\"]\nmin_level = \"severe\"\n",
        &[
            ".autogate.toml:3:13: `min_level`: unknown level `severe`: expected one of low, medium, high, critical (hint: levels rise from `low` to `critical`)",
        ],
    );
}

#[test]
fn bad_mode() {
    check(
        "mode = \"yolo\"\n",
        &[
            ".autogate.toml:1:8: unknown mode `yolo`: expected shadow, auto, ask or plan (hint: `auto`: the policy decides; `ask`: every change asks; `plan`: nothing is applied; `shadow`: everything but critical applies, and the audit trail says what auto would have done)",
        ],
    );
}

#[test]
fn bad_decision() {
    check(
        "[[rules]]\npaths = [\"docs/**\"]\ndecision = \"allow\"\n",
        &[
            ".autogate.toml:3:12: unknown decision `allow`: expected auto, ask or deny (hint: `auto` applies, `ask` waits for a person, `deny` refuses)",
        ],
    );
}

#[test]
fn bad_path_glob() {
    check(
        "[[rules]]\npaths = [\"src/[auth/**\"]\ndecision = \"ask\"\n",
        &[
            ".autogate.toml:2:10: bad path glob `src/[auth/**`: unclosed character class; missing ']' (hint: paths are relative to the workspace root, e.g. `src/auth/**` or `*.md`)",
        ],
    );
}

#[test]
fn bad_symbol_glob() {
    check(
        "[[rules]]\nsymbols = [\"{verify\"]\ndecision = \"ask\"\n",
        &[
            ".autogate.toml:2:12: bad symbol glob `{verify`: unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?) (hint: symbol globs match names, e.g. `verify_*` or `*Token*`)",
        ],
    );
}

#[test]
fn bad_branch_glob() {
    check(
        "[environments.staging]\nbranches = [\"stag[\"]\n",
        &[
            ".autogate.toml:2:13: bad branch glob `stag[`: unclosed character class; missing ']' (hint: globs use `*`, `?`, `[abc]` and `{a,b}`, e.g. `release/*`)",
        ],
    );
}

#[test]
fn unknown_environment_in_rule() {
    check(
        "[[rules]]\npaths = [\"db/**\"]\nenvironments = [\"prod\"]\ndecision = \"deny\"\n",
        &[
            ".autogate.toml:3:17: unknown environment `prod` (hint: expected one of: development, production)",
        ],
    );
}

#[test]
fn deny_from_not_above_auto_up_to() {
    check(
        "[environments.development]\nauto_up_to = \"high\"\ndeny_from = \"medium\"\n",
        &[
            ".autogate.toml:3:13: in `environments.development`, deny_from (medium) must be above auto_up_to (high) (hint: levels between the two ask; lower `auto_up_to` or raise `deny_from`)",
        ],
    );
}

#[test]
fn deny_from_equal_to_inherited_auto_up_to() {
    check(
        "[environments.production]\ndeny_from = \"low\"\n",
        &[
            ".autogate.toml:2:13: in `environments.production`, deny_from (low) must be above auto_up_to (low) (hint: levels between the two ask; lower `auto_up_to` or raise `deny_from`)",
        ],
    );
}

#[test]
fn rule_without_criteria() {
    check(
        "mode = \"ask\"\n\n[[rules]]\ndecision = \"ask\"\n",
        &[
            ".autogate.toml:3:1: rules[0] has no match criteria (hint: add at least one of `paths`, `languages`, `domains`, `kinds` or `symbols`)",
        ],
    );
}

#[test]
fn rule_without_effect() {
    check(
        "[[rules]]\npaths = [\"src/**\"]\nreason = \"x\"\n",
        &[
            ".autogate.toml:1:1: rules[0] has no effect (hint: add `min_level = \"high\"` and/or `decision = \"ask\"`)",
        ],
    );
}

#[test]
fn empty_criterion() {
    check(
        "[[rules]]\npaths = []\ndecision = \"ask\"\n",
        &[
            ".autogate.toml:2:9: `paths` is empty and would match nothing (hint: remove `paths` or list at least one entry)",
        ],
    );
}

#[test]
fn bad_domain() {
    check(
        "[[rules]]\ndomains = [\"authz\"]\nmin_level = \"high\"\n",
        &[".autogate.toml:2:12: unknown domain `authz` (hint: did you mean `auth`?)"],
    );
}

#[test]
fn bad_kind() {
    check(
        "[[rules]]\nkinds = [\"comment\"]\ndecision = \"auto\"\n",
        &[
            ".autogate.toml:2:10: unknown change kind `comment` (hint: expected one of: format_only, comment_only, rename, body_only, signature_change, visibility_change, symbol_added, symbol_removed, file_created, file_deleted, file_renamed, other)",
        ],
    );
}

#[test]
fn bad_language() {
    check(
        "[[rules]]\nlanguages = [\"rust\", \"cobolx\"]\nmin_level = \"high\"\n",
        &[
            ".autogate.toml:2:22: unknown language `cobolx` (hint: expected one of: c, cpp, csharp, css, dockerfile, go, html, java, javascript, javascriptreact, json, kotlin, ...)",
        ],
    );
}

#[test]
fn zero_timeout() {
    check(
        "[verify]\ncommands = [{ run = \"cargo check\", timeout_secs = 0 }]\n",
        &[
            ".autogate.toml:2:51: `timeout_secs` must be between 1 and 86400 seconds, not 0 (hint: a time limit is required: set a positive number of seconds, e.g. 120)",
        ],
    );
}

#[test]
fn negative_timeout() {
    check(
        "[verify]\ntimeout_secs = -5\n",
        &[
            ".autogate.toml:2:16: `timeout_secs` must be between 1 and 86400 seconds, not -5 (hint: a time limit is required: set a positive number of seconds, e.g. 120)",
        ],
    );
}

#[test]
fn empty_command() {
    check(
        "[verify]\ncommands = [{ run = \" \" }]\n",
        &[".autogate.toml:2:21: `run` is empty (hint: write the command line, e.g. `cargo check`)"],
    );
}

#[test]
fn missing_run() {
    check(
        "[verify]\ncommands = [{ timeout_secs = 5 }]\n",
        &[".autogate.toml:2:13: missing field `run` (hint: add `run = ...` to this table)"],
    );
}

#[test]
fn api_key_literal() {
    check(
        "[llm]\nprovider = \"openai\"\napi_key_env = \"sk-proj-abcdef0123456789\"\n",
        &[
            ".autogate.toml:3:15: `api_key_env` holds what looks like an API key, not the name of an environment variable (hint: never put keys in the policy file: remove it (and rotate the key), export it as e.g. OPENAI_API_KEY and write `api_key_env = \"OPENAI_API_KEY\"`)",
        ],
    );
}

#[test]
fn api_key_field() {
    check(
        "[llm]\nprovider = \"openai\"\napi_key = \"sk-proj-abcdef0123456789\"\n",
        &[
            ".autogate.toml:3:1: unknown key `api_key` (hint: API keys are never read from the policy file: set `api_key_env` to the name of the environment variable that holds the key)",
        ],
    );
}

#[test]
fn api_key_env_not_a_name() {
    check(
        "[llm]\nprovider = \"openai\"\napi_key_env = \"MY KEY\"\n",
        &[
            ".autogate.toml:3:15: `api_key_env` must be the name of an environment variable (hint: letters, digits and `_`, not starting with a digit, e.g. `OPENAI_API_KEY`)",
        ],
    );
}

#[test]
fn bad_provider() {
    check(
        "[llm]\nprovider = \"gemini\"\n",
        &[
            ".autogate.toml:2:12: unknown provider `gemini` (hint: expected one of: openai, anthropic)",
        ],
    );
}

#[test]
fn bad_base_url() {
    check(
        "[llm]\nprovider = \"anthropic\"\nbase_url = \"api.anthropic.com\"\n",
        &[
            ".autogate.toml:3:12: `base_url` must be an http:// or https:// URL (hint: e.g. `https://api.openai.com/v1`, or a local server `http://127.0.0.1:8080/v1`)",
        ],
    );
}

#[test]
fn unprotect_policy_file() {
    check(
        "unprotect = [\".autogate.toml\", \"Cargo.tmol\"]\n",
        &[
            ".autogate.toml:1:14: `.autogate.toml` always stays protected (hint: remove it from `unprotect`)",
            ".autogate.toml:1:32: `Cargo.tmol` is not a default protected pattern (hint: did you mean `Cargo.toml`?)",
        ],
    );
}

#[test]
fn bad_commit_branch() {
    check(
        "[commit]\nbranch = \"sid\"\n",
        &[".autogate.toml:2:10: unknown commit branch `sid` (hint: did you mean `side`?)"],
    );
}

#[test]
fn duplicate_key() {
    check(
        "mode = \"ask\"\nmode = \"plan\"\n",
        &[".autogate.toml:2:1: duplicate key `mode` (hint: each key may appear once per table)"],
    );
}

#[test]
fn several_mistakes_at_once() {
    check(
        "mode = \"fast\"\n\n[[rules]]\npaths = [\"docs/**\"]\nkinds = [\"comment_onyl\"]\ndecision = \"auto\"\n\n[[rules]]\npaths = [\"src/auth/**\"]\n",
        &[
            ".autogate.toml:1:8: unknown mode `fast`: expected shadow, auto, ask or plan (hint: `auto`: the policy decides; `ask`: every change asks; `plan`: nothing is applied; `shadow`: everything but critical applies, and the audit trail says what auto would have done)",
            ".autogate.toml:5:10: unknown change kind `comment_onyl` (hint: did you mean `comment_only`?)",
            ".autogate.toml:8:1: rules[1] has no effect (hint: add `min_level = \"high\"` and/or `decision = \"ask\"`)",
        ],
    );
}

#[test]
fn a_key_in_the_file_is_never_repeated_in_an_error() {
    let key = "sk-proj-abcdef0123456789";
    for text in [
        format!("[llm]\nprovider = \"openai\"\napi_key_env = \"{key}\"\n"),
        format!("[llm]\nprovider = \"openai\"\napi_key = \"{key}\"\n"),
        format!("[llm]\nprovider = \"openai\"\ntimeout_secs = \"{key}\"\n"),
        format!("[commit]\nenabled = \"{key}\"\n"),
    ] {
        let errors = errors(&text);
        assert!(!errors.is_empty(), "{text}");
        assert!(errors.iter().all(|e| !e.contains(key)), "{errors:?}");
    }
}

#[test]
fn an_empty_file_is_the_default_policy() {
    assert_eq!(errors(""), Vec::<String>::new());
    assert_eq!(errors("# only a comment\n"), Vec::<String>::new());
}

#[test]
fn bad_environment_name() {
    check(
        "[environments.\"Prod EU\"]\nauto_up_to = \"low\"\n",
        &[
            ".autogate.toml:1:15: environment name `Prod EU` is not a plain name (hint: use lowercase letters, digits, `-` and `_`, e.g. `staging`)",
        ],
    );
}

#[test]
fn auto_up_to_not_below_inherited_deny_from() {
    check(
        "[environments.staging]\nauto_up_to = \"critical\"\n",
        &[
            ".autogate.toml:2:14: in `environments.staging`, deny_from (critical) must be above auto_up_to (critical) (hint: levels between the two ask; lower `auto_up_to` or raise `deny_from`)",
        ],
    );
}

#[test]
fn approvals_settings() {
    check(
        "[approvals]\nenabled = true\nproduction = true\nmax_level = \"medium\"\ndays = 7\n",
        &[],
    );
    let policy =
        Policy::from_toml("[approvals]\nmax_level = \"medium\"\ndays = 7\n", "p").expect("valid");
    assert_eq!(policy.approvals().days, 7);
    assert!(!policy.approvals().production);
    check(
        "[approvals]\nmax_level = \"critical\"\ndays = 0\nforever = true\n",
        &[
            ".autogate.toml:4:1: unknown key `forever` (hint: known keys here: enabled, production, max_level, days)",
        ],
    );
    check(
        "[approvals]\nmax_level = \"critical\"\ndays = 0\n",
        &[
            ".autogate.toml:2:13: `max_level` cannot be critical: critical changes are always denied (hint: write `low`, `medium` or `high`)",
            ".autogate.toml:3:8: `days` must be between 1 and 365, not 0 (hint: how long a standing approval lasts, e.g. 30)",
        ],
    );
}
