//! The README and every page under `docs/` name only what the repository has: each repository
//! path they give (in code, or as a link) exists, each link's `#fragment` is a heading of its
//! file, and each `make` target they run is the Makefile's.

use callvault_testkit::docs::{markdown_files, Repo};
use callvault_testkit::repo_root;

#[test]
fn the_docs_name_only_paths_and_make_targets_the_repository_has() -> anyhow::Result<()> {
    let root = repo_root();
    let repo = Repo::open(&root)?;
    let files = markdown_files(&root)?;
    assert!(
        files.iter().any(|f| f.path == "docs/providers/hatif.md"),
        "the pages under docs/ are read"
    );
    let mut problems = Vec::new();
    for file in &files {
        problems.extend(repo.check(file)?);
    }
    // The check sees what the README names: a path, a make target and an anchor made wrong
    // are each found.
    let mut readme = files
        .iter()
        .find(|f| f.path == "README.md")
        .cloned()
        .expect("the README");
    for (right, wrong) in [
        (
            "`tests/e2e/tests/it/hostile/`",
            "`tests/e2e/tests/it/hostile.rs`",
        ),
        ("`make test`", "`make tests`"),
        ("(#the-console)", "(#the-consoles)"),
    ] {
        assert!(readme.text.contains(right), "the README names {right}");
        readme.text = readme.text.replacen(right, wrong, 1);
    }
    let mut found: Vec<String> = repo.check(&readme)?.into_iter().map(|p| p.named).collect();
    found.sort();
    assert_eq!(
        found,
        [
            "#the-consoles",
            "make tests",
            "tests/e2e/tests/it/hostile.rs"
        ]
    );
    assert!(
        problems.is_empty(),
        "the docs name what the repository does not have:\n{}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}
