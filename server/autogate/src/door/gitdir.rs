//! The git folder around a shell command: what in it runs code or steers git (`config`,
//! `config.worktree`, the `hooks` folder and everything in it, `info/attributes` and
//! `info/exclude`), kept before the command and put back after it, every read and write
//! confined ([`autogate_vcs::confined::Root`]).
//!
//! A workspace [`Root`] refuses `.git` outright; here a second [`Root`] is opened on the
//! (common) git folder itself, so that paths are relative to it and no symlink below it is
//! followed. The snapshot keeps what each thing *is*, not only what it holds:
//!
//! - which folder the git folder is: its canonical path and the device and inode of the
//!   folder opened there, for the common git folder and for a linked worktree's own
//!   (`<common>/worktrees/<name>`). A command can move `.git` away and put another repository
//!   in its place (a copy, a fresh `git init` whose index matches what it changed, a gitfile
//!   or a link to a folder of its own): after it, a git folder that is not the one kept is
//!   not touched at all, and [`Restored::replaced`] says why (the caller stops the agent);
//! - `config`, and `config.worktree` of each git folder (git reads it once
//!   `extensions.worktreeConfig` is set, itself not a commanding setting): a file (content and
//!   mode), a symlink or something else;
//! - the `hooks` and `info` folders: real folders or symlinks (with the target written in the
//!   link, the folder it led to, and that folder's device and inode), and each entry a file
//!   (content and mode), a symlink (its target), a folder or something else. A folder inside
//!   `hooks/` (a hook manager's `pre-commit.d/`, which the hook sources) is kept with
//!   everything in it, down to [`MAX_DEPTH`] folders and [`MAX_ENTRIES`] entries in all;
//!   deeper or beyond, and every folder inside `info/`, it is kept as [`Entry::Other`]: not
//!   looked into, so a change inside it is not seen.
//!
//! After the command:
//!
//! - a folder that changed kind, or a link that now leads elsewhere, is taken away (a link is
//!   unlinked, never followed; a folder put in its place is removed whole without following a
//!   link in it) and made again as it was: the same link when it still leads to the same
//!   folder, else a real folder holding the snapshot's entries. The folder a kept link leads
//!   to is checked on the handle opened on it (its device and inode), so a folder swapped in at
//!   the same path, before or while it is opened, is never compared or written: it counts as
//!   a link that leads elsewhere;
//! - a folder that is what it was is compared entry by entry, through the git folder's
//!   [`Root`] for a real folder, or through a [`Root`] opened on the folder a kept link leads
//!   to (a user's symlinked hooks folder keeps working, and is restored where it is);
//! - an entry that changed is removed (a link itself, never what it leads to) and made again:
//!   a file with its content and mode (executable bits included), a symlink with its target,
//!   a folder with its files, modes and links. A folder that is still a folder is put back
//!   inside, entry by entry, the same way (so what cannot be made again, a FIFO or a folder
//!   too deep to keep, is left where it is unless it changed kind); one that gained an entry
//!   no confined path can name (a name that is not UTF-8) is removed and made again whole. An
//!   [`Entry::Other`] is never made again, only taken away if it became something else;
//! - `config` and `config.worktree` are put back (from the snapshot's bytes) only when a
//!   setting that runs a command or redirects git changed (`COMMANDING`), or when one is no
//!   longer the same kind of thing (a file replaced by a symlink is unlinked and the file
//!   written again); a `config.worktree` made where there was none is removed. One that was a
//!   symlink and still is the same one is not followed.
//!
//! Nothing is ever written through a symlink: writes are confined, and a link found where a
//! folder or a file should be is removed first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use autogate_vcs::confined::{Kind, Root};
use serde::{Deserialize, Serialize};

/// How many folders deep `hooks/` is looked into: `hooks/a/b/c/d` is kept with its entries, a
/// folder in it is kept as [`Entry::Other`] (not looked into, so a change inside is not seen).
pub const MAX_DEPTH: usize = 4;

/// How many entries the folders inside `hooks/` may hold in all (the entries of `hooks/`
/// itself not counted), so that a folder of thousands of files neither fills the snapshot nor
/// slows every command: a folder that would go beyond is kept as [`Entry::Other`] (not looked
/// into, so a change inside is not seen).
pub const MAX_ENTRIES: usize = 2_000;

/// One entry of the git folder, as the snapshot keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A regular file: its bytes and permission bits.
    File { content: Vec<u8>, mode: u32 },
    /// A symbolic link: the target written in it (bytes of the path).
    Link { target: Vec<u8> },
    /// A folder inside `hooks/`: its entries by name, and how many entries it holds that no
    /// confined path can name (not UTF-8, a backslash, `.git`), which are not kept.
    Folder {
        entries: BTreeMap<String, Entry>,
        #[serde(default)]
        unnamed: usize,
    },
    /// Anything else: not looked into, never made again. A folder outside `hooks/`, one
    /// deeper than [`MAX_DEPTH`] or beyond [`MAX_ENTRIES`], and every folder in a snapshot of
    /// an older autogate, is kept so.
    Other,
}

/// A folder of the git folder (`hooks`, `info`), as the snapshot keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Folder {
    /// A real folder.
    Real,
    /// A symbolic link: the target written in it, the folder it led to (canonical; `None`
    /// when it led nowhere), and that folder's device and inode (`None`: not known, in a
    /// snapshot of an older autogate or outside unix).
    Link {
        target: Vec<u8>,
        resolved: Option<Vec<u8>>,
        #[serde(default)]
        id: Option<(u64, u64)>,
    },
    /// Not a folder (a file, a FIFO): nothing in it is looked at.
    Other,
}

/// A folder and its entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderState {
    /// What the folder is (`None`: absent).
    pub kind: Option<Folder>,
    /// Its entries by name (those of the folder a link leads to, for a link).
    pub entries: BTreeMap<String, Entry>,
}

/// Which folder a git folder is, and its `config.worktree`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitFolder {
    /// Its canonical path (bytes).
    pub path: Vec<u8>,
    /// The device and inode of the folder opened there (`None` outside unix).
    pub id: Option<(u64, u64)>,
    /// `config.worktree` (`None`: absent).
    pub config_worktree: Option<Entry>,
}

/// What the git folder held before a shell command, of what runs code or steers git.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    /// `config` (`None`: absent).
    pub config: Option<Entry>,
    /// `hooks/`, every entry of it watched.
    pub hooks: FolderState,
    /// `info/`: every entry kept (to make the folder again), `attributes` and `exclude`
    /// watched.
    pub info: FolderState,
    /// The common git folder. `None` in a snapshot of an older autogate: then which folder it
    /// is, and its `config.worktree`, are not compared.
    #[serde(default)]
    pub common: Option<GitFolder>,
    /// A linked worktree's own git folder (`<common>/worktrees/<name>`); `None` in the main
    /// worktree, whose own git folder is the common one.
    #[serde(default)]
    pub worktree: Option<GitFolder>,
    /// Whether folders inside `hooks/` were kept with their entries (`false` in a snapshot of
    /// an older autogate, which kept each as [`Entry::Other`]: they are read the same way
    /// after the command, so none is taken for changed).
    #[serde(default)]
    pub hooks_folders: bool,
}

/// What [`put_back`] did.
#[derive(Debug, Default)]
pub struct Restored {
    /// What the command had changed, as `.git/…` paths (each was put back, unless it is also
    /// in `failed`).
    pub changed: Vec<String>,
    /// What could not be put back, with why.
    pub failed: Vec<String>,
    /// How something was put back, when that is worth telling (a linked hooks folder made
    /// again as a real one).
    pub notes: Vec<String>,
    /// The git folder is not the one the snapshot kept (why): nothing was put back in it.
    pub replaced: Option<String>,
}

/// Whether the entry `name` of the folder `folder` is compared after a command: everything
/// in `hooks/`, and `info/attributes` and `info/exclude` (the rest of `info/` is kept only to
/// make the folder again).
fn watched(folder: &str, name: &str) -> bool {
    folder == "hooks" || name == "attributes" || name == "exclude"
}

/// Takes the state of the common git folder `common` and of the worktree's own git folder
/// `own` (the same folder in the main worktree). Fails rather than keep a wrong picture (an
/// entry that cannot be read would otherwise be "put back" as something else).
pub fn snapshot(common: &Path, own: &Path) -> Result<GitState> {
    let git = Root::open(common).with_context(|| format!("cannot open {}", common.display()))?;
    let worktree = if linked_worktree(common, own)? {
        let root = Root::open(own).with_context(|| format!("cannot open {}", own.display()))?;
        Some(git_folder(own, &root).context("cannot read the worktree's own git folder")?)
    } else {
        None
    };
    Ok(GitState {
        config: entry(&git, "config").context("cannot read .git/config")?,
        hooks: folder_state(&git, common, "hooks", &mut Reader::hooks(true))
            .context("cannot read .git/hooks")?,
        info: folder_state(&git, common, "info", &mut Reader::shallow())
            .context("cannot read .git/info")?,
        common: Some(git_folder(common, &git).context("cannot read the git folder")?),
        worktree,
        hooks_folders: true,
    })
}

/// Puts back in the common git folder `common`, and in the worktree's own `own`, what changed
/// since `before` (see the module docs). When either is not the folder `before` kept, nothing
/// is put back and [`Restored::replaced`] says why.
pub fn put_back(common: &Path, own: &Path, before: &GitState) -> Restored {
    let mut out = Restored::default();
    let git = match Root::open(common) {
        Ok(git) => git,
        Err(e) => {
            let why = format!("cannot open {}: {e}", common.display());
            if before.common.is_some() {
                out.replaced = Some(why);
            } else {
                out.failed.push(format!(".git: {why}"));
            }
            return out;
        }
    };
    // Which folders these are is checked on the handles every read and write below goes
    // through, so that a folder swapped in after the check is never the one written.
    let worktree = match same_folders(&git, common, own, before) {
        Ok(worktree) => worktree,
        Err(why) => {
            out.replaced = Some(why);
            return out;
        }
    };
    config(
        &git,
        "config",
        ".git/config",
        before.config.as_ref(),
        &mut out,
    );
    if let Some(kept) = &before.common {
        config(
            &git,
            "config.worktree",
            ".git/config.worktree",
            kept.config_worktree.as_ref(),
            &mut out,
        );
    }
    if let (Some(common_kept), Some(kept), Some(root)) =
        (&before.common, &before.worktree, &worktree)
    {
        let shown = shown_in(common_kept, kept, "config.worktree");
        config(
            root,
            "config.worktree",
            &shown,
            kept.config_worktree.as_ref(),
            &mut out,
        );
    }
    let folders = [
        ("hooks", &before.hooks, Reader::hooks(before.hooks_folders)),
        ("info", &before.info, Reader::shallow()),
    ];
    for (name, folder, mut reader) in folders {
        if let Err(e) = restore_folder(&git, common, name, folder, &mut reader, &mut out) {
            out.failed.push(format!(".git/{name}: {e:#}"));
        }
    }
    out
}

/// Checks that the git folders are those `before` kept, on the open handle of the common one
/// and on one opened on the worktree's own. Returns the latter for a linked worktree (`None`
/// in the main worktree, or for a snapshot that kept neither); `Err` says what changed.
fn same_folders(
    git: &Root,
    common: &Path,
    own: &Path,
    before: &GitState,
) -> std::result::Result<Option<Root>, String> {
    let Some(kept) = &before.common else {
        return Ok(None);
    };
    if let Some(why) = differs(kept, common, git) {
        return Err(why);
    }
    let own_root = Root::open(own).map_err(|e| format!("cannot open {}: {e}", own.display()))?;
    // In the main worktree, the worktree's own git folder is the common one.
    if let Some(why) = differs(before.worktree.as_ref().unwrap_or(kept), own, &own_root) {
        return Err(why);
    }
    Ok(before.worktree.is_some().then_some(own_root))
}

/// Why the git folder at `dir`, opened as `root`, is not the one `kept` (`None`: it is).
fn differs(kept: &GitFolder, dir: &Path, root: &Root) -> Option<String> {
    let was = path_of(&kept.path);
    let path = match std::fs::canonicalize(dir) {
        Ok(path) => path,
        Err(e) => return Some(format!("{} cannot be resolved: {e}", dir.display())),
    };
    if bytes_of(&path) != kept.path {
        return Some(format!(
            "the git folder was {}, it is now {}",
            was.display(),
            path.display()
        ));
    }
    // Outside unix which folder it is is not known: the path alone is compared.
    let id = kept.id?;
    match identity(root) {
        Ok(Some(now)) if now == id => None,
        Ok(_) => Some(format!(
            "{} is not the folder that was there: that one was moved away and another put in its place",
            was.display()
        )),
        Err(e) => Some(format!("{e:#}")),
    }
}

/// Whether `own` is a linked worktree's own git folder, not the common folder `common`.
fn linked_worktree(common: &Path, own: &Path) -> Result<bool> {
    let canonical = |path: &Path| {
        std::fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))
    };
    Ok(canonical(common)? != canonical(own)?)
}

/// Which folder the git folder `dir` (opened as `root`) is, and its `config.worktree`.
fn git_folder(dir: &Path, root: &Root) -> Result<GitFolder> {
    let path =
        std::fs::canonicalize(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    Ok(GitFolder {
        path: bytes_of(&path),
        id: identity(root)?,
        config_worktree: entry(root, "config.worktree").context("cannot read config.worktree")?,
    })
}

/// How the file `name` of a linked worktree's own git folder is shown: `.git/worktrees/…`
/// when it lies in the common folder, as it does unless moved by hand.
fn shown_in(common: &GitFolder, own: &GitFolder, name: &str) -> String {
    let own = path_of(&own.path);
    match own.strip_prefix(path_of(&common.path)) {
        Ok(rel) => format!(".git/{}/{name}", rel.display()),
        Err(_) => format!("{}/{name}", own.display()),
    }
}

/// The device and inode of the folder `root` is open on (`None` outside unix, where they are
/// not known).
fn identity(root: &Root) -> Result<Option<(u64, u64)>> {
    match root.identity() {
        Ok(id) => Ok(Some(id)),
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", root.path().display())),
    }
}

/// A git config file (`rel` in `root`, shown as `shown`): put back when a commanding setting
/// changed or it is no longer what it was.
fn config(root: &Root, rel: &str, shown: &str, before: Option<&Entry>, out: &mut Restored) {
    let now = match entry(root, rel) {
        Ok(now) => now,
        Err(e) => {
            out.failed.push(format!("{shown}: {e:#}"));
            return;
        }
    };
    if now.as_ref() == before {
        return;
    }
    // Only settings that make git run a command (or fetch elsewhere) are put back; the rest
    // (a branch's upstream, a new remote) is git doing its work.
    if let (Some(Entry::File { content: old, .. }), Some(Entry::File { content: new, .. })) =
        (before, &now)
        && let Ok(keys) = commanding_keys(old, new)
    {
        if keys.is_empty() {
            return;
        }
        tracing::warn!(
            ?keys,
            file = shown,
            "a shell command changed git settings that run commands"
        );
    }
    out.changed.push(shown.to_owned());
    if let Err(e) = Place::new(root, "").replace(rel, before, now.as_ref()) {
        out.failed.push(format!("{shown}: {e:#}"));
    }
}

/// The folder a kept link leads to, opened.
enum Linked {
    /// The folder the snapshot saw there.
    Same(Root),
    /// Another folder, or none (why).
    Elsewhere(String),
}

/// One folder of the git folder: its kind first, then its watched entries.
fn restore_folder(
    git: &Root,
    dir: &Path,
    name: &str,
    before: &FolderState,
    reader: &mut Reader,
    out: &mut Restored,
) -> Result<()> {
    let shown = format!(".git/{name}");
    let now = folder_kind(git, dir, name)?;
    if same_kind(now.as_ref(), before.kind.as_ref()) {
        match &before.kind {
            Some(Folder::Real) => {
                compare(&Place::new(git, name), name, &before.entries, reader, out);
                return Ok(());
            }
            Some(Folder::Link {
                resolved: Some(resolved),
                id,
                ..
            }) => match open_linked(resolved, *id) {
                Linked::Same(linked) => {
                    compare(&Place::new(&linked, ""), name, &before.entries, reader, out);
                    return Ok(());
                }
                // The link is as it was, but the folder at its end is another (swapped in at
                // the same path): it is a link that leads elsewhere, said below.
                Linked::Elsewhere(_) => {}
            },
            _ => return Ok(()),
        }
    }
    // The folder itself changed (another kind, a link leading elsewhere): what is there is
    // taken away (a link unlinked, never followed) and the folder made again as it was.
    out.changed.push(shown.clone());
    git.remove_all(name)?;
    match &before.kind {
        None | Some(Folder::Other) => return Ok(()),
        Some(Folder::Link {
            target,
            resolved: None,
            ..
        }) if resolve(dir, target).is_none() => {
            git.symlink(name, &path_of(target))?;
            return Ok(());
        }
        Some(Folder::Link {
            target,
            resolved: Some(resolved),
            id,
        }) if resolve(dir, target).as_deref() == Some(resolved.as_slice()) => {
            match open_linked(resolved, *id) {
                Linked::Same(linked) => {
                    git.symlink(name, &path_of(target))?;
                    compare(&Place::new(&linked, ""), name, &before.entries, reader, out);
                    return Ok(());
                }
                Linked::Elsewhere(why) => out.notes.push(format!(
                    "{shown} led to {}, but the folder there is not the one it was before the command ({why}): a real {shown} was made with what it held",
                    path_of(resolved).display()
                )),
            }
        }
        Some(_) => {}
    }
    // A real folder, or a link that no longer leads where it did (its target was moved or
    // swapped): a real folder with the snapshot's entries.
    git.create_dir(name)?;
    let place = Place::new(git, name);
    for (entry_name, entry) in &before.entries {
        if let Err(e) = place.replace(entry_name, Some(entry), None) {
            out.failed.push(format!("{shown}/{entry_name}: {e:#}"));
        }
    }
    Ok(())
}

/// Whether two kinds of a folder are the same, a link's device and inode left aside (they are
/// checked on the folder opened, see [`open_linked`]).
fn same_kind(a: Option<&Folder>, b: Option<&Folder>) -> bool {
    match (a, b) {
        (
            Some(Folder::Link {
                target, resolved, ..
            }),
            Some(Folder::Link {
                target: other_target,
                resolved: other_resolved,
                ..
            }),
        ) => target == other_target && resolved == other_resolved,
        _ => a == b,
    }
}

/// Compares the watched entries of a folder with the snapshot's and puts back each that
/// changed.
fn compare(
    place: &Place<'_>,
    shown: &str,
    before: &BTreeMap<String, Entry>,
    reader: &mut Reader,
    out: &mut Restored,
) {
    let now = match place.root.list(&place.folder) {
        Ok(names) => names.unwrap_or_default(),
        Err(e) => {
            out.failed.push(format!(".git/{shown}: {e}"));
            return;
        }
    };
    let names: BTreeSet<&str> = before
        .keys()
        .map(String::as_str)
        .chain(now.iter().map(String::as_str))
        .filter(|name| watched(shown, name) && plain_name(name))
        .collect();
    for name in names {
        let shown = format!(".git/{shown}/{name}");
        match reader.entry(place.root, &place.rel(name), 1) {
            Ok(current) => {
                put_back_entry(place, name, before.get(name), current.as_ref(), &shown, out)
            }
            Err(e) => out.failed.push(format!("{shown}: {e:#}")),
        }
    }
}

/// Puts back the entry `name` of `place`, which was `before` and is `now`. A folder that is
/// still a folder, with no more and no fewer entries that cannot be named, is put back entry
/// by entry; anything else that changed is taken away and made again whole.
fn put_back_entry(
    place: &Place<'_>,
    name: &str,
    before: Option<&Entry>,
    now: Option<&Entry>,
    shown: &str,
    out: &mut Restored,
) {
    if now == before {
        return;
    }
    if let (
        Some(Entry::Folder {
            entries: was,
            unnamed: was_unnamed,
        }),
        Some(Entry::Folder {
            entries: is,
            unnamed: is_unnamed,
        }),
    ) = (before, now)
        && was_unnamed == is_unnamed
    {
        let inner = place.child(name);
        let names: BTreeSet<&String> = was.keys().chain(is.keys()).collect();
        for entry_name in names {
            put_back_entry(
                &inner,
                entry_name,
                was.get(entry_name),
                is.get(entry_name),
                &format!("{shown}/{entry_name}"),
                out,
            );
        }
        return;
    }
    out.changed.push(shown.to_owned());
    if let Err(e) = place.replace(name, before, now) {
        out.failed.push(format!("{shown}: {e:#}"));
    }
}

/// A folder inside a [`Root`] (`""`: the root itself).
struct Place<'a> {
    root: &'a Root,
    folder: String,
}

impl<'a> Place<'a> {
    fn new(root: &'a Root, folder: &str) -> Self {
        Self {
            root,
            folder: folder.to_owned(),
        }
    }

    fn rel(&self, name: &str) -> String {
        if self.folder.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.folder)
        }
    }

    /// The folder `name` inside this one.
    fn child(&self, name: &str) -> Self {
        Self {
            root: self.root,
            folder: self.rel(name),
        }
    }

    /// Takes away what is at `name` (`now`) and makes again what was there (`before`).
    fn replace(&self, name: &str, before: Option<&Entry>, now: Option<&Entry>) -> Result<()> {
        let rel = self.rel(name);
        if now.is_some() {
            self.root.remove_all(&rel)?;
        }
        match before {
            Some(entry) => self.make(&rel, entry),
            None => Ok(()),
        }
    }

    /// Makes `entry` at `rel`, where nothing is: a file with its content and mode, a link with
    /// its target, a folder with everything in it. An [`Entry::Other`] cannot be made and is
    /// left out. Every part of a folder is tried; the first failure is returned.
    fn make(&self, rel: &str, entry: &Entry) -> Result<()> {
        match entry {
            Entry::File { content, mode } => self.root.write(rel, content, Some(*mode))?,
            Entry::Link { target } => self.root.symlink(rel, &path_of(target))?,
            Entry::Folder { entries, .. } => {
                self.root.create_dir(rel)?;
                let mut first = None;
                for (name, entry) in entries {
                    if let Err(e) = self.make(&format!("{rel}/{name}"), entry) {
                        first.get_or_insert(e);
                    }
                }
                if let Some(e) = first {
                    return Err(e);
                }
            }
            Entry::Other => {}
        }
        Ok(())
    }
}

/// A name that can be an entry autogate looks at (the confined paths refuse the others; git
/// runs no hook by such a name).
fn plain_name(name: &str) -> bool {
    !name.contains('\\') && !name.eq_ignore_ascii_case(".git")
}

/// What `rel` is now, with its content or target (`None`: absent); a folder is not looked
/// into.
fn entry(root: &Root, rel: &str) -> Result<Option<Entry>> {
    Reader::shallow().entry(root, rel, 1)
}

/// Reads entries as the snapshot keeps them. Folders are looked into only inside `hooks/`,
/// down to [`MAX_DEPTH`] and within [`MAX_ENTRIES`] in all; the entries are counted in the
/// same order before and after a command (names sorted, depth first), so that what did not
/// change reads the same.
struct Reader {
    folders: bool,
    left: usize,
}

impl Reader {
    /// Folders kept as [`Entry::Other`].
    fn shallow() -> Self {
        Self {
            folders: false,
            left: 0,
        }
    }

    /// For `hooks/`: folders looked into when `folders` (a snapshot of an older autogate
    /// did not).
    fn hooks(folders: bool) -> Self {
        Self {
            folders,
            left: MAX_ENTRIES,
        }
    }

    /// What `rel` is now, `depth` folders below the watched folder (`1`: an entry of it).
    fn entry(&mut self, root: &Root, rel: &str, depth: usize) -> Result<Option<Entry>> {
        Ok(match root.kind(rel)? {
            None => None,
            Some(Kind::File) => root.read(rel)?.map(|read| Entry::File {
                content: read.content,
                mode: read.mode,
            }),
            Some(Kind::Symlink) => root.read_link(rel)?.map(|target| Entry::Link {
                target: bytes_of(&target),
            }),
            Some(Kind::Folder) if self.folders && depth <= MAX_DEPTH => {
                self.folder(root, rel, depth)?
            }
            Some(Kind::Folder | Kind::Other) => Some(Entry::Other),
        })
    }

    /// The folder `rel` with everything in it, or [`Entry::Other`] when it holds more than
    /// is left of [`MAX_ENTRIES`].
    fn folder(&mut self, root: &Root, rel: &str, depth: usize) -> Result<Option<Entry>> {
        let Some(listing) = root.listing(rel)? else {
            return Ok(None);
        };
        let (names, odd): (Vec<String>, Vec<String>) =
            listing.names.into_iter().partition(|name| plain_name(name));
        let unnamed = listing.unnamed + odd.len();
        let count = names.len() + unnamed;
        if count > self.left {
            return Ok(Some(Entry::Other));
        }
        self.left -= count;
        let mut entries = BTreeMap::new();
        for name in names {
            if let Some(found) = self.entry(root, &format!("{rel}/{name}"), depth + 1)? {
                entries.insert(name, found);
            }
        }
        Ok(Some(Entry::Folder { entries, unnamed }))
    }
}

/// What the folder `name` of the git folder is now (a link's device and inode are not
/// looked at here: see [`open_linked`]).
fn folder_kind(git: &Root, dir: &Path, name: &str) -> Result<Option<Folder>> {
    Ok(match git.kind(name)? {
        None => None,
        Some(Kind::Folder) => Some(Folder::Real),
        Some(Kind::Symlink) => git.read_link(name)?.map(|target| {
            let target = bytes_of(&target);
            Folder::Link {
                resolved: resolve(dir, &target),
                target,
                id: None,
            }
        }),
        Some(Kind::File | Kind::Other) => Some(Folder::Other),
    })
}

/// A folder of the git folder and its entries; for a link, the device and inode of the
/// folder it leads to, read on the handle its entries are read through.
fn folder_state(git: &Root, dir: &Path, name: &str, reader: &mut Reader) -> Result<FolderState> {
    let mut kind = folder_kind(git, dir, name)?;
    let linked;
    let place = match &mut kind {
        Some(Folder::Real) => Place::new(git, name),
        Some(Folder::Link {
            resolved: Some(resolved),
            id,
            ..
        }) => {
            let path = path_of(resolved);
            let root =
                Root::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
            *id = identity(&root)?;
            linked = root;
            Place::new(&linked, "")
        }
        _ => {
            return Ok(FolderState {
                kind,
                entries: BTreeMap::new(),
            });
        }
    };
    let mut entries = BTreeMap::new();
    for entry_name in place.root.list(&place.folder)?.unwrap_or_default() {
        if !plain_name(&entry_name) {
            continue;
        }
        if let Some(found) = reader.entry(place.root, &place.rel(&entry_name), 1)? {
            entries.insert(entry_name, found);
        }
    }
    Ok(FolderState { kind, entries })
}

/// The folder a link in the git folder leads to, canonical (`None`: nowhere, or not a folder).
fn resolve(dir: &Path, target: &[u8]) -> Option<Vec<u8>> {
    let path = std::fs::canonicalize(dir.join(path_of(target))).ok()?;
    path.is_dir().then(|| bytes_of(&path))
}

/// A [`Root`] on the folder a kept link leads to (canonical, as the snapshot saw it), if it is
/// the folder the snapshot saw there (`id`, when known). The check is made on the open
/// handle, so the folder compared and written through it is the one checked: a folder
/// swapped in at the same path, before or while it is opened, counts as elsewhere.
fn open_linked(resolved: &[u8], id: Option<(u64, u64)>) -> Linked {
    let path = path_of(resolved);
    let root = match Root::open(&path) {
        Ok(root) => root,
        Err(e) => return Linked::Elsewhere(format!("cannot open {}: {e}", path.display())),
    };
    let Some(id) = id else {
        return Linked::Same(root);
    };
    match identity(&root) {
        Ok(Some(now)) if now == id => Linked::Same(root),
        Ok(_) => Linked::Elsewhere(format!(
            "{} is another folder than the one that was there",
            path.display()
        )),
        Err(e) => Linked::Elsewhere(format!("{e:#}")),
    }
}

#[cfg(unix)]
fn bytes_of(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(unix)]
fn path_of(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn bytes_of(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(not(unix))]
fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// Git settings whose value is a command git runs, or where it fetches and pushes from:
/// (section, variable) patterns over lower-cased names, `*` for a subsection.
const COMMANDING: &[&str] = &[
    "core.hookspath",
    "core.fsmonitor",
    "core.sshcommand",
    "core.pager",
    "core.editor",
    "core.askpass",
    "core.gitproxy",
    "core.worktree",
    "core.excludesfile",
    "core.attributesfile",
    "sequence.editor",
    "diff.external",
    "gpg.program",
    "alias.",
    "filter.",
    "credential.",
    "include.",
    "includeif.",
    "pager.",
    "uploadpack.",
    "url.",
    "diff.*.textconv",
    "diff.*.command",
    "merge.*.driver",
    "gpg.*.program",
    "difftool.",
    "mergetool.",
    "protocol.",
];

fn commanding(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    COMMANDING
        .iter()
        .any(|pattern| match pattern.split_once(".*.") {
            Some((section, variable)) => {
                key.starts_with(&format!("{section}.")) && key.ends_with(&format!(".{variable}"))
            }
            None if pattern.ends_with('.') => key.starts_with(pattern),
            None => key == *pattern,
        })
}

/// The settings that run commands which differ between two texts of a git config file.
/// Values are compared as bytes, and a setting without a value (`[core] bare`, a valid
/// boolean) counts too: such a line must neither hide a change nor stop the comparison.
fn commanding_keys(old: &[u8], new: &[u8]) -> Result<Vec<String>> {
    type Setting = (String, Option<Vec<u8>>);
    let entries = |bytes: &[u8]| -> Result<BTreeSet<Setting>> {
        let mut file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut file, bytes)?;
        let config = git2::Config::open(file.path())?;
        let mut out = BTreeSet::new();
        let mut entries = config.entries(None)?;
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = String::from_utf8_lossy(entry.name_bytes()).into_owned();
            // `value_bytes` panics on a setting without a value.
            let value = entry.has_value().then(|| entry.value_bytes().to_vec());
            out.insert((name, value));
        }
        Ok(out)
    };
    let (old, new) = (entries(old)?, entries(new)?);
    let mut keys: Vec<String> = old
        .symmetric_difference(&new)
        .map(|(name, _)| name.clone())
        .filter(|name| commanding(name))
        .collect();
    keys.dedup();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CONFIG: &[u8] = b"[core]\n\tbare = false\n[remote \"origin\"]\n\turl = x\n";

    #[test]
    fn a_setting_without_a_value_neither_hides_a_command_nor_stops_the_comparison() {
        let mut new = CONFIG.to_vec();
        new.extend_from_slice(b"[core]\n\tfsmonitor = /tmp/x\n[x]\n\tflag\n");
        assert_eq!(commanding_keys(CONFIG, &new).unwrap(), ["core.fsmonitor"]);
        let mut new = CONFIG.to_vec();
        new.extend_from_slice(b"[alias]\n\tst\n");
        assert_eq!(commanding_keys(CONFIG, &new).unwrap(), ["alias.st"]);
    }

    #[test]
    fn a_command_that_is_not_utf8_is_seen() {
        let mut new = CONFIG.to_vec();
        new.extend_from_slice(b"[core]\n\tfsmonitor = /tmp/\xff\n");
        assert_eq!(commanding_keys(CONFIG, &new).unwrap(), ["core.fsmonitor"]);
    }

    /// A git folder in a temp dir, with `hooks/` holding what `make` puts there.
    fn git_folder(make: impl FnOnce(&Path)) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), CONFIG).unwrap();
        std::fs::create_dir(dir.path().join("hooks")).unwrap();
        make(&dir.path().join("hooks"));
        dir
    }

    #[test]
    fn folders_in_hooks_are_kept_down_to_the_depth_and_within_the_count() {
        let dir = git_folder(|hooks| {
            std::fs::create_dir_all(hooks.join("a/b/c/d/e")).unwrap();
            std::fs::write(hooks.join("a/b/c/d/e/deep"), "x").unwrap();
            std::fs::write(hooks.join("a/b/c/d/kept"), "x").unwrap();
            std::fs::create_dir(hooks.join("many")).unwrap();
            for i in 0..MAX_ENTRIES {
                std::fs::write(hooks.join(format!("many/{i}")), "").unwrap();
            }
        });
        let state = snapshot(dir.path(), dir.path()).unwrap();
        let mut entry = &state.hooks.entries["a"];
        for name in ["b", "c", "d"] {
            let Entry::Folder { entries, .. } = entry else {
                panic!("{name}: {entry:?}");
            };
            entry = &entries[name];
        }
        let Entry::Folder { entries, .. } = entry else {
            panic!("d: {entry:?}");
        };
        assert!(matches!(entries["kept"], Entry::File { .. }));
        assert_eq!(
            entries["e"],
            Entry::Other,
            "a fifth folder is not looked into"
        );
        assert_eq!(
            state.hooks.entries["many"],
            Entry::Other,
            "beyond the count, a folder is not looked into"
        );
        // Nothing changed: nothing put back.
        let restored = put_back(dir.path(), dir.path(), &state);
        assert!(restored.changed.is_empty(), "{:?}", restored.changed);
        assert!(restored.failed.is_empty(), "{:?}", restored.failed);
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_that_gained_a_name_no_path_can_say_is_made_again_whole() {
        use std::os::unix::ffi::OsStrExt;
        let dir = git_folder(|hooks| {
            std::fs::create_dir(hooks.join("pre-commit.d")).unwrap();
            std::fs::write(hooks.join("pre-commit.d/lint"), "mine").unwrap();
        });
        let state = snapshot(dir.path(), dir.path()).unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"evil\xff");
        let scripts = dir.path().join("hooks/pre-commit.d");
        std::fs::write(scripts.join(odd), "theirs").unwrap();
        let restored = put_back(dir.path(), dir.path(), &state);
        assert_eq!(restored.changed, [".git/hooks/pre-commit.d"]);
        assert!(restored.failed.is_empty(), "{:?}", restored.failed);
        let names: Vec<_> = std::fs::read_dir(&scripts)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["lint"]);
    }

    /// The race on a hooks folder the person linked elsewhere: between the check of the link
    /// and the opening of the folder it leads to, another folder is put at that path. The
    /// folder opened is checked (device and inode) against the snapshot's, so it is treated as
    /// a link that leads elsewhere: nothing is written in it, and `hooks` is made real again.
    #[cfg(unix)]
    #[test]
    fn a_folder_swapped_in_at_the_end_of_a_kept_link_is_never_written() {
        let shared = tempfile::tempdir().unwrap();
        let base = shared.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("hooks")).unwrap();
        std::fs::write(base.join("hooks/pre-commit"), "mine").unwrap();
        let dir = git_folder(|_| {});
        std::fs::remove_dir(dir.path().join("hooks")).unwrap();
        std::os::unix::fs::symlink(base.join("hooks"), dir.path().join("hooks")).unwrap();
        let state = snapshot(dir.path(), dir.path()).unwrap();
        let Some(Folder::Link {
            resolved: Some(resolved),
            id: Some(id),
            ..
        }) = &state.hooks.kind
        else {
            panic!("{:?}", state.hooks.kind);
        };
        assert!(matches!(open_linked(resolved, Some(*id)), Linked::Same(_)));
        std::fs::rename(base.join("hooks"), base.join("moved")).unwrap();
        std::fs::create_dir(base.join("hooks")).unwrap();
        std::fs::write(base.join("hooks/pre-commit"), "theirs").unwrap();
        assert!(matches!(
            open_linked(resolved, Some(*id)),
            Linked::Elsewhere(_)
        ));
        let restored = put_back(dir.path(), dir.path(), &state);
        assert_eq!(restored.changed, [".git/hooks"]);
        assert_eq!(restored.notes.len(), 1, "{:?}", restored.notes);
        let hooks = dir.path().join("hooks");
        assert!(!hooks.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(
            std::fs::read_to_string(hooks.join("pre-commit")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(base.join("hooks/pre-commit")).unwrap(),
            "theirs"
        );
    }

    #[test]
    fn a_git_folder_in_another_place_or_another_folder_in_its_place_is_not_touched() {
        let dir = git_folder(|_| {});
        let state = snapshot(dir.path(), dir.path()).unwrap();
        let other = git_folder(|hooks| std::fs::write(hooks.join("pre-commit"), "x").unwrap());
        let restored = put_back(other.path(), other.path(), &state);
        assert!(restored.replaced.is_some());
        assert!(other.path().join("hooks/pre-commit").exists());
        #[cfg(unix)]
        {
            let moved = tempfile::tempdir().unwrap();
            std::fs::rename(dir.path(), moved.path().join("git")).unwrap();
            std::fs::create_dir(dir.path()).unwrap();
            std::fs::create_dir(dir.path().join("hooks")).unwrap();
            std::fs::write(dir.path().join("hooks/pre-commit"), "x").unwrap();
            let restored = put_back(dir.path(), dir.path(), &state);
            assert!(
                restored
                    .replaced
                    .as_deref()
                    .unwrap()
                    .contains("not the folder"),
                "{restored:?}"
            );
            assert!(dir.path().join("hooks/pre-commit").exists());
        }
    }

    #[test]
    fn a_snapshot_of_an_older_autogate_still_reads_and_leaves_folders_in_hooks_alone() {
        let dir = git_folder(|hooks| {
            std::fs::create_dir(hooks.join("pre-commit.d")).unwrap();
            std::fs::write(hooks.join("pre-commit.d/lint"), "mine").unwrap();
        });
        let old = r#"{"config":null,"hooks":{"kind":{"kind":"real"},"entries":{"pre-commit.d":{"kind":"other"}}},"info":{"kind":null,"entries":{}}}"#;
        let mut state: GitState = serde_json::from_str(old).unwrap();
        assert_eq!(state.common, None);
        assert!(!state.hooks_folders);
        state.config = entry(&Root::open(dir.path()).unwrap(), "config").unwrap();
        let restored = put_back(dir.path(), dir.path(), &state);
        assert!(restored.changed.is_empty(), "{:?}", restored.changed);
        assert!(dir.path().join("hooks/pre-commit.d/lint").exists());
        let link: Folder =
            serde_json::from_str(r#"{"kind":"link","target":[120],"resolved":null}"#).unwrap();
        assert!(matches!(link, Folder::Link { id: None, .. }));
    }

    #[test]
    fn git_bookkeeping_is_not_commanding() {
        let mut new = CONFIG.to_vec();
        new.extend_from_slice(b"[branch \"x\"]\n\tremote = origin\n\tmerge\n");
        assert!(commanding_keys(CONFIG, &new).unwrap().is_empty());
    }
}
