//! `[doors]`: how the doors agents reach the gate through behave (`shell = "gate" | "record"`,
//! `ask = "desk" | "agent"`).

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use crate::error::{PolicyError, Source};

/// What happens to files a shell tool call changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShellDoor {
    /// Gated as an unattributed proposal: what would not apply on its own is rolled back.
    #[default]
    Gate,
    /// Recorded in the audit trail, never rolled back.
    Record,
}

/// Where a hook's `ask` goes when no editor session answers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AskDoor {
    /// Refused, held for `autogate approve ID` from a terminal.
    #[default]
    Desk,
    /// Handed to the agent's own permission prompt, where it has one that a person answers
    /// (Claude Code in its default permission mode); elsewhere as `desk`.
    Agent,
}

/// `[doors]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DoorSettings {
    pub shell: ShellDoor,
    pub ask: AskDoor,
}

/// `[doors]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoors {
    shell: Option<Spanned<String>>,
    ask: Option<Spanned<String>>,
}

impl RawDoors {
    pub(crate) fn validate(
        &self,
        source: &Source<'_>,
        errors: &mut Vec<PolicyError>,
    ) -> DoorSettings {
        let shell = match self.shell.as_ref() {
            None => ShellDoor::Gate,
            Some(value) => match value.get_ref().as_str() {
                "gate" => ShellDoor::Gate,
                "record" => ShellDoor::Record,
                other => {
                    errors.push(source.error(
                        &value.span(),
                        format!("`shell` must be \"gate\" or \"record\", not \"{other}\""),
                        "`gate` rolls back what the policy would not apply on its own; `record` only records it",
                    ));
                    ShellDoor::Gate
                }
            },
        };
        let ask = match self.ask.as_ref() {
            None => AskDoor::Desk,
            Some(value) => match value.get_ref().as_str() {
                "desk" => AskDoor::Desk,
                "agent" => AskDoor::Agent,
                other => {
                    errors.push(source.error(
                        &value.span(),
                        format!("`ask` must be \"desk\" or \"agent\", not \"{other}\""),
                        "`desk` holds an ask for the editor or `autogate approve`; `agent` hands it to the agent's own permission prompt (Claude Code)",
                    ));
                    AskDoor::Desk
                }
            },
        };
        DoorSettings { shell, ask }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    #[test]
    fn ask_is_read_and_a_wrong_value_is_an_error_at_its_place() {
        let policy = Policy::from_toml("[doors]\nask = \"agent\"\n", ".autogate.toml").unwrap();
        assert_eq!(policy.doors().ask, AskDoor::Agent);
        assert_eq!(
            Policy::from_toml("", ".autogate.toml").unwrap().doors().ask,
            AskDoor::Desk
        );
        let errors = Policy::from_toml("[doors]\nask = \"model\"\n", ".autogate.toml").unwrap_err();
        let text = errors[0].to_string();
        assert!(
            text.contains("`ask` must be \"desk\" or \"agent\", not \"model\"")
                && text.contains(":2:"),
            "{text}"
        );
    }
}
