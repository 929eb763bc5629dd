//! `[audit]`: the team's public key that signed audit heads are checked against.

use autogate_policy::Policy;

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv0Nq0y7Gb6bJVfQzIeIkxCFN4PDvXnqW0d0Q2c5Eb8 audit";

#[test]
fn audit_public_key_defaults_parses_and_refuses_what_is_not_an_ed25519_line() {
    assert_eq!(Policy::default().audit().public_key, None);
    let policy = Policy::from_toml(
        &format!("[audit]\npublic_key = \"{KEY}\"\n"),
        ".autogate.toml",
    )
    .expect("valid");
    assert_eq!(policy.audit().public_key.as_deref(), Some(KEY));
    for bad in [
        "[audit]\npublic_key = \"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ x\"\n",
        "[audit]\npublic_key = \"not a key\"\n",
    ] {
        let errors = Policy::from_toml(bad, ".autogate.toml").expect_err(bad);
        assert_eq!((errors[0].line, errors[0].col), (2, 14), "{}", errors[0]);
        assert!(errors[0].message.contains("Ed25519"), "{}", errors[0]);
    }
    let errors =
        Policy::from_toml("[audit]\nsigning = \"x\"\n", ".autogate.toml").expect_err("unknown key");
    assert_eq!(errors[0].line, 2, "{}", errors[0]);
}
