//! `cw-conform features export DIR`: the built-in features and fixtures written out, to
//! copy and edit into scenarios of one's own.

use std::path::{Path, PathBuf};

use include_dir::{Dir, DirEntry, include_dir};

use super::{CommandError, exit};
use crate::report::count;

/// The built-in features, as `run` reads them when given no paths.
static FEATURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/features");

/// Every file of a built-in folder, with its path under `prefix`.
fn files<'a>(dir: &'a Dir<'a>, prefix: &Path, out: &mut Vec<(PathBuf, &'a [u8])>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => files(sub, prefix, out),
            DirEntry::File(file) => out.push((prefix.join(file.path()), file.contents())),
        }
    }
}

/// The files `export` writes, relative to its folder: `features/…` and `fixtures/…`.
pub fn exported_files() -> Vec<(PathBuf, &'static [u8])> {
    let mut out = Vec::new();
    files(&FEATURES, Path::new("features"), &mut out);
    files(
        crate::fixtures::builtin_files(),
        Path::new("fixtures"),
        &mut out,
    );
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Writes the built-in features and fixtures under `dir` (created if missing). Without
/// `force`, nothing is written when any of the files already exists.
pub fn export(dir: &Path, force: bool) -> Result<u8, CommandError> {
    let files = exported_files();
    if !force {
        let existing: Vec<String> = files
            .iter()
            .map(|(path, _)| dir.join(path))
            .filter(|path| path.exists())
            .map(|path| path.display().to_string())
            .collect();
        if let Some(first) = existing.first() {
            return Err(CommandError::Usage(format!(
                "failed to export to {}: {first} already exists{} (nothing was written; pass \
                 --force to overwrite)",
                dir.display(),
                match existing.len() {
                    1 => String::new(),
                    n => format!(" and {}", count(n - 1, "other file", "other files")),
                }
            )));
        }
    }
    for (path, contents) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(CommandError::io(format!("create {}", parent.display())))?;
        }
        std::fs::write(&target, contents)
            .map_err(CommandError::io(format!("write {}", target.display())))?;
    }
    let shown = dir.display();
    println!(
        "wrote {} to {shown}: features/ (the built-in scenarios) and fixtures/ (roles, actions, \
         policy, rules, the mock's records)",
        count(files.len(), "file", "files")
    );
    println!("next:");
    println!("  cw-conform run {shown}/features/service_desk.feature   # run one as it is");
    println!("  cw-conform steps     # the steps a scenario can use");
    println!("  cw-conform actions   # the phrases of `When the AI asks to …`");
    println!("  cw-conform roles     # the role profiles (a role file works as well)");
    Ok(exit::CONFORMS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_has_every_builtin_feature_and_fixture() {
        let files = exported_files();
        let names: Vec<String> = files
            .iter()
            .map(|(p, _)| p.display().to_string().replace('\\', "/"))
            .collect();
        for expected in [
            "features/service_desk.feature",
            "features/safety.feature",
            "fixtures/actions.toml",
            "fixtures/rules.toml",
            "fixtures/roles/least-privilege.toml",
            "fixtures/connectwise/permissions.toml",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/features"))
            .unwrap()
            .count();
        assert_eq!(
            names.iter().filter(|n| n.starts_with("features/")).count(),
            on_disk
        );
    }
}
