//! `[checkpoints]`: defaults, values, and errors with their position.

use autogate_policy::Policy;

#[test]
fn checkpoint_settings_default_parse_and_refuse_bad_values() {
    let defaults = Policy::default();
    assert_eq!(
        (
            defaults.checkpoints().keep,
            defaults.checkpoints().max_age_days
        ),
        (200, 30)
    );
    let policy = Policy::from_toml(
        "[checkpoints]\nkeep = 5\nmax_age_days = 7\n",
        ".autogate.toml",
    )
    .expect("valid");
    assert_eq!(
        (policy.checkpoints().keep, policy.checkpoints().max_age_days),
        (5, 7)
    );
    let errors =
        Policy::from_toml("[checkpoints]\nkeep = 0\n", ".autogate.toml").expect_err("keep = 0");
    assert_eq!((errors[0].line, errors[0].col), (2, 8), "{}", errors[0]);
    assert!(errors[0].message.contains("between 1 and"), "{}", errors[0]);
    let errors =
        Policy::from_toml("[checkpoints]\nkeeps = 3\n", ".autogate.toml").expect_err("unknown key");
    assert_eq!(errors[0].line, 2, "{}", errors[0]);
}
