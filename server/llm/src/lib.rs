//! LLM providers over reqwest, prompts, reply parsing and secret redaction.
