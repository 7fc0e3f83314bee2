//! The fuzz properties under stable, in `make test`: for every target, every committed seed
//! and regression input (`fuzz/seeds/<target>/`) and every provider fixture
//! (`tests/fixtures/`), then a bounded random run of seeded edits of those inputs.
//!
//! A failing random input is written to this crate's test scratch folder and reported with
//! its seed and index. To replay it:
//!
//! ```sh
//! CALLVAULT_FUZZ_SEED=<seed> CALLVAULT_FUZZ_ITERATION=<index> \
//!   cargo test -p callvault-fuzz-properties --test properties <target>
//! ```
//!
//! then copy the written file into `fuzz/seeds/<target>/` once it is fixed, so it stays a
//! regression input. `CALLVAULT_FUZZ_ITERATIONS` sets the inputs per target (default
//! [`ITERATIONS`]); `CALLVAULT_FUZZ_SEED` another seed (decimal or `0x` hex).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use callvault_fuzz_properties::mutate::{dictionary, Mutator};
use callvault_fuzz_properties::{Target, TARGETS};

/// Random inputs per target in `make test`: a few seconds each in a test build.
const ITERATIONS: u64 = 30_000;
/// The seed `make test` runs with, so a run is the same every time.
const SEED: u64 = 0xca11_7a17;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files of a folder, sorted by name.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// A target's starting inputs: its committed seeds, then every provider fixture.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let seeds = files(&repo().join("fuzz/seeds").join(target));
    let fixtures = files(&repo().join("tests/fixtures"));
    seeds
        .into_iter()
        .chain(fixtures)
        .map(|path| {
            let bytes = std::fs::read(&path).expect("readable input");
            (path, bytes)
        })
        .collect()
}

/// Every dictionary's entries.
fn tokens() -> Vec<Vec<u8>> {
    files(&repo().join("fuzz/dicts"))
        .iter()
        .flat_map(|path| dictionary(&std::fs::read_to_string(path).expect("dictionary")))
        .collect()
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

/// Whether `run` panics on `input`.
fn fails(target: &Target, input: &[u8]) -> bool {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input))).is_err()
}

/// Every seed and fixture, then the random run (or the one input `CALLVAULT_FUZZ_ITERATION`
/// names).
fn check(name: &str) {
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .expect("a listed target");
    let corpus = corpus(name);
    for (path, input) in &corpus {
        assert!(
            !fails(target, input),
            "{name} fails on {} (its message is above)",
            path.display()
        );
    }

    let inputs: Vec<Vec<u8>> = corpus.into_iter().map(|(_, bytes)| bytes).collect();
    let tokens = tokens();
    let mutator = Mutator::new(&inputs, &tokens);
    let seed = env_u64("CALLVAULT_FUZZ_SEED").unwrap_or(SEED);
    let iterations = match env_u64("CALLVAULT_FUZZ_ITERATION") {
        Some(only) => only..only + 1,
        None => 0..env_u64("CALLVAULT_FUZZ_ITERATIONS").unwrap_or(ITERATIONS),
    };
    for iteration in iterations {
        let input = mutator.input(seed, iteration);
        if fails(target, &input) {
            let saved = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("{name}-{seed:#x}-{iteration}"));
            std::fs::write(&saved, &input).expect("write the failing input");
            panic!(
                "{name} fails on random input {iteration} of seed {seed:#x} (its message is \
                 above), saved as {}. Replay: CALLVAULT_FUZZ_SEED={seed:#x} \
                 CALLVAULT_FUZZ_ITERATION={iteration} cargo test -p callvault-fuzz-properties \
                 --test properties {name}",
                saved.display()
            );
        }
    }
}

macro_rules! targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*

        /// Every target in [`TARGETS`] has a test above.
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

targets!(
    verify_hmac,
    verify_token,
    keyring,
    voiceinfra,
    hatif_call,
    hatif_whatsapp,
    voki,
    postcall,
);

/// The list of targets has one home ([`TARGETS`]): every cargo-fuzz target file calls its
/// entry, has a `[[bin]]` and seeds, is tested here, and nothing else is there.
#[test]
fn every_target_is_fuzzed_seeded_and_tested() {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(names, TESTED);
    let mut files: Vec<String> = files(&repo().join("fuzz/fuzz_targets"))
        .iter()
        .map(|p| {
            p.file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(files, sorted, "fuzz/fuzz_targets/ and TARGETS differ");
    let manifest = std::fs::read_to_string(repo().join("fuzz/Cargo.toml")).expect("manifest");
    for name in names {
        let source = std::fs::read_to_string(repo().join(format!("fuzz/fuzz_targets/{name}.rs")))
            .expect("target source");
        assert!(
            source.contains(&format!("targets::{name}::run")),
            "fuzz/fuzz_targets/{name}.rs does not call targets::{name}::run"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        assert!(
            !files_or_empty(&repo().join("fuzz/seeds").join(name)).is_empty(),
            "fuzz/seeds/{name}/ has no seed"
        );
    }
}

fn files_or_empty(dir: &Path) -> Vec<PathBuf> {
    if dir.is_dir() {
        files(dir)
    } else {
        Vec::new()
    }
}

/// Every line of the committed dictionaries is a comment, blank, or an entry this crate reads
/// (libFuzzer refuses a dictionary with a line it cannot read).
#[test]
fn dictionaries_read_whole() {
    for path in files(&repo().join("fuzz/dicts")) {
        let text = std::fs::read_to_string(&path).expect("dictionary");
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .count();
        assert_eq!(dictionary(&text).len(), lines, "{}", path.display());
    }
}
