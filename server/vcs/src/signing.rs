//! Ed25519 signatures over the audit trail's anchored heads, with OpenSSH keys as
//! `ssh-keygen -t ed25519` writes them (an unencrypted private key; the public key line).
//!
//! A signed head is one a forger cannot make without the private key: a trail rewritten with
//! every hash recomputed and re-anchored does not verify against the team's public key.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self, Ed25519KeyPair, KeyPair as _};

use crate::error::{IoContext, Result, VcsError};

const KEY_TYPE: &str = "ssh-ed25519";

/// The private key the trail's heads are signed with.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.verifying_key().to_openssh())
            .finish()
    }
}

/// The public key signed heads are checked against.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey([u8; 32]);

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_openssh())
    }
}

fn bad(what: &str) -> VcsError {
    VcsError::Corrupt(format!("not an OpenSSH Ed25519 key: {what}"))
}

/// Reads SSH wire-format fields (a u32 big-endian length, then the bytes).
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn u32(&mut self) -> Result<u32> {
        let (head, rest) = self.0.split_at_checked(4).ok_or_else(|| bad("too short"))?;
        self.0 = rest;
        let mut n = [0u8; 4];
        n.copy_from_slice(head);
        Ok(u32::from_be_bytes(n))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        let (head, rest) = self.0.split_at_checked(n).ok_or_else(|| bad("too short"))?;
        self.0 = rest;
        Ok(head)
    }
}

fn public_from_blob(blob: &[u8]) -> Result<[u8; 32]> {
    let mut wire = Wire(blob);
    if wire.bytes()? != KEY_TYPE.as_bytes() {
        return Err(bad("the key type is not ssh-ed25519"));
    }
    wire.bytes()?
        .try_into()
        .map_err(|_| bad("public key length"))
}

impl SigningKey {
    /// Reads an unencrypted OpenSSH Ed25519 private key file.
    pub fn from_openssh_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).at(path)?;
        Self::from_openssh(&text)
    }

    /// Parses an unencrypted OpenSSH Ed25519 private key (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub fn from_openssh(text: &str) -> Result<Self> {
        let body: String = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        let raw = STANDARD.decode(body).map_err(|_| bad("base64"))?;
        let rest = raw
            .strip_prefix(b"openssh-key-v1\0")
            .ok_or_else(|| bad("no openssh-key-v1 header"))?;
        let mut wire = Wire(rest);
        let cipher = wire.bytes()?;
        let _kdf = wire.bytes()?;
        let _kdf_options = wire.bytes()?;
        if cipher != b"none" {
            return Err(VcsError::Corrupt(
                "the audit signing key is encrypted; use a key without a passphrase, kept where \
                 the agent cannot read it"
                    .into(),
            ));
        }
        if wire.u32()? != 1 {
            return Err(bad("more than one key"));
        }
        let public = public_from_blob(wire.bytes()?)?;
        let mut private = Wire(wire.bytes()?);
        if private.u32()? != private.u32()? {
            return Err(bad("check bytes differ"));
        }
        if private.bytes()? != KEY_TYPE.as_bytes() {
            return Err(bad("the key type is not ssh-ed25519"));
        }
        let _public_again = private.bytes()?;
        let secret = private.bytes()?;
        let seed = secret.get(..32).ok_or_else(|| bad("private key length"))?;
        let pair = Ed25519KeyPair::from_seed_and_public_key(seed, &public)
            .map_err(|_| bad("the private and public halves do not match"))?;
        Ok(Self { pair })
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        let mut public = [0u8; 32];
        public.copy_from_slice(self.pair.public_key().as_ref());
        VerifyingKey(public)
    }

    /// The base64 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.pair.sign(message).as_ref())
    }
}

impl VerifyingKey {
    /// Parses a public key line (`ssh-ed25519 AAAA… comment`), or reads it from a file.
    pub fn from_openssh(line_or_path: &str) -> Result<Self> {
        let trimmed = line_or_path.trim();
        let is_line = ["ssh-", "ecdsa-", "sk-"]
            .iter()
            .any(|p| trimmed.starts_with(p));
        let line = if is_line {
            trimmed.to_owned()
        } else {
            let path = Path::new(trimmed);
            std::fs::read_to_string(path).at(path)?
        };
        let mut parts = line.split_whitespace();
        if parts.next() != Some(KEY_TYPE) {
            return Err(bad("the line does not start with ssh-ed25519"));
        }
        let blob = STANDARD
            .decode(parts.next().ok_or_else(|| bad("no key"))?)
            .map_err(|_| bad("base64"))?;
        Ok(Self(public_from_blob(&blob)?))
    }

    /// `ssh-ed25519 AAAA…`.
    pub fn to_openssh(&self) -> String {
        let mut blob = Vec::with_capacity(51);
        for field in [KEY_TYPE.as_bytes(), &self.0[..]] {
            blob.extend_from_slice(&(field.len() as u32).to_be_bytes());
            blob.extend_from_slice(field);
        }
        format!("{KEY_TYPE} {}", STANDARD.encode(blob))
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Ok(sig) = STANDARD.decode(signature) else {
            return false;
        };
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, &sig)
            .is_ok()
    }
}
