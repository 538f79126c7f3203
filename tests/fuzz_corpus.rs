//! Replays every committed seed in `fuzz/seeds/<target>/` through the entry point the fuzz
//! target of that name uses, so CI checks the seeds (and every crash once turned into a seed)
//! on a stable toolchain. The fuzzer's working corpus, `fuzz/corpus/`, is not read: it holds
//! whatever libFuzzer found interesting, and is not committed.

use std::path::Path;

#[test]
fn every_seed_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut replayed_total = 0;
    for (name, target) in tls_resumption::fuzzing::TARGETS {
        let dir = root.join(name);
        let mut replayed = 0;
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_file() {
                    let data = std::fs::read(&path).unwrap();
                    target(&data);
                    replayed += 1;
                }
            }
        }
        // Every target is seeded: a lost or renamed seed directory fails here instead of
        // passing vacuously.
        assert!(replayed > 0, "no seeds replayed for the target {name}");
        println!("{name}: replayed {replayed} seeds");
        replayed_total += replayed;
    }
    assert!(replayed_total > 0);
}

/// Fuzzing must not break `cargo test`: libFuzzer writes every new input into its working
/// corpus (the first corpus directory it is given), and most of those inputs are, rightly,
/// not valid messages. So the committed seeds live in `fuzz/seeds/<target>/`, every target has
/// some (the TLS 1.2 connection targets included), and the working corpus `fuzz/corpus/` is
/// ignored by git and read by no test.
#[test]
fn committed_seeds_live_apart_from_the_fuzzers_working_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in tls_resumption::fuzzing::TARGETS {
        let dir = root.join("fuzz/seeds").join(name);
        let seeds = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter(|e| e.as_ref().unwrap().path().is_file())
                    .count()
            })
            .unwrap_or(0);
        assert!(seeds > 0, "no committed seeds in {}", dir.display());
    }
    let ignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l.trim() == "/fuzz/corpus"),
        "the fuzzer's working corpus is not git-ignored"
    );
}
