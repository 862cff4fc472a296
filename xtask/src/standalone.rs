//! The check that the repository stands alone: no tracked file names the folder beside the
//! repository that the project's briefs live in, because a user's clone has no such folder and
//! every test must find its data inside the repository.

use std::path::Path;
use std::process::Command;

use crate::root;

/// The path prefix no tracked file may contain, written so that this file does not contain it.
fn outside_prefix() -> String {
    ["..", "shared"].join("/")
}

/// Fails naming every tracked file that refers to the folder beside the repository.
pub fn check() -> Result<(), String> {
    let root = root();
    let files = tracked_files(&root)?;
    let needle = outside_prefix();
    let offenders = offending_files(&root, &files, &needle);
    if offenders.is_empty() {
        eprintln!(
            "xtask: none of {} tracked files refers to {needle}",
            files.len()
        );
        Ok(())
    } else {
        Err(format!(
            "tracked files refer to {needle}, which a clone does not have: {}",
            offenders.join(", ")
        ))
    }
}

/// The files git tracks, relative to `root`.
fn tracked_files(root: &Path) -> Result<Vec<String>, String> {
    let output = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .map_err(|error| format!("running git ls-files: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output
        .stdout
        .split(|byte| *byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect())
}

/// The files among `files` whose bytes contain `needle`.
fn offending_files(root: &Path, files: &[String], needle: &str) -> Vec<String> {
    files
        .iter()
        .filter(|name| {
            std::fs::read(root.join(name)).is_ok_and(|bytes| {
                bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_naming_the_folder_beside_the_repository_is_found() {
        let folder = std::env::temp_dir().join(format!("xtask-standalone-{}", std::process::id()));
        std::fs::create_dir_all(folder.join("docs")).unwrap();
        let needle = outside_prefix();
        std::fs::write(folder.join("docs/a.md"), format!("see {needle}/x.json")).unwrap();
        std::fs::write(folder.join("b.rs"), "nothing outside").unwrap();
        let files = vec!["docs/a.md".to_owned(), "b.rs".to_owned()];
        let found = offending_files(&folder, &files, &needle);
        std::fs::remove_dir_all(&folder).unwrap();
        assert_eq!(found, ["docs/a.md"]);
    }
}
