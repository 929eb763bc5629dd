//! Unified diffs: parsed with libgit2's patch parser, applied strictly, hunk by hunk.
//!
//! Git-style diffs (with `diff --git`, new, deleted and renamed files) are parsed as they are.
//! Plain unified diffs (`--- a/x` / `+++ b/x` only) get a git header first. A hunk applies at
//! its stated line or at a unique offset where its context matches exactly; otherwise the whole
//! patch is refused, naming the file and the hunk. Nothing here writes anything.
//!
//! Paths are relative to the workspace root. A header path that is absolute (`/x`, `\\host\x`,
//! `C:\x`, after one `a/` or `b/` prefix is removed) is kept as written, never made relative
//! (libgit2 would drop its leading `/` and so move it under the root): see [`is_absolute`];
//! the caller denies it.

use std::fmt::Write as _;

/// What one file section of a patch does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePatch {
    /// Path before (`None` for a created file).
    pub old_path: Option<String>,
    /// Path after (`None` for a deleted file).
    pub new_path: Option<String>,
    hunks: Vec<Hunk>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Hunk {
    header: String,
    old_start: usize,
    old: Vec<String>,
    new: Vec<String>,
}

/// A patch that cannot be parsed or applied. The message names the file and the hunk.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);

/// Parses a unified diff into file patches.
pub fn parse(patch: &str) -> Result<Vec<FilePatch>, PatchError> {
    if patch.trim().is_empty() {
        return Err(PatchError("the patch is empty".to_owned()));
    }
    let normalized = normalize(patch);
    let diff = git2::Diff::from_buffer(normalized.as_bytes())
        .map_err(|e| PatchError(format!("the patch cannot be parsed: {}", e.message())))?;
    let absolute = absolute_headers(&normalized);
    if absolute
        .iter()
        .any(|(old, new)| old.is_some() || new.is_some())
        && absolute.len() != diff.deltas().len()
    {
        // Which section names which absolute path is not certain: refuse the whole patch.
        return Err(PatchError(
            "the patch names an absolute path, and its file sections cannot be told apart; \
             patch paths are relative to the workspace root"
                .to_owned(),
        ));
    }
    let mut files = Vec::new();
    for index in 0..diff.deltas().len() {
        let Some(delta) = diff.get_delta(index) else {
            continue;
        };
        let path_of =
            |file: git2::DiffFile<'_>| file.path().map(|p| p.to_string_lossy().replace('\\', "/"));
        let (mut old_path, mut new_path) = match delta.status() {
            git2::Delta::Added => (None, path_of(delta.new_file())),
            git2::Delta::Deleted => (path_of(delta.old_file()), None),
            _ => (path_of(delta.old_file()), path_of(delta.new_file())),
        };
        if let Some((old, new)) = absolute.get(index) {
            if old.is_some() && old_path.is_some() {
                old_path.clone_from(old);
            }
            if new.is_some() && new_path.is_some() {
                new_path.clone_from(new);
            }
        }
        let name = new_path.clone().or(old_path.clone()).unwrap_or_default();
        if delta.flags().is_binary() {
            return Err(PatchError(format!(
                "{name}: binary patches are not supported"
            )));
        }
        let mut hunks = Vec::new();
        if let Ok(Some(patch)) = git2::Patch::from_diff(&diff, index) {
            for h in 0..patch.num_hunks() {
                let (hunk, lines) = patch
                    .hunk(h)
                    .map_err(|e| PatchError(format!("{name}: hunk {}: {}", h + 1, e.message())))?;
                let header = String::from_utf8_lossy(hunk.header()).trim_end().to_owned();
                let mut parsed = Hunk {
                    header,
                    old_start: hunk.old_start() as usize,
                    old: Vec::new(),
                    new: Vec::new(),
                };
                // Which side the previous line went to, for "\ No newline at end of file".
                let mut last: Option<char> = None;
                for l in 0..lines {
                    let line = patch.line_in_hunk(h, l).map_err(|e| {
                        PatchError(format!("{name}: hunk {}: {}", h + 1, e.message()))
                    })?;
                    let text = String::from_utf8(line.content().to_vec()).map_err(|_| {
                        PatchError(format!(
                            "{name}: hunk {}: the patch is not UTF-8 text",
                            h + 1
                        ))
                    })?;
                    match line.origin() {
                        ' ' => {
                            parsed.old.push(text.clone());
                            parsed.new.push(text);
                            last = Some(' ');
                        }
                        '-' => {
                            parsed.old.push(text);
                            last = Some('-');
                        }
                        '+' => {
                            parsed.new.push(text);
                            last = Some('+');
                        }
                        // No newline at the end of the line just before.
                        '=' | '>' | '<' => {
                            let strip = |v: &mut Vec<String>| {
                                if let Some(l) = v.last_mut()
                                    && l.ends_with('\n')
                                {
                                    l.pop();
                                }
                            };
                            match last {
                                Some('-') => strip(&mut parsed.old),
                                Some('+') => strip(&mut parsed.new),
                                Some(' ') => {
                                    strip(&mut parsed.old);
                                    strip(&mut parsed.new);
                                }
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
                hunks.push(parsed);
            }
        }
        files.push(FilePatch {
            old_path,
            new_path,
            hunks,
        });
    }
    if files.is_empty() {
        return Err(PatchError("the patch holds no file changes".to_owned()));
    }
    Ok(files)
}

impl FilePatch {
    /// The path a person would name this patch by.
    pub fn display_path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("?")
    }

    /// Applies the hunks to `before` (`None`: the file does not exist).
    /// Returns the content after (`None`: the file is deleted).
    pub fn apply(&self, before: Option<&str>) -> Result<Option<String>, PatchError> {
        let name = self.display_path();
        match (self.old_path.is_some(), before) {
            (false, Some(_)) => {
                return Err(PatchError(format!(
                    "{name}: the patch creates this file, but it already exists"
                )));
            }
            (true, None) => {
                return Err(PatchError(format!(
                    "{name}: the patch changes this file, but it does not exist"
                )));
            }
            _ => {}
        }
        let text = before.unwrap_or("");
        let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
        let mut offset: isize = 0;
        for (i, hunk) in self.hunks.iter().enumerate() {
            let stated = (hunk.old_start.max(1) as isize - 1 + offset).max(0) as usize;
            let stated = if hunk.old.is_empty() && hunk.old_start == 0 {
                0
            } else {
                stated
            };
            let at = find_hunk(&lines, &hunk.old, stated).ok_or_else(|| {
                PatchError(format!(
                    "{name}: hunk {} ({}) does not apply: its context does not match the file",
                    i + 1,
                    hunk.header
                ))
            })?;
            lines.splice(at..at + hunk.old.len(), hunk.new.iter().cloned());
            offset += hunk.new.len() as isize - hunk.old.len() as isize;
            offset += at as isize - stated as isize;
        }
        if self.new_path.is_none() {
            if !lines.is_empty() {
                return Err(PatchError(format!(
                    "{name}: the patch deletes this file, but it has content the patch does not remove"
                )));
            }
            return Ok(None);
        }
        Ok(Some(lines.concat()))
    }
}

/// Where `old` matches `lines` exactly: at `stated`, or at the unique nearest other place.
fn find_hunk(lines: &[String], old: &[String], stated: usize) -> Option<usize> {
    let fits = |at: usize| at + old.len() <= lines.len() && lines[at..at + old.len()] == *old;
    if fits(stated) {
        return Some(stated);
    }
    if old.is_empty() {
        return None;
    }
    let matches: Vec<usize> = (0..=lines.len().saturating_sub(old.len()))
        .filter(|&at| fits(at))
        .collect();
    match matches.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Gives plain unified diffs the `diff --git` headers libgit2 requires; strips `a/` `b/`.
fn normalize(patch: &str) -> String {
    if patch.lines().any(|l| l.starts_with("diff --git ")) {
        return ensure_trailing_newline(patch);
    }
    let lines: Vec<&str> = patch.lines().collect();
    let mut out = String::with_capacity(patch.len() + 128);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let (Some(old), Some(new)) = (
            line.strip_prefix("--- "),
            lines.get(i + 1).and_then(|l| l.strip_prefix("+++ ")),
        ) {
            let old = header_path(old, "a/");
            let new = header_path(new, "b/");
            let name = if new == "/dev/null" { &old } else { &new };
            let _ = writeln!(out, "diff --git a/{name} b/{name}");
            if old == "/dev/null" {
                out.push_str("new file mode 100644\n");
                out.push_str("--- /dev/null\n");
            } else {
                let _ = writeln!(out, "--- a/{old}");
            }
            if new == "/dev/null" {
                out.push_str("+++ /dev/null\n");
            } else {
                let _ = writeln!(out, "+++ b/{new}");
            }
            i += 2;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

/// Whether a patch path is absolute on any platform (`/x`, `\\host\x`, `\x`, `C:\x`, `C:/x`):
/// such a path is never taken as relative to the workspace root.
pub fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/')
        || path.starts_with('\\')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

/// For each file section of a normalized (git-style) patch, in order: its old and new header
/// paths as written (`a/` `b/` removed), where they are absolute.
fn absolute_headers(normalized: &str) -> Vec<(Option<String>, Option<String>)> {
    let mut sections: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut in_hunks = false;
    for line in normalized.lines() {
        if line.starts_with("diff --git ") {
            sections.push((None, None));
            in_hunks = false;
            continue;
        }
        if line.starts_with("@@") {
            in_hunks = true;
        }
        let Some(section) = sections.last_mut() else {
            continue;
        };
        if in_hunks {
            continue;
        }
        let (raw, prefix, is_old) = if let Some(p) = line.strip_prefix("--- ") {
            (p, "a/", true)
        } else if let Some(p) = line.strip_prefix("+++ ") {
            (p, "b/", false)
        } else if let Some(p) = line
            .strip_prefix("rename from ")
            .or_else(|| line.strip_prefix("copy from "))
        {
            (p, "", true)
        } else if let Some(p) = line
            .strip_prefix("rename to ")
            .or_else(|| line.strip_prefix("copy to "))
        {
            (p, "", false)
        } else {
            continue;
        };
        let path = header_path(raw, prefix);
        if path != "/dev/null" && is_absolute(&path) {
            if is_old {
                section.0 = Some(path);
            } else {
                section.1 = Some(path);
            }
        }
    }
    sections
}

fn header_path(raw: &str, prefix: &str) -> String {
    let path = raw.split('\t').next().unwrap_or(raw).trim_end();
    if path == "/dev/null" {
        return path.to_owned();
    }
    path.strip_prefix(prefix).unwrap_or(path).to_owned()
}

fn ensure_trailing_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_unified_diff_with_and_without_prefixes() {
        for patch in [
            "--- a/x.txt\n+++ b/x.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
            "--- x.txt\t2024-01-01\n+++ x.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
        ] {
            let files = parse(patch).expect("parses");
            assert_eq!(files.len(), 1);
            assert_eq!(files[0].display_path(), "x.txt");
            assert_eq!(
                files[0].apply(Some("a\nb\n")).expect("applies").as_deref(),
                Some("a\nc\n")
            );
        }
    }

    #[test]
    fn git_diff_creates_deletes_and_renames() {
        let patch = "diff --git a/n.txt b/n.txt\nnew file mode 100644\n--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+hi\n\
diff --git a/d.txt b/d.txt\ndeleted file mode 100644\n--- a/d.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n\
diff --git a/o.txt b/p.txt\nsimilarity index 100%\nrename from o.txt\nrename to p.txt\n";
        let files = parse(patch).expect("parses");
        assert_eq!(files[0].old_path, None);
        assert_eq!(
            files[0].apply(None).expect("create").as_deref(),
            Some("hi\n")
        );
        assert_eq!(files[1].new_path, None);
        assert_eq!(files[1].apply(Some("bye\n")).expect("delete"), None);
        assert_eq!(files[2].old_path.as_deref(), Some("o.txt"));
        assert_eq!(files[2].new_path.as_deref(), Some("p.txt"));
        assert_eq!(
            files[2].apply(Some("same\n")).expect("rename").as_deref(),
            Some("same\n")
        );
    }

    #[test]
    fn no_newline_at_end_of_file() {
        let patch = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n";
        let files = parse(patch).expect("parses");
        assert_eq!(
            files[0].apply(Some("a\nb")).expect("applies").as_deref(),
            Some("a\nc")
        );
    }

    #[test]
    fn hunks_apply_at_a_unique_offset_and_fail_naming_file_and_hunk() {
        let patch =
            "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n@@ -10,1 +10,1 @@\n-zzz\n+yyy\n";
        let files = parse(patch).expect("parses");
        // First hunk shifted down by two lines: still unique, applies.
        let err = files[0].apply(Some("q\nq\na\nb\n")).unwrap_err();
        assert_eq!(
            err.0,
            "x: hunk 2 (@@ -10,1 +10,1 @@) does not apply: its context does not match the file"
        );
        let one = parse("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n").expect("parses");
        assert_eq!(
            one[0]
                .apply(Some("q\nq\na\nb\n"))
                .expect("offset")
                .as_deref(),
            Some("q\nq\na\nc\n")
        );
        assert!(one[0].apply(Some("a\nX\n")).is_err());
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert_eq!(parse("").unwrap_err().0, "the patch is empty");
        assert!(
            parse("hello\nworld\n")
                .unwrap_err()
                .0
                .starts_with("the patch")
        );
        let create = parse("--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+hi\n").expect("parses");
        assert!(
            create[0]
                .apply(Some("exists"))
                .unwrap_err()
                .0
                .contains("already exists")
        );
    }

    #[test]
    fn absolute_header_paths_are_kept_as_written() {
        for (patch, expected) in [
            (
                "--- /dev/null\n+++ /etc/cron.d/x\n@@ -0,0 +1 @@\n+hi\n",
                "/etc/cron.d/x",
            ),
            (
                "--- /dev/null\n+++ b//etc/x\n@@ -0,0 +1 @@\n+hi\n",
                "/etc/x",
            ),
            (
                "--- a//etc/x\n+++ b//etc/x\n@@ -1 +1 @@\n-a\n+b\n",
                "/etc/x",
            ),
            (
                "--- /dev/null\n+++ C:\\x.txt\n@@ -0,0 +1 @@\n+hi\n",
                "C:\\x.txt",
            ),
        ] {
            let files = parse(patch).expect("parses");
            assert_eq!(files[0].display_path(), expected, "{patch}");
            assert!(is_absolute(files[0].display_path()));
        }
        let relative = parse("--- a/etc/x\n+++ b/etc/x\n@@ -1 +1 @@\n-a\n+b\n").expect("parses");
        assert_eq!(relative[0].display_path(), "etc/x");
        assert!(!is_absolute("etc/x"));
    }
}
