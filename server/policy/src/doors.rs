//! `[doors]`: how the doors agents reach the gate through behave (`shell = "gate" | "record"`).

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

/// `[doors]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DoorSettings {
    pub shell: ShellDoor,
}

/// `[doors]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDoors {
    shell: Option<Spanned<String>>,
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
        DoorSettings { shell }
    }
}
