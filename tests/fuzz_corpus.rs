//! Replays every file of `fuzz/corpus/<target>/` through the entry point the fuzz target of that
//! name uses, so CI checks the corpus (and every crash once turned into a corpus file) on a
//! stable toolchain.

use std::path::Path;

/// Targets whose seed corpus is committed: each must have files to replay, so a lost or
/// renamed corpus directory fails the test instead of passing vacuously.
const SEEDED: &[&str] = &[
    "deframer",
    "handshake_message",
    "client_hello",
    "record_open",
    "ticket_open",
    "session_state",
    "server_connection",
    "client_connection",
];

#[test]
fn every_corpus_file_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
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
        assert!(
            replayed > 0 || !SEEDED.contains(name),
            "no corpus files replayed for the seeded target {name}"
        );
        println!("{name}: replayed {replayed} corpus files");
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
