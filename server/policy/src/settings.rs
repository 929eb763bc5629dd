//! Settings the policy file carries for the shell: `[verify]`, `[llm]` and `[commit]`.

use std::fmt;

use serde::Serialize;

/// Default time limit of a verification command, in seconds.
pub const DEFAULT_VERIFY_TIMEOUT_SECS: u64 = 300;
/// Default time limit of an LLM request, in seconds.
pub const DEFAULT_LLM_TIMEOUT_SECS: u64 = 120;

/// `[verify]`: commands run after each applied batch; a failure rolls the batch back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifySettings {
    pub commands: Vec<VerifyCommand>,
    /// The time limit of commands that do not set their own.
    pub timeout_secs: u64,
}

impl Default for VerifySettings {
    fn default() -> Self {
        Self {
            commands: Vec::new(),
            timeout_secs: DEFAULT_VERIFY_TIMEOUT_SECS,
        }
    }
}

/// One verification command. `run` is a command line for the shell to split and run in the
/// workspace root; `timeout_secs` is resolved (the command's own, or `[verify]`'s).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyCommand {
    pub run: String,
    pub timeout_secs: u64,
}

/// Which wire format the LLM provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    OpenAi,
    Anthropic,
}

impl LlmProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            LlmProvider::OpenAi => "openai",
            LlmProvider::Anthropic => "anthropic",
        }
    }

    pub fn default_base_url(self) -> &'static str {
        match self {
            LlmProvider::OpenAi => "https://api.openai.com/v1",
            LlmProvider::Anthropic => "https://api.anthropic.com",
        }
    }

    pub fn default_api_key_env(self) -> &'static str {
        match self {
            LlmProvider::OpenAi => "OPENAI_API_KEY",
            LlmProvider::Anthropic => "ANTHROPIC_API_KEY",
        }
    }
}

impl fmt::Display for LlmProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[llm]`. The key itself is never here: `api_key_env` names the variable that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LlmSettings {
    pub provider: LlmProvider,
    /// The provider's default when the file does not set it.
    pub base_url: String,
    /// `None`: the shell picks (or asks).
    pub model: Option<String>,
    /// The name of an environment variable, e.g. `OPENAI_API_KEY`.
    pub api_key_env: String,
    pub timeout_secs: u64,
}

/// Where commits of applied batches go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitBranch {
    /// On the checked-out branch.
    #[default]
    Current,
    /// On a side branch, leaving the checked-out one alone.
    Side,
}

impl CommitBranch {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitBranch::Current => "current",
            CommitBranch::Side => "side",
        }
    }
}

/// `[commit]`. Off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CommitSettings {
    pub enabled: bool,
    pub branch: CommitBranch,
    /// Add a `Signed-off-by` trailer.
    pub sign_off: bool,
}

/// `[audit]`: how `autogate log --verify` checks the trail's anchored heads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditSettings {
    /// The team's Ed25519 public key (`ssh-ed25519 AAAA…`): when set, every anchored head must
    /// be signed by it.
    pub public_key: Option<String>,
}

/// `[checkpoints]`: how many checkpoints to keep, and for how long. Older ones are pruned after
/// each new checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointSettings {
    /// Keep at most this many checkpoints (the newest).
    pub keep: usize,
    /// Drop checkpoints older than this many days.
    pub max_age_days: u64,
}

impl Default for CheckpointSettings {
    fn default() -> Self {
        Self {
            keep: 200,
            max_age_days: 30,
        }
    }
}

/// `[approvals]`: standing approvals ("Approve always for <scope>"), made per clone by a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalSettings {
    /// Whether prompts offer standing approvals, and whether the gate honours them.
    pub enabled: bool,
    /// Whether they may be made and honoured in the `production` environment.
    pub production: bool,
    /// The highest level a standing approval may cover (never `critical`).
    pub max_level: autogate_analysis::Level,
    /// How long a standing approval lasts, in days.
    pub days: u64,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            production: false,
            max_level: autogate_analysis::Level::High,
            days: 30,
        }
    }
}
